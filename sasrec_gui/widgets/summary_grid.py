"""The Data page's summary figures of the loaded and the filtered data, side by side."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QWidget

from ..logic.summary import ROW_NAMES, DataSummary


class SummaryGrid(QGroupBox):
    """Summary figures of the loaded and the filtered data side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Summary", parent)
        grid = QGridLayout(self)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(4)
        for col, text in ((1, "Loaded"), (2, "After filters")):
            head = QLabel(text)
            head.setObjectName("muted")
            head.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(head, 0, col)
        self.labels: dict[tuple[str, str], QLabel] = {}
        for row, name in enumerate(ROW_NAMES, start=1):
            grid.addWidget(QLabel(name), row, 0)
            for col, which in ((1, "loaded"), (2, "filtered")):
                value = QLabel("–")
                value.setObjectName("statValue")
                value.setAlignment(Qt.AlignmentFlag.AlignRight)
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                grid.addWidget(value, row, col)
                self.labels[(name, which)] = value
        grid.setColumnStretch(0, 1)

    def show_summary(self, which: str, summary: DataSummary | None) -> None:
        rows = summary.rows() if summary is not None else []
        values = dict(rows)
        for (name, w), label in self.labels.items():
            if w == which:
                label.setText(values.get(name, "–"))

    def text(self, name: str, which: str = "loaded") -> str:
        return self.labels[(name, which)].text()
