"""A scatter of any setting against any metric over the shown runs: one point per run that
has the metric, coloured by it, the selected runs ringed; clicking a point selects its run.
Categorical settings (loss, booleans) get one column per value. Matplotlib's public API only.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from ..logic.run_views import metric_label, protocol_short, scatter_data, setting_choices, setting_label
from .run_chart import PICK_PX, RunChart, colour_scale, set_choices

#: Runs labelled with their id beside their point when there are at most this many.
LABELLED_RUNS = 15


class SettingsScatter(RunChart):
    """One setting (x) against the metric (y) for the shown runs (``run_clicked`` on a point)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setting = QComboBox()
        self.setting.setToolTip("The hyperparameter on the x axis (those that differ between the shown runs first).")
        self.controls.insertWidget(0, QLabel("Setting"))
        self.controls.insertWidget(1, self.setting, 1)
        self.data = None
        self._setting_shown = ""
        self.setting.currentIndexChanged.connect(lambda _i: self.redraw())

    def _choices_changed(self) -> None:
        set_choices(self.setting, [(setting_label(name), name) for name in setting_choices(self.views)])

    def _take_choices(self) -> None:
        self._setting_shown = self.current_setting()

    def current_setting(self) -> str:
        return str(self.setting.currentData() or "")

    def set_setting(self, name: str) -> bool:
        index = self.setting.findData(name)
        if index >= 0:
            self.setting.setCurrentIndex(index)
        return index >= 0

    def render(self, figure: Figure, metric: str) -> None:
        setting = self._setting_shown
        data = scatter_data(self.views, setting, metric)
        self.data = data
        ax = figure.add_subplot()
        self.axes = ax
        cmap, norm = colour_scale(data.y, self.lower_better())
        sizes = np.array([110.0 if r in self.selected else 36.0 for r in data.run_ids])
        edges = ["#1f2933" if r in self.selected else "none" for r in data.run_ids]
        alphas = np.array([self.style(r)[1] for r in data.run_ids])
        if len(data.run_ids):
            order = np.argsort([r in self.selected for r in data.run_ids], kind="stable")  # selected last: on top
            points = ax.scatter(data.x[order], data.y[order], c=data.y[order], cmap=cmap, norm=norm, s=sizes[order],
                                edgecolors=[edges[i] for i in order], linewidths=1.6, alpha=alphas[order], zorder=3)
            bar = figure.colorbar(points, ax=ax, pad=0.01, fraction=0.04)
            bar.ax.tick_params(labelsize=7)
            if len(data.run_ids) <= LABELLED_RUNS:
                for run_id, x, y in zip(data.run_ids, data.x, data.y):
                    ax.annotate(str(run_id), (x, y), xytext=(5, 4), textcoords="offset points", fontsize=7, color="#52606d")
        else:
            ax.text(0.5, 0.5, "No run has this metric", transform=ax.transAxes, ha="center", va="center", color="#7b8794")
        if data.x_log:
            ax.set_xscale("log")
        if data.x_ticks:
            ax.set_xticks([p for p, _ in data.x_ticks], [label for _, label in data.x_ticks])
            ax.set_xlim(-0.6, len(data.x_ticks) - 0.4)
        ax.set_xlabel(setting_label(setting), fontsize=9)
        ax.set_ylabel(metric_label(metric), fontsize=9)
        ax.grid(True, alpha=0.3)
        note = f"; {data.missing} run(s) without it left out" if data.missing else ""
        ax.set_title(f"{setting} against {metric_label(metric).split(' (')[0]} — measured on: "
                     f"{protocol_short(self.views, metric)}{note}", fontsize=8.5, loc="left")

    def hit(self, x: float, y: float) -> int | None:
        """The run whose point is within ``PICK_PX`` pixels of (x, y) (the nearest)."""
        if self.axes is None or self.data is None or not len(self.data.run_ids):
            return None
        points = self.axes.transData.transform(np.column_stack([self.data.x, self.data.y]))
        distances = np.hypot(points[:, 0] - x, points[:, 1] - y)
        i = int(np.argmin(distances))
        return self.data.run_ids[i] if distances[i] <= PICK_PX * 1.5 else None

    def point_of(self, run_id: int) -> tuple[float, float]:
        """Display pixels of ``run_id``'s point."""
        assert self.axes is not None and self.data is not None
        i = self.data.run_ids.index(run_id)
        px, py = self.axes.transData.transform((self.data.x[i], self.data.y[i]))
        return float(px), float(py)
