"""Training as the app runs it: one ``TrainingSession`` and everything around a run but drawing it.

``TrainingController`` starts and stops runs on the filtered data, keeps what a run was
started with (``RunContext``) until it is recorded in the run history, queues the work that
follows a run (recording, the hold-out evaluation) behind the plot's final draw, and sends
the progress figures a few times a second. The Training page renders its signals; nothing
here touches a widget.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal

from core import experiment
from core.config import SASRecConfig
from core.experiment import Experiment, Holdout

from .. import __version__
from ..logic.run_records import PendingRun, RecordResult
from ..logic.training import (
    RUN_STATUS,
    EvaluationPlan,
    RunEnd,
    RunPlan,
    RunStatus,
    TrainingOutcome,
    end_texts,
    expected_initial_loss,
    expected_validation_loss,
    planned_steps,
)
from .run_history import RunHistory
from .state import AppState
from .training_session import TrainingSession
from .workers import TaskRunner

#: How often the progress figures (``status``) are sent while a run trains.
UI_REFRESH_MS = 250
#: Recording and evaluating a finished run start this long after it ended, so that the plot's
#: final full draw (queued when the run ends) does not compete with them for the GIL.
AFTER_RUN_DELAY_MS = 10


@dataclass
class RunContext:
    """What a run was started with, kept until it is recorded."""

    experiment: Experiment
    interactions: pd.DataFrame


class TrainingController(QObject):
    """Owns the training session, the run bookkeeping and the hold-out evaluation after a run.

    Signals (all on the UI thread):

    * ``starting(RunPlan)``: a run is about to start (before its worker: the page plans its plot).
    * ``progress(StepReport)`` / ``epoch_done(EpochReport)``: the worker's reports.
    * ``status(RunStatus)``: elapsed time and progress, every ``UI_REFRESH_MS`` while training.
    * ``stopping()``: a stop was requested; the run ends after the current batch.
    * ``ended(RunEnd)``: the run ended; a model it produced is already in ``AppState``.
    * ``running_changed(bool)``, ``message(str)`` (a status-bar line), ``error(exception, action)``.
    * ``hyperparameters_used(dict)``: the settings a run started with (kept for the next start).
    * ``protocol(Protocol)``: how the running run's validation metrics are measured.
    * ``evaluated(table, Holdout)`` / ``evaluation_failed(message)`` / ``evaluation_cleared()``;
      ``evaluation_protocol(Protocol)`` just before ``evaluated``: how that table was measured.
    * ``record_failed(message)``: the run could not be written to the run history (it is kept
      and written later); the window says so in a dialog.
    """

    starting = Signal(object)
    progress = Signal(object)
    epoch_done = Signal(object)
    status = Signal(object)
    stopping = Signal()
    ended = Signal(object)
    running_changed = Signal(bool)
    message = Signal(str)
    error = Signal(object, str)
    hyperparameters_used = Signal(dict)
    evaluated = Signal(object, object)
    evaluation_protocol = Signal(object)
    protocol = Signal(object)
    evaluation_failed = Signal(str)
    evaluation_cleared = Signal()
    record_failed = Signal(str)

    def __init__(
        self,
        state: AppState,
        run_history: RunHistory,
        session: TrainingSession | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.run_history = run_history
        self.session = session or TrainingSession(self)
        self.tasks = TaskRunner(self)  # the hold-out evaluation after a run
        self.evaluation: pd.DataFrame | None = None  # the latest hold-out evaluation table
        self._run: RunContext | None = None
        self._closing = False  # after shutdown no new threads start: a late run is recorded in place
        self._after_run: list[Callable[[], None]] = []  # see AFTER_RUN_DELAY_MS
        self._end_text = ""
        self._evaluation_id = 0
        #: why other work (a sweep) keeps runs from starting now ("" when nothing does)
        self.busy_elsewhere: Callable[[], str] = lambda: ""
        self._timer = QTimer(self)
        self._timer.setInterval(UI_REFRESH_MS)
        self._timer.timeout.connect(self._send_status)
        self.session.progress.connect(self.progress)
        self.session.epoch_done.connect(self.epoch_done)
        self.session.protocol_known.connect(self.protocol)
        self.session.ended.connect(self._on_ended)
        run_history.recorded.connect(self._on_recorded)

    @property
    def running(self) -> bool:
        return self.session.running

    # -- starting and stopping --------------------------------------------------------------
    def blocking_reason(self, hyperparameter_errors: Mapping[str, str] | None = None) -> str:
        """Why a run cannot start now ('' when it can, or while one runs)."""
        if self.running:
            return ""
        elsewhere = self.busy_elsewhere()
        if elsewhere:
            return elsewhere
        if hyperparameter_errors:
            return "Fix the highlighted hyperparameters to train."
        if self.state.data is None:
            return "Open a data folder (or the demo data) to train."
        filtered = self.state.filtered
        if filtered is None:
            return "Applying the filters …"
        if self.state.filters_pending:
            return self.state.filters_pending
        if filtered.summary.n_interactions == 0:
            return "Nothing is left after filtering: loosen the filters on the Data page."
        return ""

    def start(self, config: SASRecConfig, holdout: Holdout | None = None) -> bool:
        """Train ``config`` on the filtered data (validating on ``holdout``); False when not possible."""
        filtered = self.state.filtered
        if self.running or self.blocking_reason(config.errors()) or filtered is None:
            return False
        self.hyperparameters_used.emit(config.to_dict())
        loaded = self.state.loaded
        exp = Experiment(config, filtered.config, holdout, loaded.folder if loaded else "", loaded.data.format if loaded else "",
                         items=loaded.data.items if loaded else None)
        plan = RunPlan(
            config, holdout, planned_steps(config, filtered.summary), expected_initial_loss(config, filtered.summary),
            expected_validation_loss(config, filtered.summary) if holdout else None,
        )
        return self.start_experiment(exp, filtered.result.interactions, plan)

    def start_experiment(self, exp: Experiment, interactions: pd.DataFrame, plan: RunPlan) -> bool:
        """Train ``exp`` on ``interactions`` (filtered by ``exp.filter_config``), e.g. a run
        continuing a checkpoint (``exp.resume``); ``plan`` plans the plot. False while a run
        is in progress or other work (``busy_elsewhere``) keeps runs from starting."""
        if self.running or self.busy_elsewhere():
            return False
        self.starting.emit(plan)
        self.clear_evaluation()
        self._run = RunContext(exp, interactions)
        self.session.start(interactions, exp.config, exp=exp)
        self._timer.start()
        self.running_changed.emit(True)
        holdout = exp.holdout
        validated = f", validating on {holdout.describe()}" if holdout else ""
        if exp.resume is not None:
            parent = f" (run {exp.resume.parent_run_id})" if exp.resume.parent_run_id is not None else ""
            self.message.emit(f"Continuing {Path(exp.resume.checkpoint).name}{parent} after epoch {exp.resume.epoch} "
                              f"for {exp.config.epochs} more epoch(s){validated} …")
        else:
            self.message.emit(f"Training on {len(interactions):,} interactions ({exp.config.epochs} epochs{validated}) …")
        return True

    def stop(self) -> None:
        """Stop the run after the current batch (its last completed epoch's model is kept)."""
        if self.running:
            self.session.stop()
            self.stopping.emit()
            self.message.emit("Stopping after the current batch …")

    def shutdown(self) -> bool:
        """Stop the run and wait for every thread of it (window closing); False on a timeout."""
        self._closing = True
        self._timer.stop()
        stopped = self.session.shutdown()
        self._run_after_run()  # a run that just ended is recorded now (in place), not evaluated
        self.tasks.wait_all()
        self.run_history.wait()
        return stopped

    def _send_status(self) -> None:
        """Timer-driven: the progress figures from the latest report, never per signal."""
        if self.running:
            session = self.session
            self.status.emit(RunStatus(session.elapsed(), session.last_progress, session.stop_requested_at is not None))

    # -- the end of a run -------------------------------------------------------------------
    def _on_ended(self, kind: str, payload: object) -> None:
        self._timer.stop()
        outcome: TrainingOutcome | None = None if kind == "failed" else payload  # type: ignore[assignment]
        model = outcome.result.model if outcome is not None else None
        text, progress_text = end_texts(kind, outcome, self.state.model is not None)
        evaluation = self._plan_evaluation(outcome) if outcome is not None else None
        if model is not None:
            self.state.set_model(model, outcome.histories, origin="trained")  # type: ignore[union-attr]
        if evaluation is not None:
            self._later(lambda: self._evaluate(outcome, evaluation))  # type: ignore[arg-type]
        self._end_text = text
        error = payload if kind == "failed" else None
        self.ended.emit(RunEnd(kind, outcome, error, text, progress_text, evaluation))  # type: ignore[arg-type]
        self.message.emit(text)
        if error is not None:
            self.error.emit(error, "Training stopped with an error. Your data and any previous model are still usable.")
        self._record(kind, payload)
        self.running_changed.emit(False)

    def _record(self, kind: str, payload: object) -> None:
        """Hand the run to the run history (saved and written in a worker thread)."""
        run, self._run = self._run, None
        if run is None:
            return
        model = None if kind == "failed" else payload.result.model  # type: ignore[attr-defined]
        if model is None:  # failed, or stopped before the first epoch ended: what the worker reported
            history, seconds, device = self.session.history, self.session.seconds, run.experiment.config.device
        else:
            history, seconds, device = model.history, payload.result.seconds, model.device  # type: ignore[attr-defined]
        outcome = None if kind == "failed" else payload
        record = experiment.run_record(
            run.experiment, status=RUN_STATUS[kind], history=history, seconds=seconds, device=str(device),
            steps_per_epoch=self.session.steps_per_epoch, data_fingerprint=model.data_fingerprint if model else "",
            protocol=outcome.protocol if outcome is not None else self.session.protocol,  # type: ignore[attr-defined]
        )
        extra = experiment.checkpoint_extra(run.experiment, app=f"SASRec Studio {__version__}")
        pending = PendingRun(record, run.interactions, model, extra)
        self._later(lambda: self.run_history.record(pending, blocking=self._closing))

    def _later(self, job: Callable[[], None]) -> None:
        """Run ``job`` after the plot's final draw (at once while closing)."""
        self._after_run.append(job)
        if self._closing:
            self._run_after_run()
        elif len(self._after_run) == 1:
            QTimer.singleShot(AFTER_RUN_DELAY_MS, self._run_after_run)

    def _run_after_run(self) -> None:
        jobs, self._after_run = self._after_run, []
        for job in jobs:
            job()

    def _on_recorded(self, result: RecordResult) -> None:
        if result.run_id is not None:
            text = f"Recorded as run {result.run_id}."
            if result.checkpoint_error:
                text += f" Its model could not be saved: {result.checkpoint_error}"
            self.message.emit(f"{self._end_text} {text}".strip())
            return
        text = (
            f"This run could not be written to the run history. {result.store_error} "
            "The run is kept and is written as soon as the run history can be used again."
        )
        self.message.emit(text)
        self.record_failed.emit(text)

    # -- hold-out evaluation ----------------------------------------------------------------
    def _plan_evaluation(self, outcome: TrainingOutcome) -> EvaluationPlan | None:
        """The evaluation of a run with a hold-out and a model (None otherwise, and while closing)."""
        if outcome.result.model is None or outcome.split is None or outcome.holdout is None or self._closing:
            return None
        self._evaluation_id += 1
        return EvaluationPlan(self._evaluation_id, outcome.holdout, outcome.split.describe())

    def _evaluate(self, outcome: TrainingOutcome, plan: EvaluationPlan) -> None:
        """SASRec against the popularity baseline on the run's hold-out (in a worker)."""
        from core.evaluate_model import evaluate_split
        from core.protocol import evaluation_protocol

        model, split, holdout, current = outcome.result.model, outcome.split, plan.holdout, plan.evaluation_id
        if model is None or split is None or self._closing or current != self._evaluation_id:
            return
        device = str(next(model.module.parameters()).device)
        self.tasks.submit(
            "evaluate",
            lambda: (evaluate_split(model, split, (holdout.k,), device=device),
                     evaluation_protocol(split, (holdout.k,), model.item_map.n_items)),
            lambda scored: self._evaluated(current, *scored, holdout),
            lambda exc: self._evaluation_failed(current, exc),
        )

    def _evaluated(self, current: int, table: pd.DataFrame, protocol: object, holdout: Holdout) -> None:
        if current != self._evaluation_id:
            return  # a newer run replaced it
        self.evaluation = table
        self.evaluation_protocol.emit(protocol)
        self.evaluated.emit(table, holdout)

    def _evaluation_failed(self, current: int, exc: BaseException) -> None:
        if current == self._evaluation_id:
            self.evaluation_failed.emit(f"The hold-out evaluation failed: {type(exc).__name__}: {exc}")

    def clear_evaluation(self) -> None:
        """Forget the shown evaluation (a new run or a checkpoint replaces it)."""
        self._evaluation_id += 1
        self.evaluation = None
        self.evaluation_cleared.emit()
