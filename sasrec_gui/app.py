"""The main window: sidebar pages, menus, status bar, drag and drop, settings, clean shutdown.

The window owns the shared services (``AppState``, the data ``Controller``, the ``RunHistory``
and the ``TrainingController``), hands them to the pages and routes the pages' signals to
each other: pages never reach into another page's widgets.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.experiment import Experiment, Holdout
from core.load import LoadOptions
from core.train import FitResult, TrainedModel, fit

from . import APP_NAME, PAGE_TITLES, PAGES, __version__
from .logic.reports import REPORT_FILTER, ReportWritten, report_file_name, with_html_suffix
from .logic.threads import freeze_long_lived, setup_worker_thread, use_interface_threads
from .pages.attention_page import AttentionPage
from .pages.compare_page import ComparePage
from .pages.data_page import DataPage
from .pages.embedding_page import EmbeddingPage
from .pages.recommend_page import RecommendPage
from .pages.runs_page import RunsPage
from .pages.similar_page import SimilarPage
from .pages.train_page import TrainPage
from .services.continue_controller import ContinueController
from .services.controller import Controller
from .services.report_writer import ReportWriter
from .services.run_history import RunHistory
from .services.settings import Settings
from .services.state import AppState
from .services.sweep_controller import SweepController
from .services.training_controller import TrainingController
from .services.training_session import TrainingSession
from .services.view_modes import ViewModes
from .services.workers import TaskRunner, set_thread_setup, wait_for_workers, worker_warnings
from .widgets.chart_export import install_png_export
from .widgets.common import ElidedLabel
from .widgets.continue_dialog import ContinueDialog
from .widgets.dialogs import show_error
from .widgets.load_dialog import LoadDialog
from .widgets.sweep_dialog import SweepDialog

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
#: Files that belong to a KION or MovieLens folder: dropping one opens its folder.
DATASET_FILES = ("interactions.csv", "items_en.csv", "users_en.csv", "items.csv", "users.csv", "ratings.csv",
                 "movies.csv", "u.data", "u.item", "ratings.dat", "movies.dat")
CHECKPOINT_FILTER = "SASRec Studio checkpoints (*.pt *.pth *.ckpt);;All files (*)"
#: The widest the status bar's data and model fields get (longer text ends in "…", whole in the tooltip).
STATUS_FIELD_MAX_PX = 380
#: Background-job warnings listed in the status bar's warning tooltip (the latest ones).
WARNINGS_SHOWN = 10


class MainWindow(QMainWindow):
    """SASRec Studio's window. ``interactive=False`` prints errors instead of showing dialogs."""

    closed = Signal()

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        interactive: bool = True,
        fit_fn: Callable[..., FitResult] = fit,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.interactive = interactive
        self.last_error = ""
        self._shut_down = False

        # one torch thread here (single forward passes: milliseconds, not half a second of two
        # threads fighting for the cores); background jobs set their own (logic.threads)
        use_interface_threads()
        set_thread_setup(setup_worker_thread)
        self.state = AppState(self)
        self.runner = TaskRunner(self)
        self.load_dialog: LoadDialog | None = None  # the open "Open data with options" dialog
        self.controller = Controller(self.state, self.runner, self)
        self.run_history = RunHistory(self)
        self.training = TrainingController(self.state, self.run_history, TrainingSession(self, fit_fn), self)
        self.continuation = ContinueController(self.state, self.training, self.controller, self.run_history, self)
        self.sweeps = SweepController(self.run_history, self)
        self.continue_dialog: ContinueDialog | None = None
        self.sweep_dialog: SweepDialog | None = None
        self.data_page = DataPage(self.state, self.controller)
        self.train_page = TrainPage(self.state, self.training)
        self.recommend_page = RecommendPage(self.state, self.runner)
        self.similar_page = SimilarPage(self.state)
        self.compare_page = ComparePage(self.state, self.runner)
        self.attention_page = AttentionPage(self.state)
        self.embedding_page = EmbeddingPage(self.state, self.runner)
        self.runs_page = RunsPage(self.state, self.controller, self.run_history)
        self.report_writer = ReportWriter(self.run_history.store, self)  # File → Save report…, the Runs page's button
        self.pages: dict[str, QWidget] = {
            "data": self.data_page,
            "training": self.train_page,
            "recommendations": self.recommend_page,
            "similar": self.similar_page,
            "runs": self.runs_page,
            "compare": self.compare_page,
            "attention": self.attention_page,
            "embedding": self.embedding_page,
        }
        self._build_central()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self._register_style_roots()
        self.resize(QSize(1360, 860))
        self._restore_settings()
        install_png_export(self)  # "Save chart as PNG…" on every chart, also on charts made later
        self.stack.currentChanged.connect(lambda _i: install_png_export(self.stack.currentWidget()))  # charts made since
        freeze_long_lived()  # start-up objects out of the garbage collector's way (logic.threads)
        if interactive:  # a screenshot run never trains: skip the start-up import work
            self.controller.warm_up()

    # -- construction -----------------------------------------------------------------------
    def _register_style_roots(self) -> None:
        """The widgets that carry the theme's style sheet (``ViewModes.add_root``): the sidebar,
        the banner, the menus, the status bar and each page, so that a theme or presentation
        toggle restyles the page on screen at once and the other pages after it."""
        for root in (self.sidebar.parentWidget(), self.data_banner, self.menuBar(), self.recent_menu,
                     self.statusBar(), *self.pages.values()):
            self.view_modes.add_root(root)

    def _build_central(self) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(190)
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        for name in PAGES:
            item = QListWidgetItem(PAGE_TITLES[name])
            item.setToolTip(f"Show the {PAGE_TITLES[name].lower()} page")
            self.sidebar.addItem(item)
            self.stack.addWidget(self.pages[name])
        title = QLabel(APP_NAME)
        title.setObjectName("appTitle")
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(0)
        side_layout.addWidget(title)
        side_layout.addWidget(self.sidebar, 1)
        side.setFixedWidth(190)
        # Shown while the open data does not look like the model's own (AppState.data_warning).
        self.data_banner = QLabel()
        self.data_banner.setObjectName("dataBanner")
        self.data_banner.setWordWrap(True)
        self.data_banner.hide()
        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(0)
        main_layout.addWidget(self.data_banner)
        main_layout.addWidget(self.stack, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(side)
        layout.addWidget(main, 1)
        self.setCentralWidget(central)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)

    def _action(self, text: str, slot: Callable[[], object], shortcut: str | QKeySequence.StandardKey | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_folder_action = self._action("&Open data folder…", self.choose_folder, QKeySequence.StandardKey.Open,
                                               "Open a KION or MovieLens folder")
        self.open_file_action = self._action("Open data &file or archive…", self.choose_file, "Ctrl+Alt+O",
                                             "Open a zip archive (such as KION's data_en.zip) or one interactions file")
        self.open_with_options_action = self._action("Open data &with options…", self.choose_with_options, None,
                                                     "Choose the format, the date format or the columns of a file")
        self.open_demo_action = self._action("Open &demo data", self.open_demo, None, "Open the embedded demo dataset")
        self.recent_menu = QMenu("Open &recent", self)
        self.open_checkpoint_action = self._action("Open &checkpoint…", self.choose_checkpoint, "Ctrl+Shift+O",
                                                   "Open a saved model")
        self.save_checkpoint_action = self._action("&Save checkpoint…", self.choose_save_checkpoint, QKeySequence.StandardKey.Save,
                                                   "Save the current model")
        self.export_action = self._action("&Export recommendations as CSV…", self.choose_export, "Ctrl+E",
                                          "Write the shown recommendations to a CSV file")
        self.report_action = self._action("Save &report…", self.choose_report, "Ctrl+R",
                                          "Write one HTML file to send about the runs selected on the Runs page (or the latest run)")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        for item in (self.open_folder_action, self.open_file_action, self.open_with_options_action, self.open_demo_action):
            file_menu.addAction(item)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.open_checkpoint_action)
        file_menu.addAction(self.save_checkpoint_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.report_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.save_checkpoint_action.setEnabled(False)
        self.export_action.setEnabled(False)

        view_menu = bar.addMenu("&View")
        for i, name in enumerate(PAGES, start=1):
            view_menu.addAction(self._action(PAGE_TITLES[name], lambda n=name: self.show_page(n), f"Ctrl+{i}"))
        view_menu.addSeparator()
        self.view_modes = ViewModes(self, self.settings)  # dark theme, presentation mode, full screen
        view_menu.addActions(self.view_modes.actions())

        train_menu = bar.addMenu("&Training")
        self.train_action = self._action("&Train", self.start_training, "F5", "Train with the current settings")
        self.stop_action = self._action("&Stop", self.training.stop, "Shift+F5", "Stop after the current batch")
        self.continue_action = self._action("&Continue training…", self.continue_current_model, None,
                                            "Train the current model for more epochs (its curves go on)")
        self.sweep_action = self._action("S&weep…", self.open_sweep_dialog, None,
                                         "Train many settings one after another and compare them on the Runs page")
        train_menu.addAction(self.train_action)
        train_menu.addAction(self.stop_action)
        train_menu.addSeparator()
        train_menu.addAction(self.continue_action)
        train_menu.addAction(self.sweep_action)
        self.stop_action.setEnabled(False)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action(f"&About {APP_NAME}", self.show_about))
        self._rebuild_recent_menu()

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        policy = self.busy.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # showing it must not resize the window (a full redraw of every plot)
        self.busy.setSizePolicy(policy)
        self.busy.hide()
        self.data_status = ElidedLabel("No data")  # may shrink ("…", tooltip): never widens the window
        self.model_status = ElidedLabel("No model")
        for label in (self.data_status, self.model_status):  # room for the status messages
            label.setMaximumWidth(STATUS_FIELD_MAX_PX)
        self.warning_status = QLabel()  # "⚠ N warnings"; its tooltip lists them (show_warning)
        self.warning_status.setObjectName("warningStatus")
        self.warning_status.hide()
        self.warning_log: list[str] = []
        status.addPermanentWidget(self.warning_status)
        status.addPermanentWidget(self.busy)
        status.addPermanentWidget(self.data_status)
        status.addPermanentWidget(self.model_status)
        status.showMessage("Open a data folder, drop one on the window, or try the demo data.")

    def _connect(self) -> None:
        c = self.controller
        c.message.connect(self.set_status)
        c.error.connect(self.show_error)
        c.options_needed.connect(self.ask_load_options)
        c.checkpoint_opened.connect(self._checkpoint_opened)
        self.runner.busy_changed.connect(lambda _busy: self._update_busy())
        worker_warnings().raised.connect(self.show_warning)  # warnings from any background job
        self.data_page.open_folder_requested.connect(self.choose_folder)
        self.data_page.open_demo_requested.connect(self.open_demo)
        t = self.training
        t.error.connect(self.show_error)
        t.message.connect(self.set_status)
        t.running_changed.connect(self._training_running)
        t.hyperparameters_used.connect(self.settings.set_hyperparameters)
        t.record_failed.connect(self._run_history_unavailable)
        self.runs_page.message.connect(self.set_status)
        self.runs_page.page_requested.connect(self.show_page)
        self.runs_page.settings_chosen.connect(self.use_run_settings)
        self.runs_page.continue_requested.connect(self.continue_run)
        self.continuation.message.connect(self.set_status)
        self.continuation.error.connect(self.show_error)
        self.continuation.started.connect(lambda _plan: self.show_page("training"))
        self.sweeps.warning.connect(lambda text: self.show_warning("sweep", text))
        self.training.busy_elsewhere = lambda: "A sweep is running: stop it or wait for it to train." if self.sweeps.running else ""
        self.sweeps.running_changed.connect(lambda _running: self.train_page.update_enabled())
        self.recommend_page.user_shown.connect(self.compare_page.follow_user)  # they follow its user
        self.recommend_page.user_shown.connect(self.attention_page.follow_user)
        self.recommend_page.session_shown.connect(self.attention_page.follow_session)  # and its what-if session
        self.runs_page.report_requested.connect(self.choose_report)
        r = self.report_writer
        r.progress.connect(lambda text: self.set_status(f"Writing the report: {text} …"))
        r.written.connect(self._report_written)
        r.failed.connect(lambda exc, path: self.show_error(exc, f"Could not write the report '{path}'."))
        r.failed.connect(lambda _exc, path: self.set_status(f"The report '{path}' was not written."))
        r.busy_changed.connect(lambda _busy: self._update_busy())
        t.ended.connect(self._run_ended)
        self.recommend_page.item_activated.connect(self.show_similar)
        self.compare_page.item_activated.connect(self.show_similar)
        self.embedding_page.item_activated.connect(self.show_similar)
        self.recommend_page.recommendations_changed.connect(
            lambda: self.export_action.setEnabled(self.recommend_page.recommendations() is not None)
        )
        self.state.data_changed.connect(self._data_changed)
        self.state.filter_changed.connect(self._data_changed)
        self.state.model_changed.connect(self._model_changed)

    # -- pages ------------------------------------------------------------------------------
    def show_page(self, name: str) -> None:
        self.sidebar.setCurrentRow(PAGES.index(name))

    def current_page(self) -> str:
        return PAGES[self.stack.currentIndex()]

    def show_similar(self, item_id: int | str) -> None:
        """Open the similar-items page on ``item_id`` (double-click in any item list)."""
        self.show_page("similar")
        self.similar_page.show_item(item_id)

    def start_training(self) -> bool:
        """Train (menu, F5); says in the status bar why not when it cannot."""
        self.show_page("training")
        started = self.train_page.start_training()
        if not started and not self.training.running:
            self.set_status(self.train_page.blocking_reason() or "Training cannot start now.")
        return started

    def use_run_settings(self, config: dict, filter_config: dict, holdout: Holdout | None) -> None:
        """A run's settings into the training form, the validation form and the filters
        (the Runs page's "Use these settings"; ``filter_config`` {} leaves the filters)."""
        self.train_page.use_settings(config, holdout)
        if filter_config:
            self.data_page.filters.set_values(filter_config)

    # -- continuing and sweeping ------------------------------------------------------------
    def continue_run(self, checkpoint: str, run_id: int) -> ContinueDialog:
        """Ask how many more epochs (and which learning rate) to train run ``run_id``'s model."""
        from .logic.continue_training import describe_checkpoint

        view = self.runs_page.snapshot.runs.get(run_id) if self.runs_page.snapshot else None
        record = view.record if view is not None else None
        lr = float(record.config.get("lr", 0.001)) if record is not None else 0.001
        epochs = len(record.history.get("epoch_losses") or []) if record is not None else 0
        text = describe_checkpoint(epochs, record.kept_epoch if record is not None else epochs, lr, run_id)
        return self._ask_continue(checkpoint, f"Continue run {run_id}", text, lr)

    def continue_current_model(self) -> ContinueDialog | None:
        """Continue the current model (Training menu): it must have been saved or opened from a file."""
        from .logic.continue_training import describe_checkpoint

        model, path = self.state.model, self.continuation.current_checkpoint()
        if model is None:
            self.set_status("Train a model or open a checkpoint first: then it can be continued.")
            return None
        if not path:
            self.set_status("The current model has no saved checkpoint yet (a trained run's is saved once it is recorded; "
                            "or save it with File → Save checkpoint… and open that).")
            return None
        text = describe_checkpoint(model.epochs_done, model.kept_epoch, model.config.lr)
        return self._ask_continue(path, f"Continue {Path(path).name}", text, model.config.lr)

    def _ask_continue(self, checkpoint: str, title: str, text: str, lr: float) -> ContinueDialog:
        if self.continue_dialog is not None:
            self.continue_dialog.close()
        dialog = ContinueDialog(title, text, lr, parent=self)
        dialog.chosen.connect(lambda epochs, new_lr: self.continuation.start(checkpoint, epochs, new_lr))
        dialog.finished.connect(dialog.deleteLater)
        dialog.destroyed.connect(lambda _obj=None: setattr(self, "continue_dialog", None))
        self.continue_dialog = dialog
        dialog.open()
        return dialog

    def open_sweep_dialog(self) -> SweepDialog:
        """Show the sweep dialog (one, kept while the window lives: it follows a running sweep)."""
        if self.sweep_dialog is None:
            config = self.train_page.form.config()
            self.sweep_dialog = SweepDialog(
                self.sweeps, self._sweep_base, self.train_page.validation.holdout(),
                f"Now: {config.epochs} epoch(s) per trial, batch {config.batch_size}, on the filtered data.", self,
            )
        self.sweep_dialog.show()
        self.sweep_dialog.raise_()
        return self.sweep_dialog

    def _sweep_base(self, holdout: Holdout) -> tuple[Experiment, object] | str:
        """The experiment every trial starts from (the Training page's settings, the filtered
        data, ``holdout``) and the filtered interactions, or why a sweep cannot start."""
        if self.training.running:
            return "A model is training: wait for it to end, or stop it, before sweeping."
        reason = self.training.blocking_reason(self.train_page.form.errors())
        filtered, loaded = self.state.filtered, self.state.loaded
        if reason or filtered is None or loaded is None:
            return reason or "Open data first."
        config = self.train_page.form.config()
        exp = Experiment(config, filtered.config, holdout, loaded.folder, loaded.data.format, items=loaded.data.items)
        return exp, filtered.result.interactions

    def _training_running(self, running: bool) -> None:
        self.stop_action.setEnabled(running)
        self.train_action.setEnabled(not running)
        self._update_busy()

    # -- status -----------------------------------------------------------------------------
    def set_status(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def show_warning(self, job: str, text: str) -> None:
        """A background job warned (e.g. the CUDA-graph fallback): say so in the status bar and
        keep it in the warning label's tooltip."""
        self.warning_log.append(f"{job}: {text}")
        self.set_status(f"⚠ {text}")
        count = len(self.warning_log)
        self.warning_status.setText(f"⚠ {count} warning{'s' if count > 1 else ''}")
        self.warning_status.setToolTip("\n".join(self.warning_log[-WARNINGS_SHOWN:]))
        self.warning_status.show()

    def _update_busy(self) -> None:
        self.busy.setVisible(self.runner.is_busy() or self.training.running or self.report_writer.busy)

    def _data_changed(self) -> None:
        loaded, filtered = self.state.loaded, self.state.filtered
        if loaded is None:
            self.data_status.setText("No data")
            return
        text = f"{loaded.label}: {loaded.summary.n_interactions:,} interactions"
        if filtered is not None:
            text += f" ({filtered.summary.n_interactions:,} after filters)"
        self.data_status.setText(text)

    def _model_changed(self) -> None:
        model = self.state.model
        self.save_checkpoint_action.setEnabled(model is not None)
        warning = self.state.data_warning if model is not None else ""
        self.data_banner.setText(f"⚠ {warning}" if warning else "")
        self.data_banner.setVisible(bool(warning))
        if model is None:
            self.model_status.setText("No model")
        else:
            self.model_status.setText(f"Model: {self.state.model_origin}, {model.epochs_done} epoch(s), {model.item_map.n_items:,} items")

    def show_error(self, exc: BaseException, action: str = "") -> None:
        """Show an error dialog; the application stays usable."""
        self.last_error = show_error(self, exc, action, interactive=self.interactive)

    def _run_history_unavailable(self, text: str) -> None:
        """A run could not be written to the run history (it is kept): a warning dialog, or
        stderr without dialogs and while closing."""
        if self.interactive and not self._shut_down:
            QMessageBox.warning(self, "Run history unavailable", text)
        else:
            print(f"Run history unavailable: {text}", file=sys.stderr)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>Train and explore a self-attentive sequential "
            "recommender (SASRec) on KION-style interaction data.",
        )

    # -- data -------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a KION or MovieLens folder", self.settings.last_dir("data"))
        if folder:
            self.open_folder(folder)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a data file or archive", self.settings.last_dir("data"),
            "Data (*.zip *.csv *.tsv *.txt *.dat *.gz);;All files (*)",
        )
        if path:
            self.open_folder(path)

    def choose_with_options(self) -> None:
        """Pick a file (or cancel for the current data's source), then the load dialog."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose the file to read", self.settings.last_dir("data"),
            "Data (*.zip *.csv *.tsv *.txt *.dat *.gz);;All files (*)",
        )
        if not path and self.state.loaded is not None:
            path = self.state.loaded.folder
        if path:
            self.ask_load_options(path)

    def ask_load_options(self, path: str, problem: str = "", options: LoadOptions | None = None) -> LoadDialog:
        """Show the load dialog for ``path`` (window-modal, not blocking); OK loads with its options."""
        if self.load_dialog is not None:
            self.load_dialog.close()
        dialog = LoadDialog(path, problem, options, self)
        self.view_modes.add_root(dialog)
        dialog.chosen.connect(lambda p, o: self.open_folder(p, o))
        dialog.finished.connect(dialog.deleteLater)
        self.load_dialog = dialog
        dialog.open()
        return dialog

    def open_folder(self, folder: str | os.PathLike, options: LoadOptions | None = None) -> None:
        """Load a folder, zip archive or file in the background; on success it joins the recent folders."""
        folder = str(folder)
        self.settings.set_last_dir("data", str(Path(folder).parent))
        self.controller.open_folder(folder, options=options)

    def open_demo(self) -> None:
        self.controller.open_demo()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_folders()
        for folder in recent:
            self.recent_menu.addAction(self._action(folder, lambda f=folder: self.open_folder(f)))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(self._action("Clear list", self._clear_recent))
        else:
            empty = QAction("No recent folders", self)
            empty.setEnabled(False)
            self.recent_menu.addAction(empty)

    def _clear_recent(self) -> None:
        self.settings.clear_recent_folders()
        self._rebuild_recent_menu()

    def _remember_loaded_folder(self) -> None:
        loaded = self.state.loaded
        if loaded is not None and loaded.label != "Demo data":
            self.settings.add_recent_folder(loaded.folder)
            self._rebuild_recent_menu()

    # -- checkpoints and export -------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", self.settings.last_dir("checkpoint"), CHECKPOINT_FILTER)
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | os.PathLike) -> None:
        self.settings.set_last_dir("checkpoint", str(Path(path).parent))
        self.controller.open_checkpoint(path)

    def _checkpoint_opened(self, model: TrainedModel, extra: dict, path: str) -> None:
        self.train_page.show_checkpoint(model)
        self.compare_page.set_model_holdout(model, Holdout.from_dict(extra.get("holdout")))

    def _run_ended(self, end: object) -> None:
        """A run ended: the beyond-accuracy box learns the hold-out its model was trained with."""
        outcome = getattr(end, "outcome", None)
        if outcome is not None and outcome.result.model is not None:
            self.compare_page.set_model_holdout(outcome.result.model, outcome.holdout)

    # -- reports ----------------------------------------------------------------------------
    def choose_report(self, run_ids: list[int] | None = None) -> bool:
        """Ask for a file name and write the HTML report of ``run_ids`` (default: the runs
        selected on the Runs page, else the latest run) in the background."""
        ids = list(run_ids) if run_ids else self.runs_page.selected_ids()
        if self.report_writer.busy:
            self.set_status("A report is being written: wait for it to finish.")
            return False
        start = os.path.join(self.settings.last_dir("report"), report_file_name(ids))
        path, _ = QFileDialog.getSaveFileName(self, "Save report", start, REPORT_FILTER)
        if not path:
            return False
        return self.save_report(ids, with_html_suffix(path))

    def save_report(self, run_ids: list[int], path: str | os.PathLike) -> bool:
        """Write the report of ``run_ids`` (none: the latest run) to ``path`` in a worker; errors
        arrive in the error dialog. False when a report is being written already."""
        path = str(path)
        if not self.report_writer.start(run_ids, path):
            self.set_status("A report is being written: wait for it to finish.")
            return False
        self.settings.set_last_dir("report", str(Path(path).parent))
        self.set_status(f"Writing the report to {path} …")
        return True

    def _report_written(self, written: ReportWritten) -> None:
        self.set_status(written.message())

    def choose_save_checkpoint(self) -> None:
        if self.state.model is None:
            self.set_status("There is no model to save yet: train one first.")
            return
        start = os.path.join(self.settings.last_dir("checkpoint"), "sasrec.pt")
        path, _ = QFileDialog.getSaveFileName(self, "Save the model", start, CHECKPOINT_FILTER)
        if path:
            if not path.lower().endswith(CHECKPOINT_SUFFIXES):
                path += ".pt"
            self.save_checkpoint(path)

    def save_checkpoint(self, path: str | os.PathLike) -> bool:
        self.settings.set_last_dir("checkpoint", str(Path(path).parent))
        return self.controller.save_checkpoint(path)

    def choose_export(self) -> None:
        if self.recommend_page.recommendations() is None:
            self.set_status("Show a user's recommendations first.")
            return
        page = self.recommend_page
        name = "recommendations_what_if.csv" if page.what_if_mode else f"recommendations_user_{page.current_user}.csv"
        start = os.path.join(self.settings.last_dir("export"), name)
        path, _ = QFileDialog.getSaveFileName(self, "Export recommendations", start, "CSV files (*.csv);;All files (*)")
        if path:
            self.export_recommendations(path)

    def export_recommendations(self, path: str | os.PathLike) -> bool:
        """Write the shown recommendations (with titles) to ``path``; False when none are shown."""
        frame = self.recommend_page.recommendations()
        if frame is None:
            return False
        try:
            frame.to_csv(path, index=False)
        except OSError as exc:
            self.show_error(exc, f"Could not write '{path}'.")
            return False
        self.settings.set_last_dir("export", str(Path(path).parent))
        self.set_status(f"Exported {len(frame)} recommendations to {path}")
        return True

    # -- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if not urls or not urls[0].isLocalFile():
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_dropped(urls[0].toLocalFile())

    def open_dropped(self, path: str) -> None:
        """A dropped checkpoint opens as a model; one file of a KION or MovieLens folder opens
        the whole folder (titles included); a folder, a zip archive or any other file as data."""
        p = Path(path)
        if p.is_file() and p.suffix.lower() in CHECKPOINT_SUFFIXES:
            self.open_checkpoint(p)
        elif p.is_file() and p.name.lower().removesuffix(".gz") in DATASET_FILES:
            self.open_folder(p.parent)
        else:
            self.open_folder(p)

    # -- settings and shutdown --------------------------------------------------------------
    def _restore_settings(self) -> None:
        extra = self.settings.restore_window(self)
        hyper = self.settings.hyperparameters()
        if hyper:
            self.train_page.form.set_config(hyper)
        filters = self.settings.filters()
        if filters:
            self.data_page.filters.set_values(filters)
        page = extra.get("page")
        if page in PAGES:
            self.show_page(page)
        for key, splitter in self._splitters().items():
            sizes = extra.get(f"splitter/{key}")
            if isinstance(sizes, list) and all(isinstance(s, int) for s in sizes):
                splitter.setSizes(sizes)
        self.state.data_changed.connect(self._remember_loaded_folder)

    def _splitters(self) -> dict:
        return {
            "data": self.data_page.splitter,
            "training": self.train_page.splitter,
            "recommendations": self.recommend_page.splitter,
            "similar": self.similar_page.splitter,
            "runs": self.runs_page.splitter,
        }

    def save_settings(self) -> None:
        extra = {"page": self.current_page()}
        extra.update({f"splitter/{k}": s.sizes() for k, s in self._splitters().items()})
        self.settings.save_window(self, extra)
        self.settings.set_hyperparameters(self.train_page.form.values())
        self.settings.set_filters(self.data_page.filters.values())
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop training and wait for every worker thread (safe to call twice)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.sweeps.shutdown()
        self.continuation.wait()
        self.train_page.shutdown()
        self.report_writer.wait()
        self.runner.wait_all()
        wait_for_workers()  # the charts' own draws too: no thread may outlive the window

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.shutdown()
        event.accept()
        self.closed.emit()
