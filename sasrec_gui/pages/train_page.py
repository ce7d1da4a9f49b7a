"""Training page: the hyperparameter and validation forms, Train/Stop, the live loss and metrics
plot, progress figures and the hold-out evaluation table.

Layout and wiring only: ``services.training_controller.TrainingController`` starts and stops
runs, records them in the run history and evaluates them; this page renders its signals.
"""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from core.config import SASRecConfig
from core.experiment import Holdout
from core.train import TrainedModel

from ..logic.training import RunEnd, RunPlan
from ..services.run_history import RunHistory
from ..services.state import AppState
from ..services.training_controller import TrainingController
from ..services.training_session import TrainingSession
from ..services.workers import TaskRunner
from ..widgets.common import FitWidthScrollArea, MessageLine, page_header
from ..widgets.evaluation_table import EvaluationBox
from ..widgets.frame_model import FrameModel
from ..widgets.loss_plot import LossPlot
from ..widgets.settings_forms import HyperparameterForm, ValidationForm
from ..widgets.training_progress import TrainingProgress


class TrainPage(QWidget):
    """Set hyperparameters and train in a worker thread while the loss curve updates live.

    Every run that ends with a model (finished or stopped), and every failed one, is
    recorded in the run history, its model saved as a checkpoint (``TrainingController``). A
    run with a hold-out plots HR@k / NDCG@k per validated epoch and ends with a table of
    SASRec against the popularity baseline on the hold-out.

    ``use_settings(config, holdout)`` fills the forms (the Runs page's "Use these settings").
    """

    def __init__(self, state: AppState, training: TrainingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.training = training

        header, self.subtitle = page_header("Training", "Open data first; the model trains on the filtered interactions.")
        self.form = HyperparameterForm()
        self.validation = ValidationForm()
        self.defaults_button = QPushButton("Reset to defaults")
        self.defaults_button.setToolTip("The notebook's hyperparameters.")
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("primary")
        self.train_button.setToolTip("Train SASRec on the filtered data in the background.")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("danger")
        self.stop_button.setToolTip("Stop after the current batch; the last completed epoch's model is kept.")
        self.stop_button.setEnabled(False)
        self.reason = QLabel()
        self.reason.setObjectName("errorText")
        self.reason.setWordWrap(True)
        self.progress_box = TrainingProgress()
        self.progress = self.progress_box.bar
        self.stats = self.progress_box.stats
        self.loss_plot = LossPlot()
        self.eval_box = EvaluationBox()
        self.model_label = MessageLine()
        self.model_label.setText("No model yet.")
        self._build_layout(header)
        self._connect()
        self._update_enabled()

    def _build_layout(self, header: QWidget) -> None:
        form_box = QWidget()
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(0, 0, 6, 0)
        form_layout.addWidget(self.form)
        form_layout.addWidget(self.validation)
        form_layout.addStretch(1)
        scroll = FitWidthScrollArea(form_box)  # as wide as the form wants, at any font size
        buttons = QHBoxLayout()  # outside the scroll area: never scrolled half out of view
        buttons.addWidget(self.defaults_button)
        buttons.addWidget(self.train_button, 1)
        buttons.addWidget(self.stop_button, 1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.reason)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(self.progress_box)
        right_layout.addWidget(self.loss_plot, 1)
        right_layout.addWidget(self.eval_box)
        right_layout.addWidget(self.model_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([400, 820])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.addWidget(header)
        layout.addWidget(self.splitter, 1)

    def _connect(self) -> None:
        t = self.training
        self.defaults_button.clicked.connect(lambda: self.form.set_config(SASRecConfig().to_dict()))
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.form.changed.connect(self._update_enabled)
        t.starting.connect(self._on_starting)
        t.progress.connect(self.loss_plot.add_steps)
        t.epoch_done.connect(self.loss_plot.add_epoch)
        t.epoch_done.connect(self.progress_box.show_epoch)
        t.status.connect(self.progress_box.show_status)
        t.stopping.connect(self._on_stopping)
        t.ended.connect(self._on_ended)
        t.running_changed.connect(self._update_enabled)
        t.evaluated.connect(self.eval_box.show_table)
        t.evaluation_protocol.connect(self.eval_box.set_protocol)
        t.protocol.connect(self.loss_plot.set_protocol)
        t.evaluation_failed.connect(self.eval_box.show_failure)
        t.evaluation_cleared.connect(self.eval_box.hide)
        self.state.data_changed.connect(self._update_enabled)
        self.state.data_changed.connect(lambda: self.form.set_item_columns(self.state.data.items if self.state.data else None))
        self.state.filter_changed.connect(self._update_enabled)
        self.state.filters_pending_changed.connect(self._update_enabled)
        self.state.model_changed.connect(self._show_model_info)

    # -- what the controller holds ----------------------------------------------------------
    @property
    def session(self) -> TrainingSession:
        return self.training.session

    @property
    def run_history(self) -> RunHistory:
        return self.training.run_history

    @property
    def tasks(self) -> TaskRunner:
        """The hold-out evaluation's runner."""
        return self.training.tasks

    @property
    def evaluation(self) -> pd.DataFrame | None:
        """The latest hold-out evaluation table (None before one is scored)."""
        return self.training.evaluation

    @property
    def eval_model(self) -> FrameModel:
        return self.eval_box.model

    # -- enabling ---------------------------------------------------------------------------
    def blocking_reason(self) -> str:
        """Why Train is disabled ('' when it is enabled)."""
        if self.training.running:
            return ""
        return self.training.blocking_reason(self.form.errors())

    def update_enabled(self) -> None:
        """Re-check whether Train can run (data, filters and hyperparameters)."""
        self._update_enabled()

    def _update_enabled(self) -> None:
        running = self.training.running
        self.form.show_errors(self.form.errors())
        reason = self.blocking_reason()
        self.train_button.setEnabled(not running and not reason)
        self.stop_button.setEnabled(running)
        self.form.setEnabled(not running)
        self.validation.setEnabled(not running)
        self.defaults_button.setEnabled(not running)
        self.reason.setText(reason)
        filtered = self.state.filtered
        if filtered is not None and self.state.loaded is not None:
            s = filtered.summary
            self.subtitle.setText(
                f"Training data: {self.state.loaded.label}, after filters — {s.n_interactions:,} interactions, "
                f"{s.n_users:,} users, {s.n_items:,} items."
            )
        elif self.state.loaded is None:
            self.subtitle.setText("Open data first; the model trains on the filtered interactions.")

    # -- training ---------------------------------------------------------------------------
    def start_training(self) -> bool:
        """Start a run with the form's settings on the filtered data; False when not possible."""
        if self.training.running or self.blocking_reason():
            return False
        return self.training.start(self.form.config(), self.validation.holdout())

    def stop_training(self) -> None:
        self.training.stop()

    def shutdown(self) -> bool:
        """Stop the run and wait for its threads (window closing)."""
        self.loss_plot.stop_live()
        return self.training.shutdown()

    def use_settings(self, config: dict, holdout: Holdout | None) -> None:
        """Fill the hyperparameter form with ``config`` and the validation form with ``holdout``."""
        self.form.set_config(config)
        self.validation.set_holdout(holdout)

    def _on_starting(self, plan: RunPlan) -> None:
        """Plan the plot's axes (one full draw) before the worker starts."""
        self.loss_plot.reset(draw=False)
        if plan.initial_history is not None:  # a continued run: its curves go on from the checkpoint's
            self.loss_plot.preload(plan.initial_history, plan.total_epochs)
        holdout = plan.holdout
        rule = holdout.early_stopping() if holdout else None
        self.loss_plot.start_live(
            plan.planned_steps, plan.expected_loss,
            metric_epochs=plan.total_epochs if holdout else 0, metric_k=holdout.k if holdout else 10,
            monitor=rule.monitor if rule else "", keeps_best=bool(rule and rule.restores_best),
            expected_val_loss=plan.expected_val_loss,
        )
        self.progress_box.reset(plan.preparing_text)

    def _on_stopping(self) -> None:
        self.stop_button.setEnabled(False)
        self.progress_box.show_stopping()

    def _on_ended(self, end: RunEnd) -> None:
        if end.evaluation is not None:  # before the plot's final draw: the box's resize and the draw become one redraw
            self.eval_box.begin(end.evaluation)
        self.loss_plot.stop_live()
        seconds = end.outcome.result.seconds if end.outcome is not None else None
        self.progress_box.show_end(end.progress_text, end.kind == "finished", seconds)
        if end.outcome is not None:
            self.model_label.show_message(end.text + " " + self._model_text(), error=False)

    # -- model info -------------------------------------------------------------------------
    def _model_text(self) -> str:
        model = self.state.model
        if model is None:
            return ""
        kept = f" (weights of epoch {model.kept_epoch}, the best)" if model.kept_epoch != model.epochs_done else ""
        return (
            f"Current model ({self.state.model_origin}): {model.epochs_done} epoch(s){kept}, "
            f"{model.item_map.n_items:,} items, {model.n_sequences:,} training sequences, trained on {model.device}"
            f"{' (step replayed as a CUDA graph)' if getattr(model, 'step_mode', '') == 'cuda graph' else ''}."
        )

    def _show_model_info(self) -> None:
        if not self.training.running:
            self.model_label.show_message(self._model_text() or "No model yet.")

    def show_checkpoint(self, model: TrainedModel) -> None:
        """Restore a checkpoint's hyperparameters into the form and its loss curve into the plot."""
        self.form.set_config(model.config.to_dict())
        self.training.clear_evaluation()
        self.loss_plot.set_history(model.history)
        self.progress_box.show_checkpoint(model.epochs_done, model.history.epoch_losses)
        self._show_model_info()
