"""Dataset charts: interactions-per-user histogram and item popularity curve (loaded vs filtered)."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..logic.summary import DataSummary

LOADED_COLOR = "#9aa5b1"
FILTERED_COLOR = "#2f6fde"
#: left, right, bottom, top margins and the gap between the two charts, in pixels
MARGINS_PX = (66, 14, 50, 30, 78)


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
        self.canvas.mpl_connect("resize_event", self._on_resize)
        self.show_summaries(None, None)

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
        """Redraw both charts for the loaded data and (optionally) the filtered data."""
        for ax in (self.length_ax, self.pop_ax):
            ax.clear()
            ax.grid(True, alpha=0.3)
        self.length_ax.set_title("Session length", fontsize=11)
        self.length_ax.set_xlabel("Interactions per user")
        self.length_ax.set_ylabel("Users")
        self.pop_ax.set_title("Item popularity", fontsize=11)
        self.pop_ax.set_xlabel("Item rank by popularity")
        self.pop_ax.set_ylabel("Interactions")
        if loaded is None or loaded.n_interactions == 0:
            for ax in (self.length_ax, self.pop_ax):
                ax.text(0.5, 0.5, "Open a data folder", transform=ax.transAxes, ha="center", va="center", color="#7b8794")
            self.canvas.draw_idle()
            return
        series = [("Loaded", loaded, LOADED_COLOR)]
        if filtered is not None and filtered.n_interactions:
            series.append(("Filtered", filtered, FILTERED_COLOR))
        for label, summary, color in series:
            filled = label == "Loaded"
            self.length_ax.stairs(
                summary.length_counts, summary.length_edges, label=label, color=color,
                fill=filled, alpha=0.5 if filled else 1.0, lw=1.5,
            )
            ranks = np.arange(1, len(summary.popularity) + 1)
            self.pop_ax.plot(ranks, summary.popularity, label=label, color=color, lw=1.5)
        self.length_ax.set_xscale("log")
        self.length_ax.set_yscale("log")
        self.pop_ax.set_xscale("log")
        self.pop_ax.set_yscale("log")
        self.length_ax.legend(fontsize=8)
        self.pop_ax.legend(fontsize=8)
        self.canvas.draw_idle()
