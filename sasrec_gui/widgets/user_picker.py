"""A compact user chooser (id + Show + Random) for the pages that follow one user."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from ..services.state import AppState


class UserPicker(QWidget):
    """Emits ``user_requested(user_id)`` on Enter, Show or Random; ``invalid(text)`` for non-ids."""

    user_requested = Signal(object)  # user id: int or str
    invalid = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._rng = np.random.default_rng()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("User id, then Enter")
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumWidth(150)
        self.show_button = QPushButton("Show")
        self.random_button = QPushButton("Random user")
        self.random_button.setToolTip("Pick a random user who has a history in the filtered data.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("User"))
        layout.addWidget(self.edit)
        layout.addWidget(self.show_button)
        layout.addWidget(self.random_button)
        self.edit.returnPressed.connect(self.request_typed)
        self.show_button.clicked.connect(lambda _checked=False: self.request_typed())
        self.random_button.clicked.connect(lambda _checked=False: self.request_random())

    def set_user(self, user_id: int | str | None) -> None:
        """Show ``user_id`` in the box (no signal)."""
        text = "" if user_id is None else str(user_id)
        if self.edit.text().strip() != text:
            self.edit.setText(text)

    def request_typed(self) -> bool:
        text = self.edit.text().strip()
        if not text:
            return False
        user_id = self.state.users.parse(text)
        if user_id is None:  # whole-number ids and text that is not one
            self.invalid.emit(text)
            return False
        self.user_requested.emit(user_id)
        return True

    def request_random(self) -> bool:
        user_id = self.state.users.random(self._rng)
        if user_id is None:
            self.invalid.emit("")
            return False
        self.set_user(user_id)
        self.user_requested.emit(user_id)
        return True
