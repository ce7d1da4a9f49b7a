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

from core.experiment import Holdout
from core.load import LoadOptions
from core.train import FitResult, TrainedModel, fit

from . import APP_NAME, PAGE_TITLES, PAGES, __version__
from .pages.attention_page import AttentionPage
from .pages.compare_page import ComparePage
from .pages.data_page import DataPage
from .pages.embedding_page import EmbeddingPage
from .pages.recommend_page import RecommendPage
from .pages.runs_page import RunsPage
from .pages.similar_page import SimilarPage
from .pages.train_page import TrainPage
from .services.controller import Controller
from .services.run_history import RunHistory
from .services.settings import Settings
from .services.state import AppState
from .services.training_controller import TrainingController
from .services.training_session import TrainingSession
from .services.view_modes import ViewModes
from .services.workers import TaskRunner, worker_warnings
from .widgets.chart_export import install_png_export
from .widgets.dialogs import show_error
from .widgets.load_dialog import LoadDialog

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
#: Files that belong to a KION or MovieLens folder: dropping one opens its folder.
DATASET_FILES = ("interactions.csv", "items_en.csv", "users_en.csv", "items.csv", "users.csv", "ratings.csv",
                 "movies.csv", "u.data", "u.item", "ratings.dat", "movies.dat")
CHECKPOINT_FILTER = "SASRec Studio checkpoints (*.pt *.pth *.ckpt);;All files (*)"
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

        self.state = AppState(self)
        self.runner = TaskRunner(self)
        self.load_dialog: LoadDialog | None = None  # the open "Open data with options" dialog
        self.controller = Controller(self.state, self.runner, self)
        self.run_history = RunHistory(self)
        self.training = TrainingController(self.state, self.run_history, TrainingSession(self, fit_fn), self)
        self.data_page = DataPage(self.state, self.controller)
        self.train_page = TrainPage(self.state, self.training)
        self.recommend_page = RecommendPage(self.state, self.runner)
        self.similar_page = SimilarPage(self.state)
        self.compare_page = ComparePage(self.state, self.runner)
        self.attention_page = AttentionPage(self.state)
        self.embedding_page = EmbeddingPage(self.state, self.runner)
        self.runs_page = RunsPage(self.state, self.controller, self.run_history)
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
        self.resize(QSize(1360, 860))
        self._restore_settings()
        install_png_export(self)  # "Save chart as PNG…" on every chart, also on charts made later
        self.stack.currentChanged.connect(lambda _i: install_png_export(self))
        if interactive:  # a screenshot run never trains: skip the start-up import work
            self.controller.warm_up()

    # -- construction -----------------------------------------------------------------------
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
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        for item in (self.open_folder_action, self.open_file_action, self.open_with_options_action, self.open_demo_action):
            file_menu.addAction(item)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.open_checkpoint_action)
        file_menu.addAction(self.save_checkpoint_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
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
        train_menu.addAction(self.train_action)
        train_menu.addAction(self.stop_action)
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
        self.data_status = QLabel("No data")
        self.model_status = QLabel("No model")
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
        self.recommend_page.user_shown.connect(self.compare_page.follow_user)  # they follow its user
        self.recommend_page.user_shown.connect(self.attention_page.follow_user)
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
        self.busy.setVisible(self.runner.is_busy() or self.training.running)

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
        start = os.path.join(self.settings.last_dir("export"), f"recommendations_user_{self.recommend_page.current_user}.csv")
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
        self.train_page.shutdown()
        self.runner.wait_all()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_settings()
        self.shutdown()
        event.accept()
        self.closed.emit()
