"""Runs page: every recorded training run in a sortable table; compare runs' curves and settings;
see settings against results (parallel coordinates, a scatter); reuse a run's settings, open or
continue its model, tag it, export the table, delete runs.

Layout and wiring only: the table, comparison and plot are ``widgets.run_compare``, the views
``widgets.run_insights``, the tags and note ``widgets.run_notes``; the run history
(``services.run_history.RunHistory``) belongs to the main window. "Use these settings" and
"Continue training…" are signals the window routes.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..logic.run_records import RunsSnapshot, RunView, export_table
from ..logic.run_views import ALL_RUNS, in_sweep, sweep_ids
from ..services.controller import Controller
from ..services.run_history import RunHistory
from ..services.state import AppState
from ..widgets.common import MessageLine, Placeholder, make_table, page_header
from ..widgets.run_compare import CompareModel, RunsPlot, RunsTableModel
from ..widgets.run_insights import RunInsights
from ..widgets.run_notes import RunNotes


#: Widest a run's column in the comparison gets (longer texts are elided; the tooltip has them).
COMPARE_COLUMN_PX = 170


class RunsPage(QWidget):
    """The run history: sort, compare, reuse a run's settings, open its model, delete runs.

    * ``message(str)``: a status-bar line.
    * ``page_requested(name)``: show another page (the training page after "Use these settings").
    * ``settings_chosen(config, filter_config, holdout)``: "Use these settings" on one run: its
      hyperparameters, filters ({} when not recorded) and hold-out (None: no validation).
    * ``report_requested(run_ids)``: "Save report…" on the selected runs (the window asks for a
      file name and writes it).
    * ``continue_requested(checkpoint, run_id)``: "Continue training…" on one run with a saved
      model (the window asks for the epochs and starts it).
    """

    message = Signal(str)
    page_requested = Signal(str)
    settings_chosen = Signal(dict, dict, object)
    report_requested = Signal(list)
    continue_requested = Signal(str, int)

    def __init__(self, state: AppState, controller: Controller, history: RunHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.controller = controller
        self.history = history
        self.snapshot: RunsSnapshot | None = None
        self._stale = True

        header, self.subtitle = page_header("Runs", "Every training run is recorded here with its settings, curves and model.")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the run history again.")
        self.use_button = QPushButton("Use these settings")
        self.use_button.setObjectName("primary")
        self.use_button.setToolTip("Copy the selected run's hyperparameters, filters and validation into the training form.")
        self.open_button = QPushButton("Open model")
        self.open_button.setToolTip("Load the selected run's saved model for the recommendation pages.")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("danger")
        self.delete_button.setToolTip("Remove the selected runs and their saved models from the history.")
        self.report_button = QPushButton("Save report…")
        self.report_button.setToolTip("Write one HTML file about the selected runs (data, settings, curves, "
                                      "metrics, beyond accuracy, example users) to send; several runs are compared.")
        self.continue_button = QPushButton("Continue training…")
        self.continue_button.setToolTip("Train the selected run's saved model for more epochs (its curves go on; "
                                        "the new run is linked to this one).")
        self.selection_label = QLabel()
        self.selection_label.setObjectName("muted")
        self.selection_label.setWordWrap(True)  # wraps rather than widening the window (presentation mode)
        bar = QHBoxLayout()
        for button in (self.use_button, self.open_button, self.continue_button, self.report_button, self.delete_button):
            bar.addWidget(button)
        bar.addSpacing(12)
        bar.addWidget(self.selection_label)
        bar.addStretch(1)
        bar.addWidget(self.refresh_button)

        self.table_model = RunsTableModel()
        self.table_view = make_table(self.table_model)
        self.table_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table_view.setSortingEnabled(True)
        self.table_view.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table_view.setToolTip("Click a header to sort; Ctrl- or Shift-click to select several runs and compare them.")
        self.sweep_filter = QComboBox()
        self.sweep_filter.setToolTip("Show every run, or only the trials of one sweep (the views show the same runs).")
        self.sweep_filter.addItem("All runs", ALL_RUNS)
        self.export_button = QPushButton("Export table as CSV…")
        self.export_button.setToolTip("Write the shown runs' table as CSV (the table `python -m core runs --csv` prints).")
        filter_row = QHBoxLayout()
        filter_row.setContentsMargins(0, 0, 0, 0)
        filter_row.addWidget(QLabel("Show"))
        filter_row.addWidget(self.sweep_filter)
        filter_row.addStretch(1)
        filter_row.addWidget(self.export_button)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addLayout(filter_row)
        table_layout.addWidget(self.table_view, 1)

        self.compare_model = CompareModel(self)
        self.compare_view = make_table(self.compare_model)
        self.compare_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.compare_view.setAlternatingRowColors(False)
        self.compare_view.horizontalHeader().setStretchLastSection(False)
        self.only_differences = QCheckBox("Only settings that differ")
        self.only_differences.setChecked(True)
        self.only_differences.setToolTip("Hide the settings that are the same in every selected run.")
        compare_box = QGroupBox("Selected runs: outcome and settings (differences highlighted)")
        compare_layout = QVBoxLayout(compare_box)
        compare_layout.addWidget(self.only_differences)
        compare_layout.addWidget(self.compare_view, 1)
        self.notes = RunNotes()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(compare_box, 1)
        left_layout.addWidget(self.notes)
        self.plot = RunsPlot()
        self.insights = RunInsights(self.plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(left)
        bottom.addWidget(self.insights)
        bottom.setStretchFactor(1, 1)
        bottom.setSizes([380, 760])
        self.bottom_splitter = bottom

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(table_box)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 520])
        self.placeholder = Placeholder(self.splitter, "No runs yet: train a model on the Training page and it is recorded here.")
        self.status = MessageLine()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.addWidget(header)
        layout.addLayout(bar)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.status)

        self.refresh_button.clicked.connect(self.refresh)
        self.use_button.clicked.connect(self.use_settings)
        self.open_button.clicked.connect(self.open_model)
        self.delete_button.clicked.connect(self.delete_selected)
        self.report_button.clicked.connect(lambda _checked=False: self.request_report())
        self.continue_button.clicked.connect(lambda _checked=False: self.request_continue())
        self.export_button.clicked.connect(lambda _checked=False: self.choose_export())
        self.sweep_filter.currentIndexChanged.connect(lambda _i: self._show_snapshot())
        self.insights.run_clicked.connect(self._run_clicked)
        self.notes.save_requested.connect(history.annotate)
        history.annotated.connect(self.notes.saved)
        history.annotate_failed.connect(self.notes.failed)
        self.only_differences.toggled.connect(self.compare_model.set_only_differences)
        self.compare_model.modelReset.connect(self._fit_compare_columns)
        self.table_view.selectionModel().selectionChanged.connect(self._selection_changed)
        history.changed.connect(self._history_changed)
        history.loaded.connect(self._loaded)
        history.load_failed.connect(self._load_failed)
        history.delete_failed.connect(lambda text: self._problem(f"Could not delete: {text}"))
        self._selection_changed()

    # -- loading ----------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Read the run history again (in a worker)."""
        self._stale = False
        self.status.show_message("Reading the run history …")
        self.history.load()

    def _history_changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def _loaded(self, snapshot: RunsSnapshot) -> None:
        self.snapshot = snapshot
        self._update_sweep_filter()
        self._show_snapshot()
        self.subtitle.setText(f"Every training run is recorded in {snapshot.db_path}, with its settings, curves and model.")
        n = len(snapshot.runs)
        text = f"{n:,} run(s) in the history." if n else "The run history is empty."
        if snapshot.flushed:
            text += f" {snapshot.flushed} run(s) kept while the history could not be written were added now."
        self.status.show_message(text)

    def _update_sweep_filter(self) -> None:
        """Offer every recorded sweep (newest first); keep the chosen one while it exists."""
        combo, snapshot = self.sweep_filter, self.snapshot
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All runs", ALL_RUNS)
        for sweep in sweep_ids(list(snapshot.runs.values()) if snapshot else []):
            combo.addItem(f"Sweep {sweep}", sweep)
        combo.setCurrentIndex(max(combo.findData(current), 0))
        combo.blockSignals(False)

    def set_sweep_filter(self, sweep_id: str) -> bool:
        """Show only the runs of ``sweep_id`` (``ALL_RUNS``: every run); False when unknown."""
        index = self.sweep_filter.findData(sweep_id)
        if index >= 0:
            self.sweep_filter.setCurrentIndex(index)
        return index >= 0

    def shown_views(self) -> list[RunView]:
        """The runs the table shows (the sweep filter applied), newest first."""
        if self.snapshot is None:
            return []
        return in_sweep(list(self.snapshot.runs.values()), str(self.sweep_filter.currentData() or ALL_RUNS))

    def _show_snapshot(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        selected = self.selected_ids()
        sweep = str(self.sweep_filter.currentData() or ALL_RUNS)
        table = snapshot.table
        if sweep != ALL_RUNS and "sweep" in table.columns:
            table = table[table["sweep"] == sweep]
        header = self.table_view.horizontalHeader()
        section, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.table_model.set_runs(table)
        shown = self.shown_views()
        self.insights.set_runs(shown, [i for i in selected if any(v.run_id == i for v in shown)])
        if len(snapshot.table):
            self.table_view.sortByColumn(section if section >= 0 else 0, order)
            self.table_view.resizeColumnsToContents()
            self.placeholder.show_content()
        else:
            self.placeholder.show_placeholder()
        self.select_runs([i for i in selected if i in snapshot.runs])

    def _load_failed(self, text: str) -> None:
        self._problem(f"The run history cannot be read. {text}")

    def _problem(self, text: str) -> None:
        self.status.show_message(text, error=True)
        self.message.emit(text)

    # -- selection --------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        """Ids of the selected runs, in table order."""
        rows = sorted({i.row() for i in self.table_view.selectionModel().selectedRows()})
        return [self.table_model.run_id(r) for r in rows]

    def selected_runs(self) -> list[RunView]:
        runs = self.snapshot.runs if self.snapshot else {}
        return [runs[i] for i in self.selected_ids() if i in runs]

    def select_runs(self, run_ids: list[int]) -> None:
        """Select exactly the runs ``run_ids`` (those present)."""
        selection = QItemSelection()
        last = self.table_model.columnCount() - 1
        for run_id in run_ids:
            row = self.table_model.row_of(run_id)
            if row >= 0:
                selection.select(self.table_model.index(row, 0), self.table_model.index(row, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table_view.selectionModel().select(selection, flags)
        self._selection_changed()

    def _selection_changed(self, *_args: object) -> None:
        views = self.selected_runs()
        self.compare_model.set_runs(views)
        self.insights.set_selected(views)  # the curves, and the runs highlighted in the views
        one = views[0] if len(views) == 1 else None
        self.notes.show_run(one)
        self.use_button.setEnabled(one is not None)
        self.open_button.setEnabled(one is not None and bool(one.record.checkpoint_path))
        self.continue_button.setEnabled(one is not None and bool(one.record.checkpoint_path))
        self.delete_button.setEnabled(bool(views))
        self.report_button.setEnabled(bool(views))
        if not views:
            self.selection_label.setText("Select runs to compare (Ctrl/Shift-click for several).")
        elif len(views) == 1:
            self.selection_label.setText(f"{views[0].label} selected; select another to compare.")
        else:
            differ = len(self.compare_model.differing_fields())
            self.selection_label.setText(f"{len(views)} runs selected: {differ} setting(s) differ.")

    def _fit_compare_columns(self) -> None:
        self.compare_view.resizeColumnsToContents()
        for column in range(1, self.compare_model.columnCount()):  # a long protocol or sweep id is elided (tooltip)
            self.compare_view.setColumnWidth(column, min(self.compare_view.columnWidth(column), COMPARE_COLUMN_PX))

    # -- actions ----------------------------------------------------------------------------
    def _single(self, action: str) -> RunView | None:
        views = self.selected_runs()
        if len(views) != 1:
            self.message.emit(f"Select one run to {action}.")
            return None
        return views[0]

    def use_settings(self) -> bool:
        """Copy the selected run's hyperparameters, filters and validation into the forms."""
        view = self._single("use its settings")
        if view is None:
            return False
        self.settings_chosen.emit(dict(view.record.config), dict(view.record.filter_config or {}), view.holdout)
        self.message.emit(f"The training form and the filters now hold the settings of {view.label.lower()}.")
        self.page_requested.emit("training")
        return True

    def open_model(self) -> bool:
        """Load the selected run's checkpoint through the controller (like File → Open checkpoint)."""
        view = self._single("open its model")
        if view is None:
            return False
        path = view.record.checkpoint_path
        if not path:
            self._problem(f"The model of {view.label.lower()} was not saved.")
            return False
        if not Path(path).is_file():
            self._problem(f"The model of {view.label.lower()} is gone: '{path}' does not exist any more.")
            return False
        self.status.show_message(f"Opening the model of {view.label.lower()} …")
        self.controller.open_checkpoint(path)
        return True

    def _run_clicked(self, run_id: int, add: bool) -> None:
        """A run clicked in a view: select it in the table (``add``: keep the others too)."""
        ids = self.selected_ids()
        if add:
            ids = [i for i in ids if i != run_id] if run_id in ids else [*ids, run_id]
        else:
            ids = [run_id]
        self.select_runs(ids)
        row = self.table_model.row_of(run_id)
        if row >= 0:
            self.table_view.scrollTo(self.table_model.index(row, 0))

    def request_continue(self) -> bool:
        """Ask the window to continue the selected run's model (``continue_requested``)."""
        view = self._single("continue training it")
        if view is None:
            return False
        path = view.record.checkpoint_path
        if not path or not Path(path).is_file():
            self._problem(f"The model of {view.label.lower()} was not saved or is gone: it cannot be continued.")
            return False
        self.continue_requested.emit(path, view.run_id)
        return True

    def choose_export(self) -> bool:
        """Ask for a file name and write the shown runs' table as CSV."""
        sweep = str(self.sweep_filter.currentData() or "")
        start = f"runs-{sweep}.csv" if sweep else "runs.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export the runs table", start, "CSV files (*.csv);;All files (*)")
        return bool(path) and self.export_csv(path)

    def export_csv(self, path: str | Path) -> bool:
        """Write the shown runs' table to ``path`` as ``python -m core runs [--sweep ID] --csv``
        prints it; False (said on the page) when the file cannot be written."""
        table = export_table(self.shown_views())
        try:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                table.to_csv(handle, index=False, lineterminator="\n")
        except OSError as exc:
            self._problem(f"Could not write '{path}': {exc.strerror or exc}")
            return False
        self.status.show_message(f"Wrote {len(table):,} run(s) to {path}.")
        self.message.emit(f"Exported the runs table to {path}")
        return True

    def request_report(self) -> bool:
        """Ask the window for a report of the selected runs (``report_requested``)."""
        ids = self.selected_ids()
        if not ids:
            self.message.emit("Select the runs to report on first.")
            return False
        self.report_requested.emit(ids)
        return True

    def delete_selected(self) -> bool:
        """Delete the selected runs (and their saved models) after a confirmation."""
        views = self.selected_runs()
        if not views:
            return False
        names = ", ".join(str(v.run_id) for v in views)
        saved = sum(1 for v in views if v.record.checkpoint_path)
        text = f"Delete run{'s' if len(views) > 1 else ''} {names} from the run history?"
        if saved:
            text += " Their saved models are deleted too." if len(views) > 1 else " Its saved model is deleted too."
        answer = QMessageBox.question(
            self, "Delete runs", text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.history.delete([v.run_id for v in views], [v.record.checkpoint_path for v in views if v.record.checkpoint_path])
        self.message.emit(f"Deleted run(s) {names}.")
        return True
