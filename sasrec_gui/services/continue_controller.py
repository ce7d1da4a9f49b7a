"""Continue training: N more epochs of a run's checkpoint (or of the current model's), through
the ``TrainingController`` like any run, so the plot, the recording and the evaluation are
the same; the run history links the new run to its parent.

Reading the checkpoint, filtering the data with its filters and checking its catalog run in
a worker (``logic.continue_training.prepare_continue``); core's refusals (other catalog,
unreadable checkpoint, invalid settings) arrive as ``error``. Nothing here touches a widget.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from core.train import TrainedModel

from ..logic.continue_training import ContinuePlan, prepare_continue
from ..logic.run_records import RecordResult
from ..logic.training import RunEnd
from .controller import Controller
from .run_history import RunHistory
from .state import AppState
from .training_controller import TrainingController
from .workers import TaskRunner


class ContinueController(QObject):
    """Starts continued runs and knows the checkpoint of the current model.

    * ``message(str)``: a status-bar line; ``error(exception, action)``: a refusal or failure.
    * ``started(ContinuePlan)``: the continued run is training.
    """

    message = Signal(str)
    error = Signal(object, str)
    started = Signal(object)

    def __init__(self, state: AppState, training: TrainingController, controller: Controller, history: RunHistory,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.training, self.history = state, training, history
        self.runner = TaskRunner(self)
        self._known: tuple[TrainedModel, str] | None = None  # a model and the checkpoint it was saved to / read from
        self._unrecorded: TrainedModel | None = None  # the model of the run being recorded
        controller.checkpoint_opened.connect(lambda model, _extra, path: self._remember(model, str(path)))
        controller.checkpoint_saved.connect(lambda path: self._remember(self.state.model, str(path)))
        training.ended.connect(self._run_ended)
        history.recorded.connect(self._recorded)

    # -- which checkpoint holds the current model -----------------------------------------
    def _remember(self, model: TrainedModel | None, path: str) -> None:
        if model is not None:
            self._known = (model, path)

    def _run_ended(self, end: RunEnd) -> None:
        self._unrecorded = end.outcome.result.model if end.outcome is not None else None

    def _recorded(self, result: RecordResult) -> None:
        if self._unrecorded is not None and result.record.checkpoint_path:
            self._remember(self._unrecorded, result.record.checkpoint_path)
        self._unrecorded = None

    def current_checkpoint(self) -> str:
        """The file the current model was read from or saved to ("" when none is known)."""
        if self._known is not None and self._known[0] is self.state.model and self.state.model is not None:
            return self._known[1]
        return ""

    # -- starting ---------------------------------------------------------------------------
    def blocking_reason(self) -> str:
        """Why a run cannot be continued now ("" when it can)."""
        if self.training.running:
            return "A model is training: wait for it to end, or stop it."
        if self.training.busy_elsewhere():
            return self.training.busy_elsewhere()
        if self.runner.is_busy("prepare"):
            return "Preparing the continued run …"
        if self.state.loaded is None:
            return "Open the data the model was trained on to continue training it."
        return ""

    def start(self, checkpoint: str | os.PathLike, epochs: int, lr: float | None = None) -> bool:
        """Continue ``checkpoint`` for ``epochs`` more epochs (learning rate ``lr``, or its own)
        on the open data; False (with a message) when it cannot start now."""
        reason = self.blocking_reason()
        if reason:
            self.message.emit(reason)
            return False
        loaded, filtered, path = self.state.loaded, self.state.filtered, str(checkpoint)
        store = self.history.store()
        current = (filtered.config, filtered.result.interactions) if filtered is not None else None
        self.message.emit(f"Reading {os.path.basename(path)} to continue it …")
        self.runner.submit(
            "prepare",
            lambda: prepare_continue(path, epochs, lr, loaded.data, store=store, filtered=current, source=loaded.folder),
            self._prepared,
            lambda exc: self.error.emit(exc, f"Cannot continue training from '{path}'."),
        )
        return True

    def _prepared(self, plan: ContinuePlan) -> None:
        if not self.training.start_experiment(plan.experiment, plan.interactions, plan.run_plan):
            self.message.emit("A model is training: the continued run did not start.")
            return
        if plan.warning:
            self.message.emit(f"⚠ {plan.warning}")
        self.started.emit(plan)

    def wait(self) -> None:
        self.runner.wait_all()
