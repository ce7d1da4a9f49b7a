"""Writes the HTML report of runs (``logic.reports.write_app_report``) on a worker thread, with
progress: the window's File → Save report… and the Runs page's button use it."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from core.report import ReportError
from core.runs import RunStore

from ..logic.reports import ReportWritten, write_app_report
from .workers import QUEUED, Task, Worker


class ReportWriter(QObject):
    """One report at a time.

    * ``progress(str)``: the step being worked on ("run 3: evaluating").
    * ``written(ReportWritten)`` / ``failed(exception, path)``.
    * ``busy_changed(bool)``.
    """

    progress = Signal(str)
    written = Signal(object)
    failed = Signal(object, str)
    busy_changed = Signal(bool)

    def __init__(self, store_factory: Callable[[], RunStore] = RunStore.default, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store_factory = store_factory
        self._worker: Worker | None = None
        self._path = ""

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, run_ids: Sequence[int], path: str) -> bool:
        """Write the report of ``run_ids`` (none: the latest run) to ``path``; False while one is written."""
        if self._worker is not None:
            return False
        ids, store = [int(i) for i in run_ids], self.store_factory()

        def job(task: Task) -> ReportWritten:
            def say(text: str) -> None:
                if task.should_stop():
                    raise ReportError("the report was stopped: the window is closing")
                task.report(text)

            return write_app_report(ids, path, store, say)

        self._path = path
        worker = Worker(job, "report")
        worker.progress.connect(self._progress, QUEUED)
        worker.result.connect(self._result, QUEUED)
        worker.error.connect(self._error, QUEUED)
        worker.finished.connect(self._finished, QUEUED)
        self._worker = worker
        worker.start()
        self.busy_changed.emit(True)
        return True

    def wait(self, timeout_ms: int = 30_000) -> None:
        """Stop at the next step and wait for the thread (the window is closing)."""
        worker = self._worker
        if worker is not None:
            worker.request_stop()
            worker.wait(timeout_ms)

    def _progress(self, text: object) -> None:
        self.progress.emit(str(text))

    def _result(self, value: ReportWritten) -> None:
        self.written.emit(value)

    def _error(self, exc: BaseException) -> None:
        self.failed.emit(exc, self._path)

    def _finished(self) -> None:
        if self.sender() is self._worker:
            self._worker = None
            self.busy_changed.emit(False)
