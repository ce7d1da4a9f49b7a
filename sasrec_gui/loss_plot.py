"""Live training-loss plot: per-step loss, its EMA and per-epoch means.

Reports only append to buffers. A QTimer (4 Hz by default) pushes the buffers into the
existing Line2D objects with ``set_data`` and refreshes the plot, so the redraw rate is
bounded no matter how often the worker reports.

While a run is live the axes are planned ahead (x: the run's total steps, y: from zero to
a little above the expected first loss) and the three lines are *animated*: a tick only
restores the cached background and redraws the lines (blitting, a few ms). A full
``draw_idle`` happens only when the plan turns out too small (a loss above the top, more
steps than planned), on resize and pan/zoom. A full draw of a matplotlib figure costs tens
of milliseconds, more while training competes for the CPU; blitting keeps the window
responsive. When the run ends, ``relim``/``autoscale_view`` fit the view to the data.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.train import EpochReport, StepReport, TrainingHistory

MAX_DRAWN_POINTS = 4000
STEP_COLOR = "#2f6fde"
EPOCH_COLOR = "#e8590c"
HEADROOM = 1.25
#: Margins around the axes in pixels (left, right, bottom, top): fixed, so no layout engine runs per draw.
MARGINS_PX = (72, 18, 52, 14)


class LossPlot(QWidget):
    """A matplotlib canvas + toolbar showing the loss of the current (or loaded) run."""

    def __init__(self, parent: QWidget | None = None, redraw_hz: float = 4.0) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(6.0, 3.6))
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.toolbar = NavigationToolbar2QT(self.canvas, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.canvas, 1)

        self.ax = self.figure.add_subplot()
        self.ax.set_xlabel("Training step")
        self.ax.set_ylabel("Loss")
        self.ax.grid(True, alpha=0.3)
        self.ax.xaxis.set_major_locator(MaxNLocator(8, integer=True, steps=[1, 2, 2.5, 5, 10]))
        self.ax.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
        (self.step_line,) = self.ax.plot([], [], lw=0.8, alpha=0.35, color=STEP_COLOR, label="Loss per step")
        (self.ema_line,) = self.ax.plot([], [], lw=2.0, color=STEP_COLOR, label="Smoothed (EMA)")
        (self.epoch_line,) = self.ax.plot([], [], "o-", lw=1.5, ms=5, color=EPOCH_COLOR, label="Epoch mean")
        self.lines = (self.step_line, self.ema_line, self.epoch_line)
        self.ax.legend(loc="upper right", fontsize=9)
        self._empty_text = self.ax.text(
            0.5, 0.5, "The loss appears here while a model trains", transform=self.ax.transAxes,
            ha="center", va="center", color="#7b8794", fontsize=10,
        )

        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / redraw_hz)))
        self._timer.timeout.connect(self.redraw)
        self.draw_count = 0  # frames shown: full draws plus blits
        self.full_draws = 0
        self._background = None
        self._live = False
        self.canvas.mpl_connect("draw_event", self._on_draw)
        self.canvas.mpl_connect("resize_event", self._on_resize)
        self.reset()

    # -- data -------------------------------------------------------------------------------
    def reset(self, draw: bool = True) -> None:
        """Forget the current curve (``draw=False``: the caller draws next, e.g. ``start_live``)."""
        self._losses: list[float] = []
        self._ema: list[float] = []
        self._ema_state = 0.0
        self._beta = 0.9
        self._epoch_x: list[float] = []
        self._epoch_y: list[float] = []
        self.steps_per_epoch = 0
        self._planned_steps = 0
        self._dirty = True
        self._empty_text.set_visible(True)
        self.ax.set_xlabel("Training step")
        if draw:
            self.redraw()

    @property
    def n_steps(self) -> int:
        return len(self._losses)

    def add_steps(self, report: StepReport) -> None:
        """Buffer a block of per-step losses (cheap; drawn at the next timer tick)."""
        if not self._losses:
            self._set_steps_per_epoch(report.steps_per_epoch, report.epochs)
        self._extend(report.losses)

    def add_epoch(self, report: EpochReport) -> None:
        self._epoch_x.append(report.epoch * max(self.steps_per_epoch, 1))
        self._epoch_y.append(report.mean_loss)
        self._dirty = True

    def set_history(self, history: TrainingHistory) -> None:
        """Show a finished run (e.g. from a checkpoint)."""
        self.reset()
        epochs = len(history.epoch_losses)
        if not history.step_losses:
            return
        self._set_steps_per_epoch(max(1, len(history.step_losses) // max(epochs, 1)), max(epochs, 1))
        self._extend(history.step_losses)
        self._epoch_x = [(i + 1) * self.steps_per_epoch for i in range(epochs)]
        self._epoch_y = list(history.epoch_losses)
        self.redraw()

    def _set_steps_per_epoch(self, steps_per_epoch: int, epochs: int) -> None:
        self.steps_per_epoch = max(1, steps_per_epoch)
        total = self.steps_per_epoch * max(epochs, 1)
        window = min(max(total / 40.0, 3.0), 200.0)
        self._beta = 1.0 - 1.0 / window
        self.ax.set_xlabel(f"Training step ({self.steps_per_epoch:,} per epoch)")
        if self._live and total != self._planned_steps:
            self._planned_steps = total
            self.ax.set_xlim(0, total * 1.02)
            self._full_draw()

    def _extend(self, losses: list[float]) -> None:
        beta, ema = self._beta, self._ema_state
        t = len(self._losses)
        for loss in losses:
            t += 1
            ema = beta * ema + (1.0 - beta) * loss
            self._ema.append(ema / (1.0 - beta**t))  # bias-corrected, like TensorBoard's smoothing
        self._ema_state = ema
        self._losses.extend(losses)
        self._dirty = True

    def values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(per-step losses, EMA, epoch means) currently buffered."""
        return np.asarray(self._losses), np.asarray(self._ema), np.asarray(self._epoch_y)

    # -- live mode --------------------------------------------------------------------------
    def start_live(self, planned_steps: int = 0, expected_loss: float | None = None) -> None:
        """Plan the axes for a run and redraw on the timer until ``stop_live``.

        Call before the worker starts: the one full draw happens here, not during training.
        """
        self._live = True
        self._planned_steps = planned_steps
        for line in self.lines:
            line.set_animated(True)
        self.ax.set_xlim(0, max(planned_steps, 1) * 1.02)
        self.ax.set_ylim(0, (expected_loss or 1.0) * HEADROOM)
        self._empty_text.set_visible(False)
        self._background = None
        self._dirty = False
        self.canvas.draw()  # synchronous, before the worker competes for the CPU
        self._timer.start()

    def stop_live(self) -> None:
        """End live mode: fit the view to all data with one full draw."""
        self._timer.stop()
        if self._live:
            self._live = False
            for line in self.lines:
                line.set_animated(False)
            self._background = None
        self._dirty = True
        self.redraw()

    @property
    def live(self) -> bool:
        return self._timer.isActive()

    # -- drawing ----------------------------------------------------------------------------
    def redraw(self) -> None:
        """Push buffered data into the lines and show them (only when something changed)."""
        if not self._dirty:
            return
        self._dirty = False
        n = len(self._losses)
        stride = max(1, math.ceil(n / MAX_DRAWN_POINTS))
        x = np.arange(1, n + 1)[::stride]
        self.step_line.set_data(x, np.asarray(self._losses)[::stride])
        self.ema_line.set_data(x, np.asarray(self._ema)[::stride])
        self.epoch_line.set_data(self._epoch_x, self._epoch_y)
        if not self._live:
            self._empty_text.set_visible(n == 0)
            if n:
                self.ax.set_autoscale_on(True)  # the live plan set fixed limits
                self.ax.relim()
                self.ax.autoscale_view()
            self._full_draw()
            return
        if n and self._outgrown():
            self._full_draw()
        elif self._background is not None:
            self._blit()
        else:
            self._full_draw()

    def _outgrown(self) -> bool:
        """Grow the planned axes when the data left them; True when a full draw is needed."""
        grown = False
        top = self.ax.get_ylim()[1]
        peak = max(self._losses[-1], max(self._losses[-min(len(self._losses), 256):]))
        if not math.isfinite(peak):
            return False
        if peak > top:
            self.ax.set_ylim(0, peak * HEADROOM)
            grown = True
        if len(self._losses) > self.ax.get_xlim()[1]:
            self.ax.set_xlim(0, max(len(self._losses), self._planned_steps) * 1.25)
            grown = True
        return grown

    def _full_draw(self) -> None:
        self._background = None
        self.canvas.draw_idle()

    def _blit(self) -> None:
        self.canvas.restore_region(self._background)
        for line in self.lines:
            self.ax.draw_artist(line)
        self.canvas.blit(self.ax.bbox)
        self.draw_count += 1

    def _on_draw(self, _event: object) -> None:
        """After every full draw: cache the background and paint the animated lines on it."""
        self.draw_count += 1
        self.full_draws += 1
        if self._live:
            self._background = self.canvas.copy_from_bbox(self.ax.bbox)
            for line in self.lines:
                self.ax.draw_artist(line)

    def _on_resize(self, _event: object) -> None:
        width, height = self.canvas.get_width_height()
        if width < 50 or height < 50:
            return
        left, right, bottom, top = MARGINS_PX
        self.figure.subplots_adjust(
            left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
        )
        self._background = None
