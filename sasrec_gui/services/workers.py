"""The one way to run background work: a ``Worker`` thread runs a job and reports over signals.

A job is a callable that takes a ``Task``: it may ask ``task.should_stop()`` (cooperative
stop), ``task.report(progress)`` and ``task.warn(text)``; whatever it returns arrives as
``Worker.result``, whatever it raises as ``Worker.error``. Nothing here touches a widget.
Modelled on superqt's ``_qthreading`` (a small typed signal set, cooperative stop) and
Orange3's ``TaskState`` (what the job sees of its worker). ``TaskRunner`` runs the short jobs
(loading, filtering, checkpoints, evaluation, explanations) on workers, one running job per
kind with the latest waiting one kept; ``training_session.TrainingSession`` runs training on a worker.

Why a worker object and not qasync's ``asyncSlot`` + ``loop.run_in_executor`` for the short
jobs: both kinds of job then share one mechanism for latest-wins per kind, stop requests,
warnings and shutdown (``wait``), where an executor future can neither be stopped nor be told
apart from a superseded one without the same bookkeeping; and a worker needs only a Qt event
loop, so tests (pytest-qt), the screenshot tool and the qasync app all run jobs the same way.
qasync stays the application's event loop (``sasrec_gui.__main__``).

Warnings: ``warnings.catch_warnings`` swaps module-wide state and is not thread-safe, so one
process-wide ``warnings.showwarning`` hook (``install_warning_hook``, installed when a worker
is made) sends a warning raised on a worker's thread to that worker's ``warning`` signal and
to ``worker_warnings().raised`` (the main window shows them in its status bar), then on to the
previous hook (stderr). Python's warning filters still apply: a repeated warning from the same
place may be shown once, as usual.
"""
from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal

from ..logic.memory import release_free_memory

QUEUED = Qt.ConnectionType.QueuedConnection

_local = threading.local()  # .task: the Task whose job runs on this thread
#: Called on every worker thread before its job (``set_thread_setup``), e.g. torch's thread count.
_thread_setup: list[Callable[[], object]] = []


def set_thread_setup(setup: Callable[[], object] | None) -> None:
    """Run ``setup()`` at the start of every worker thread from now on (None: nothing)."""
    _thread_setup[:] = [setup] if setup is not None else []


class Task:
    """What a job sees of its worker (safe from any thread)."""

    def __init__(self, worker: "Worker") -> None:
        self.name = worker.name
        self._worker = weakref.ref(worker)  # no cycle: a worker is freed as soon as it is dropped
        self._stop = threading.Event()

    def should_stop(self) -> bool:
        """True once a stop was requested; a job checks it between units of work."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()

    def report(self, progress: object) -> None:
        """Send ``progress`` (any object, e.g. a ``StepReport``) to ``Worker.progress``."""
        worker = self._worker()
        if worker is not None:
            worker.progress.emit(progress)

    def warn(self, text: str) -> None:
        """Show ``text`` to the user as a warning from this job."""
        worker = self._worker()
        if worker is not None:
            worker.warning.emit(text)
        worker_warnings().raised.emit(self.name, text)


def current_task() -> Task | None:
    """The ``Task`` of the job running on this thread (None outside a worker)."""
    return getattr(_local, "task", None)


class Worker(QThread):
    """Runs ``job(task)`` once on its own thread.

    Signals (emitted on the worker thread; connect them queued, ``QUEUED``, to UI slots):

    * ``progress(object)``: what the job passed to ``task.report``.
    * ``result(object)``: the job's return value.
    * ``error(object)``: the exception the job raised (``core.errors.*`` or anything else).
    * ``warning(str)``: a ``warnings.warn`` or ``task.warn`` from the job's thread.
    * ``finished()`` (QThread's): after ``result`` or ``error``, as the thread ends.
    """

    progress = Signal(object)
    result = Signal(object)
    error = Signal(object)
    warning = Signal(str)

    def __init__(self, job: Callable[[Task], Any], name: str = "job", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.task = Task(self)
        self._job = job
        worker_warnings()  # created here, on the UI thread, before any job can warn
        _keeper()
        install_warning_hook()

    def start(self, priority: QThread.Priority = QThread.Priority.InheritPriority) -> None:
        """Start the job's thread; the worker is kept alive until the thread has finished."""
        _keeper().keep(self)
        super().start(priority)

    def request_stop(self) -> None:
        """Ask the job to stop (it checks ``task.should_stop()``); safe from any thread."""
        self.task.request_stop()

    @property
    def stop_requested(self) -> bool:
        return self.task.should_stop()

    def run(self) -> None:  # worker thread
        _local.task = self.task
        try:
            for setup in list(_thread_setup):
                setup()
            value = self._job(self.task)
        except Exception as exc:  # noqa: BLE001 - handed to the UI thread as is
            self.error.emit(exc)
        else:
            self.result.emit(value)
        finally:
            _local.task = None
            release_free_memory()  # the job's temporaries go back to the system (logic.memory)


class _Keeper(QObject):
    """Holds every started ``Worker`` until its thread has finished: a QThread must not be
    destroyed while it runs, whoever dropped it (a closed page, a deleted runner)."""

    def __init__(self) -> None:
        super().__init__()
        self.workers: set[Worker] = set()

    def keep(self, worker: Worker) -> None:
        self.workers.add(worker)
        worker.finished.connect(self._release, QUEUED)

    def _release(self) -> None:
        worker = self.sender()
        if isinstance(worker, Worker):
            worker.wait()  # run() has returned: at most a moment
            self.workers.discard(worker)


_keepers: list[_Keeper] = []


def wait_for_workers(timeout_ms: int = 30_000) -> int:
    """Ask every started worker still running (any runner's, the charts' draws included) to
    stop and wait for it, e.g. when the window closes; returns how many were still running."""
    running = [w for w in (_keepers[0].workers if _keepers else ()) if w.isRunning()]
    for worker in running:
        worker.request_stop()
    for worker in running:
        worker.wait(timeout_ms)
    return len(running)


def _keeper() -> _Keeper:
    if not _keepers:
        _keepers.append(_Keeper())
    return _keepers[0]


# --------------------------------------------------------------------------- warnings


class WorkerWarnings(QObject):
    """``raised(job name, text)`` for every warning from any worker (lives on the UI thread)."""

    raised = Signal(str, str)


_hub: list[WorkerWarnings] = []


def worker_warnings() -> WorkerWarnings:
    """The process-wide warning signal (create it on the UI thread: ``Worker`` does)."""
    if not _hub:
        _hub.append(WorkerWarnings())
    return _hub[0]


_previous_showwarning: list[Callable[..., None]] = []


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 - warnings.showwarning's signature
    task = current_task()
    if task is not None:
        task.warn(str(message))
    if _previous_showwarning:  # set by install_warning_hook before this hook is in place
        _previous_showwarning[0](message, category, filename, lineno, file, line)


def install_warning_hook() -> None:
    """Route warnings raised on worker threads to their worker (idempotent; call on the UI thread).

    Re-installs itself when something (``warnings.catch_warnings``, pytest) put another hook in
    place since, and then chains to that one.
    """
    current = warnings.showwarning
    if current is _show_warning:
        return
    _previous_showwarning[:] = [current]
    warnings.showwarning = _show_warning


# --------------------------------------------------------------------------- short jobs


@dataclass
class _Job:
    fn: Callable[[], Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None]


def run_or_submit(
    runner: "TaskRunner | None",
    kind: str,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None],
) -> None:
    """``runner.submit(...)``, or run ``fn`` right here when a widget has no runner (tests, tools)."""
    if runner is not None:
        runner.submit(kind, fn, on_done, on_error)
        return
    try:
        result = fn()
    except Exception as exc:  # noqa: BLE001 - handed to on_error, which shows it
        on_error(exc)
    else:
        on_done(result)


class TaskRunner(QObject):
    """Runs short jobs on ``Worker`` threads: at most one running job per ``kind``, and
    ``submit`` keeps only the latest waiting one (its result supersedes the running one's).

    ``busy_changed(bool)`` tells whether any job runs (for a busy indicator). A job reads
    its ``Task`` with ``current_task()`` when it wants to honour ``wait_all``'s stop request.
    The worker signals reach this runner's own methods, so Qt drops them once it is gone.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[str, tuple[Worker, _Job]] = {}
        self._pending: dict[str, _Job] = {}

    def is_busy(self, kind: str | None = None) -> bool:
        if kind is None:
            return bool(self._running)
        return kind in self._running or kind in self._pending

    def submit(
        self,
        kind: str,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Run ``fn()`` on a worker; if a ``kind`` job runs, replace any waiting one with this.

        ``on_done(result)`` or ``on_error(exception)`` is called on the UI thread, unless a
        newer job of the same kind was submitted meanwhile.
        """
        job = _Job(fn, on_done, on_error)
        if kind in self._running:
            self._pending[kind] = job
            return
        was_busy = bool(self._running)
        self._start(kind, job)
        if not was_busy:
            self.busy_changed.emit(True)

    def cancel_pending(self, kind: str) -> None:
        self._pending.pop(kind, None)

    def wait_all(self, timeout_ms: int = 30_000) -> None:
        """Drop waiting jobs, ask running ones to stop and wait for them (used on exit)."""
        self._pending.clear()
        for worker, _ in list(self._running.values()):
            worker.request_stop()
            worker.wait(timeout_ms)

    def _start(self, kind: str, job: _Job) -> None:
        fn = job.fn
        worker = Worker(lambda _task: fn(), kind)
        worker.result.connect(self._result, QUEUED)
        worker.error.connect(self._error, QUEUED)
        worker.finished.connect(self._finished, QUEUED)
        self._running[kind] = (worker, job)
        worker.start()

    # -- worker signals (UI thread); sender() is the Worker --------------------------------
    def _current(self) -> _Job | None:
        """The sending worker's job, when its outcome should be delivered (nothing newer waits)."""
        worker = self.sender()
        entry = self._running.get(getattr(worker, "name", ""))
        if entry is None or entry[0] is not worker or worker.name in self._pending:
            return None
        return entry[1]

    def _result(self, value: Any) -> None:
        job = self._current()
        if job is not None:
            job.on_done(value)

    def _error(self, exc: BaseException) -> None:
        job = self._current()
        if job is not None:
            job.on_error(exc)

    def _finished(self) -> None:
        worker = self.sender()
        kind = getattr(worker, "name", "")
        entry = self._running.get(kind)
        if entry is None or entry[0] is not worker:
            return
        del self._running[kind]
        worker.wait()  # run() has returned: at most a moment
        job = self._pending.pop(kind, None)
        if job is not None:
            self._start(kind, job)  # still busy: no busy_changed
        elif not self._running:
            self.busy_changed.emit(False)
