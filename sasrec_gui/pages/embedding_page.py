"""Item map: the item embeddings projected to 2D (PCA), coloured by primary genre.

All items are one scatter collection (a single draw call). Hovering never redraws the
figure: mouse moves are throttled (one lookup per ``HOVER_INTERVAL_MS`` at most), each
lookup is a binary search plus a small numpy slab (``PointIndex``), the title goes into a
tooltip and the line under the chart, and the ring around the hovered point is blitted
over a cached background. Clicking a point opens that item's similar items.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from matplotlib.backend_bases import MouseEvent
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QToolTip, QWidget

from core.explain import primary_genre
from core.ids import id_value

from ..logic.item_map import compute_map, genre_colours
from ..logic.point_index import PointIndex
from ..services import theme
from ..services.state import AppState
from ..services.workers import run_or_submit
from ..widgets.chart_export import ChartView
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
        self.marker = None  # ring around the hovered point (animated: blitted, never in a full draw)
        self._background = None
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
        self.chart = ChartView(figsize=(9.0, 6.0), toolbar=True)
        self.chart.set_renderer(self._render)
        self.hover_label = QLabel("Hover over a point to see the item; click it to open its similar items.")
        self.hover_label.setObjectName("muted")
        self.placeholder = placeholder_page(self, header, [self.message, self.chart, self.hover_label], NO_MODEL_TEXT, stretch=self.chart)

        self._hover_timer = single_shot_timer(self, HOVER_INTERVAL_MS, self._process_hover)
        canvas = self.chart.canvas
        canvas.mpl_connect("motion_notify_event", self._on_motion)
        canvas.mpl_connect("axes_leave_event", lambda _e: self._leave())
        canvas.mpl_connect("button_press_event", self._on_press)
        canvas.mpl_connect("draw_event", self._on_draw)
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
        self.message.show_message(
            f"{len(frame):,} items. Hover for titles, click a point to open its similar items; "
            "zoom and pan with the toolbar. Right-click the chart to save it as PNG."
        )
        self.chart.invalidate()

    # -- chart ------------------------------------------------------------------------------
    def _render(self, figure: Figure) -> None:
        ax = figure.add_subplot()
        self.scatter = self.marker = self._background = None
        scale = theme.font_scale()
        if self.frame is None or self.frame.empty:
            ax.set_axis_off()
            text = "Computing the map …" if self.state.model is not None else "No model"
            ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7b8794")
            return
        n = len(self.frame)
        colours, legend, counts = genre_colours(self.genres)
        size = 22.0 if n <= 2000 else 9.0 if n <= 10_000 else 5.0
        self.scatter = ax.scatter(self.frame["x"].to_numpy(), self.frame["y"].to_numpy(), c=colours, s=size,
                                  linewidths=0, alpha=0.85)
        (self.marker,) = ax.plot([], [], ls="", marker="o", ms=14, mfc="none", mec=theme.current().text, mew=2.0,
                                 animated=True)
        ax.set_xlabel("Principal component 1", fontsize=9 * scale)
        ax.set_ylabel("Principal component 2", fontsize=9 * scale)
        ax.set_title(f"{n:,} item embeddings (2D PCA), coloured by primary genre", fontsize=10 * scale)
        ax.tick_params(labelsize=8 * scale)
        ax.grid(True, alpha=0.2)
        handles = [Line2D([], [], ls="", marker="o", ms=7, color=c, label=f"{g} ({counts[g]:,})") for g, c in legend.items()]
        figure.legend(handles=handles, loc="outside right upper", title="Primary genre", fontsize=8 * scale,
                      title_fontsize=9 * scale, frameon=False)

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
        ratio = canvas.device_pixel_ratio or 1.0
        local = QPoint(int(x / ratio), int(canvas.height() - y / ratio))
        QToolTip.showText(canvas.mapToGlobal(local), text, canvas)
        return text

    def _on_motion(self, event: MouseEvent) -> None:
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

    def _on_draw(self, _event: object) -> None:
        """A full draw happened: cache the background for blitting and redraw the ring."""
        if self.marker is None:
            return
        canvas = self.chart.canvas
        self._background = canvas.copy_from_bbox(self.chart.figure.bbox)
        if self.hovered_item is not None and self.marker.get_xdata().size:
            self.marker.axes.draw_artist(self.marker)

    def _highlight(self, row: int | None) -> None:
        """Move the ring to ``row`` (None: hide it) by blitting; no full redraw."""
        if self.marker is None or self._background is None or self.frame is None:
            return
        canvas = self.chart.canvas
        canvas.restore_region(self._background)
        if row is None:
            self.marker.set_data([], [])
        else:
            self.marker.set_data([self.frame["x"].iat[row]], [self.frame["y"].iat[row]])
            self.marker.axes.draw_artist(self.marker)
        canvas.blit(self.chart.figure.bbox)

    def _on_press(self, event: MouseEvent) -> None:
        toolbar = self.chart.toolbar
        if event.button != 1 or event.inaxes is None or event.inaxes is not self.axes:
            return
        if toolbar is not None and str(toolbar.mode):  # zooming or panning
            return
        item = self.item_at(event.x, event.y)
        if item is not None:
            self.item_activated.emit(item)
