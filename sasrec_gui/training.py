"""One training run at a time: starts the worker, forwards its signals, stops it, computes ETA."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from PySide6.QtCore import QObject, Signal

from core.config import SASRecConfig
from core.train import EpochReport, FitResult, StepReport, TrainingHistory, fit

from .workers import QUEUED, Holdout, TrainingOutcome, TrainWorker


@dataclass
class Progress:
    """Where a run stands, derived from the latest ``StepReport``."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    elapsed: float
    sequences_per_sec: float
    batch_size: int

    @property
    def done_steps(self) -> int:
        return (self.epoch - 1) * self.steps_per_epoch + self.step

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def fraction(self) -> float:
        return self.done_steps / max(self.total_steps, 1)

    @property
    def eta(self) -> float | None:
        """Seconds left, from the current throughput (None until known)."""
        if self.sequences_per_sec <= 0:
            return None
        return (self.total_steps - self.done_steps) * self.batch_size / self.sequences_per_sec


def format_seconds(seconds: float | None) -> str:
    """'1:02:03', '2:03' or '–'."""
    if seconds is None:
        return "–"
    seconds = int(round(max(seconds, 0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingSession(QObject):
    """Owns the training QThread; all its signals arrive on the UI thread.

    ``ended(kind, payload)``: kind is "finished" / "cancelled" (payload: TrainingOutcome)
    or "failed" (payload: the exception).

    ``history`` collects what the worker reported (per-step losses, per-epoch losses and
    metrics), so a run that failed half-way still has a record; ``steps_per_epoch`` and
    ``seconds`` (the run's duration, set when it ends) go with it.
    """

    started = Signal()
    progress = Signal(object)
    epoch_done = Signal(object)
    ended = Signal(str, object)

    def __init__(self, parent: QObject | None = None, fit_fn: Callable[..., FitResult] = fit) -> None:
        super().__init__(parent)
        self.fit_fn = fit_fn
        self.worker: TrainWorker | None = None
        self.config: SASRecConfig | None = None
        self.last_progress: Progress | None = None
        self.holdout: Holdout | None = None
        self.history = TrainingHistory()
        self.steps_per_epoch = 0
        self.seconds = 0.0
        self.started_at = 0.0
        self.stop_requested_at: float | None = None

    @property
    def running(self) -> bool:
        return self.worker is not None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started_at if self.running else 0.0

    def start(
        self, interactions: pd.DataFrame, config: SASRecConfig, filter_config: dict | None = None, holdout: Holdout | None = None
    ) -> None:
        """Train on ``interactions``; with ``holdout`` the worker splits them and validates per epoch."""
        if self.worker is not None:
            raise RuntimeError("a training run is already in progress")
        self.config = config
        self.holdout = holdout
        self.history = TrainingHistory()
        self.steps_per_epoch = 0
        self.seconds = 0.0
        self.last_progress = None
        self.stop_requested_at = None
        self.started_at = time.perf_counter()
        worker = TrainWorker(interactions, config, filter_config, fit_fn=self.fit_fn, holdout=holdout)
        worker.signals.progress.connect(self._on_progress, QUEUED)
        worker.signals.epoch_done.connect(self._on_epoch, QUEUED)
        worker.signals.finished.connect(self._on_finished, QUEUED)
        worker.signals.cancelled.connect(self._on_cancelled, QUEUED)
        worker.signals.failed.connect(self._on_failed, QUEUED)
        self.worker = worker
        worker.start()
        self.started.emit()

    def stop(self) -> None:
        """Ask the worker to stop before its next batch."""
        if self.worker is not None:
            self.worker.request_stop()
            if self.stop_requested_at is None:
                self.stop_requested_at = time.perf_counter()

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop and wait for the worker thread (window closing, app exiting)."""
        worker = self.worker
        if worker is None:
            return True
        worker.request_stop()
        return worker.wait(timeout_ms)

    # -- worker signals (UI thread) ---------------------------------------------------------
    def _on_progress(self, report: StepReport) -> None:
        if self.worker is None or self.config is None:
            return
        self.last_progress = Progress(
            report.epoch, report.epochs, report.step, report.steps_per_epoch, report.elapsed,
            report.sequences_per_sec, self.config.batch_size,
        )
        self.steps_per_epoch = report.steps_per_epoch
        self.history.step_losses.extend(report.losses)
        self.progress.emit(report)

    def _on_epoch(self, report: EpochReport) -> None:
        if self.worker is not None:
            self.history.epoch_losses.append(report.mean_loss)
            self.history.epoch_seconds.append(report.seconds)
            self.history.epoch_metrics.append(dict(report.metrics))
            self.epoch_done.emit(report)

    def _on_finished(self, outcome: TrainingOutcome) -> None:
        self._end("finished", outcome)

    def _on_cancelled(self, outcome: TrainingOutcome) -> None:
        self._end("cancelled", outcome)

    def _on_failed(self, exc: BaseException) -> None:
        self._end("failed", exc)

    def _end(self, kind: str, payload: object) -> None:
        if self.worker is not None:
            self.seconds = time.perf_counter() - self.started_at
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait()  # run() has returned or is returning: at most a moment
            worker.deleteLater()
        self.ended.emit(kind, payload)
