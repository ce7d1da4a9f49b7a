"""Small shared widgets: page header, table view set-up, placeholder stack, message line."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QSplitter,
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


def fit_columns(view: QTableView, rows: int = 50, padding: int = 18) -> None:
    """Size each column to its header and its first ``rows`` cells: ``resizeColumnsToContents``
    reads a thousand rows per column through the model (Python calls), this a few dozen."""
    model = view.model()
    if model is None:
        return
    metrics = view.fontMetrics()
    header_metrics = view.horizontalHeader().fontMetrics()
    n_rows = min(rows, model.rowCount())
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = header_metrics.horizontalAdvance(title)
        for row in range(n_rows):
            text = model.data(model.index(row, column))
            if text:
                width = max(width, metrics.horizontalAdvance(str(text)))
        view.setColumnWidth(column, width + padding)


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


class FitWidthScrollArea(QScrollArea):
    """A vertical-only scroll area at least as wide as its content wants: when the content
    grows (presentation mode's larger fonts), so does the area (and the splitter pane it sits
    in), instead of cutting the content off on the right."""

    def __init__(self, content: QWidget, parent: QWidget | None = None, *, wrapping: bool = False) -> None:
        """``wrapping``: the content wraps its text (an item card): fit its minimum width, not its
        preferred one."""
        super().__init__(parent)
        self.wrapping = wrapping
        self.setWidgetResizable(True)
        self.setWidget(content)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        content = self.widget()
        base = super().minimumSizeHint()
        if content is None:
            return base
        wanted = content.minimumSizeHint() if self.wrapping else content.sizeHint()
        width = wanted.width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth() + 4
        return QSize(max(base.width(), width), base.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.widget() and event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.FontChange,
                                                          QEvent.Type.StyleChange):
            self._refit()
        return False

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._refit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._refit()

    def _refit(self) -> None:
        """The content's size hint may have changed: tell the layouts above, and have the
        nearest splitter give this pane its (new) minimum width at the next event-loop turn."""
        self.updateGeometry()
        QTimer.singleShot(0, self, self._refresh_splitter)

    def _refresh_splitter(self) -> None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QSplitter):
            parent = parent.parentWidget()
        if parent is not None and self.width() < self.minimumSizeHint().width():
            parent.refresh()


class WordWrapLabel(QLabel):
    """A word-wrapped label never narrower than its longest word, at any font size: a narrow
    pane wraps it onto more lines instead of cutting a word off on the right."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._fit()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()

    def _fit(self) -> None:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(word) for word in self.text().split()), default=0)
        self.setMinimumWidth(widest + 2 * self.margin() + 2)


class ElidedLabel(QLabel):
    """A one-line label that may shrink below its text: it then ends in "…" and the tooltip
    holds the whole text (status bar fields, which must never widen the window)."""

    def __init__(self, text: str = "", parent: QWidget | None = None, min_width: int = 60) -> None:
        super().__init__(text, parent)
        self.setMinimumWidth(min_width)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def elided(self) -> bool:
        """Whether the text is cut at the current width."""
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        rect = self.contentsRect()
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), text)
        painter.end()


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
