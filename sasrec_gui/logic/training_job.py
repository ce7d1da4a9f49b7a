"""What the training worker runs, and the torch side of it (Qt-free): ``training_job`` is
``core.experiment.train`` with the worker's stop flag and progress reports, on all CPU cores
but one; ``device_choices`` lists the devices core can train on; ``warm_up_torch`` loads
torch's lazily imported parts once at start-up."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

import pandas as pd
import torch

from core import experiment
from core.train import FitResult, available_devices, fit

from .memory import training_allocator
from .training import TrainingOutcome


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


class JobTask(Protocol):
    """What ``training_job`` needs of its worker (``services.workers.Task`` is one)."""

    def should_stop(self) -> bool: ...

    def report(self, progress: object) -> None: ...


def training_job(
    interactions: pd.DataFrame, exp: experiment.Experiment, fit_fn: Callable[..., FitResult] = fit, report_every: float = 0.1
) -> Callable[[JobTask], TrainingOutcome]:
    """The worker's job: ``core.experiment.train`` with the task's stop flag and progress reports
    (``StepReport`` / ``EpochReport``, and the validation ``Protocol`` once the hold-out is
    split), on all CPU cores but one when it trains on the CPU."""

    def job(task: JobTask) -> TrainingOutcome:
        previous_threads = torch.get_num_threads()
        if _trains_on_cpu(exp.config.device):
            torch.set_num_threads(cpu_threads_for_training())
        try:
            with training_allocator():  # a step's big tensors reused, not mapped afresh (logic.memory)
                return experiment.train(
                    interactions, exp, callback=task.report, should_stop=task.should_stop, report_every=report_every,
                    fit_fn=fit_fn, on_protocol=task.report,  # the validation protocol, before the first step
                )
        finally:
            torch.set_num_threads(previous_threads)

    return job


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
