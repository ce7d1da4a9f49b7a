"""Restyling without freezing: the style sheet on a few root widgets, charts redrawn one at a time.

``QApplication.setStyleSheet`` re-polishes every widget of the application in one go (about
two seconds with the window's ~900 widgets on a busy two-core machine, longer while a page
holds millions of rows), so a theme or presentation toggle would freeze the window. Instead
``StyleRoots`` sets the window's style sheet on a few disjoint root widgets (the sidebar, the
menu bar, the status bar, each page, dialogs): the roots on screen are restyled at once, the
hidden ones one per event-loop turn afterwards, or when they are shown, whichever comes first.
The largest root on screen (the page) is restyled at once, the
rest one per turn: a root costs tens of milliseconds.

``RedrawQueue`` redraws matplotlib canvases one per event-loop turn (the one on screen first),
and a hidden canvas only once it is shown: a theme toggle redraws what is visible, never every
chart of every page in one stall.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class StyleRoots(QObject):
    """Applies one style sheet to registered root widgets: visible ones now, hidden ones later.

    ``add(widget)`` registers a root (it gets the current sheet at once); ``set_sheet(qss)``
    restyles the visible roots immediately and queues the hidden ones (one per event-loop
    turn; a queued root that is shown first is restyled as it shows). ``pending`` lists the
    roots still waiting; ``flush()`` restyles them now.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sheet = ""
        self.roots: list[QWidget] = []
        self.pending: list[QWidget] = []
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
        """Use ``sheet``: restyle the largest root on screen (the page) now, then the other
        roots on screen, then the hidden ones, one per event-loop turn (see the class)."""
        self.sheet = sheet
        stale = [r for r in self.roots if r.styleSheet() != sheet]
        visible = sorted((r for r in stale if r.isVisible()), key=lambda r: r.width() * r.height(), reverse=True)
        self.pending = visible[1:] + [r for r in stale if not r.isVisible()]
        if visible:
            visible[0].setStyleSheet(sheet)
        if self.pending:
            self._timer.start()

    def flush(self) -> None:
        """Restyle every waiting root now."""
        while self.pending:
            self._apply(self.pending.pop(0))

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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Show and watched in self.pending:
            self.pending.remove(watched)  # type: ignore[arg-type]
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
