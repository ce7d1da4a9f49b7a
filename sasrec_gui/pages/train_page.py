"""Training page: hyperparameters, validation, Train/Stop, live loss and metrics plot, progress,
elapsed/ETA/throughput, the hold-out evaluation table; every run is recorded in the run history."""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

import pandas as pd

from core import experiment
from core.experiment import Experiment, Holdout
from core.config import HoldoutConfig, SASRecConfig
from core.train import EpochReport, StepReport, TrainedModel, available_devices

from .. import __version__
from ..form import ValidatedForm
from ..frame_model import Column, FrameModel, fixed
from ..loss_plot import LossPlot
from ..run_history import PendingRun, RecordResult, RunHistory
from ..state import AppState
from ..summary import DataSummary
from ..training import TrainingOutcome, TrainingSession, format_seconds
from ..widgets import MessageLine, make_table, page_header
from ..workers import TaskRunner

UI_REFRESH_MS = 250
#: The run history's status for each way a training session ends.
RUN_STATUS = {"finished": "finished", "cancelled": "stopped", "failed": "failed"}
#: Recording and evaluating a finished run start this long after it ended, so that the plot's
#: final full draw (queued when the run ends) does not compete with them for the GIL.
AFTER_RUN_DELAY_MS = 10


def device_choices() -> list[tuple[str, str]]:
    """(label, value) for "auto" and every device core can train on."""
    choices = [("auto (GPU when available)", "auto")]
    for name in available_devices():
        label = name
        if name.startswith("cuda"):
            try:
                label = f"{name} — {torch.cuda.get_device_name(int(name.split(':')[1]))}"
            except (RuntimeError, AssertionError, ValueError, IndexError):
                pass
        choices.append((label, name))
    return choices


def planned_steps(config: SASRecConfig, summary: DataSummary) -> int:
    """Total training steps of a run (core trains one sequence per user with >= 2 interactions)."""
    return config.epochs * math.ceil(summary.n_sequences / config.batch_size)


def expected_initial_loss(config: SASRecConfig, summary: DataSummary) -> float:
    """Roughly the first steps' loss, to plan the live plot's y axis (weights scale every loss)."""
    if config.loss == "softmax":
        return summary.mean_weight * math.log(max(summary.n_items, 2)) * 1.05
    return summary.mean_weight * math.log(2.0) * 1.5


class HyperparameterForm(ValidatedForm):
    """Every field of ``SASRecConfig``, generated from its declarations (``core.schema``): a
    sensible range, a one-sentence tooltip, an error line; the device lists the devices there are."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        device = QComboBox()
        for label, value in device_choices():
            device.addItem(label, value)
        self.add_settings(SASRecConfig, widgets={"device": device})
        self.add_stretch()
        self.widgets["loss"].currentIndexChanged.connect(self._loss_changed)  # type: ignore[attr-defined]
        self.widgets["deterministic"].toggled.connect(self._loss_changed)  # type: ignore[attr-defined]
        self._loss_changed()

    def config(self) -> SASRecConfig:
        return SASRecConfig(**self.values())

    def errors(self) -> dict[str, str]:
        return self.config().errors()

    def set_config(self, values: dict) -> None:
        """Fill the form from a config dict (unknown keys ignored; unknown devices fall back to auto)."""
        values = dict(values)
        device: QComboBox = self.widgets["device"]  # type: ignore[assignment]
        if device.findData(values.get("device")) < 0:
            values["device"] = "auto"
        self.set_values(values)
        self._loss_changed()

    def _loss_changed(self) -> None:
        """Enable only the fields that apply: negatives for bce/gbce, t for gbce, CUDA graphs
        for the softmax loss without deterministic mode."""
        loss = self.widgets["loss"].currentData()  # type: ignore[attr-defined]
        self.widgets["n_negatives"].setEnabled(loss in ("bce", "gbce"))
        self.widgets["gbce_t"].setEnabled(loss == "gbce")
        deterministic = self.widgets["deterministic"].isChecked()  # type: ignore[attr-defined]
        self.widgets["cuda_graph"].setEnabled(loss == "softmax" and not deterministic)


#: Metric columns of the hold-out evaluation table, in this order (``@k`` appended).
EVALUATION_METRICS = ("HR", "NDCG", "Recall", "MAP", "MRR", "Coverage", "MeanPop")


class ValidationForm(ValidatedForm):
    """Optional validation during training: a hold-out split, how often to validate, and k."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.add_settings(HoldoutConfig)
        self.changed.connect(self._update_enabled)
        self._update_enabled()

    def holdout(self) -> Holdout | None:
        """The chosen hold-out, or None when validation is off."""
        return HoldoutConfig(**self.values()).to_holdout()

    def set_holdout(self, holdout: Holdout | None) -> None:
        """Show ``holdout`` (None: validation off; the other fields keep their values)."""
        self.set_values({"holdout": "none"} if holdout is None else HoldoutConfig.from_holdout(holdout).to_dict())

    def _update_enabled(self) -> None:
        scheme = self.widgets["holdout"].currentData()  # type: ignore[attr-defined]
        self.widgets["test_days"].setEnabled(scheme == "time")
        self.widgets["validate_every"].setEnabled(scheme != "none")
        self.widgets["k"].setEnabled(scheme != "none")


@dataclass
class RunContext:
    """What a run was started with, kept until it is recorded."""

    experiment: Experiment
    interactions: pd.DataFrame


class TrainPage(QWidget):
    """Set hyperparameters and train in a worker thread while the loss curve updates live.

    Every run that ends with a model (finished or stopped), and every failed one, is
    recorded in the run history (``run_history``), its model saved as a checkpoint. A run
    with a hold-out plots HR@k / NDCG@k per validated epoch and ends with a table of
    SASRec against the popularity baseline on the hold-out.
    """

    error = Signal(object, str)
    message = Signal(str)
    running_changed = Signal(bool)
    hyperparameters_used = Signal(dict)

    def __init__(
        self,
        state: AppState,
        session: TrainingSession | None = None,
        filters_reason: Callable[[], str] | None = None,
        parent: QWidget | None = None,
        run_history: RunHistory | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.filters_reason = filters_reason or (lambda: "")
        self.session = session or TrainingSession(self)
        self.run_history = run_history or RunHistory(self)
        self.tasks = TaskRunner(self)  # the hold-out evaluation after a run
        self._run: RunContext | None = None
        self._closing = False  # after shutdown no new threads start: a late run is recorded in place
        self._after_run: list[Callable[[], None]] = []  # see AFTER_RUN_DELAY_MS
        self._end_text = ""
        self._evaluation_id = 0
        self.evaluation: pd.DataFrame | None = None  # the latest hold-out evaluation table

        header, self.subtitle = page_header("Training", "Open data first; the model trains on the filtered interactions.")
        self.form = HyperparameterForm()
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

        form_box = QWidget()
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(0, 0, 6, 0)
        form_layout.addWidget(self.form)
        self.validation = ValidationForm()
        form_layout.addWidget(self.validation)
        form_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form_box)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(form_box.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
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

        # progress and plot
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        stats_box = QGroupBox("Progress")
        stats = QGridLayout(stats_box)
        stats.addWidget(self.progress, 0, 0, 1, 4)
        self.stats: dict[str, QLabel] = {}
        for i, name in enumerate(("Elapsed", "ETA", "Sequences/s", "Last epoch loss")):
            caption = QLabel(name)
            caption.setObjectName("muted")
            value = QLabel("–")
            value.setObjectName("statValue")
            row, col = 1 + i % 2, 2 * (i // 2)
            stats.addWidget(caption, row, col)
            stats.addWidget(value, row, col + 1)
            self.stats[name] = value
        stats.setColumnStretch(1, 1)
        stats.setColumnStretch(3, 1)
        self.loss_plot = LossPlot()
        self.model_label = MessageLine()
        self.model_label.setText("No model yet.")
        self.eval_box = QGroupBox("Hold-out evaluation")
        self.eval_box.setToolTip("The final model and the popularity baseline, scored on the held-out interactions.")
        self.eval_message = QLabel()
        self.eval_message.setObjectName("muted")
        self.eval_message.setWordWrap(True)
        self.eval_model = FrameModel()
        self.eval_view = make_table(self.eval_model)
        self.eval_view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.eval_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.eval_view.horizontalHeader().setStretchLastSection(False)  # with Stretch, it would take more than its share
        self.eval_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._fit_eval_height()
        eval_layout = QVBoxLayout(self.eval_box)
        eval_layout.addWidget(self.eval_message)
        eval_layout.addWidget(self.eval_view)
        self.eval_box.hide()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(stats_box)
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

        self._ui_timer = QTimer(self)
        self._ui_timer.setInterval(UI_REFRESH_MS)
        self._ui_timer.timeout.connect(self._refresh_stats)

        self.defaults_button.clicked.connect(lambda: self.form.set_config(SASRecConfig().to_dict()))
        self.train_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop_training)
        self.form.changed.connect(self._update_enabled)
        self.session.progress.connect(self._on_progress)
        self.session.epoch_done.connect(self._on_epoch)
        self.session.ended.connect(self._on_ended)
        self.run_history.recorded.connect(self._on_recorded)
        state.data_changed.connect(self._update_enabled)
        state.filter_changed.connect(self._update_enabled)
        state.model_changed.connect(self._show_model_info)
        self._update_enabled()

    # -- enabling ---------------------------------------------------------------------------
    def blocking_reason(self) -> str:
        """Why Train is disabled ('' when it is enabled)."""
        if self.session.running:
            return ""
        if self.form.errors():
            return "Fix the highlighted hyperparameters to train."
        if self.state.data is None:
            return "Open a data folder (or the demo data) to train."
        filtered = self.state.filtered
        if filtered is None:
            return "Applying the filters …"
        pending = self.filters_reason()
        if pending:
            return pending
        if filtered.summary.n_interactions == 0:
            return "Nothing is left after filtering: loosen the filters on the Data page."
        return ""

    def update_enabled(self) -> None:
        """Re-check whether Train can run (data, filters and hyperparameters)."""
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.form.show_errors(self.form.errors())
        reason = self.blocking_reason()
        self.train_button.setEnabled(not self.session.running and not reason)
        self.stop_button.setEnabled(self.session.running)
        self.form.setEnabled(not self.session.running)
        self.validation.setEnabled(not self.session.running)
        self.defaults_button.setEnabled(not self.session.running)
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
        if self.session.running or self.blocking_reason() or self.state.filtered is None:
            return False
        config = self.form.config()
        filtered = self.state.filtered
        holdout = self.validation.holdout()
        self.hyperparameters_used.emit(config.to_dict())
        self.loss_plot.reset(draw=False)
        self.loss_plot.start_live(
            planned_steps(config, filtered.summary), expected_initial_loss(config, filtered.summary),
            metric_epochs=config.epochs if holdout else 0, metric_k=holdout.k if holdout else 10,
        )
        self.progress.setValue(0)
        self.progress.setFormat("Preparing the hold-out and sequences …" if holdout else "Preparing sequences …")
        for label in self.stats.values():
            label.setText("–")
        self._hide_evaluation()
        loaded = self.state.loaded
        self._run = RunContext(
            Experiment(config, filtered.config, holdout, loaded.folder if loaded else "", loaded.data.format if loaded else ""),
            filtered.result.interactions,
        )
        self.session.start(filtered.result.interactions, config, filtered.config.to_dict(), holdout)
        self._ui_timer.start()
        self._update_enabled()
        self.running_changed.emit(True)
        validated = f", validating on {holdout.describe()}" if holdout else ""
        self.message.emit(f"Training on {filtered.summary.n_interactions:,} interactions ({config.epochs} epochs{validated}) …")
        return True

    def stop_training(self) -> None:
        if self.session.running:
            self.session.stop()
            self.stop_button.setEnabled(False)
            self.progress.setFormat(self.progress.format() + " — stopping …")
            self.message.emit("Stopping after the current batch …")

    def shutdown(self) -> bool:
        """Stop the run and wait for its thread (window closing)."""
        self._closing = True
        self._ui_timer.stop()
        self.loss_plot.stop_live()
        stopped = self.session.shutdown()
        self._run_after_run()  # a run that just ended is recorded now (in place), not evaluated
        self.tasks.wait_all()
        self.run_history.wait()
        return stopped

    def _on_progress(self, report: StepReport) -> None:
        self.loss_plot.add_steps(report)

    def _on_epoch(self, report: EpochReport) -> None:
        self.loss_plot.add_epoch(report)
        text = f"{report.mean_loss:.4f} (epoch {report.epoch})"
        ndcg = next((f"{k} {v:.4f}" for k, v in report.metrics.items() if k.startswith("NDCG@")), "")
        self.stats["Last epoch loss"].setText(f"{text} · {ndcg}" if ndcg else text)

    def _refresh_stats(self) -> None:
        """Timer-driven: progress bar and figures from the latest report, never per signal."""
        if not self.session.running:
            return
        self.stats["Elapsed"].setText(format_seconds(self.session.elapsed()))
        p = self.session.last_progress
        if p is None:
            return
        self.progress.setValue(int(p.fraction * 1000))
        text = f"Epoch {p.epoch}/{p.epochs} · step {p.step}/{p.steps_per_epoch}"
        if self.session.stop_requested_at is not None:
            text += " — stopping …"
        self.progress.setFormat(text)
        self.stats["ETA"].setText(format_seconds(p.eta))
        self.stats["Sequences/s"].setText(f"{p.sequences_per_sec:,.0f}")

    def _on_ended(self, kind: str, payload: object) -> None:
        self._ui_timer.stop()
        evaluation = self._show_evaluation(payload) if kind != "failed" else None  # before the plot's final draw:
        self.loss_plot.stop_live()  # the box's resize and the draw become one redraw
        if kind == "failed":
            self.progress.setFormat("Failed")
            self._end_text = "Training failed."
            self.message.emit(self._end_text)
            self.error.emit(payload, "Training stopped with an error. Your data and any previous model are still usable.")
        else:
            outcome: TrainingOutcome = payload  # type: ignore[assignment]
            model = outcome.result.model
            if kind == "finished":
                self.progress.setValue(1000)
                self.progress.setFormat(f"Done: {model.epochs_done if model else 0} epoch(s)")
                text = f"Training finished in {outcome.result.seconds:.1f} s."
            elif model is not None:
                self.progress.setFormat(f"Stopped — model from epoch {model.epochs_done} kept")
                text = f"Training stopped. The model from epoch {model.epochs_done} (the last completed one) is kept and usable."
            else:
                self.progress.setFormat("Stopped — no model")
                kept = " The previous model is still in use." if self.state.model is not None else ""
                text = f"Training stopped before the first epoch ended: this run has no model.{kept}"
            if model is not None:
                self.state.set_model(model, outcome.histories, origin="trained")
            if evaluation is not None:
                self._later(lambda: self._evaluate(outcome, evaluation))
            self.model_label.show_message(text + " " + self._model_text(), error=False)
            self.stats["Elapsed"].setText(format_seconds(outcome.result.seconds))
            self._end_text = text
            self.message.emit(text)
        self._record(kind, payload)
        self._update_enabled()
        self.running_changed.emit(False)

    # -- run history ------------------------------------------------------------------------
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
        record = experiment.run_record(
            run.experiment, status=RUN_STATUS[kind], history=history, seconds=seconds, device=str(device),
            steps_per_epoch=self.session.steps_per_epoch, data_fingerprint=model.data_fingerprint if model else "",
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
        if getattr(self.window(), "interactive", True) and not self._closing:
            QMessageBox.warning(self, "Run history unavailable", text)
        else:
            print(f"Run history unavailable: {text}", file=sys.stderr)

    # -- hold-out evaluation ----------------------------------------------------------------
    def _show_evaluation(self, outcome: TrainingOutcome) -> int | None:
        """Show the (empty) evaluation box of a run with a hold-out and a model; returns its id."""
        if outcome.result.model is None or outcome.split is None or outcome.holdout is None or self._closing:
            return None
        holdout = outcome.holdout
        self._evaluation_id += 1
        self.eval_box.setTitle(f"Hold-out evaluation ({holdout.describe()}, metrics @{holdout.k}) — scoring …")
        self.eval_message.setText(
            f"{outcome.split.describe()}. Popular recommends the most watched items each user "
            "has not seen. MeanPop: mean training popularity of the recommended items."
        )
        self.eval_model.set_frame(pd.DataFrame())
        self.eval_box.show()
        return self._evaluation_id

    def _evaluate(self, outcome: TrainingOutcome, current: int) -> None:
        """SASRec against the popularity baseline on the run's hold-out (in a worker)."""
        from core.evaluate_model import evaluate_split

        model, split, holdout = outcome.result.model, outcome.split, outcome.holdout
        if model is None or split is None or holdout is None or self._closing or current != self._evaluation_id:
            return
        device = str(next(model.module.parameters()).device)
        self.tasks.submit(
            "evaluate",
            lambda: evaluate_split(model, split, (holdout.k,), device=device),
            lambda table: self._evaluated(current, table, holdout),
            lambda exc: self._evaluation_failed(current, exc),
        )

    def _evaluated(self, current: int, table: pd.DataFrame, holdout: Holdout) -> None:
        if current != self._evaluation_id:
            return  # a newer run replaced it
        k = holdout.k
        self.evaluation = table
        self.eval_box.setTitle(f"Hold-out evaluation ({holdout.describe()}, metrics @{k})")
        columns = [Column("model", "Model")]
        for name in EVALUATION_METRICS:
            key = f"{name}@{k}"
            if key in table.columns:  # the box title says @k: short headers fit without scrolling
                columns.append(Column(key, name, fixed(1 if name == "MeanPop" else 4), numeric=True))
        self.eval_model = FrameModel(table.reset_index(), columns)
        self.eval_view.setModel(self.eval_model)
        self._fit_eval_height()

    def _fit_eval_height(self) -> None:
        """Exactly the header and two rows (SASRec, Popular)."""
        view = self.eval_view
        header = max(view.horizontalHeader().sizeHint().height(), 24)
        view.setFixedHeight(header + 2 * view.verticalHeader().defaultSectionSize() + 2 * view.frameWidth() + 2)

    def _evaluation_failed(self, current: int, exc: BaseException) -> None:
        if current == self._evaluation_id:
            self.eval_box.setTitle("Hold-out evaluation")
            self.eval_message.setText(f"The hold-out evaluation failed: {type(exc).__name__}: {exc}")

    def _hide_evaluation(self) -> None:
        self._evaluation_id += 1
        self.evaluation = None
        self.eval_box.hide()

    # -- model info -------------------------------------------------------------------------
    def _model_text(self) -> str:
        model = self.state.model
        if model is None:
            return ""
        return (
            f"Current model ({self.state.model_origin}): {model.epochs_done} epoch(s), "
            f"{model.item_map.n_items:,} items, {model.n_sequences:,} training sequences, trained on {model.device}"
            f"{' (step replayed as a CUDA graph)' if getattr(model, 'step_mode', '') == 'cuda graph' else ''}."
        )

    def _show_model_info(self) -> None:
        if not self.session.running:
            self.model_label.show_message(self._model_text() or "No model yet.")

    def show_checkpoint(self, model: TrainedModel) -> None:
        """Restore a checkpoint's hyperparameters into the form and its loss curve into the plot."""
        self.form.set_config(model.config.to_dict())
        self._hide_evaluation()
        self.loss_plot.set_history(model.history)
        self.progress.setValue(1000)
        self.progress.setFormat(f"Checkpoint: {model.epochs_done} epoch(s)")
        if model.history.epoch_losses:
            self.stats["Last epoch loss"].setText(f"{model.history.epoch_losses[-1]:.4f} (epoch {len(model.history.epoch_losses)})")
        self._show_model_info()
