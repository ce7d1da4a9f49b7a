"""Small shared widgets: page header, table view set-up, placeholder stack, message line."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLayout,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)


def single_shot_timer(parent: QObject, interval_ms: int, slot: Callable[[], object]) -> QTimer:
    """A restartable single-shot timer (debounce, throttle) calling ``slot`` on timeout."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer


def page_header(title: str, subtitle: str = "") -> tuple[QWidget, QLabel]:
    """A bold title with a muted subtitle line; returns (widget, subtitle label)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    heading = QLabel(title)
    heading.setObjectName("pageTitle")
    sub = QLabel(subtitle)
    sub.setObjectName("pageSubtitle")
    sub.setWordWrap(True)
    layout.addWidget(heading)
    layout.addWidget(sub)
    return box, sub


def make_table(model=None) -> QTableView:  # noqa: ANN001 - any QAbstractItemModel
    """A read-only, row-selecting table with fixed row heights (fast for millions of rows)."""
    view = QTableView()
    if model is not None:
        view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    vheader = view.verticalHeader()
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(24)
    vheader.hide()
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return view


def set_column_widths(view: QTableView, widths: dict[int, int]) -> None:
    for column, width in widths.items():
        view.setColumnWidth(column, width)


class Placeholder(QStackedWidget):
    """Shows either a centred explanatory text or the real content."""

    def __init__(self, content: QWidget, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(text)
        self.label.setObjectName("placeholder")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.addWidget(self.label)
        self.addWidget(content)
        self.content = content

    def show_placeholder(self, text: str | None = None) -> None:
        if text is not None:
            self.label.setText(text)
        self.setCurrentWidget(self.label)

    def show_content(self) -> None:
        self.setCurrentWidget(self.content)

    @property
    def showing_placeholder(self) -> bool:
        return self.currentWidget() is self.label


class MessageLine(QLabel):
    """A one-line message under a toolbar: neutral or error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("message")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def show_message(self, text: str, error: bool = False) -> None:
        self.setText(text)
        severity = "error" if error else "info"
        if self.property("severity") != severity:
            self.setProperty("severity", severity)
            self.style().unpolish(self)
            self.style().polish(self)

    @property
    def is_error(self) -> bool:
        return self.property("severity") == "error"


def placeholder_page(
    page: QWidget, header: QWidget, rows: Sequence[QWidget | QLayout], text: str, stretch: QWidget | None = None
) -> Placeholder:
    """Lay ``page`` out as ``header`` over a ``Placeholder`` (showing ``text`` until there is
    something to show) whose content stacks ``rows``; ``stretch`` takes the spare height."""
    content = QWidget()
    content_layout = QVBoxLayout(content)
    content_layout.setContentsMargins(0, 0, 0, 0)
    for row in rows:
        if isinstance(row, QLayout):
            content_layout.addLayout(row)
        else:
            content_layout.addWidget(row, 1 if row is stretch else 0)
    placeholder = Placeholder(content, text)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(18, 14, 18, 12)
    layout.addWidget(header)
    layout.addWidget(placeholder, 1)
    return placeholder
