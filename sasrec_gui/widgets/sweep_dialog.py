"""The sweep dialog (Training → Sweep…): pick settings and their values or ranges, the number
of trials, the search, early stopping and pruning; run it in the background and follow it
trial by trial (trial n/N, the current trial's epoch and step, the best so far); Stop keeps
the finished trials. Every trial is a run in the history under one sweep id.

The dialog validates with core (``core.sweep.parse_param`` per row, ``SweepSpec.errors()``)
and runs through ``services.sweep_controller.SweepController``.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.early_stopping import MONITORS, monitor_key
from core.experiment import Experiment, Holdout
from core.sweep import MAX_TRIALS, SAMPLERS, SweepResult, sweepable_settings

from ..logic.sweep_job import ROW_KINDS, ParamRow, SweepProgress, build_spec, trial_row
from ..services.sweep_controller import SweepController
from .dialogs import describe_error

#: ``prepare(holdout)``: the base experiment every trial starts from and the filtered
#: interactions, or why a sweep cannot start now.
Prepare = Callable[[Holdout], tuple[Experiment, pd.DataFrame] | str]
TRIAL_COLUMNS = ("trial", "state", "value", "best_epoch", "run", "params")
MONITOR_LABELS = {"ndcg": "NDCG@k", "hr": "HR@k", "loss": "Validation loss"}


class ParamRowEditor(QWidget):
    """One swept setting: its name, list or range, and the values."""

    def __init__(self, row: ParamRow | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = QComboBox()
        for name, spec in sweepable_settings().items():
            self.name.addItem(f"{spec.label} ({name})", name)
        self.kind = QComboBox()
        for kind in ROW_KINDS:
            self.kind.addItem(kind, kind)
        self.values = QLineEdit()
        self.values.setPlaceholderText("values, e.g. 32,64,128")
        self.low = QLineEdit()
        self.low.setPlaceholderText("low")
        self.high = QLineEdit()
        self.high.setPlaceholderText("high")
        self.remove_button = QPushButton("✕")
        self.remove_button.setToolTip("Remove this parameter")
        self.remove_button.setFixedWidth(28)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name, 2)
        layout.addWidget(self.kind, 1)
        layout.addWidget(self.values, 3)
        layout.addWidget(self.low, 1)
        layout.addWidget(self.high, 1)
        layout.addWidget(self.remove_button)
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        if row is not None:
            self.set_row(row)
        self._kind_changed()

    def set_row(self, row: ParamRow) -> None:
        self.name.setCurrentIndex(max(self.name.findData(row.name), 0))
        self.kind.setCurrentIndex(max(self.kind.findData(row.kind), 0))
        self.values.setText(row.values)
        self.low.setText(row.low)
        self.high.setText(row.high)

    def row(self) -> ParamRow:
        return ParamRow(str(self.name.currentData()), str(self.kind.currentData()), self.values.text(), self.low.text(),
                        self.high.text())

    def _kind_changed(self) -> None:
        values = self.kind.currentData() == "values"
        self.values.setVisible(values)
        self.low.setVisible(not values)
        self.high.setVisible(not values)


class SweepDialog(QDialog):
    """Set up, run, follow and stop a sweep (not modal: the window stays usable)."""

    def __init__(self, sweeps: SweepController, prepare: Prepare, holdout: Holdout | None = None,
                 base_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweep")
        self.resize(760, 640)
        self.sweeps = sweeps
        self.prepare = prepare
        self.base_holdout = holdout or Holdout("last")
        self.progress: SweepProgress | None = None
        self.rows: list[ParamRowEditor] = []

        intro = QLabel("Each trial trains the Training page's settings with the values below, on the same data and "
                       "hold-out, and is recorded as a run under one sweep id. " + base_text)
        intro.setWordWrap(True)
        intro.setObjectName("muted")
        self.rows_box = QVBoxLayout()
        self.add_button = QPushButton("Add parameter")
        params = QGroupBox("Parameters (a list of values, or a range LOW..HIGH)")
        params_layout = QVBoxLayout(params)
        params_layout.addLayout(self.rows_box)
        params_layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.trials = QSpinBox()
        self.trials.setRange(0, MAX_TRIALS)
        self.trials.setSpecialValueText("the whole grid")
        self.trials.setToolTip("How many trials to run (grid search: at most the grid's size; 0: all of it).")
        self.sampler = QComboBox()
        for name, label in zip(SAMPLERS, ("grid (every combination)", "random", "TPE (Optuna)")):
            self.sampler.addItem(label, name)
        self.holdout = QComboBox()
        self.holdout.addItem("Leave last out", "last")
        self.holdout.addItem(f"Last {self.base_holdout.test_days} day(s)", "time")
        self.holdout.setCurrentIndex(max(self.holdout.findData(self.base_holdout.scheme), 0))
        self.patience = QSpinBox()
        self.patience.setRange(0, 1000)
        self.patience.setValue(self.base_holdout.patience or 2)
        self.patience.setSpecialValueText("off")
        self.patience.setSuffix(" validation(s)")
        self.patience.setToolTip("Stop a trial when the monitored value has not improved for this many validations; "
                                 "its best epoch is kept.")
        self.monitor = QComboBox()
        for name in MONITORS:
            self.monitor.addItem(MONITOR_LABELS.get(name, name), name)
        self.monitor.setCurrentIndex(max(self.monitor.findData(self.base_holdout.monitor), 0))
        self.prune = QCheckBox("Prune trials that fall behind (median rule)")
        self.prune.setChecked(True)
        options = QFormLayout()
        options.addRow("Trials", self.trials)
        options.addRow("Search", self.sampler)
        options.addRow("Hold-out", self.holdout)
        options.addRow("Early stopping", self.patience)
        options.addRow("Monitor", self.monitor)
        options.addRow(self.prune)
        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)

        self.trial_label = QLabel("Not started.")
        self.trial_label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("")
        self.best_label = QLabel("Best so far: –")
        self.best_label.setObjectName("statValue")
        self.best_label.setWordWrap(True)
        self.table = QTableWidget(0, len(TRIAL_COLUMNS))
        self.table.setHorizontalHeaderLabels(["Trial", "State", "Value", "Best epoch", "Run", "Parameters"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        progress = QGroupBox("Progress")
        progress_layout = QVBoxLayout(progress)
        progress_layout.addWidget(self.trial_label)
        progress_layout.addWidget(self.bar)
        progress_layout.addWidget(self.best_label)
        progress_layout.addWidget(self.table, 1)

        self.start_button = QPushButton("Start sweep")
        self.start_button.setObjectName("primary")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("danger")
        self.stop_button.setToolTip("Stop the current trial after its batch; finished trials stay recorded.")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.stop_button, self.close_button):
            buttons.addWidget(button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(params)
        layout.addLayout(options)
        layout.addWidget(self.error)
        layout.addWidget(progress, 1)
        layout.addLayout(buttons)

        self.add_button.clicked.connect(lambda: self.add_row())
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.close)
        sweeps.event.connect(self._on_event)
        sweeps.finished.connect(self._on_finished)
        sweeps.failed.connect(self._on_failed)
        sweeps.running_changed.connect(self._running_changed)
        self.add_row(ParamRow("lr", "values", "0.001,0.003,0.01"))
        self._running_changed(sweeps.running)

    # -- parameters -------------------------------------------------------------------------
    def add_row(self, row: ParamRow | None = None) -> ParamRowEditor:
        editor = ParamRowEditor(row or ParamRow("n_factors", "values", "32,64"))
        editor.remove_button.clicked.connect(lambda: self.remove_row(editor))
        self.rows.append(editor)
        self.rows_box.addWidget(editor)
        return editor

    def remove_row(self, editor: ParamRowEditor) -> None:
        if editor in self.rows:
            self.rows.remove(editor)
            self.rows_box.removeWidget(editor)
            editor.deleteLater()

    def set_rows(self, rows: list[ParamRow]) -> None:
        """Replace every parameter row."""
        for editor in list(self.rows):
            self.remove_row(editor)
        for row in rows:
            self.add_row(row)

    def chosen_holdout(self) -> Holdout:
        """The hold-out every trial validates on, with the dialog's early stopping."""
        base = self.base_holdout
        return Holdout(str(self.holdout.currentData()), base.test_days, base.every, base.k, int(self.patience.value()),
                       str(self.monitor.currentData()), base.min_delta)

    # -- running ----------------------------------------------------------------------------
    def start(self) -> bool:
        """Check the parameters and options with core and start the sweep; False (with the
        problems shown) when it cannot start."""
        if self.sweeps.running:
            return False
        trials = int(self.trials.value()) or None
        spec, errors = build_spec([r.row() for r in self.rows], trials, str(self.sampler.currentData()),
                                  prune=self.prune.isChecked())
        if spec is None:
            self.error.setText("\n".join(f"{name}: {text}" for name, text in errors.items()))
            return False
        holdout = self.chosen_holdout()
        prepared = self.prepare(holdout)
        if isinstance(prepared, str):
            self.error.setText(prepared)
            return False
        base, interactions = prepared
        self.error.setText("")
        rule = holdout.early_stopping()
        self.progress = SweepProgress(spec.n_trials, monitor_key(holdout.monitor, holdout.k), rule.maximize)
        self.table.setRowCount(0)
        self.sweeps.start(interactions, spec, base)
        self.trial_label.setText(f"Sweep {self.sweeps.sweep_id}: {spec.n_trials} trial(s), {spec.resolved_sampler} search; "
                                 f"{rule.describe()} …")
        return True

    def stop(self) -> None:
        self.sweeps.stop()
        self.stop_button.setEnabled(False)
        self.bar.setFormat(self.bar.format() + " — stopping …")

    def _running_changed(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.add_button, self.trials, self.sampler, self.holdout, self.patience, self.monitor, self.prune,
                       *self.rows):
            widget.setEnabled(not running)

    def _on_event(self, event: object) -> None:
        progress = self.progress
        if progress is None:
            return
        before = len(progress.ended)
        progress.apply(event)  # type: ignore[arg-type]
        self.trial_label.setText(progress.trial_text())
        self.bar.setValue(int(progress.fraction * 1000))
        self.bar.setFormat(progress.step_text())
        if len(progress.ended) > before:
            self._add_trial_row(trial_row(progress.ended[-1]))
            self.best_label.setText(progress.best_text())

    def _add_trial_row(self, row: dict) -> None:
        at = self.table.rowCount()
        self.table.insertRow(at)
        for col, key in enumerate(TRIAL_COLUMNS):
            value = row.get(key)
            text = "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
            item = QTableWidgetItem(text)
            if key == "state" and row.get("error"):
                item.setToolTip(str(row["error"]))
            self.table.setItem(at, col, item)

    def _on_finished(self, result: SweepResult) -> None:
        best = result.best
        done = f"Sweep {result.sweep_id} {'stopped' if result.stopped else 'finished'}: {len(result.trials)} trial(s) recorded"
        if best is not None:
            done += f"; best trial {best.number} ({result.monitor} {best.value:.4f}, run {best.run_id})"
        self.trial_label.setText(done + ". The Runs page lists them (filter by this sweep).")
        self.bar.setFormat("Stopped" if result.stopped else "Done")
        if not result.stopped:
            self.bar.setValue(1000)
        if result.store_errors:
            self.error.setText(" ".join(result.store_errors))

    def _on_failed(self, exc: BaseException) -> None:
        title, message = describe_error(exc)
        self.error.setText(f"{title}: {message}")
        self.trial_label.setText("The sweep did not run." if self.progress is None or not self.progress.ended
                                 else "The sweep ended with an error; the finished trials are recorded.")
