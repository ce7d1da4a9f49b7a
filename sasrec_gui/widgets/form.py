"""A small validated form: labelled fields in sections, a tooltip each, an error line under each.

``ValidatedForm.add_settings`` builds the fields of a settings dataclass from its declarations
(``core.schema``): the widget from the kind, range, step, unit and choices, the label, the
section and the tooltip (the setting's help)."""
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

from core.schema import Setting, settings_of

#: The widest range a QSpinBox can hold (a C int); wider settings (the seed) are clamped to it.
SPIN_INT_MIN, SPIN_INT_MAX = -(2**31), 2**31 - 1
#: The range of a number spin box whose setting is unbounded.
SPIN_FLOAT_LIMIT = 1e9


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


def setting_widget(setting: Setting) -> QWidget:
    """The editor of one setting: a check box (bool), an optional date, a combo box (choices,
    each with its label), a text field (a free-text number like 1e-3, or text), or a spin box
    with the setting's form range, step, decimals and unit."""
    if setting.kind == "bool":
        return QCheckBox(setting.check_text)
    if setting.kind == "date":
        return OptionalDateEdit(setting.check_text)
    if setting.choices:
        combo = QComboBox()
        for value, label in zip(setting.choices, setting.choice_labels or setting.choices):
            combo.addItem(label, value)
        return combo
    if setting.kind == "float" and setting.free_text:
        return FloatEdit()
    low, high = setting.form_range()
    suffix = f" {setting.unit}" if setting.unit else ""
    if setting.kind == "int":
        spin = QSpinBox()
        spin.setRange(max(int(low), SPIN_INT_MIN) if low is not None else SPIN_INT_MIN,
                      min(int(high), SPIN_INT_MAX) if high is not None else SPIN_INT_MAX)
        spin.setSingleStep(max(int(setting.step), 1))
        spin.setGroupSeparatorShown(True)
        spin.setSuffix(suffix)
        return spin
    if setting.kind == "float":
        box = QDoubleSpinBox()
        box.setDecimals(setting.decimals)
        box.setRange(float(low) if low is not None else -SPIN_FLOAT_LIMIT,
                     float(high) if high is not None else SPIN_FLOAT_LIMIT)
        box.setSingleStep(float(setting.step))
        box.setSuffix(suffix)
        return box
    return QLineEdit()


def read_widget(widget: QWidget) -> Any:
    """The current value of a field widget."""
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.value()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        data = widget.currentData()
        return data if data is not None else widget.currentText()
    if isinstance(widget, (FloatEdit, OptionalDateEdit)) or _is_value_widget(widget):
        return widget.value()  # type: ignore[attr-defined]
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
    elif isinstance(widget, OptionalDateEdit) or _is_value_widget(widget):
        widget.set_value(value)  # type: ignore[attr-defined]
    elif isinstance(widget, QLineEdit):
        widget.setText(str(value))


def _is_value_widget(widget: QWidget) -> bool:
    """A composite field widget of our own: ``value()``, ``set_value(value)`` and a ``changed``
    signal (for example ``item_features_edit.ItemFeaturesEdit``)."""
    return callable(getattr(widget, "set_value", None)) and hasattr(widget, "changed") and callable(
        getattr(widget, "value", None))


def _connect_change(widget: QWidget, slot) -> None:  # noqa: ANN001
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.valueChanged.connect(slot)
    elif isinstance(widget, QCheckBox):
        widget.toggled.connect(slot)
    elif isinstance(widget, QComboBox):
        widget.currentIndexChanged.connect(slot)
    elif isinstance(widget, OptionalDateEdit) or _is_value_widget(widget):
        widget.changed.connect(slot)  # type: ignore[attr-defined]
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

    def add_settings(self, cls: type, widgets: dict[str, QWidget] | None = None) -> None:
        """Add a field for every setting of the settings dataclass ``cls`` (``core.schema``), in
        field order: in its section, with its label, its help as tooltip and the widget
        ``setting_widget`` makes, or the one given in ``widgets`` (special cases such as a
        combo box of the devices there are). Then show the defaults."""
        widgets = widgets or {}
        for name, setting in settings_of(cls).items():
            widget = widgets.get(name) or setting_widget(setting)
            self.add_field(setting.section or "Settings", name, setting.label, widget, setting.help)
        self.set_values(cls().to_dict())

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
