"""Restyling without freezing: the style sheet on a few root widgets, charts redrawn one at a time.

``QApplication.setStyleSheet`` re-polishes every widget of the application in one go (about
two seconds with the window's ~900 widgets on a busy two-core machine, longer while a page
holds millions of rows), so a theme or presentation toggle would freeze the window. Instead
``StyleRoots`` sets the window's style sheet on a few disjoint root widgets (the sidebar, the
menu bar, the status bar, each page, dialogs): the largest root on screen (the page) is
restyled at once, the other roots on screen one per event-loop turn, and hidden pages when
they are next shown (before they paint). A root costs tens of milliseconds.

``RedrawQueue`` redraws matplotlib canvases one per event-loop turn (the one on screen first),
and a hidden canvas only once it is shown: a theme toggle redraws what is visible, never every
chart of every page in one stall.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class StyleRoots(QObject):
    """Applies one style sheet to registered root widgets: the page on screen now, the rest later.

    ``add(widget)`` registers a root (it gets the current sheet at once); ``set_sheet(qss)``
    restyles the largest visible root immediately, queues the other visible ones (``pending``,
    one per event-loop turn) and leaves hidden ones (``hidden``) until they are shown.
    ``waiting`` lists both; ``flush()`` restyles them all now.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sheet = ""
        self.roots: list[QWidget] = []
        self.pending: list[QWidget] = []  # on screen, restyled one per event-loop turn
        self.hidden: list[QWidget] = []  # restyled when shown
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._apply_next)

    def add(self, widget: QWidget) -> None:
        """Register ``widget`` as a root and give it the current style sheet."""
        if widget in self.roots:
            return
        self.roots.append(widget)
        widget.installEventFilter(self)
        widget.destroyed.connect(lambda _obj=None, w=widget: self._forget(w))
        if widget.styleSheet() != self.sheet:
            widget.setStyleSheet(self.sheet)

    def set_sheet(self, sheet: str) -> None:
        """Use ``sheet``: restyle the largest root on screen (the page) now, the other roots on
        screen one per event-loop turn, and hidden ones when they are shown (see the class)."""
        self.sheet = sheet
        stale = [r for r in self.roots if r.styleSheet() != sheet]
        visible = sorted((r for r in stale if r.isVisible()), key=lambda r: r.width() * r.height(), reverse=True)
        self.hidden = [r for r in stale if not r.isVisible()]
        self.pending = visible[1:]
        if visible:
            visible[0].setStyleSheet(sheet)
        if self.pending:
            self._timer.start()

    @property
    def waiting(self) -> list[QWidget]:
        """Every root not restyled yet: on screen (a turn away) or hidden (until shown)."""
        return [*self.pending, *self.hidden]

    def flush(self) -> None:
        """Restyle every waiting root now, hidden ones too."""
        while self.pending or self.hidden:
            self._apply((self.pending or self.hidden).pop(0))

    def _apply(self, root: QWidget) -> None:
        if root.styleSheet() != self.sheet:
            root.setStyleSheet(self.sheet)

    def _apply_next(self) -> None:
        if self.pending:
            self._apply(self.pending.pop(0))
        if self.pending:
            self._timer.start()

    def _forget(self, widget: QWidget) -> None:
        self.roots = [r for r in self.roots if r is not widget]
        self.pending = [r for r in self.pending if r is not widget]
        self.hidden = [r for r in self.hidden if r is not widget]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show:
            for waiting in (self.pending, self.hidden):
                if watched in waiting:
                    waiting.remove(watched)  # type: ignore[arg-type]
                    self._apply(watched)  # type: ignore[arg-type]
        return False


class RedrawQueue(QObject):
    """Runs redraw callbacks one per event-loop turn; a callback for a hidden widget waits
    until that widget is shown. Requests for the same widget are merged."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: list[tuple[QWidget, Callable[[], None]]] = []
        self._waiting: dict[int, tuple[QWidget, Callable[[], None]]] = {}  # hidden: id(widget) -> request
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_next)

    def request(self, widget: QWidget, redraw: Callable[[], None]) -> None:
        """Call ``redraw()`` soon (``widget`` visible) or when ``widget`` is next shown."""
        self._queue = [(w, f) for w, f in self._queue if w is not widget]
        if widget.isVisible():
            self._queue.append((widget, redraw))
            self._timer.start()
        else:
            if id(widget) not in self._waiting:
                widget.installEventFilter(self)
            self._waiting[id(widget)] = (widget, redraw)

    @property
    def busy(self) -> bool:
        """Whether redraws of visible widgets are still queued."""
        return bool(self._queue)

    def flush(self) -> None:
        """Run every queued redraw of a visible widget now."""
        while self._queue:
            self._run_next()

    def _run_next(self) -> None:
        if self._queue:
            widget, redraw = self._queue.pop(0)
            try:
                redraw()
            except RuntimeError:  # the widget was deleted meanwhile
                pass
        if self._queue:
            self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show:
            entry = self._waiting.pop(id(watched), None)
            if entry is not None:
                watched.removeEventFilter(self)
                self._queue.append(entry)
                self._timer.start()
        return False


_redraws: list[RedrawQueue] = []


def redraw_queue() -> RedrawQueue:
    """The process-wide ``RedrawQueue`` (create it on the UI thread)."""
    if not _redraws:
        _redraws.append(RedrawQueue())
    return _redraws[0]
