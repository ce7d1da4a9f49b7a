"""The common part of the Runs page's views of settings against results: a metric picker, a
lazily rendered chart drawn on a worker (``chart_export.ChartView(threaded=True)``), the runs
shown and the selected ones (drawn on top, the others faded), and a click that names the run
under the mouse (read against the chart on screen).

Subclasses (``parallel_coordinates.ParallelCoordinates``, ``settings_scatter.SettingsScatter``)
draw with ``render(figure)`` and find a run with ``hit(x, y)`` (display pixels).
"""
from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import MouseEvent
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..logic.run_records import RunView
from ..logic.run_views import lower_is_better, metric_choices, metric_label
from .chart_export import ChartView

#: A click this close to a run's line or point (pixels) picks it.
PICK_PX = 8.0
MISSING_COLOR = "#b0b7bf"
MUTED = "#7b8794"


def set_choices(combo: QComboBox, items: list[tuple[str, str]]) -> None:
    """Replace ``combo``'s (label, value) items, keeping the chosen value when still offered."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for label, value in items:
        combo.addItem(label, value)
    index = combo.findData(current)
    combo.setCurrentIndex(index if index >= 0 else 0)
    combo.blockSignals(False)


def colour_scale(values: np.ndarray, lower_better: bool) -> tuple[Colormap, Normalize]:
    """A colormap and its normalisation for ``values`` (NaN ignored): the better end is
    yellow (viridis), whichever direction is better."""
    cmap = matplotlib.colormaps["viridis_r" if lower_better else "viridis"]
    finite = values[np.isfinite(values)]
    if not len(finite):
        return cmap, Normalize(0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        pad = abs(low) * 0.05 or 0.5
        low, high = low - pad, high + pad
    return cmap, Normalize(low, high)


class RunChart(QWidget):
    """A chart of the shown runs by one metric; ``run_clicked(run_id, add)`` when a run is
    clicked (``add``: with Ctrl, to add it to the selection)."""

    run_clicked = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: list[RunView] = []
        self.selected: set[int] = set()
        self.axes: Axes | None = None  # the axes runs are drawn in (clicks there pick one)
        self.metric_box = QComboBox()  # not "metric": that name is QPaintDevice.metric(), which Qt calls (a crash)
        self.metric_box.setToolTip("The result each run is placed and coloured by.")
        self.controls = QHBoxLayout()
        self.controls.addWidget(QLabel("Metric"))
        self.controls.addWidget(self.metric_box, 1)
        self.chart = ChartView(figsize=(6.0, 3.2), threaded=True)  # drawn on a worker: switching pages never waits
        self.chart.setMinimumHeight(220)
        self._metric_shown = ""  # the metric of the next render, taken on the interface thread (``redraw``)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.chart, 1)
        self.chart.set_renderer(self._render)
        self.chart.canvas.mpl_connect("button_press_event", self._on_press)
        self.metric_box.currentIndexChanged.connect(lambda _i: self.redraw())

    # -- what is shown ----------------------------------------------------------------------
    def set_runs(self, views: list[RunView], selected: list[int] | None = None) -> None:
        """Show ``views`` (the runs of the table), ``selected`` ones highlighted."""
        self.views = list(views)
        self.selected = set(selected or [])
        set_choices(self.metric_box, [(metric_label(m), m) for m in metric_choices(self.views)])
        self._choices_changed()
        self.redraw()

    def set_selected(self, run_ids: list[int]) -> None:
        if set(run_ids) != self.selected:
            self.selected = set(run_ids)
            self.redraw()

    def redraw(self) -> None:
        """Take the pickers' choices (interface thread) and draw with them on the chart's worker."""
        self._metric_shown = self.current_metric()
        self._take_choices()
        self.chart.invalidate()

    def _take_choices(self) -> None:
        """Subclasses copy their own pickers' choices here (the renderer reads no widget)."""

    def current_metric(self) -> str:
        return str(self.metric_box.currentData() or "")

    def set_metric(self, metric: str) -> bool:
        index = self.metric_box.findData(metric)
        if index >= 0:
            self.metric_box.setCurrentIndex(index)
        return index >= 0

    def _choices_changed(self) -> None:
        """Subclasses refresh their own pickers here."""

    # -- drawing ------------------------------------------------------------------------------
    def _render(self, figure: Figure) -> None:  # the chart's worker
        metric = self._metric_shown
        if not self.views or not metric:
            ax = figure.add_subplot()
            ax.set_axis_off()
            text = "No runs to show" if not self.views else "These runs have no results to compare yet"
            ax.text(0.5, 0.5, text, ha="center", va="center", color=MUTED, fontsize=10, transform=ax.transAxes)
            self.axes = None
            return
        self.render(figure, metric)

    def render(self, figure: Figure, metric: str) -> None:  # pragma: no cover - every subclass draws
        raise NotImplementedError

    def style(self, run_id: int) -> tuple[float, float, int]:
        """(line width or size factor, alpha, z-order) of a run: selected ones on top."""
        if run_id in self.selected:
            return 2.8, 1.0, 4
        return 1.3, (0.35 if self.selected else 0.9), 2

    def lower_better(self) -> bool:
        return lower_is_better(self._metric_shown)

    # -- clicking -----------------------------------------------------------------------------
    def hit(self, x: float, y: float) -> int | None:  # pragma: no cover - every subclass finds
        raise NotImplementedError

    def _on_press(self, event: MouseEvent) -> None:
        if event.button != 1 or self.axes is None or event.inaxes is not self.axes:
            return
        run_id = self.hit(float(event.x), float(event.y))
        if run_id is not None:
            self.run_clicked.emit(int(run_id), event.key in ("control", "ctrl", "cmd"))


def segment_distances(points: np.ndarray, x: float, y: float) -> float:
    """The distance (pixels) from (x, y) to the polyline through ``points`` (n, 2), NaN
    vertices breaking it; inf when no segment is drawn."""
    best = np.inf
    for a, b in zip(points[:-1], points[1:]):
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue
        ab = b - a
        length = float(ab @ ab)
        t = 0.0 if length == 0 else float(np.clip(((np.array([x, y]) - a) @ ab) / length, 0.0, 1.0))
        best = min(best, float(np.hypot(*(a + t * ab - (x, y)))))
    if len(points) == 1 and np.all(np.isfinite(points[0])):
        best = float(np.hypot(*(points[0] - (x, y))))
    return best
