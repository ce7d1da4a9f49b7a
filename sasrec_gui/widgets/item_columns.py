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

#: Share of the free width the other text columns get; the title column stretches over the
#: rest (at least ``TITLE_MIN_SHARE`` of it), so titles are what a narrow table shows most of.
TEXT_SHARES = {"title_orig": 0.26, "genres": 0.22}
TITLE_MIN_SHARE = 0.45
STRETCH_KEYS = ("title",)
#: Text columns left out, in this order, when a table is too narrow for every header or leaves
#: the title less than ``TITLE_MIN_CHARS`` characters.
OPTIONAL_KEYS = ("title_orig", "genres")
TITLE_MIN_CHARS = 22
#: Rows a number column's width is fitted to (besides those on screen).
SIZING_ROWS = 40


class _ProportionalColumns(QObject):
    """Keeps the text columns at shares of the width the number columns leave free: the title
    stretches over what the others leave; every text column carries its full text as a tooltip."""

    def __init__(self, view: QTableView, columns: list[Column]) -> None:
        super().__init__(view)
        self.view = view
        self.stretch = [i for i, c in enumerate(columns) if c.key in STRETCH_KEYS]
        self.shares = {i: TEXT_SHARES[c.key] for i, c in enumerate(columns) if c.key in TEXT_SHARES}
        if not self.stretch and self.shares:  # no title: the other text columns share everything
            total = sum(self.shares.values())
            self.shares = {i: share / total for i, share in self.shares.items()}
        elif self.stretch:  # the title keeps at least TITLE_MIN_SHARE
            total = sum(self.shares.values())
            if total > 1.0 - TITLE_MIN_SHARE:
                self.shares = {i: share * (1.0 - TITLE_MIN_SHARE) / total for i, share in self.shares.items()}
        keys = [c.key for c in columns]
        self.optional = [keys.index(k) for k in OPTIONAL_KEYS if k in keys]
        view.viewport().installEventFilter(self)
        view.model().modelReset.connect(self.apply)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.apply()
        return False

    def apply(self) -> None:
        header = self.view.horizontalHeader()
        text = set(self.shares) | set(self.stretch)
        fixed = sum(header.sectionSize(i) for i in range(header.count()) if i not in text)
        free = self.view.viewport().width() - fixed
        readable = {i: header.sectionSizeFromContents(i).width() for i in text}  # whole header text
        # too narrow for every header (presentation mode, a narrow pane): leave out the optional
        # text columns (original title, then genres) before cutting any header; the title stays
        for i in self.optional:
            header.setSectionHidden(i, False)
        title_room = TITLE_MIN_CHARS * self.view.fontMetrics().averageCharWidth()
        for i in self.optional:
            others = sum(w for j, w in readable.items() if j not in self.stretch)
            if not self.stretch or (free >= sum(readable.values()) and free - others >= title_room):
                break
            header.setSectionHidden(i, True)
            text.discard(i)
            del readable[i]
        if free >= sum(readable.values()):
            # the other text columns at their shares (never below their header text); the title
            # columns share what is left, never below their header text either
            widths = {i: max(readable[i], free * share) for i, share in self.shares.items() if i in text}
            rest = free - sum(widths.values())
            for i in self.stretch:
                widths[i] = max(readable[i], rest / len(self.stretch))
            excess = sum(widths.values()) - free
            surplus = {i: widths[i] - readable[i] for i in widths}
            room = sum(surplus.values())
            if excess > 0 and room > 0:
                widths = {i: widths[i] - excess * surplus[i] / room for i in widths}
        else:  # too narrow even so: what is left shares the width, text elided (full text in the tooltip)
            n = len(text) or 1
            widths = {i: max(48.0, free / n) for i in text}
        for i, width in widths.items():
            header.resizeSection(i, int(width))


def configure_item_table(view: QTableView, columns: list[Column]) -> None:
    """Fit every column into the view: number columns fit their contents, the title stretches
    over what the other text columns leave (their full text is in each cell's tooltip)."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(36)
    header.setResizeContentsPrecision(SIZING_ROWS)  # fit number columns to a few rows, not a thousand
    for i, column in enumerate(columns):
        text = column.key in TEXT_SHARES or column.key in STRETCH_KEYS
        mode = QHeaderView.ResizeMode.Interactive if text else QHeaderView.ResizeMode.ResizeToContents
        header.setSectionResizeMode(i, mode)
    view._proportional_columns = _ProportionalColumns(view, columns)  # kept alive by its parent
