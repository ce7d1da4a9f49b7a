"""Column sets and header layout shared by the item tables of the recommendation pages."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QHeaderView, QTableView

from .frame_model import Column, fixed, year

TITLE = Column("title", "Title", tooltip=True)
TITLE_ORIG = Column("title_orig", "Original title", tooltip=True)
YEAR = Column("release_year", "Year", year, numeric=True)
GENRES = Column("genres", "Genres", tooltip=True)
ITEM_ID = Column("item_id", "Item id", numeric=True)
RANK = Column("rank", "#", numeric=True)

HISTORY_COLUMNS = [
    TITLE, TITLE_ORIG, YEAR, GENRES,
    Column("datetime", "Date"),
    Column("weight", "Weight", fixed(1), numeric=True),
]
RECOMMENDATION_COLUMNS = [RANK, TITLE, TITLE_ORIG, YEAR, GENRES, Column("score", "Score", fixed(3), numeric=True)]
SIMILAR_COLUMNS = [RANK, TITLE, TITLE_ORIG, YEAR, GENRES, Column("score", "Cosine", fixed(3), numeric=True)]
MATCH_COLUMNS = [TITLE, YEAR, GENRES, ITEM_ID]

#: Share of the free width each text column gets; the other columns fit their contents.
TEXT_SHARES = {"title": 0.40, "title_orig": 0.32, "genres": 0.28}


class _ProportionalColumns(QObject):
    """Keeps text columns at fixed shares of the width the number columns leave free."""

    def __init__(self, view: QTableView, columns: list[Column]) -> None:
        super().__init__(view)
        self.view = view
        self.shares = {i: TEXT_SHARES[c.key] for i, c in enumerate(columns) if c.key in TEXT_SHARES}
        view.viewport().installEventFilter(self)
        view.model().modelReset.connect(self.apply)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.apply()
        return False

    def apply(self) -> None:
        header = self.view.horizontalHeader()
        fixed = sum(header.sectionSize(i) for i in range(header.count()) if i not in self.shares)
        free = self.view.viewport().width() - fixed
        total = sum(self.shares.values()) or 1.0
        readable = {i: header.sectionSizeFromContents(i).width() for i in self.shares}  # whole header text
        if free >= sum(readable.values()):
            # shares of the free width, but never below the header text: the columns above
            # their header width give up the difference in proportion to their surplus
            widths = {i: max(readable[i], free * share / total) for i, share in self.shares.items()}
            excess = sum(widths.values()) - free
            surplus = {i: widths[i] - readable[i] for i in widths}
            room = sum(surplus.values())
            if excess > 0 and room > 0:
                widths = {i: widths[i] - excess * surplus[i] / room for i in widths}
        else:  # too narrow for the headers: plain shares, text elided
            widths = {i: max(48.0, free * share / total) for i, share in self.shares.items()}
        for i, width in widths.items():
            header.resizeSection(i, int(width))


def configure_item_table(view: QTableView, columns: list[Column]) -> None:
    """Fit every column into the view: number columns fit their contents, text columns share the rest."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(36)
    for i, column in enumerate(columns):
        mode = QHeaderView.ResizeMode.Interactive if column.key in TEXT_SHARES else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(i, mode)
    view._proportional_columns = _ProportionalColumns(view, columns)  # kept alive by its parent
