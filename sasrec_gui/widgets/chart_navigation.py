"""Wheel zoom and drag-to-pan for the axes of a chart drawn on a worker (``ChartView(threaded=True)``).

A threaded chart shows an image, so matplotlib's navigation toolbar cannot work on it. ``ZoomPan``
listens to the chart's forwarded mouse events instead: the wheel zooms the axes under the mouse
around the point under it, a drag with the left button pans them, and each change asks for a
new render. The renderer calls ``apply(axes)`` after plotting, so the shown ranges survive every
redraw (theme, resize, new data) until ``reset()``. A press released without a drag is a click
(``clicked``), so a chart can still open what was clicked.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from matplotlib.axes import Axes
from PySide6.QtCore import QObject, Signal

from .chart_export import ChartEvent, ChartView

#: One wheel notch zooms in (or out) by this factor, around the point under the mouse.
ZOOM_STEP = 1.25
#: A press moved further than this (logical pixels) before its release is a pan, not a click.
DRAG_PX = 4

Limits = tuple[tuple[float, float], tuple[float, float]]


class ZoomPan(QObject):
    """Zoom (wheel) and pan (left drag) of the axes ``axes()`` returns for the shown figure.

    * ``limits``: the shown ranges ((x0, x1), (y0, y1)) per position in ``axes()``; an axes
      without an entry shows its data's own range.
    * ``changed()``: the ranges changed (the chart is already asked to draw again).
    * ``clicked(event)``: a left press released without a drag (the press's ``ChartEvent``).
    """

    changed = Signal()
    clicked = Signal(object)

    def __init__(self, chart: ChartView, axes: Callable[[], Sequence[Axes]], parent: QObject | None = None) -> None:
        super().__init__(parent or chart)
        self.chart = chart
        self._axes = axes
        self.limits: dict[int, Limits] = {}
        self._press: tuple[ChartEvent, int, object, Limits] | None = None
        self._panned = False
        canvas = chart.canvas
        canvas.mpl_connect("button_press_event", self._on_press)  # type: ignore[attr-defined]
        canvas.mpl_connect("motion_notify_event", self._on_motion)  # type: ignore[attr-defined]
        canvas.mpl_connect("button_release_event", self._on_release)  # type: ignore[attr-defined]
        canvas.mpl_connect("scroll_event", self._on_scroll)  # type: ignore[attr-defined]

    @property
    def zoomed(self) -> bool:
        """Whether any axes shows ranges of its own (a zoom or pan since the last reset)."""
        return bool(self.limits)

    @property
    def dragging(self) -> bool:
        """Whether a left drag is moving the view now (hover handlers keep still meanwhile)."""
        return self._press is not None and self._panned

    def apply(self, axes: Sequence[Axes]) -> None:
        """Set the remembered ranges on ``axes`` (call from the renderer, after plotting)."""
        for position, (xlim, ylim) in self.limits.items():
            if position < len(axes):
                axes[position].set_xlim(*xlim)
                axes[position].set_ylim(*ylim)

    def set_limits(self, position: int, limits: Limits | None) -> None:
        """Show ``limits`` on the axes at ``position`` (None: its data's own range) and draw again."""
        if limits is None:
            self.limits.pop(position, None)
        else:
            self.limits[position] = ((float(limits[0][0]), float(limits[0][1])), (float(limits[1][0]), float(limits[1][1])))
        self.chart.invalidate()
        self.changed.emit()

    def reset(self, draw: bool = True) -> None:
        """Every axes back to its data's range (``draw=False``: the caller draws next anyway)."""
        had = bool(self.limits)
        self.limits.clear()
        self._press = None
        if had and draw:
            self.chart.invalidate()
        if had:
            self.changed.emit()

    def _position(self, event: ChartEvent) -> int | None:
        if event.inaxes is None:
            return None
        for position, ax in enumerate(self._axes()):
            if ax is event.inaxes:
                return position
        return None

    def _on_press(self, event: ChartEvent) -> None:
        position = self._position(event)
        if event.button != 1 or position is None:
            return
        ax = event.inaxes
        self._press = (event, position, ax.transData.inverted(), (ax.get_xlim(), ax.get_ylim()))
        self._panned = False

    def _on_motion(self, event: ChartEvent) -> None:
        if self._press is None or event.button != 1:
            return
        press, position, inverse, (xlim, ylim) = self._press
        ratio = self.chart.canvas.device_pixel_ratio or 1.0  # type: ignore[attr-defined]
        if not self._panned and np.hypot(event.x - press.x, event.y - press.y) < DRAG_PX * ratio:
            return
        self._panned = True
        (x0, y0), (x1, y1) = inverse.transform([(press.x, press.y), (event.x, event.y)])
        dx, dy = x0 - x1, y0 - y1
        self.set_limits(position, ((xlim[0] + dx, xlim[1] + dx), (ylim[0] + dy, ylim[1] + dy)))

    def _on_release(self, event: ChartEvent) -> None:
        pressed, self._press = self._press, None
        if pressed is None or event.button != 1:
            return
        if not self._panned:
            self.clicked.emit(pressed[0])
        self._panned = False

    def _on_scroll(self, event: ChartEvent) -> None:
        """The wheel zooms in (up) or out around the point under the mouse."""
        position = self._position(event)
        if position is None or event.xdata is None or event.ydata is None or not event.step:
            return
        ax = event.inaxes
        factor = ZOOM_STEP ** -event.step
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        cx, cy = event.xdata, event.ydata
        self.set_limits(position, ((cx - (cx - x0) * factor, cx + (x1 - cx) * factor),
                                   (cy - (cy - y0) * factor, cy + (y1 - cy) * factor)))
