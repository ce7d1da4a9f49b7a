"""Parallel coordinates of runs: one vertical axis per hyperparameter that differs between
the shown runs (the key ones when none does) and a last one for the chosen metric, one line
per run through its values, coloured by the metric (the better end yellow). The selected
runs are drawn on top; clicking a line selects its run. Matplotlib's public API only.
"""
from __future__ import annotations

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from PySide6.QtWidgets import QWidget

from ..logic.run_views import parallel_data, protocol_short
from .run_chart import MISSING_COLOR, MUTED, PICK_PX, RunChart, colour_scale, segment_distances


class ParallelCoordinates(RunChart):
    """The shown runs' settings and a metric as parallel coordinates (``run_clicked`` on a line)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = None
        self.lines: dict[int, object] = {}

    def render(self, figure: Figure, metric: str) -> None:
        data = parallel_data(self.views, metric)
        self.data = data
        ax = figure.add_subplot()
        self.axes = ax
        n_axes = len(data.axes)
        xs = np.arange(n_axes, dtype=np.float64)
        cmap, norm = colour_scale(data.values, data.lower_is_better)
        self.lines = {}
        order = sorted(range(data.n_runs), key=lambda i: data.run_ids[i] in self.selected)  # selected last: on top
        for i in order:
            run_id, value = data.run_ids[i], data.values[i]
            width, alpha, z = self.style(run_id)
            color = cmap(norm(value)) if np.isfinite(value) else MISSING_COLOR
            (line,) = ax.plot(xs, data.positions[i], color=color, lw=width, alpha=alpha, zorder=z,
                              marker="o", ms=3 if width < 2 else 5, solid_capstyle="round")
            self.lines[run_id] = line
        ax.vlines(xs, 0, 1, colors=MUTED, lw=1.0, zorder=1)
        for j, axis in enumerate(data.axes):
            for position, label in axis.ticks:
                ax.text(xs[j], position, f" {label}", fontsize=7.5, va="center", ha="left", zorder=5,
                        color="#1f2933", bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
        labels = [f"{a.label}{' (log)' if a.log else ''}" for a in data.axes]
        labels[-1] = labels[-1].replace(" (", "\n(", 1)
        ax.set_xticks(xs, labels, fontsize=8)
        ax.set_xlim(-0.25, max(n_axes - 1, 1) + 0.45)
        ax.set_ylim(-0.06, 1.06)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        mappable = ScalarMappable(norm=norm, cmap=cmap)
        bar = figure.colorbar(mappable, ax=ax, pad=0.01, fraction=0.04)
        bar.set_label(data.axes[-1].label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
        missing = int(np.count_nonzero(~np.isfinite(data.values)))
        note = f"; {missing} without it (grey)" if missing else ""
        ax.set_title(f"{data.n_runs} run(s): settings against {data.axes[-1].label.split(' (')[0]} — measured on: "
                     f"{protocol_short(self.views, metric)}{note}", fontsize=8.5, loc="left")

    def hit(self, x: float, y: float) -> int | None:
        """The run whose line passes within ``PICK_PX`` pixels of (x, y) (selected ones first)."""
        if self.axes is None or self.data is None:
            return None
        xs = np.arange(len(self.data.axes), dtype=np.float64)
        best, best_id = PICK_PX, None
        for i in sorted(range(self.data.n_runs), key=lambda k: self.data.run_ids[k] not in self.selected):
            points = self.axes.transData.transform(np.column_stack([xs, self.data.positions[i]]))
            distance = segment_distances(points, x, y)
            if distance < best:
                best, best_id = distance, self.data.run_ids[i]
        return best_id

    def point_of(self, run_id: int, axis: int = -1) -> tuple[float, float]:
        """Display pixels of ``run_id``'s vertex on ``axis`` (the metric's by default)."""
        assert self.axes is not None and self.data is not None
        i = self.data.run_ids.index(run_id)
        j = axis % len(self.data.axes)
        x, y = self.axes.transData.transform((float(j), float(self.data.positions[i, j])))
        return float(x), float(y)
