"""What the live loss plot adds for a run that validates: the held-out loss on its own,
labelled right-hand axis over the training steps (it is unweighted, the training loss is
weighted), the best epoch marked on both axes, the epoch early stopping stopped at, and the
protocol the validation metrics are measured on.

``ValidationMarks`` owns these artists; ``loss_plot.LossPlot`` feeds it reports and draws
its artists with its own (animated while live, so a new best epoch costs a blit, not a
full draw).
"""
from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.text import Text

from core.protocol import Protocol
from core.train import EpochReport, TrainingHistory

VAL_COLOR = "#c2255c"
BEST_COLOR = "#e0a100"
STOP_COLOR = "#7b8794"
#: Room for the validation-loss axis' ticks and label, right of the loss axes (pixels).
VAL_AXIS_PX = 62
#: The validation loss axis reaches this much above the expected first value (and, after the
#: run, above the highest one): its curve stays in the lower half, clear of the legend.
VAL_HEADROOM = 1.8


def protocol_lines(protocol: Protocol) -> str:
    """Three short lines for a narrow axes: split and k, ranking, seen items and users."""
    split = "leave-last-out" if protocol.split == "last" else f"last {protocol.test_days} day(s)"
    users = f"{protocol.n_users:,} of {protocol.n_test_users:,} users" if protocol.sampled else f"{protocol.n_users:,} users"
    seen = "seen filtered" if protocol.filter_seen else "seen kept"
    return f"{split} · k={','.join(map(str, protocol.ks))}\nfull ranking · {protocol.n_items:,} items\n{seen} · {users}"


class ValidationMarks:
    """The validation artists of a loss axes ``ax`` and its metrics axes ``metric_ax``.

    ``val_ax`` (a twin of ``ax``, sharing its step axis) holds ``val_line``; ``best_line``
    (on ``ax``, at the best epoch's last step) and ``best_metric_line`` (on ``metric_ax``)
    mark the best epoch, ``stop_line`` the epoch early stopping ended the run after;
    ``best_text`` and ``protocol_text`` say which epoch and how it was measured.
    """

    def __init__(self, ax: Axes, metric_ax: Axes) -> None:
        self.ax, self.metric_ax = ax, metric_ax
        self.val_ax = ax.twinx()
        self.val_ax.set_ylabel("Validation loss (held-out, unweighted)", color=VAL_COLOR, fontsize=9)
        self.val_ax.tick_params(axis="y", colors=VAL_COLOR, labelsize=8)
        self.val_ax.set_ylim(0, 1)
        (self.val_line,) = self.val_ax.plot([], [], "D-", lw=1.4, ms=4, color=VAL_COLOR,
                                            label="Validation loss (right axis)")
        self.best_line = ax.axvline(0, color=BEST_COLOR, lw=1.6, ls="--", label="Best epoch")
        self.stop_line = ax.axvline(0, color=STOP_COLOR, lw=1.2, ls=":", label="Early stop")
        self.best_metric_line = metric_ax.axvline(0, color=BEST_COLOR, lw=1.6, ls="--")
        self.protocol_text: Text = metric_ax.text(
            0.03, 0.97, "", transform=metric_ax.transAxes, ha="left", va="top", fontsize=7, color="#52606d",
            linespacing=1.25,
        )
        self.best_text: Text = metric_ax.annotate(
            "", xy=(0.03, 0.97), xycoords="axes fraction", xytext=(0, -40), textcoords="offset points",
            ha="left", va="top", fontsize=8, color="#9c6500", fontweight="bold",
        )
        self.reset()

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the run (no validation loss, no best epoch, no protocol)."""
        self.val_epochs: list[int] = []
        self.val_values: list[float] = []
        self.best_epoch = 0
        self.stopped_after = 0
        self.keeps_best = False
        self.monitor = ""
        self.protocol: Protocol | None = None
        self.protocol_text.set_text("")
        self.best_text.set_text("")
        for line in (self.best_line, self.stop_line, self.best_metric_line):
            line.set_visible(False)

    def plan(self, monitor: str, keeps_best: bool, expected_val_loss: float | None) -> None:
        """A validated run is starting: what picks the best epoch, whether the run keeps it
        (early stopping on), and the validation-loss axis planned from ``expected_val_loss``."""
        self.monitor, self.keeps_best = monitor, keeps_best
        self.val_ax.set_autoscale_on(False)
        self.val_ax.set_ylim(0, max(expected_val_loss or 1.0, 1e-3) * VAL_HEADROOM)

    def add_epoch(self, report: EpochReport) -> bool:
        """Take an epoch's validation loss, best epoch and stop; True when anything changed."""
        changed = False
        if report.val_loss is not None and math.isfinite(report.val_loss):
            self.val_epochs.append(int(report.epoch))
            self.val_values.append(float(report.val_loss))
            changed = True
        if report.best_epoch and report.best_epoch != self.best_epoch:
            self.best_epoch = int(report.best_epoch)
            changed = True
        if report.stopping:
            self.stopped_after = int(report.epoch)
            changed = True
        return changed

    def set_history(self, history: TrainingHistory) -> None:
        """A finished run's validation losses, best, kept and early-stopped epochs."""
        self.reset()
        for epoch, value in enumerate(history.val_losses, start=1):
            if value is not None and math.isfinite(value):
                self.val_epochs.append(epoch)
                self.val_values.append(float(value))
        self.best_epoch = int(history.best_epoch)
        self.monitor = history.monitor
        self.keeps_best = bool(history.best_epoch) and history.kept() == history.best_epoch
        self.stopped_after = history.epochs if history.stopped_early else 0

    def set_protocol(self, protocol: Protocol | None) -> None:
        self.protocol = protocol
        self.protocol_text.set_text(protocol_lines(protocol) if protocol is not None else "")

    @property
    def has_values(self) -> bool:
        return bool(self.val_values)

    @property
    def has_text(self) -> bool:
        """Whether text sits at the top of the metrics axes (keep room for it)."""
        return bool(self.protocol_text.get_text() or self.best_text.get_text())

    # -- drawing ------------------------------------------------------------------------------
    def loss_artists(self) -> tuple:
        """Artists drawn over the loss axes (blitted with its lines)."""
        return (self.val_line, self.best_line, self.stop_line)

    def metric_artists(self) -> tuple:
        """Artists drawn over the metrics axes (blitted with its lines)."""
        return (self.best_metric_line, self.protocol_text, self.best_text)

    def legend_handles(self) -> list[Line2D]:
        return [self.val_line, self.best_line]

    def update(self, steps_per_epoch: int) -> None:
        """Push the buffered values into the artists (x of the loss axes: steps)."""
        per = max(steps_per_epoch, 1)
        self.val_line.set_data([e * per for e in self.val_epochs], self.val_values)
        for line, epoch in ((self.best_line, self.best_epoch * per), (self.stop_line, self.stopped_after * per),
                            (self.best_metric_line, self.best_epoch)):
            line.set_xdata([epoch, epoch])
        self.best_line.set_visible(self.best_epoch > 0)
        self.best_metric_line.set_visible(self.best_epoch > 0)
        self.stop_line.set_visible(self.stopped_after > 0)
        text = ""
        if self.best_epoch:
            text = f"best {self.monitor}: epoch {self.best_epoch}" if self.monitor else f"best: epoch {self.best_epoch}"
            text += " (kept)" if self.keeps_best else ""
        if self.stopped_after:
            text += f"\nearly stop after epoch {self.stopped_after}"
        self.best_text.set_text(text.strip())

    def outgrown(self) -> bool:
        """Grow the planned validation-loss axis when a value left it; True when it grew."""
        if not self.val_values:
            return False
        peak = max(self.val_values)
        if math.isfinite(peak) and peak > self.val_ax.get_ylim()[1]:
            self.val_ax.set_ylim(0, peak * VAL_HEADROOM)
            return True
        return False

    def fit(self) -> None:
        """After a run: zero to ``VAL_HEADROOM`` times the highest validation loss."""
        if self.val_values:
            self.val_ax.set_ylim(0, max(max(self.val_values) * VAL_HEADROOM, 1e-3))

    def set_shown(self, shown: bool) -> None:
        """The validation-loss axis is shown with the metrics axes (a run that validates)."""
        self.val_ax.set_visible(shown)

    def tooltip(self) -> str:
        """The plot's tooltip: how the validation values are measured."""
        if self.protocol is None:
            return ""
        return (f"Validation metrics and loss measured on: {self.protocol.describe()}.\n"
                "The validation loss is the loss of one held-out target (unweighted); the training loss is weighted.")
