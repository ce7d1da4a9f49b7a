"""Dataset charts: interactions-per-user histogram and item popularity curve (loaded vs filtered).

The axes and their artists are made once; a new summary only replaces the artists' data and
the limits (``set_data``), so a filter change costs one draw and no axes rebuild. The log
axes carry major ticks only, labelled with plain text ("10", "1k", "1M", no mathtext), and
the titles sit at a fixed height: together they keep a draw to a few tens of milliseconds.
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..logic.summary import DataSummary

LOADED_COLOR = "#9aa5b1"
FILTERED_COLOR = "#2f6fde"
#: left, right, bottom, top margins and the gap between the two charts, in pixels
MARGINS_PX = (66, 14, 50, 30, 78)
EMPTY_TEXT = "Open a data folder"


def short_count(value: float, _pos: object = None) -> str:
    """A tick label for a count on a log axis: '1', '10', '100', '1k', '10k', '1M' (no mathtext)."""
    if value <= 0 or not np.isfinite(value):
        return ""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:g}{suffix}"
    return f"{value:g}"


def _log_limits(low: float, high: float) -> tuple[float, float]:
    """Whole decades around [low, high] (both > 0)."""
    low, high = max(low, 1.0), max(high, 1.0)
    return 10 ** np.floor(np.log10(low)), 10 ** np.ceil(np.log10(high) + 1e-9)


class DataCharts(QWidget):
    """Two small charts drawn from precomputed ``DataSummary`` arrays (cheap on the UI thread)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(7.0, 3.2))
        self.canvas = FigureCanvasQTAgg(self.figure)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.length_ax, self.pop_ax = self.figure.subplots(1, 2)
        self._build_axes()
        self.canvas.mpl_connect("resize_event", self._on_resize)
        self.show_summaries(None, None)

    def _build_axes(self) -> None:
        """Titles, labels, log scales with plain labels, and the (empty) artists, once."""
        ax_l, ax_p = self.length_ax, self.pop_ax
        for ax, title, xlabel, ylabel in (
            (ax_l, "Session length", "Interactions per user", "Users"),
            (ax_p, "Item popularity", "Item rank by popularity", "Interactions"),
        ):
            ax.set_title(title, fontsize=11, y=1.0, pad=6)  # a fixed y: no title placement per draw
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_autoscale_on(False)  # limits are set from the summaries (no autoscale per update)
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(LogLocator(base=10, numticks=8))
                axis.set_minor_locator(NullLocator())
                axis.set_major_formatter(FuncFormatter(short_count))
            ax.grid(True, alpha=0.3)
        edges = np.array([1.0, 2.0])
        self.loaded_stairs = ax_l.stairs([0.0], edges, label="Loaded", color=LOADED_COLOR, fill=True, alpha=0.5, lw=1.5)
        self.filtered_stairs = ax_l.stairs([0.0], edges, label="Filtered", color=FILTERED_COLOR, fill=False, lw=1.5)
        (self.loaded_line,) = ax_p.plot([], [], label="Loaded", color=LOADED_COLOR, lw=1.5)
        (self.filtered_line,) = ax_p.plot([], [], label="Filtered", color=FILTERED_COLOR, lw=1.5)
        self.empty_texts = [
            ax.text(0.5, 0.5, EMPTY_TEXT, transform=ax.transAxes, ha="center", va="center", color="#7b8794")
            for ax in (ax_l, ax_p)
        ]
        self._legend_key: tuple[bool, bool] | None = None

    def _on_resize(self, _event: object) -> None:
        """Fixed pixel margins (no layout engine on every draw: drawing stays cheap)."""
        width, height = self.canvas.get_width_height()
        if width < 100 or height < 100:
            return
        left, right, bottom, top, gap = MARGINS_PX
        axes_width = (width - left - right - gap) / 2
        self.figure.subplots_adjust(
            left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
            wspace=gap / max(axes_width, 1),
        )

    def show_summaries(self, loaded: DataSummary | None, filtered: DataSummary | None) -> None:
        """Show the loaded data and (optionally) the filtered data; one draw, when shown."""
        has_loaded = loaded is not None and loaded.n_interactions > 0
        has_filtered = has_loaded and filtered is not None and filtered.n_interactions > 0
        for text in self.empty_texts:
            text.set_visible(not has_loaded)
        series = ((loaded, self.loaded_stairs, self.loaded_line, has_loaded),
                  (filtered, self.filtered_stairs, self.filtered_line, has_filtered))
        x_len, y_len, x_pop, y_pop = [], [], [], []
        for summary, stairs, line, shown in series:
            stairs.set_visible(shown)
            line.set_visible(shown)
            if not shown:
                continue
            stairs.set_data(summary.length_counts.astype(float), summary.length_edges.astype(float))
            ranks = np.arange(1, len(summary.popularity) + 1)
            line.set_data(ranks, summary.popularity)
            x_len += [float(summary.length_edges[0]), float(summary.length_edges[-1])]
            y_len += [float(summary.length_counts[summary.length_counts > 0].max(initial=1))]
            x_pop += [1.0, float(max(len(ranks), 1))]
            y_pop += [float(summary.popularity.max(initial=1)), float(summary.popularity[summary.popularity > 0].min(initial=1))]
        if has_loaded:
            self.length_ax.set_xlim(*_log_limits(min(x_len), max(x_len)))
            self.length_ax.set_ylim(0.7, _log_limits(1.0, max(y_len))[1])
            self.pop_ax.set_xlim(*_log_limits(min(x_pop), max(x_pop)))
            self.pop_ax.set_ylim(*_log_limits(min(y_pop), max(y_pop)))
        else:
            for ax in (self.length_ax, self.pop_ax):
                ax.set_xlim(1, 10)
                ax.set_ylim(1, 10)
        key = (has_loaded, has_filtered)
        if key != self._legend_key:  # a legend only when the shown series change
            self._legend_key = key
            for ax in (self.length_ax, self.pop_ax):
                handles = [h for h in ax.get_children() if getattr(h, "get_label", None) and h.get_visible()
                           and h.get_label() in ("Loaded", "Filtered")]
                legend = ax.get_legend()
                if legend is not None:
                    legend.remove()
                if handles:
                    ax.legend(handles=handles, fontsize=8)
        self.canvas.draw_idle()
