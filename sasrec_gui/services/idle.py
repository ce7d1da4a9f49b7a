"""Start a chart's background drawing after the interface has painted (``AfterPaint``).

A chart drawn on a worker competes with the interface thread for the GIL: every Python call Qt
makes while it lays out and paints a page (event filters, table models, overridden size hints)
waits its turn. Started while a page was still being shown, a draw doubled the time the page
took to appear (100-150 ms instead of 50-70 ms at KION size). Neither a zero-delay timer nor
the event dispatcher's ``aboutToBlock`` comes after that paint (Qt's GLib dispatcher signals
``aboutToBlock`` before it dispatches what is ready, and a zero-delay timer fires before the
paint it follows), so ``AfterPaint`` waits for the chart widget's own next paint (part of the
window's paint pass) and then until the widget has not been painted again for ``quiet_ms``: a
page being shown is laid out and painted more than once (its style sheet arrives as it shows,
then its scroll areas refit), and the draw starts after the last of those. A widget that is
not painted (hidden, covered) runs the callback after ``timeout_ms``.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

#: The longest a callback waits for its widget's paint (ms).
PAINT_TIMEOUT_MS = 250
#: After a paint, how long the widget must stay unpainted before the callback runs (ms).
QUIET_MS = 120


class AfterPaint(QObject):
    """Calls ``callback()`` once ``arm()``-ed, after ``widget``'s next paint and ``quiet_ms``
    without another (or ``timeout_ms`` after ``arm`` when the widget is not painted)."""

    def __init__(self, widget: QWidget, callback: Callable[[], object], timeout_ms: int = PAINT_TIMEOUT_MS,
                 quiet_ms: int = QUIET_MS) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback = callback
        self._armed = False
        self._painted = False
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.setInterval(timeout_ms)
        self._timeout.timeout.connect(self._fire)
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(quiet_ms)
        self._quiet.timeout.connect(self._fire)
        widget.installEventFilter(self)

    @property
    def armed(self) -> bool:
        """Whether the callback is waiting for the paint."""
        return self._armed

    def arm(self) -> None:
        """Call back after the widget's next paint (asked for here)."""
        if not self._armed:
            self._armed = True
            self._timeout.start()
        self._widget.update()

    def cancel(self) -> None:
        self._armed = self._painted = False
        self._timeout.stop()
        self._quiet.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if self._armed and event.type() == QEvent.Type.Paint:
            self._painted = True
            self._timeout.stop()
            self._quiet.start()  # (again): the callback waits until the paints have stopped
        return False

    def _fire(self) -> None:
        if self._armed:
            self.cancel()
            self._callback()
