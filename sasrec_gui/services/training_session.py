"""One training run at a time on a ``workers.Worker``: starts it, forwards its reports, stops it.

The job itself (``core.experiment.train`` with the worker's stop flag, on all CPU cores but
one) and the progress arithmetic are Qt-free, in ``logic.training_job`` and ``logic.training``.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
from PySide6.QtCore import QObject, Signal

from core import experiment
from core.config import SASRecConfig
from core.experiment import Holdout
from core.filters import FilterConfig
from core.protocol import Protocol
from core.train import EpochReport, FitResult, StepReport, TrainingHistory, fit

from ..logic.training import Progress, TrainingOutcome
from ..logic.training_job import training_job
from .workers import QUEUED, Worker


class TrainingSession(QObject):
    """Runs ``core.experiment.train`` on a ``Worker``; all its signals arrive on the UI thread.

    * ``progress(StepReport)``, ``epoch_done(EpochReport)``: the worker's reports.
    * ``ended(kind, payload)``: kind is "finished" / "cancelled" (payload: TrainingOutcome)
      or "failed" (payload: the exception).
    * ``warning(str)``: a warning raised while training (e.g. the CUDA-graph fallback).
    * ``protocol_known(Protocol)``: how the run's validation metrics are measured (once the
      hold-out is split, before the first step; also kept as ``protocol``).

    ``history`` collects what the worker reported (per-step losses, per-epoch losses,
    metrics, validation losses and the best epoch, as ``core.experiment.ReportedHistory``
    does; a continued run's starts with its checkpoint's epochs), so a run that failed
    half-way still has a record; ``steps_per_epoch`` and
    ``seconds`` (the run's duration, set when it ends) go with it. Stop is the worker's stop
    flag, checked by ``fit`` before every batch.
    """

    started = Signal()
    progress = Signal(object)
    epoch_done = Signal(object)
    ended = Signal(str, object)
    warning = Signal(str)
    protocol_known = Signal(object)

    def __init__(self, parent: QObject | None = None, fit_fn: Callable[..., FitResult] = fit) -> None:
        super().__init__(parent)
        self.fit_fn = fit_fn
        self.worker: Worker | None = None
        self.config: SASRecConfig | None = None
        self.last_progress: Progress | None = None
        self.run_steps = 0
        self.holdout: Holdout | None = None
        self.history = TrainingHistory()
        self._reported = experiment.ReportedHistory()
        self.protocol: Protocol | None = None
        self.steps_per_epoch = 0
        self.seconds = 0.0
        self.started_at = 0.0
        self.stop_requested_at: float | None = None
        self._outcome: tuple[str, object] | None = None
        self.report_every = 0.1  # seconds between StepReports

    @property
    def running(self) -> bool:
        return self.worker is not None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started_at if self.running else 0.0

    def start(
        self, interactions: pd.DataFrame, config: SASRecConfig, filter_config: dict | None = None, holdout: Holdout | None = None,
        *, exp: experiment.Experiment | None = None,
    ) -> None:
        """Train on ``interactions``; with ``holdout`` the worker splits them and validates per epoch.

        ``exp``: the whole experiment instead (``config``, ``filter_config`` and ``holdout``
        are then its own), e.g. one that continues a checkpoint (``Experiment.resume``).
        Raises RuntimeError when a run is already in progress.
        """
        if self.worker is not None:
            raise RuntimeError("a training run is already in progress")
        if exp is None:
            exp = experiment.Experiment(config, FilterConfig.from_dict(filter_config or {}), holdout)
        self.config = exp.config
        self.holdout = exp.holdout
        self._reported = experiment.ReportedHistory()
        if exp.resume is not None:  # the curves go on from the checkpoint's kept epoch
            self._reported.history = exp.resume.model.history.truncated(exp.resume.epoch)
            self._reported.history.resumed_after = exp.resume.epoch
        self.history = self._reported.history
        self.protocol = None
        self.steps_per_epoch = 0
        self.seconds = 0.0
        self.last_progress = None
        self.run_steps = 0  # steps this run reported (the ETA's basis)
        self.stop_requested_at = None
        self._outcome = None
        self.started_at = time.perf_counter()
        job = training_job(interactions, exp, self.fit_fn, self.report_every)
        worker = Worker(job, "training")
        worker.progress.connect(self._on_report, QUEUED)
        worker.result.connect(self._on_result, QUEUED)
        worker.error.connect(self._on_error, QUEUED)
        worker.warning.connect(self.warning, QUEUED)
        worker.finished.connect(self._on_thread_finished, QUEUED)
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
    def _on_report(self, report: StepReport | EpochReport) -> None:
        if self.worker is None or self.config is None:
            return
        if isinstance(report, Protocol):
            self.protocol = report
            self.protocol_known.emit(report)
            return
        self._reported(report)  # the history, as core.experiment.ReportedHistory keeps it
        if isinstance(report, EpochReport):
            self.epoch_done.emit(report)
            return
        self.run_steps += len(report.losses)
        self.last_progress = Progress(
            report.epoch, report.epochs, report.step, report.steps_per_epoch, report.elapsed,
            report.sequences_per_sec, self.config.batch_size, self.run_steps,
        )
        self.steps_per_epoch = report.steps_per_epoch
        self.progress.emit(report)

    def _on_result(self, outcome: TrainingOutcome) -> None:
        self._outcome = ("cancelled" if outcome.result.cancelled else "finished", outcome)

    def _on_error(self, exc: BaseException) -> None:
        self._outcome = ("failed", exc)

    def _on_thread_finished(self) -> None:
        """The worker's thread ended (after its result or error): the run ends here."""
        if self.worker is None:
            return
        self.seconds = time.perf_counter() - self.started_at
        worker, self.worker = self.worker, None
        worker.wait()  # finished: returns at once (workers.Worker frees it once nothing holds it)
        kind, payload = self._outcome or ("failed", RuntimeError("the training thread ended without a result"))
        self._outcome = None
        self.ended.emit(kind, payload)

