"""A small validated form: labelled fields in sections, a tooltip each, an error line under each."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)


class FloatEdit(QLineEdit):
    """A line edit for numbers like 1e-3; ``value()`` is a float, or the raw text when not a number."""

    def value(self) -> float | str:
        text = self.text().strip()
        try:
            return float(text)
        except ValueError:
            return text

    def set_value(self, value: float) -> None:
        self.setText(f"{float(value):g}")


class OptionalDateEdit(QWidget):
    """A checkbox plus a date: ``value()`` is 'YYYY-MM-DD' when checked, else None."""

    changed = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox(text)
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check)
        layout.addWidget(self.date, 1)
        self.check.toggled.connect(self.date.setEnabled)
        self.check.toggled.connect(self.changed)
        self.date.dateChanged.connect(self.changed)

    def value(self) -> str | None:
        return self.date.date().toString("yyyy-MM-dd") if self.check.isChecked() else None

    def set_value(self, value: str | None) -> None:
        if value:
            date = QDate.fromString(str(value)[:10], "yyyy-MM-dd")
            if date.isValid():
                self.date.setDate(date)
        self.check.setChecked(bool(value))

    def set_range(self, first: QDate, last: QDate) -> None:
        """Limit the date to the data's range and, when unchecked, preset the nearer end."""
        self.date.setDateRange(first, last)


def read_widget(widget: QWidget) -> Any:
    """The current value of a field widget."""
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.value()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        data = widget.currentData()
        return data if data is not None else widget.currentText()
    if isinstance(widget, (FloatEdit, OptionalDateEdit)):
        return widget.value()
    if isinstance(widget, QLineEdit):
        return widget.text()
    raise TypeError(f"unsupported field widget {type(widget).__name__}")


def write_widget(widget: QWidget, value: Any) -> None:
    """Show ``value`` in a field widget (values a widget cannot hold are ignored)."""
    if isinstance(widget, QSpinBox):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            widget.setValue(int(value))
    elif isinstance(widget, QDoubleSpinBox):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            widget.setValue(float(value))
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        index = widget.findData(value)
        if index < 0:
            index = widget.findText(str(value))
        if index >= 0:
            widget.setCurrentIndex(index)
    elif isinstance(widget, FloatEdit):
        if isinstance(value, (int, float)):
            widget.set_value(value)
    elif isinstance(widget, OptionalDateEdit):
        widget.set_value(value)
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))


def _connect_change(widget: QWidget, slot) -> None:  # noqa: ANN001
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.valueChanged.connect(slot)
    elif isinstance(widget, QCheckBox):
        widget.toggled.connect(slot)
    elif isinstance(widget, QComboBox):
        widget.currentIndexChanged.connect(slot)
    elif isinstance(widget, OptionalDateEdit):
        widget.changed.connect(slot)
    elif isinstance(widget, QLineEdit):
        widget.textChanged.connect(slot)


class ValidatedForm(QWidget):
    """Fields grouped in sections; ``changed`` fires on any edit; ``show_errors`` marks fields."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self.widgets: dict[str, QWidget] = {}
        self.error_labels: dict[str, QLabel] = {}
        self._sections: dict[str, QFormLayout] = {}

    def section(self, title: str) -> QFormLayout:
        if title not in self._sections:
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setHorizontalSpacing(10)
            form.setVerticalSpacing(6)
            self._layout.addWidget(box)
            self._sections[title] = form
        return self._sections[title]

    def add_field(self, section: str, name: str, label: str, widget: QWidget, tooltip: str) -> QWidget:
        """Add ``widget`` as field ``name``; ``tooltip`` is one sentence shown on label and field."""
        form = self.section(section)
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(widget)
        error = QLabel()
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        box.addWidget(error)
        label_widget = QLabel(label)
        for w in (label_widget, widget):
            w.setToolTip(tooltip)
        form.addRow(label_widget, cell)
        self.widgets[name] = widget
        self.error_labels[name] = error
        _connect_change(widget, self._emit_changed)
        return widget

    def add_stretch(self) -> None:
        self._layout.addStretch(1)

    def values(self) -> dict[str, Any]:
        return {name: read_widget(w) for name, w in self.widgets.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill fields from ``values`` (unknown keys ignored) and emit ``changed`` once."""
        for name, value in values.items():
            widget = self.widgets.get(name)
            if widget is not None:
                with QSignalBlocker(widget):
                    write_widget(widget, value)
                if isinstance(widget, OptionalDateEdit):
                    widget.date.setEnabled(widget.check.isChecked())
        self._emit_changed()

    def show_errors(self, errors: dict[str, str]) -> None:
        """Show each message under its field; clear the others."""
        for name, label in self.error_labels.items():
            message = errors.get(name)
            label.setText(message or "")
            label.setVisible(bool(message))
            widget = self.widgets[name]
            if widget.property("invalid") != bool(message):
                widget.setProperty("invalid", bool(message))
                widget.style().unpolish(widget)
                widget.style().polish(widget)

    def visible_errors(self) -> dict[str, str]:
        return {n: lbl.text() for n, lbl in self.error_labels.items() if lbl.text()}

    def _emit_changed(self, *_args: object) -> None:
        self.changed.emit()
