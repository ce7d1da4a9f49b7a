"""One sweep at a time on a ``workers.Worker``: runs ``core.sweep.run_sweep``, forwards its
events, stops it (finished trials stay recorded), and tells the run history each time a
trial is recorded so the Runs page refreshes. Nothing here touches a widget; the job and the
progress figures are Qt-free (``logic.sweep_job``).
"""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QObject, Signal

from core import experiment
from core.sweep import SweepResult, SweepSpec, TrialEnded, new_sweep_id

from .. import __version__
from ..logic.sweep_job import sweep_job
from .run_history import RunHistory
from .workers import QUEUED, Worker


class SweepController(QObject):
    """Signals (UI thread):

    * ``started(sweep_id, n_trials)``; ``event(SweepEvent)``: each ``TrialStarted`` /
      ``TrialProgress`` / ``TrialEnded``; ``running_changed(bool)``.
    * ``finished(SweepResult)`` (also after a stop: ``result.stopped``) or ``failed(exception)``.
    * ``warning(str)``: a warning raised while a trial trained.
    """

    started = Signal(str, int)
    event = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    running_changed = Signal(bool)
    warning = Signal(str)

    def __init__(self, history: RunHistory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.worker: Worker | None = None
        self.sweep_id = ""
        self.result: SweepResult | None = None
        self._error: BaseException | None = None
        self.report_every = 0.25  # seconds between a trial's step reports

    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self, interactions: pd.DataFrame, spec: SweepSpec, base: experiment.Experiment) -> str:
        """Run ``spec`` from ``base`` (its hold-out required) on ``interactions`` (filtered by
        ``base.filter_config``); returns the sweep id. Raises RuntimeError while one runs.
        Invalid specs and hold-outs arrive as ``failed`` (core checks them before any trial)."""
        if self.worker is not None:
            raise RuntimeError("a sweep is already running")
        self.sweep_id = new_sweep_id()
        self.result, self._error = None, None
        job = sweep_job(interactions, spec, base, store=self.history.store(), sweep_id=self.sweep_id,
                        app=f"SASRec Studio {__version__}", report_every=self.report_every)
        worker = Worker(job, "sweep")
        worker.progress.connect(self._on_event, QUEUED)
        worker.result.connect(self._on_result, QUEUED)
        worker.error.connect(self._on_error, QUEUED)
        worker.warning.connect(self.warning, QUEUED)
        worker.finished.connect(self._on_thread_finished, QUEUED)
        self.worker = worker
        worker.start()
        self.started.emit(self.sweep_id, spec.n_trials)
        self.running_changed.emit(True)
        return self.sweep_id

    def stop(self) -> None:
        """Stop the current trial after its current batch (it is recorded as stopped) and
        start no other; the finished trials stay recorded."""
        if self.worker is not None:
            self.worker.request_stop()

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop and wait for the worker (window closing)."""
        worker = self.worker
        if worker is None:
            return True
        worker.request_stop()
        return worker.wait(timeout_ms)

    # -- worker signals (UI thread) -----------------------------------------------------------
    def _on_event(self, event: object) -> None:
        self.event.emit(event)
        if isinstance(event, TrialEnded) and event.result.run_id is not None:
            self.history.notify_changed()  # the Runs page shows the trial

    def _on_result(self, result: SweepResult) -> None:
        self.result = result

    def _on_error(self, exc: BaseException) -> None:
        self._error = exc

    def _on_thread_finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        worker.wait()
        error, self._error = self._error, None
        self.running_changed.emit(False)
        if self.result is not None:
            self.finished.emit(self.result)
        else:
            self.failed.emit(error or RuntimeError("the sweep ended without a result"))
