"""Loads data, applies filters and opens/saves checkpoints off the UI thread, then updates AppState."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Signal

from core.checkpoint import load_checkpoint, save_checkpoint
from core.dataset import InteractionData
from core.errors import DateFormatError, UnrecognisedDataError
from core.load import LoadOptions
from core.filters import FilterConfig, apply_filters
from core.model_data import check_data_match, filter_for_model, model_filter_config
from core.sequences import UserHistories
from core.train import TrainedModel

from .. import __version__
from ..logic.compact import compact_data
from ..logic.data_files import mapped_file
from ..logic.summary import DataSummary
from ..logic.threads import freeze_long_lived
from ..logic.training_job import warm_up_torch
from .state import AppState, Filtered, LoadedData
from .workers import TaskRunner

DEMO_FOLDER = "demo-v1"


def default_demo_dir() -> Path:
    """Where the embedded demo data is written once: <AppLocalDataLocation>/demo-v1."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".sasrec-studio") / DEMO_FOLDER


def ensure_demo(folder: Path, **sizes: int) -> Path:
    """Write the demo CSVs into ``folder`` unless they are already there (worker thread)."""
    from core.demo import INTERACTIONS_FILE, write_demo

    if not (folder / INTERACTIONS_FILE).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_demo(folder, **sizes)
    return folder


def load_data(folder: str | os.PathLike, label: str = "", options: LoadOptions | None = None) -> LoadedData:
    """Load a folder, zip archive or file (``core.load.load_data``) and summarise it (worker thread)."""
    from core.load import load_data as load

    data = compact_data(load(folder, options))  # the users table as categories: ~190 MB less at KION size
    return LoadedData(data, DataSummary.of(data.interactions), str(folder), label or Path(folder).name)


def filter_data(data: InteractionData, config: FilterConfig) -> Filtered:
    """Apply ``config`` and summarise the result (worker thread). The result keeps user, item,
    datetime and weight only: what training, histories and fingerprints use (total_dur and
    watched_pct have done their work; at KION size that is ~80 MB less)."""
    result = apply_filters(data.interactions, config, columns=())
    return Filtered(config, result, DataSummary.of(result.interactions))


@dataclass
class ModelHistories:
    """A model's user histories from the open data, and the warning when the data does not
    look like the model's own (``core.model_data.DataMatch.warning``; "" when it does)."""

    histories: UserHistories
    warning: str = ""


def model_histories(model: TrainedModel, data: InteractionData, filtered: Filtered | None = None) -> ModelHistories:
    """User histories from ``data`` filtered with the model's own filter settings, checked
    against the model's catalog and data fingerprint (worker thread). ``filtered``: ``data``
    already filtered (the Data page's result); used as it is when its settings are the model's,
    which spares a second filtered copy of the data (~140 MB and a second at KION size)."""
    if filtered is not None and filtered.config == model_filter_config(model):
        rows = filtered.result.interactions
    else:
        rows = filter_for_model(model, data.interactions).interactions
    return ModelHistories(UserHistories.from_interactions(rows), check_data_match(model, rows).warning())


class Controller(QObject):
    """Runs the slow steps in background threads, one per kind, and reports back by signals.

    * ``loading(bool)``: a folder load started/ended.
    * ``message(str)``: a status-bar line.
    * ``error(exception, action)``: something failed; the window shows a dialog.
    * ``checkpoint_opened(model, extra, path)`` / ``checkpoint_saved(path)``.
    """

    loading = Signal(bool)
    message = Signal(str)
    error = Signal(object, str)
    #: (path, problem, options tried): the data needs the user to say how to read it
    options_needed = Signal(str, str, object)
    checkpoint_opened = Signal(object, object, str)
    checkpoint_saved = Signal(str)

    def __init__(self, state: AppState, runner: TaskRunner | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner or TaskRunner(self)
        self.demo_dir: Path | None = None  # None: default_demo_dir()
        self.demo_sizes: dict[str, int] = {}
        self._load_token = 0  # each load's number; a cancelled one's result is dropped
        self._cancelled_token = -1
        state.data_changed.connect(self._refresh_model_histories)

    def warm_up(self) -> None:
        """Load torch's lazily imported parts in the background (see ``warm_up_torch``)."""
        # then freeze what the imports made: no 150 ms garbage collections over them later
        self.runner.submit("warmup", warm_up_torch, lambda _ok: freeze_long_lived(), lambda _exc: None)

    # -- data -------------------------------------------------------------------------------
    def open_folder(self, folder: str | os.PathLike, label: str = "", options: LoadOptions | None = None) -> None:
        """Load a folder, zip or file; ``options`` say how to read it (None: recognise it)."""
        folder = str(folder)
        self.message.emit(f"Loading {folder} …")
        self.loading.emit(True)
        token = self._next_load()
        self.runner.submit(
            "load", lambda: load_data(folder, label, options), lambda loaded: self._loaded(loaded, token),
            lambda exc: self._load_failed(exc, folder, options, token),
        )

    def _next_load(self) -> int:
        self._load_token += 1
        return self._load_token

    @property
    def loading_now(self) -> bool:
        """Whether a load runs that has not been cancelled."""
        return self._load_token != self._cancelled_token and self.runner.is_busy("load")

    def cancel_load(self) -> bool:
        """Stop waiting for the load under way: the data open before stays open and the load's
        result is dropped (reading a file cannot be interrupted; it ends in the background).
        False when no load runs."""
        if not self.runner.is_busy("load") or self._cancelled_token == self._load_token:
            return False
        self._cancelled_token = self._load_token
        self.runner.cancel_pending("load")
        self.loading.emit(False)
        kept = " The previously loaded data is still open." if self.state.loaded else ""
        self.message.emit(f"Loading cancelled.{kept}")
        return True

    def open_demo(self) -> None:
        """Open the embedded demo dataset (written once into the demo folder)."""
        folder = self.demo_dir or default_demo_dir()
        sizes = dict(self.demo_sizes)
        self.message.emit("Preparing the demo data …")
        self.loading.emit(True)
        token = self._next_load()
        self.runner.submit(
            "load",
            lambda: load_data(ensure_demo(folder, **sizes), "Demo data"),
            lambda loaded: self._loaded(loaded, token),
            lambda exc: self._load_failed(exc, str(folder), None, token),
        )

    def _loaded(self, loaded: LoadedData, token: int | None = None) -> None:
        if token is not None and token == self._cancelled_token:
            return  # cancelled: the data open before stays
        self.loading.emit(False)
        self.state.set_data(loaded)
        s = loaded.summary
        self.message.emit(f"Loaded {loaded.label}: {s.n_interactions:,} interactions, {s.n_users:,} users, {s.n_items:,} items")

    def _load_failed(self, exc: BaseException, folder: str, options: LoadOptions | None = None, token: int | None = None) -> None:
        if token is not None and token == self._cancelled_token:
            return
        self.loading.emit(False)
        kept = " The previously loaded data is still open." if self.state.loaded else ""
        mappable = isinstance(exc, UnrecognisedDataError) and mapped_file(folder) is not None
        if mappable or isinstance(exc, DateFormatError):  # the user can say how to read it
            self.message.emit(f"Say how to read {folder}.{kept}")
            if isinstance(exc, UnrecognisedDataError):  # offer the column mapping first
                options = replace(options or LoadOptions(), fmt="csv", mapping=None)
            self.options_needed.emit(folder, str(exc), options)
            return
        self.message.emit(f"Could not open {folder}.{kept}")
        self.error.emit(exc, f"Could not open '{folder}'.{kept}")

    def apply_filters(self, config: FilterConfig) -> None:
        """Filter the loaded data with ``config`` (the latest request wins)."""
        data = self.state.data
        if data is None:
            return
        self.runner.submit("filter", lambda: filter_data(data, config), self._filtered, lambda exc: self.error.emit(exc, "Filtering failed."))

    def _filtered(self, filtered: Filtered) -> None:
        if self.state.data is None:
            return
        self.state.set_filtered(filtered)

    # -- model ------------------------------------------------------------------------------
    def _refresh_model_histories(self) -> None:
        """New data with a model open: rebuild the model's user histories from it."""
        model, data, filtered = self.state.model, self.state.data, self.state.filtered
        if model is None or data is None:
            return
        self.runner.submit(
            "histories",
            lambda: model_histories(model, data, filtered),
            lambda h: self.state.set_histories(h.histories, h.warning) if self.state.model is model else None,
            lambda exc: self.error.emit(exc, "Could not prepare user histories for the model."),
        )

    def open_checkpoint(self, path: str | os.PathLike) -> None:
        path = str(path)
        data, filtered = self.state.data, self.state.filtered
        self.message.emit(f"Opening checkpoint {path} …")

        def work() -> tuple[TrainedModel, dict, ModelHistories | None]:
            model, extra = load_checkpoint(path)
            return model, extra, (model_histories(model, data, filtered) if data is not None else None)

        self.runner.submit("checkpoint", work, lambda r: self._checkpoint_loaded(path, *r), lambda exc: self._checkpoint_failed(exc, path))

    def _checkpoint_loaded(self, path: str, model: TrainedModel, extra: dict, matched: ModelHistories | None) -> None:
        histories = matched.histories if matched is not None else None
        self.state.set_model(
            model, histories, origin=f"checkpoint {Path(path).name}", source=str(extra.get("source") or ""),
            data_warning=matched.warning if matched is not None else "",
        )
        if histories is None:
            source = extra.get("source") or "the data it was trained on"
            self.message.emit(f"Opened {Path(path).name}. No data is loaded: open {source} for user recommendations; similar items work now.")
        else:
            self.message.emit(f"Opened {Path(path).name}: {model.item_map.n_items:,} items, {len(histories.user_ids):,} users with histories")
        self.checkpoint_opened.emit(model, extra, path)

    def _checkpoint_failed(self, exc: BaseException, path: str) -> None:
        self.message.emit(f"Could not open checkpoint {path}")
        self.error.emit(exc, f"Could not open the checkpoint '{path}'.")

    def save_checkpoint(self, path: str | os.PathLike) -> bool:
        """Save the current model to ``path`` in the background; False when there is no model."""
        model = self.state.model
        if model is None:
            return False
        path = str(path)
        extra: dict[str, Any] = {"app": f"SASRec Studio {__version__}"}
        if self.state.loaded is not None:
            extra.update(source=self.state.loaded.folder, source_format=self.state.loaded.data.format)

        def done(_: object) -> None:
            self.message.emit(f"Saved the model to {path}")
            self.checkpoint_saved.emit(path)

        self.runner.submit("save", lambda: save_checkpoint(model, path, extra), done, lambda exc: self.error.emit(exc, f"Could not save '{path}'."))
        return True
