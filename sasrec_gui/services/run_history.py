"""The run history as the interface uses it: record runs, read and delete them, off the UI thread.

Storage is core's ``RunStore`` (SQLite at ``default_db_path()``). Each run's model is saved
automatically next to the database, in ``<db folder>/checkpoints/run-<timestamp>.pt``, with
the data source and the hold-out in the checkpoint's ``extra``, so a run's model can be
opened later. A corrupt or locked database never loses a run: core keeps it pending and
writes it with the next successful write (or when the Runs page next reads the history).

Every slow step (fingerprinting the data, saving the checkpoint, SQLite, parsing histories)
runs in a ``TaskRunner`` thread (the work itself is ``logic.run_records``); results come
back as signals of ``RunHistory``. The main window owns the one ``RunHistory`` and hands it
to the training controller and the Runs page.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from core.runs import RunStore

from ..logic.run_records import PendingRun, RecordResult, annotate_run, delete_runs, error_message, load_runs, record_run
from .workers import TaskRunner


class RunHistory(QObject):
    """Records, reads and deletes runs in background threads.

    * ``recorded(RecordResult)``: a run was handled (``run_id`` None: kept pending, see
      ``store_error``).
    * ``changed()``: the stored runs changed (recorded or deleted): views reload.
    * ``loaded(RunsSnapshot)`` / ``load_failed(message)``.
    * ``deleted(run_ids)`` / ``delete_failed(message)``.
    * ``annotated(run_id, tags, note)`` / ``annotate_failed(message)``: tags and note saved.
    """

    recorded = Signal(object)
    changed = Signal()
    loaded = Signal(object)
    load_failed = Signal(str)
    deleted = Signal(list)
    delete_failed = Signal(str)
    annotated = Signal(int, list, str)
    annotate_failed = Signal(str)

    def __init__(self, parent: QObject | None = None, store_factory: Callable[[], RunStore] = RunStore.default) -> None:
        super().__init__(parent)
        self.store_factory = store_factory  # resolved per operation: follows $SASREC_STUDIO_HOME
        self.runner = TaskRunner(self)
        self._records = 0

    def store(self) -> RunStore:
        return self.store_factory()

    def record(self, pending: PendingRun, blocking: bool = False) -> None:
        """Record a run (its own thread: a slow write never delays or drops another run).

        ``blocking``: record it right here (the window is closing and waits for no more threads).
        """
        self._records += 1
        store = self.store()
        if blocking:
            try:
                result = record_run(pending, store)
            except Exception as exc:  # noqa: BLE001 - reported like a failed write
                self._record_crashed(pending, store)(exc)
            else:
                self._recorded(result)
            return
        self.runner.submit(f"record-{self._records}", lambda: record_run(pending, store), self._recorded, self._record_crashed(pending, store))

    def _recorded(self, result: RecordResult) -> None:
        self.recorded.emit(result)
        if result.run_id is not None:
            self.changed.emit()

    def _record_crashed(self, pending: PendingRun, store: RunStore) -> Callable[[BaseException], None]:
        def report(exc: BaseException) -> None:
            message = f"Recording the run failed unexpectedly: {type(exc).__name__}: {exc}"
            self.recorded.emit(RecordResult(pending.record, None, "", message, str(store.path)))

        return report

    def load(self) -> None:
        """Read the history (the latest request wins)."""
        store = self.store()
        self.runner.submit("load", lambda: load_runs(store), self.loaded.emit, lambda exc: self.load_failed.emit(error_message(exc)))

    def delete(self, run_ids: list[int], checkpoints: list[str]) -> None:
        store = self.store()
        ids, paths = list(run_ids), list(checkpoints)

        def done(deleted: list[int]) -> None:
            self.deleted.emit(deleted)
            self.changed.emit()

        self.runner.submit(f"delete-{ids}", lambda: delete_runs(store, ids, paths), done, lambda exc: self.delete_failed.emit(error_message(exc)))

    def annotate(self, run_id: int, tags: list[str], note: str) -> None:
        """Replace a run's tags and note (``RunStore.set_tags`` / ``set_note``) in a worker."""
        store = self.store()

        def done(result: tuple[int, list[str], str]) -> None:
            self.annotated.emit(*result)
            self.changed.emit()

        self.runner.submit(f"annotate-{run_id}", lambda: annotate_run(store, run_id, list(tags), note), done,
                           lambda exc: self.annotate_failed.emit(error_message(exc)))

    def notify_changed(self) -> None:
        """Runs were written by someone else (a sweep's worker): views reload."""
        self.changed.emit()

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    def wait(self, timeout_ms: int = 30_000) -> None:
        self.runner.wait_all(timeout_ms)

