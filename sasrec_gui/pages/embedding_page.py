"""Item map: the item embeddings projected to 2D (PCA), coloured by primary genre.

All items are one scatter collection, drawn on a worker thread (``ChartView(threaded=True)``):
at KION size (15.7k points, a legend of genres) a draw took 130-360 ms, a freeze of the
interface when it ran there. Hovering never redraws the chart: mouse moves are throttled (one
lookup per ``HOVER_INTERVAL_MS`` at most), each lookup is a binary search plus a small numpy
slab (``PointIndex``) against the chart on screen, the title goes into a tooltip and the line
under the chart, and the ring around the hovered point is painted over the image. Clicking a
point opens that item's similar items; the wheel zooms around the mouse, a drag pans, and
"Reset view" shows every item again (each view drawn on the worker).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolTip, QWidget

from core.explain import primary_genre
from core.ids import id_value

from ..logic.item_map import compute_map, genre_colours
from ..logic.point_index import PointIndex
from ..services import theme
from ..services.state import AppState
from ..services.workers import run_or_submit
from ..widgets.chart_export import ChartEvent, ChartView
from ..widgets.chart_navigation import ZoomPan
from ..widgets.common import MessageLine, page_header, placeholder_page, single_shot_timer

NO_MODEL_TEXT = "Train a model or open a checkpoint to see its map of items."
HOVER_INTERVAL_MS = 30
HOVER_RADIUS_PX = 8


class EmbeddingPage(QWidget):
    """The 2D item map; ``item_activated(item_id)`` when a point is clicked."""

    item_activated = Signal(object)  # item id: int or str

    def __init__(self, state: AppState, runner=None, parent: QWidget | None = None) -> None:  # noqa: ANN001 - TaskRunner
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.runner = runner
        self.frame: pd.DataFrame | None = None
        self.genres = pd.Series(dtype=object)
        self.index: PointIndex | None = None
        self.scatter = None
        self.hovered_item: int | str | None = None
        self.lookups = 0
        self.last_lookup_ms = 0.0
        self._stale = True
        self._computing = False
        self._hover_pos: tuple[float, float] | None = None
        self._titles: dict[int, str] = {}

        header, self.subtitle = page_header(
            "Item map", "Item embeddings projected to two dimensions (PCA): items close together are similar to the model."
        )
        self.message = MessageLine()
        self.chart = ChartView(figsize=(9.0, 6.0), threaded=True)  # drawn on a worker: see the module
        self.chart.set_renderer(self._render)
        #: the wheel zooms, a drag pans (``view_limits``); a click opens the item under the mouse
        self.navigation = ZoomPan(self.chart, lambda: self.chart.figure.axes[:1] if self.scatter is not None else [])
        self.navigation.changed.connect(self._view_changed)
        self.navigation.clicked.connect(self._on_click)
        self.hover_label = QLabel("Hover over a point to see the item; click it to open its similar items.")
        self.hover_label.setObjectName("muted")
        self.reset_view_button = QPushButton("Reset view")
        self.reset_view_button.setToolTip("Show every item again after zooming (wheel) or panning (drag).")
        self.reset_view_button.setEnabled(False)
        self.reset_view_button.clicked.connect(lambda _checked=False: self.reset_view())
        bottom = QHBoxLayout()
        bottom.addWidget(self.hover_label, 1)
        bottom.addWidget(self.reset_view_button)
        self.placeholder = placeholder_page(self, header, [self.message, self.chart, bottom], NO_MODEL_TEXT, stretch=self.chart)

        self._hover_timer = single_shot_timer(self, HOVER_INTERVAL_MS, self._process_hover)
        canvas = self.chart.canvas
        canvas.mpl_connect("motion_notify_event", self._on_motion)
        canvas.mpl_connect("axes_leave_event", lambda _e: self._leave())
        state.model_changed.connect(self._model_changed)
        state.data_changed.connect(self._model_changed)
        self._model_changed()

    # -- data -------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        self.frame, self.index, self.scatter = None, None, None
        self._stale = True
        if self.state.model is None:
            self.placeholder.show_placeholder(NO_MODEL_TEXT)
            self.chart.invalidate()
            return
        self.placeholder.show_content()
        self.message.show_message("Preparing the map …")
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale and self.state.model is not None:
            self.refresh()

    def refresh(self) -> None:
        """Compute the map of the current model (in the background with a runner)."""
        recommender = self.state.recommender
        if recommender is None:
            return
        self._stale = False
        items = self.state.data.items if self.state.data is not None else None

        def done(result: tuple[pd.DataFrame, pd.Series]) -> None:
            self._computing = False
            if self.state.recommender is recommender:
                self.set_map(*result)

        def failed(exc: BaseException) -> None:
            self._computing = False
            self.message.show_message(f"Could not compute the map: {exc}", error=True)

        self._computing = True
        run_or_submit(self.runner, "embedding", lambda: compute_map(recommender, items), done, failed)

    @property
    def computing(self) -> bool:
        return self._computing

    def set_map(self, frame: pd.DataFrame, genres: pd.Series | None = None) -> None:
        """Show ``frame`` (item_id, x, y) coloured by ``genres`` (primary genre per row)."""
        frame = frame.reset_index(drop=True)
        if genres is None:
            items = self.state.data.items if self.state.data is not None else None
            genres = primary_genre(items, frame["item_id"]).reset_index(drop=True)
        self.frame = frame
        self.genres = pd.Series(np.asarray(genres, dtype=object))
        self.index = PointIndex(frame["x"].to_numpy(), frame["y"].to_numpy())
        self._titles = {}
        self.hovered_item = None
        self.navigation.reset(draw=False)
        self.message.show_message(
            f"{len(frame):,} items. Hover for titles, click a point to open its similar items; "
            "scroll to zoom, drag to pan. Right-click the chart to save it as PNG."
        )
        self._redraw()

    def _redraw(self) -> None:
        """Draw again (on the chart's worker); the hover ring goes until the mouse moves."""
        self.hovered_item = None
        self.chart.canvas.set_ring(None)
        self.chart.invalidate()

    # -- chart ------------------------------------------------------------------------------
    def _render(self, figure: Figure) -> None:  # the chart's worker: reads the frame, genres and view limits
        ax = figure.add_subplot()
        self.scatter = None
        scale = theme.font_scale()
        if self.frame is None or self.frame.empty:
            ax.set_axis_off()
            text = "Computing the map …" if self.state.model is not None else "No model"
            ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7b8794")
            return
        n = len(self.frame)
        colours, legend, counts = genre_colours(self.genres)
        size = 22.0 if n <= 2000 else 9.0 if n <= 10_000 else 5.0
        scatter = ax.scatter(self.frame["x"].to_numpy(), self.frame["y"].to_numpy(), c=colours, s=size,
                             linewidths=0, alpha=0.85)
        self.navigation.apply([ax])
        ax.set_xlabel("Principal component 1", fontsize=9 * scale)
        ax.set_ylabel("Principal component 2", fontsize=9 * scale)
        ax.set_title(f"{n:,} item embeddings (2D PCA), coloured by primary genre", fontsize=10 * scale)
        ax.tick_params(labelsize=8 * scale)
        ax.grid(True, alpha=0.2)
        handles = [Line2D([], [], ls="", marker="o", ms=7, color=c, label=f"{g} ({counts[g]:,})") for g, c in legend.items()]
        figure.legend(handles=handles, loc="outside right upper", title="Primary genre", fontsize=8 * scale,
                      title_fontsize=9 * scale, frameon=False)
        self.scatter = scatter

    @property
    def axes(self):  # noqa: ANN201 - Axes | None
        return self.scatter.axes if self.scatter is not None else None

    # -- hover and click --------------------------------------------------------------------
    def item_at(self, x: float, y: float, radius_px: float | None = None) -> int | None:
        """Item id of the point nearest to display position (x, y) (matplotlib pixels, origin
        bottom left) within ``radius_px`` (default 8 logical pixels); None when none."""
        row = self.row_at(x, y, radius_px)
        return None if row is None else id_value(self.frame["item_id"].iat[row])

    def row_at(self, x: float, y: float, radius_px: float | None = None) -> int | None:
        """Row of ``frame`` nearest to display position (x, y), as ``item_at``."""
        ax, index = self.axes, self.index
        if ax is None or index is None or self.frame is None:
            return None
        start = time.perf_counter()
        try:
            if not ax.bbox.contains(x, y):
                return None
            radius = (radius_px or HOVER_RADIUS_PX) * self.chart.canvas.device_pixel_ratio
            (x0, y0), (x1, y1) = ax.transData.transform([(0.0, 0.0), (1.0, 1.0)])
            px_x, px_y = abs(x1 - x0), abs(y1 - y0)
            if px_x == 0 or px_y == 0:
                return None
            dx, dy = ax.transData.inverted().transform((x, y))
            return index.nearest(dx, dy, radius / px_x, radius / px_y)
        finally:
            self.lookups += 1
            self.last_lookup_ms = 1000.0 * (time.perf_counter() - start)

    def describe(self, item_id: int | str) -> str:
        text = self._titles.get(item_id)
        if text is None:
            text = self.state.catalog.describe(item_id)
            self._titles[item_id] = text
        return text

    def hover_at(self, x: float, y: float) -> str:
        """Look up the point under display position (x, y) and show its title; returns the text."""
        row = self.row_at(x, y)
        item = None if row is None else id_value(self.frame["item_id"].iat[row])
        if item != self.hovered_item:
            self._highlight(row)
        self.hovered_item = item
        if item is None:
            QToolTip.hideText()
            return ""
        text = self.describe(item)
        self.hover_label.setText(f"{text}  [item {item}] — click to open its similar items")
        canvas = self.chart.canvas
        QToolTip.showText(canvas.mapToGlobal(canvas.widget_point(x, y).toPoint()), text, canvas)
        return text

    def _on_motion(self, event: ChartEvent) -> None:
        if self.navigation.dragging:
            return
        self._hover_pos = (event.x, event.y) if event.inaxes is not None and event.inaxes is self.axes else None
        if not self._hover_timer.isActive():
            self._hover_timer.start()

    def _process_hover(self) -> None:
        if self._hover_pos is None:
            self._leave()
        else:
            self.hover_at(*self._hover_pos)

    def _leave(self) -> None:
        self._hover_pos = None
        if self.hovered_item is not None:
            self.hovered_item = None
            self._highlight(None)
            QToolTip.hideText()

    def _highlight(self, row: int | None) -> None:
        """Move the ring to ``row`` (None: hide it), painted over the chart's image; no draw."""
        ax = self.axes
        if row is None or ax is None or self.frame is None:
            self.chart.canvas.set_ring(None)
            return
        x, y = ax.transData.transform((self.frame["x"].iat[row], self.frame["y"].iat[row]))
        self.chart.canvas.set_ring(x, y, radius=7.0, color=theme.current().text)

    # -- click, zoom and pan (``navigation``) -----------------------------------------------
    def _on_click(self, event: ChartEvent) -> None:
        item = self.item_at(event.x, event.y)
        if item is not None:
            self.item_activated.emit(item)

    @property
    def view_limits(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The shown ranges ((x0, x1), (y0, y1)) after a zoom or pan; None: every item."""
        return self.navigation.limits.get(0)

    def _view_changed(self) -> None:
        self.reset_view_button.setEnabled(self.navigation.zoomed)
        self.hovered_item = None
        self.chart.canvas.set_ring(None)

    def set_view(self, limits: tuple[tuple[float, float], tuple[float, float]] | None) -> None:
        """Show the ranges ((x0, x1), (y0, y1)) of the two components (None: every item)."""
        self.navigation.set_limits(0, limits)

    def reset_view(self) -> None:
        """Show every item again after a zoom or pan."""
        self.set_view(None)
