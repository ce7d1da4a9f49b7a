"""The "Continue training…" dialog: how many more epochs, and optionally a new learning rate."""
from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..logic.continue_training import MAX_MORE_EPOCHS


class ContinueDialog(QDialog):
    """Asks for N more epochs and an optional learning rate; ``chosen(epochs, lr)`` on OK
    (``lr`` None: the checkpoint's own). Window-modal, opened with ``open()``."""

    chosen = Signal(int, object)

    def __init__(self, title: str, description: str, current_lr: float, epochs: int = 5, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Continue training")
        self.current_lr = float(current_lr)
        self.heading = QLabel(f"<b>{title}</b>")
        text = QLabel(description)
        text.setWordWrap(True)
        text.setObjectName("muted")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, MAX_MORE_EPOCHS)
        self.epochs.setValue(epochs)
        self.epochs.setSuffix(" more epoch(s)")
        self.epochs.setToolTip("Epochs to train after the checkpoint's; the curves go on where they stopped.")
        self.change_lr = QCheckBox("Change the learning rate")
        self.lr = QLineEdit(f"{self.current_lr:g}")
        self.lr.setToolTip("The learning rate of the further epochs (Adam's state carries over).")
        self.lr.setEnabled(False)
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Train", self.epochs)
        form.addRow(self.change_lr)
        form.addRow("Learning rate", self.lr)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Continue training")
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.change_lr.toggled.connect(self.lr.setEnabled)
        self.change_lr.toggled.connect(lambda _on: self._check())
        self.lr.textChanged.connect(lambda _text: self._check())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._check()

    def learning_rate(self) -> float | None:
        """The new learning rate (None: keep the checkpoint's, or not a positive number)."""
        if not self.change_lr.isChecked():
            return None
        try:
            value = float(self.lr.text().strip())
        except ValueError:
            return None
        return value if math.isfinite(value) and value > 0 else None

    def _check(self) -> bool:
        bad = self.change_lr.isChecked() and self.learning_rate() is None
        self.error.setText("The learning rate must be a number above 0, e.g. 0.0005." if bad else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not bad)
        return not bad

    def accept(self) -> None:
        if not self._check():
            return
        self.chosen.emit(int(self.epochs.value()), self.learning_rate())
        super().accept()
