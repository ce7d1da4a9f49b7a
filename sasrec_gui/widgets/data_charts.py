"""Dataset charts: interactions-per-user histogram and item popularity curve (loaded vs filtered).

Drawn on a worker thread (``ChartView(threaded=True)``) from the summaries' arrays, so opening
a folder or changing a filter never waits for a draw (at KION size, on a busy two-core
machine, a draw on the interface thread froze it for up to 200 ms). The log axes carry major
ticks only, labelled with plain text ("10", "1k", "1M", no mathtext), with fixed pixel
margins and titles at a fixed height: a draw stays cheap wherever it runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import StepPatch
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..logic.summary import DataSummary
from .chart_export import ChartView

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


def draw_data_charts(figure: Figure, loaded: DataSummary | None, filtered: DataSummary | None) -> DataChartArtists:
    """Draw the two charts of ``loaded`` (and ``filtered``, when given) on ``figure``, with
    fixed pixel margins (no layout engine) and log axes labelled in plain text; any thread."""
    figure.set_layout_engine(None)
    length_ax, pop_ax = figure.subplots(1, 2)
    width, height = figure.get_size_inches() * figure.dpi
    ratio = figure.dpi / 100.0  # margins are logical pixels
    left, right, bottom, top, gap = (m * ratio for m in MARGINS_PX)
    if width > left + right + gap and height > bottom + top:
        axes_width = (width - left - right - gap) / 2
        figure.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                               wspace=gap / max(axes_width, 1))
    for ax, title, xlabel, ylabel in (
        (length_ax, "Session length", "Interactions per user", "Users"),
        (pop_ax, "Item popularity", "Item rank by popularity", "Interactions"),
    ):
        ax.set_title(title, fontsize=11, y=1.0, pad=6)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_autoscale_on(False)  # limits come from the summaries
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(LogLocator(base=10, numticks=8))
            axis.set_minor_locator(NullLocator())
            axis.set_major_formatter(FuncFormatter(short_count))
        ax.grid(True, alpha=0.3)
    has_loaded = loaded is not None and loaded.n_interactions > 0
    has_filtered = has_loaded and filtered is not None and filtered.n_interactions > 0
    edges = np.array([1.0, 2.0])
    artists = DataChartArtists(
        length_ax, pop_ax,
        length_ax.stairs([0.0], edges, label="Loaded", color=LOADED_COLOR, fill=True, alpha=0.5, lw=1.5),
        length_ax.stairs([0.0], edges, label="Filtered", color=FILTERED_COLOR, fill=False, lw=1.5),
        pop_ax.plot([], [], label="Loaded", color=LOADED_COLOR, lw=1.5)[0],
        pop_ax.plot([], [], label="Filtered", color=FILTERED_COLOR, lw=1.5)[0],
        [ax.text(0.5, 0.5, EMPTY_TEXT, transform=ax.transAxes, ha="center", va="center", color="#7b8794",
                 visible=not has_loaded) for ax in (length_ax, pop_ax)],
    )
    series = ((loaded, artists.loaded_stairs, artists.loaded_line, has_loaded),
              (filtered, artists.filtered_stairs, artists.filtered_line, has_filtered))
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
        length_ax.set_xlim(*_log_limits(min(x_len), max(x_len)))
        length_ax.set_ylim(0.7, _log_limits(1.0, max(y_len))[1])
        pop_ax.set_xlim(*_log_limits(min(x_pop), max(x_pop)))
        pop_ax.set_ylim(*_log_limits(min(y_pop), max(y_pop)))
        for ax in (length_ax, pop_ax):
            ax.legend(handles=[h for h in (artists.loaded_line, artists.filtered_line) if h.get_visible()], fontsize=8)
    else:
        for ax in (length_ax, pop_ax):
            ax.set_xlim(1, 10)
            ax.set_ylim(1, 10)
    return artists


@dataclass(frozen=True)
class DataChartArtists:
    """The axes and artists of one drawing of the data charts (``draw_data_charts``)."""

    length_ax: Axes
    pop_ax: Axes
    loaded_stairs: StepPatch
    filtered_stairs: StepPatch
    loaded_line: Line2D
    filtered_line: Line2D
    empty_texts: list[Text]


class DataCharts(QWidget):
    """The two charts of the Data page, drawn on a worker (``ChartView(threaded=True)``) from
    the summaries' precomputed arrays: opening a folder or changing a filter never waits for
    a draw. ``artists`` are those of the chart on screen (``chart.flush()`` draws at once)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = ChartView(figsize=(7.0, 3.2), threaded=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chart)
        self._summaries: tuple[DataSummary | None, DataSummary | None] = (None, None)
        self.artists: DataChartArtists | None = None
        self.chart.set_renderer(self._render)

    @property
    def figure(self) -> Figure:
        return self.chart.figure

    @property
    def canvas(self) -> QWidget:
        return self.chart.canvas

    def show_summaries(self, loaded: DataSummary | None, filtered: DataSummary | None) -> None:
        """Show the loaded data and (optionally) the filtered data: drawn on a worker when shown."""
        self._summaries = (loaded, filtered)
        self.chart.invalidate()

    def _render(self, figure: Figure) -> None:  # the chart's worker: reads only the summaries' snapshot
        loaded, filtered = self._summaries
        self.artists = draw_data_charts(figure, loaded, filtered)

    def _drawn(self) -> DataChartArtists:
        if self.artists is None or self.chart.dirty or self.chart.rendering:
            self.chart.flush()
        assert self.artists is not None
        return self.artists

    # the axes and artists of the chart on screen (drawn now when a change is pending)
    length_ax = property(lambda self: self._drawn().length_ax)
    pop_ax = property(lambda self: self._drawn().pop_ax)
    loaded_line = property(lambda self: self._drawn().loaded_line)
    filtered_line = property(lambda self: self._drawn().filtered_line)
    empty_texts = property(lambda self: self._drawn().empty_texts)
