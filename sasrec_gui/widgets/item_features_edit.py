"""The Training form's item-feature field: a check box per column of the loaded items table.

Its value is the ``item_features`` setting (``core.config.SASRecConfig``): the checked column
names joined by commas, "" for ids only. A column asked for (by a preset, a restored setting
or a checkpoint) that the loaded items table does not have stays listed, checked and marked
"not in the data", so it is never dropped without the user seeing it; training then names it.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

#: Check boxes per row.
COLUMNS_PER_ROW = 2
MISSING_SUFFIX = " (not in the data)"


def split_columns(text: str) -> list[str]:
    """``"genres, countries"`` -> ``["genres", "countries"]`` (blanks and repeats dropped)."""
    seen: list[str] = []
    for part in str(text or "").split(","):
        name = part.strip()
        if name and name not in seen:
            seen.append(name)
    return seen


class ItemFeaturesEdit(QWidget):
    """Check boxes for the item columns the model can use as categorical features."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._available: list[str] = []
        self._offered: list[str] = []
        self._boxes: dict[str, QCheckBox] = {}
        self.empty_label = QLabel("Ids only: open data with an items table (genres, countries, …) to add features.")
        self.empty_label.setWordWrap(True)
        self.empty_label.setObjectName("hint")
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty_label)
        layout.addWidget(self._grid_host)
        self._rebuild([])

    # -- the field's value ----------------------------------------------------------------------
    def value(self) -> str:
        """The checked columns, in the items table's order (others last), joined by commas."""
        return ",".join(name for name, box in self._boxes.items() if box.isChecked())

    def set_value(self, value: str) -> None:
        """Check exactly the columns in ``value`` (comma-separated); columns the data lacks are
        added, checked, as "not in the data"."""
        wanted = split_columns(value)
        self._rebuild(wanted)
        self.changed.emit()

    def set_columns(self, offered: list[str], available: list[str] | None = None) -> None:
        """The columns to offer (``[]``: no items table) and every column the model could use
        (default: the offered ones), keeping the checked ones."""
        wanted = split_columns(self.value())
        self._offered = list(offered)
        self._available = list(offered if available is None else available)
        self._rebuild(wanted)
        self.changed.emit()

    def available(self) -> list[str]:
        """The columns of the loaded items table the model can use."""
        return list(self._available)

    def missing(self) -> list[str]:
        """Checked columns the loaded items table does not have."""
        return [name for name in self._boxes if name not in self._available and self._boxes[name].isChecked()]

    # -- building ---------------------------------------------------------------------------------
    def _rebuild(self, checked: list[str]) -> None:
        for box in self._boxes.values():
            self._grid.removeWidget(box)
            box.deleteLater()
        self._boxes = {}
        names = self._offered + [c for c in checked if c not in self._offered]
        for index, name in enumerate(names):
            missing = name not in self._available
            box = QCheckBox(name + (MISSING_SUFFIX if missing else ""))
            box.setChecked(name in checked)
            box.setToolTip(
                f"The loaded items table has no column {name!r}: training with it fails; uncheck it."
                if missing else f"Add an embedding of the item's {name!r} values to its id embedding."
            )
            box.toggled.connect(self.changed)
            self._grid.addWidget(box, index // COLUMNS_PER_ROW, index % COLUMNS_PER_ROW)
            self._boxes[name] = box
        self.empty_label.setVisible(not names)
        self._grid_host.setVisible(bool(names))
