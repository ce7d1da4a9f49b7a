"""Background work on QThreads: one-off tasks (loading, filtering) and the training worker.

Results travel back over queued signals; nothing here touches a widget. Modelled on
superqt's worker (small typed signals object, cooperative stop) and Orange3's one task
at a time per kind.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal

from core import experiment
from core.config import SASRecConfig
from core.experiment import HOLDOUT_SCHEMES, ExperimentOutcome, Holdout
from core.filters import FilterConfig
from core.train import EpochReport, FitResult, StepReport, fit

QUEUED = Qt.ConnectionType.QueuedConnection


class TaskThread(QThread):
    """Runs ``fn()`` once; emits ``succeeded(kind, result)`` or ``failed(kind, exception)``,
    then ``ended(kind)`` as its last act."""

    succeeded = Signal(str, object)
    failed = Signal(str, object)
    ended = Signal(str)

    def __init__(self, kind: str, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self._fn = fn

    def run(self) -> None:  # worker thread
        try:
            result = self._fn()
        except Exception as exc:  # noqa: BLE001 - handed to the UI thread as is
            self.failed.emit(self.kind, exc)
        else:
            self.succeeded.emit(self.kind, result)
        self.ended.emit(self.kind)


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
    """At most one running task per ``kind``; ``submit`` keeps only the latest waiting job.

    ``busy_changed(bool)`` tells whether any task runs (for a busy indicator).
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[str, tuple[TaskThread, _Job]] = {}
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
        """Run ``fn`` in a thread; if a ``kind`` task runs, replace any waiting one with this."""
        job = _Job(fn, on_done, on_error)
        if kind in self._running:
            self._pending[kind] = job
            return
        self._start(kind, job)

    def cancel_pending(self, kind: str) -> None:
        self._pending.pop(kind, None)

    def wait_all(self, timeout_ms: int = 30_000) -> None:
        """Drop waiting jobs and wait for running threads (used on exit)."""
        self._pending.clear()
        for thread, _ in list(self._running.values()):
            thread.wait(timeout_ms)

    def _start(self, kind: str, job: _Job) -> None:
        was_busy = bool(self._running)
        thread = TaskThread(kind, job.fn)
        # bound methods of this QObject: if the runner is gone, Qt drops the queued calls
        thread.succeeded.connect(self._done, QUEUED)
        thread.failed.connect(self._error, QUEUED)
        thread.ended.connect(self._finished, QUEUED)
        self._running[kind] = (thread, job)
        thread.start()
        if not was_busy:
            self.busy_changed.emit(True)

    def _done(self, kind: str, result: Any) -> None:
        entry = self._running.get(kind)
        if entry is not None and kind not in self._pending:  # a newer job supersedes this result
            entry[1].on_done(result)

    def _error(self, kind: str, exc: BaseException) -> None:
        entry = self._running.get(kind)
        if entry is not None and kind not in self._pending:
            entry[1].on_error(exc)

    def _finished(self, kind: str) -> None:
        entry = self._running.pop(kind, None)
        if entry is not None:
            entry[0].wait()  # run() is returning: at most a moment
            entry[0].deleteLater()
        job = self._pending.pop(kind, None)
        if job is not None:
            self._start(kind, job)
        elif not self._running:
            self.busy_changed.emit(False)


# --------------------------------------------------------------------------- training


#: The training outcome is core's (``core.experiment.ExperimentOutcome``).
TrainingOutcome = ExperimentOutcome


class TrainSignals(QObject):
    """The training worker's signals (emitted from the worker thread, delivered queued)."""

    progress = Signal(object)  # StepReport: a block of per-step losses
    epoch_done = Signal(object)  # EpochReport
    finished = Signal(object)  # TrainingOutcome (ran every epoch)
    cancelled = Signal(object)  # TrainingOutcome (stopped; result.model is the last completed epoch or None)
    failed = Signal(object)  # the exception (core.errors.* or anything unexpected)


class TrainWorker(QThread):
    """Runs ``core.train.fit`` on a QThread; ``request_stop`` is honoured before the next batch."""

    def __init__(
        self,
        interactions: pd.DataFrame,
        config: SASRecConfig,
        filter_config: dict | None = None,
        *,
        report_every: float = 0.1,
        fit_fn: Callable[..., FitResult] = fit,
        holdout: Holdout | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.signals = TrainSignals()
        self._interactions = interactions
        self._experiment = experiment.Experiment(config, FilterConfig.from_dict(filter_config or {}), holdout)
        self._report_every = report_every
        self._fit = fit_fn
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the worker to stop; safe from any thread."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:  # worker thread
        previous_threads = torch.get_num_threads()
        if _trains_on_cpu(self._experiment.config.device):
            torch.set_num_threads(cpu_threads_for_training())
        try:
            outcome = experiment.train(
                self._interactions,
                self._experiment,
                callback=self._report,
                should_stop=self._stop.is_set,
                report_every=self._report_every,
                fit_fn=self._fit,
            )
        except Exception as exc:  # noqa: BLE001 - shown in a dialog by the UI thread
            self.signals.failed.emit(exc)
            return
        finally:
            torch.set_num_threads(previous_threads)
        (self.signals.cancelled if outcome.result.cancelled else self.signals.finished).emit(outcome)

    def _report(self, report: StepReport | EpochReport) -> None:
        if isinstance(report, StepReport):
            self.signals.progress.emit(report)
        else:
            self.signals.epoch_done.emit(report)


def cpu_threads_for_training() -> int:
    """CPU threads for a training run: all cores but one, which stays free for the interface."""
    return max(1, (os.cpu_count() or 2) - 1)


def _trains_on_cpu(device: str) -> bool:
    return device == "cpu" or (device == "auto" and not torch.cuda.is_available())


def warm_up_torch() -> bool:
    """Import what torch loads lazily on the first optimizer step (torch._dynamo pulls in sympy:
    over a second of imports that hold the GIL) and run one tiny step, so the first training
    run does not stall the interface. Run once at start-up, in a background thread."""
    import torch._dynamo  # noqa: F401
    import torch.distributed  # noqa: F401 - core.train asks for the process group

    param = torch.nn.Parameter(torch.zeros(4))
    optimizer = torch.optim.Adam([param], lr=1e-3, betas=(0.9, 0.98))
    (param * param).sum().backward()
    optimizer.step()
    return True
