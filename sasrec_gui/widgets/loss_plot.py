"""Live training-loss plot: per-step loss, its EMA and per-epoch means, and (when the run
validates on a hold-out) the per-epoch validation metrics in a second axes beside it.

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

The metrics axes (x: the run's epochs; y: 0 to 1, where HR and NDCG live) is planned the
same way, so no metric ever needs a full draw: its lines (and its "appear here" text) are
animated too and blitted in the ticks after an epoch brought new metrics. It is hidden when
the run does not validate, and fitted to the values when the run ends. A run with a
hold-out trains on fewer sequences than planned: its curve ends short of the right edge
until the run ends, rather than costing a full draw mid-run.

A run that validates also gets ``validation_marks.ValidationMarks``: the held-out loss on a
labelled right-hand axis over the steps, the best epoch (and an early stop) marked, and the
protocol the metrics are measured on; these artists are animated and blitted like the lines.
"""
from __future__ import annotations

import math
import pickle
import threading
from collections.abc import Callable

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.protocol import Protocol
from core.report_charts import with_own_draw_lock
from core.train import EpochReport, StepReport, TrainingHistory

from ..logic.smoothing import bias_corrected_ema, ema_alpha
from ..services.idle import AfterPaint
from ..services.theme import register_chart_canvas
from ..services.workers import TaskRunner
from .chart_export import agg_image, collect_replaced_figures_soon
from .validation_marks import VAL_AXIS_PX, ValidationMarks

MAX_DRAWN_POINTS = 4000
#: An idle draw for the worker starts this long after the last request (ms).
OFFLOAD_DELAY_MS = 40
STEP_COLOR = "#2f6fde"
EPOCH_COLOR = "#e8590c"
METRIC_STYLES = {"HR": ("#2b8a3e", "o--"), "NDCG": ("#862e9c", "s-")}
HEADROOM = 1.25
#: Margins around the axes in pixels (left, right, bottom, top): fixed, so no layout engine runs per draw.
MARGINS_PX = (72, 18, 52, 14)
#: The metrics axes: its share of the width (at least ``METRIC_MIN_PX``) and the gap left of it for its labels.
METRIC_SHARE, METRIC_MIN_PX, METRIC_GAP_PX = 0.3, 170, 74
#: Top of the metrics axes while a run is live (HR and NDCG are at most 1).
METRIC_TOP = 1.0


def render_snapshot(snapshot: bytes, dpi: float, size_inches: tuple[float, float], ratio: float,
                    cancelled: Callable[[], bool] | None = None) -> QImage:
    """Draw a pickled figure (``pickle.dumps(figure)``) with Agg at ``dpi`` and ``size_inches``
    (the on-screen canvas's, device pixels included) and return the image (any thread).
    Raises ``core.report_charts.DrawCancelled`` once ``cancelled()`` holds."""
    figure = with_own_draw_lock(pickle.loads(snapshot))  # noqa: S301 - our own figure, pickled a moment ago
    figure.set_dpi(dpi)
    figure.set_size_inches(*size_inches, forward=False)
    return agg_image(figure, ratio, cancelled)


class IdleDrawCanvas(FigureCanvasQTAgg):
    """A Qt canvas whose ``draw_idle`` runs on its own zero-delay QTimer, so that a synchronous
    ``draw()`` can settle a queued idle draw (it draws everything the idle draw would have).

    While ``offload()`` holds (the loss plot: whenever no run is live), an idle draw is not
    drawn here: a snapshot of the figure (pickled, ~15 ms) is drawn on a worker (``runner``)
    and the canvas shows that image until the next draw, so showing the page, resizing, a
    theme or a toolbar zoom never holds the interface for a full draw (50-100 ms, several
    times that while workers compete for the GIL). ``draw()`` always draws here, at once:
    blitting needs the canvas's own renderer.

    Public API only: ``draw_idle``, ``draw`` and ``paintEvent`` are overridden. As in
    matplotlib's canvas, a paint while an idle draw is queued draws first, except when the
    draw is the worker's: the canvas then shows the last image, scaled, until the new one
    arrives. The worker draws one snapshot at a time (``OFFLOAD_DELAY_MS`` after the last
    request); requests meanwhile give one more draw after it, of the newest state.
    """

    def __init__(self, figure: Figure) -> None:
        super().__init__(figure)
        self._idle_timer = QTimer(self)
        self._idle_timer.setSingleShot(True)
        self._idle_timer.setInterval(0)
        self._idle_timer.timeout.connect(self._draw_now)
        self._in_draw = False
        #: whether an idle draw may go to a worker (the owner sets it)
        self.offload: Callable[[], bool] = lambda: False
        #: called after a worker's draw is shown (the owner counts frames)
        self.drawn_elsewhere: Callable[[], None] = lambda: None
        self.runner = TaskRunner(self)  # one draw at a time, the latest waiting
        self.image: QImage | None = None  # the worker's last draw, shown until the next draw here
        self._generation = 0  # a draw here supersedes a worker's draw still running
        self._superseded = threading.Event()  # set: the worker's draw stops at its next artist
        self._offloading = False
        self._again = False  # asked to draw while the worker drew: once more when it is done
        self._owed = False  # a worker draw skipped while hidden: done when shown
        #: the snapshot is taken once the window has painted (services.idle)
        self._after_paint = AfterPaint(self, self._draw_elsewhere)
        register_chart_canvas(self)  # restyled by theme toggles

    @property
    def idle_draw_pending(self) -> bool:
        """Whether a draw is queued or being drawn on the worker."""
        return self._idle_timer.isActive() or self._offloading or self._after_paint.armed

    def draw_idle(self, *args: object, **kwargs: object) -> None:  # noqa: ARG002 - matplotlib's signature
        """Draw at the next event-loop turn (many requests, one draw); a draw for the worker
        waits ``OFFLOAD_DELAY_MS`` so that a burst of requests (a relayout's resizes) is one."""
        if not self._in_draw:
            self._idle_timer.setInterval(OFFLOAD_DELAY_MS if self.offload() else 0)
            self._idle_timer.start()

    def draw(self) -> None:
        """Draw now, here; a queued idle draw (or one on the worker) is then no longer needed."""
        self._idle_timer.stop()
        self._generation += 1
        self._superseded.set()  # e.g. a run starts: the worker's draw of the idle plot stops
        self._offloading = self._again = self._owed = False
        self._after_paint.cancel()
        self.image = None
        self._in_draw = True
        try:
            super().draw()
        finally:
            self._in_draw = False

    def _draw_now(self) -> None:
        if self.width() <= 0 or self.height() <= 0:
            return
        if not self.offload():
            self.draw()
            return
        if self._offloading:  # one worker draw at a time: the newest state is drawn after it
            self._again = True
            return
        self._after_paint.arm()

    def _draw_elsewhere(self) -> None:
        """Snapshot the figure and draw it on the worker (the window has painted)."""
        if self._offloading:
            self._again = True
            return
        if not self.offload() or self.width() <= 0 or self.height() <= 0:
            self._draw_now()  # a live run meanwhile: drawn here (or not at all, hidden)
            return
        if not self.isVisible():  # drawn when next shown, at the size it then has
            self._owed = True
            return
        try:
            snapshot = pickle.dumps(self.figure)
        except Exception:  # noqa: BLE001 - an artist that cannot be copied: draw here instead
            self.draw()
            return
        self._generation += 1
        generation = self._generation
        self._superseded = superseded = threading.Event()
        dpi, size, ratio = self.figure.dpi, tuple(self.figure.get_size_inches()), float(self.device_pixel_ratio)
        self._offloading = True
        self.runner.submit("draw", lambda: render_snapshot(snapshot, dpi, size, ratio, superseded.is_set),
                           lambda image: self._drawn(generation, image), lambda _exc: self._drawn(generation, None))

    def _drawn(self, generation: int, image: QImage | None) -> None:
        if generation != self._generation:
            return
        if image is None:  # the worker could not draw the copy: draw the figure here
            self.draw()
            return
        self._offloading = False
        self.image = image
        self.update()
        self.drawn_elsewhere()
        collect_replaced_figures_soon()  # the copy
        if self._again:
            self._again = False
            self._draw_now()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._owed:
            self._owed = False
            self.draw_idle()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self._idle_timer.isActive() and not self.offload():
            self._draw_now()
        if self.image is None and not self.idle_draw_pending:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        try:
            painter.eraseRect(self.rect())
            if self.image is not None:  # the last image, scaled while a new size is drawn
                painter.drawImage(QRectF(self.rect()), self.image)
            self._draw_rect_callback(painter)  # the toolbar's zoom rectangle
        finally:
            painter.end()


class LossPlot(QWidget):
    """A matplotlib canvas + toolbar showing the loss of the current (or loaded) run."""

    def __init__(self, parent: QWidget | None = None, redraw_hz: float = 4.0) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(6.0, 3.6))
        self.canvas = IdleDrawCanvas(self.figure)
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
        self.ax.legend(loc="upper right", fontsize=9)
        self._empty_text = self.ax.text(
            0.5, 0.5, "The loss appears here while a model trains", transform=self.ax.transAxes,
            ha="center", va="center", color="#7b8794", fontsize=10,
        )

        self.metric_ax = self.figure.add_axes((0.7, 0.1, 0.25, 0.8))
        self.metric_ax.set_xlabel("Epoch")
        self.metric_ax.set_ylabel("Validation metric")
        self.metric_ax.grid(True, alpha=0.3)
        self.metric_ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        self.metric_ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
        self.metric_lines: dict[str, object] = {}
        for name, (color, style) in METRIC_STYLES.items():
            (line,) = self.metric_ax.plot([], [], style, lw=1.5, ms=4, color=color, label=f"{name}@10")
            self.metric_lines[name] = line
        self.metric_ax.legend(loc="lower right", fontsize=8)
        self._metric_empty_text = self.metric_ax.text(
            0.5, 0.5, "Validation metrics\nappear after each\nvalidated epoch", transform=self.metric_ax.transAxes,
            ha="center", va="center", color="#7b8794", fontsize=9,
        )
        self.metric_k = 10
        self._metrics_shown = False
        self.metric_ax.set_visible(False)
        self.marks = ValidationMarks(self.ax, self.metric_ax)  # validation loss, best epoch, protocol
        self.marks.set_shown(False)
        self.lines = (self.step_line, self.ema_line, self.epoch_line, *self.marks.loss_artists())

        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / redraw_hz)))
        self._timer.timeout.connect(self.redraw)
        self.draw_count = 0  # frames shown: full draws plus blits
        self.full_draws = 0
        self.live_full_draws = 0  # full draws while live after the planning one (each a stall under load)
        self._background = None
        self._metric_background = None
        self._metrics_dirty = False  # new metrics not yet blitted
        self._live = False
        self.canvas.mpl_connect("draw_event", self._on_draw)
        self.canvas.offload = lambda: not self._live  # full draws of a finished run go to a worker
        self.canvas.drawn_elsewhere = self._drawn_elsewhere
        self.canvas.mpl_connect("resize_event", self._on_resize)
        self.reset()

    # -- data -------------------------------------------------------------------------------
    def reset(self, draw: bool = True) -> None:
        """Forget the current curve (``draw=False``: the caller draws next, e.g. ``start_live``)."""
        self._losses: list[float] = []
        self._ema_alpha = 0.1  # set per run by _set_steps_per_epoch
        self._epoch_x: list[float] = []
        self._epoch_y: list[float] = []
        self.steps_per_epoch = 0
        self._planned_steps = 0
        self._metrics: dict[str, tuple[list[int], list[float]]] = {name: ([], []) for name in METRIC_STYLES}
        self.marks.reset()
        self.canvas.setToolTip("")
        self._dirty = True
        self.ax.set_xlabel("Training step")
        self.show_metrics(False)
        self._set_empty(True)  # after show_metrics: it may make a new legend
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
        self._add_metrics(report.epoch, report.metrics)
        if self.marks.add_epoch(report):
            self._metrics_dirty = True
        self._dirty = True

    def _add_metrics(self, epoch: int, metrics: dict[str, float]) -> None:
        for key, value in (metrics or {}).items():
            name, _, k = str(key).partition("@")
            if name in self._metrics and value is not None and math.isfinite(float(value)):
                if k.isdigit() and int(k) != self.metric_k:
                    self._set_metric_k(int(k))
                xs, ys = self._metrics[name]
                xs.append(int(epoch))
                ys.append(float(value))
                self._metrics_dirty = True

    def metric_values(self) -> dict[str, tuple[list[int], list[float]]]:
        """Validation metrics buffered so far: ``{"HR@10": (epochs, values), ...}`` (only those with values)."""
        return {f"{name}@{self.metric_k}": (list(xs), list(ys)) for name, (xs, ys) in self._metrics.items() if xs}

    # -- metrics axes -----------------------------------------------------------------------
    def show_metrics(self, shown: bool, k: int | None = None) -> None:
        """Show or hide the validation-metrics axes beside the loss (no drawing here)."""
        if k is not None and k != self.metric_k:
            self._set_metric_k(k)
        if shown != self._metrics_shown:
            self._metrics_shown = shown
            self.metric_ax.set_visible(shown)
            self.marks.set_shown(shown)
            extra = self.marks.legend_handles() if shown else []
            self.ax.legend(handles=[self.step_line, self.ema_line, self.epoch_line, *extra], loc="upper right", fontsize=9)
            self._layout()

    @property
    def metrics_shown(self) -> bool:
        return self._metrics_shown

    def _set_metric_k(self, k: int) -> None:
        self.metric_k = k
        for name, line in self.metric_lines.items():
            line.set_label(f"{name}@{k}")
        self.metric_ax.legend(loc="lower right", fontsize=8)

    def set_history(self, history: TrainingHistory) -> None:
        """Show a finished run (e.g. from a checkpoint)."""
        self.reset()
        if not history.step_losses:
            return
        self.preload(history)
        self.show_metrics(any(history.epoch_metrics))
        self.redraw()

    def preload(self, history: TrainingHistory, total_epochs: int = 0) -> None:
        """Buffer ``history``'s curves (no drawing): a finished run, or the epochs a continued
        run goes on from (``total_epochs``: the epochs it will have, for the smoothing)."""
        epochs = len(history.epoch_losses)
        per_epoch = history.steps_per_epoch or len(history.step_losses) // max(epochs, 1)
        self._set_steps_per_epoch(max(1, per_epoch), max(epochs, total_epochs, 1))
        self._extend(history.step_losses)
        self._epoch_x = [(i + 1) * self.steps_per_epoch for i in range(epochs)]
        self._epoch_y = list(history.epoch_losses)
        for i, metrics in enumerate(history.epoch_metrics):
            self._add_metrics(i + 1, metrics)
        self.marks.set_history(history)

    def set_protocol(self, protocol: Protocol | None) -> None:
        """How the validation metrics are measured: in the metrics axes and the plot's tooltip."""
        self.marks.set_protocol(protocol)
        self.canvas.setToolTip(self.marks.tooltip())
        self._metrics_dirty = self._dirty = True

    def _set_steps_per_epoch(self, steps_per_epoch: int, epochs: int) -> None:
        self.steps_per_epoch = max(1, steps_per_epoch)
        total = self.steps_per_epoch * max(epochs, 1)
        self._ema_alpha = ema_alpha(total)
        self.ax.set_xlabel(f"Training step ({self.steps_per_epoch:,} per epoch)")
        if self._live and total != self._planned_steps:
            self._planned_steps = total
            if total > self.ax.get_xlim()[1]:  # only a plan that is too small costs a full draw
                self.ax.set_xlim(0, total * 1.02)
                self._full_draw()

    def _extend(self, losses: list[float]) -> None:
        self._losses.extend(losses)
        self._dirty = True

    def _smoothed(self, losses: np.ndarray) -> np.ndarray:
        """The bias-corrected EMA of ``losses`` (pandas ``ewm``; about 1 ms per 10^5 steps, per frame)."""
        return bias_corrected_ema(losses, self._ema_alpha)

    def values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(per-step losses, their EMA, epoch means) currently buffered, each float64."""
        losses = np.asarray(self._losses, dtype=np.float64)
        return losses, self._smoothed(losses), np.asarray(self._epoch_y, dtype=np.float64)

    # -- live mode --------------------------------------------------------------------------
    def start_live(
        self, planned_steps: int = 0, expected_loss: float | None = None, metric_epochs: int = 0, metric_k: int = 10,
        monitor: str = "", keeps_best: bool = False, expected_val_loss: float | None = None,
    ) -> None:
        """Plan the axes for a run and redraw on the timer until ``stop_live``.

        ``metric_epochs`` > 0: the run validates; show the metrics axes planned for that many
        epochs, and the validation loss axis planned from ``expected_val_loss``; ``monitor``
        picks the best epoch (marked; "kept" when ``keeps_best``). Call before the worker
        starts: the one full draw happens here, not during training.
        """
        self._live = True
        self._planned_steps = planned_steps
        self.show_metrics(metric_epochs > 0, metric_k)
        if metric_epochs > 0:
            self.marks.plan(monitor, keeps_best, expected_val_loss)
            self.marks.update(self.steps_per_epoch)
        for line in self._animated():
            line.set_animated(True)
        self.ax.set_xlim(0, max(planned_steps, 1) * 1.02)
        self.ax.set_ylim(0, (expected_loss or 1.0) * HEADROOM)
        self._set_empty(False)
        if self._metrics_shown:
            self.metric_ax.set_autoscale_on(False)
            self.metric_ax.set_xlim(0.5, max(metric_epochs, 1) + 0.5)
            self.metric_ax.set_ylim(0, METRIC_TOP)
            self._metric_empty_text.set_visible(True)
        self._background = self._metric_background = None
        self._dirty = False
        self._metrics_dirty = False
        # synchronous, before the worker competes for the CPU; it also settles an idle draw
        # asked for earlier (a resize, a page switch), which would otherwise repeat it mid-run
        self.canvas.draw()
        self.live_full_draws = 0
        self._timer.start()

    def stop_live(self) -> None:
        """End live mode: fit the view to all data with one full draw."""
        self._timer.stop()
        if self._live:
            self._live = False
            for line in self._animated():
                line.set_animated(False)
            self._background = self._metric_background = None
        self._dirty = True
        self.redraw()

    def _set_empty(self, empty: bool) -> None:
        """Before any loss: only the "appears here" text, no axes (an empty plot would show
        meaningless -0.04..0.04 ticks); with a curve, the axes, ticks and legend."""
        self._empty_text.set_visible(empty)
        self.ax.set_axis_off() if empty else self.ax.set_axis_on()
        legend = self.ax.get_legend()
        if legend is not None:
            legend.set_visible(not empty)

    @property
    def empty(self) -> bool:
        """Whether the plot shows its empty state (no curve, not live)."""
        return self._empty_text.get_visible()

    def _animated(self) -> tuple:
        return (*self.lines, *self._metric_artists())

    def _metric_artists(self) -> tuple:
        return (*self.metric_lines.values(), self._metric_empty_text, *self.marks.metric_artists())

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
        losses = np.asarray(self._losses, dtype=np.float64)
        self.step_line.set_data(x, losses[::stride])
        self.ema_line.set_data(x, self._smoothed(losses)[::stride])
        self.epoch_line.set_data(self._epoch_x, self._epoch_y)
        for name, (xs, ys) in self._metrics.items():
            self.metric_lines[name].set_data(xs, ys)
        self.marks.update(self.steps_per_epoch)
        has_metrics = any(xs for xs, _ in self._metrics.values())
        if not self._live:
            self._set_empty(n == 0)
            if n:
                self.ax.set_autoscale_on(True)  # the live plan set fixed limits
                self.ax.relim()
                self.ax.autoscale_view()
            if self._metrics_shown:
                self._fit_metric_axes(has_metrics)
                self.marks.fit()
            self._metrics_dirty = False
            self._full_draw()
            return
        if has_metrics and self._metric_empty_text.get_visible():
            self._metric_empty_text.set_visible(False)  # animated: the next blit removes it
        if self._outgrown(n):
            self._full_draw()
        elif self._background is not None:
            self._blit()
        else:
            self._full_draw()

    def _fit_metric_axes(self, has_metrics: bool) -> None:
        """After a run: epochs 1..last on x, zero to a little above the best value on y."""
        self._metric_empty_text.set_visible(not has_metrics)
        if not has_metrics:
            return
        last = max(max(xs) for xs, _ in self._metrics.values() if xs)
        peak = max(max(ys) for _, ys in self._metrics.values() if ys)
        self.metric_ax.set_xlim(0.5, last + 0.5)
        self.metric_ax.set_ylim(0, max(peak * (1.7 if self.marks.has_text else 1.15), 1e-3))  # room for the texts

    def _outgrown(self, n: int) -> bool:
        """Grow the planned axes when the data left them; True when a full draw is needed."""
        grown = self._metrics_outgrown() if self._metrics_shown and self._metrics_dirty else False
        grown = (self._metrics_shown and self.marks.outgrown()) or grown
        if not n:
            return grown
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

    def _metrics_outgrown(self) -> bool:
        grown = False
        values = [v for _, ys in self._metrics.values() for v in ys]
        epochs = [e for xs, _ in self._metrics.values() for e in xs]
        if values and max(values) > self.metric_ax.get_ylim()[1]:
            self.metric_ax.set_ylim(0, min(max(values) * HEADROOM, 1.05))
            grown = True
        if epochs and max(epochs) + 0.5 > self.metric_ax.get_xlim()[1]:
            self.metric_ax.set_xlim(0.5, max(epochs) * 1.25 + 0.5)
            grown = True
        return grown

    def _full_draw(self) -> None:
        self._background = self._metric_background = None
        self.canvas.draw_idle()

    def _blit(self) -> None:
        self.canvas.restore_region(self._background)
        for line in self.lines:
            self.ax.draw_artist(line)
        self.canvas.blit(self.ax.bbox)
        if self._metrics_shown and self._metrics_dirty and self._metric_background is not None:
            self.canvas.restore_region(self._metric_background)
            for artist in self._metric_artists():
                self.metric_ax.draw_artist(artist)
            self.canvas.blit(self.metric_ax.bbox)
        self._metrics_dirty = False
        self.draw_count += 1

    def _on_draw(self, _event: object) -> None:
        """After every full draw: cache the backgrounds and paint the animated lines on them."""
        self.draw_count += 1
        self.full_draws += 1
        self._metrics_dirty = False  # a full draw shows every metric
        if self._live:
            self.live_full_draws += 1
            self._background = self.canvas.copy_from_bbox(self.ax.bbox)
            for line in self.lines:
                self.ax.draw_artist(line)
            if self._metrics_shown:
                self._metric_background = self.canvas.copy_from_bbox(self.metric_ax.bbox)
                for artist in self._metric_artists():
                    self.metric_ax.draw_artist(artist)

    def _drawn_elsewhere(self) -> None:
        self.draw_count += 1
        self.full_draws += 1

    def _on_resize(self, _event: object) -> None:
        self._layout()

    def _layout(self) -> None:
        """Place the axes with fixed pixel margins (the metrics axes, when shown, on the right)."""
        width, height = self.canvas.get_width_height()
        if width < 50 or height < 50:
            return
        left, right, bottom, top = MARGINS_PX
        h = max(height - bottom - top, 1) / height
        y0 = bottom / height
        if self._metrics_shown:
            metric_w = max(METRIC_MIN_PX, int(width * METRIC_SHARE))
            metric_left = width - right - metric_w
            loss_right = max(metric_left - METRIC_GAP_PX - VAL_AXIS_PX, left + 50)  # the validation loss axis between
            self.ax.set_position((left / width, y0, (loss_right - left) / width, h))
            self.metric_ax.set_position((metric_left / width, y0, metric_w / width, h))
        else:
            self.ax.set_position((left / width, y0, (width - left - right) / width, h))
        self._background = self._metric_background = None
