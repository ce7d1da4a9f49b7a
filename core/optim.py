"""The optimizer of a run and its learning-rate schedule (settings ``weight_decay``,
``warmup_steps``, ``lr_schedule``).

``make_optimizer``: ``torch.optim.Adam`` (betas 0.9, 0.98, as RecTools' notebook trains) when
``weight_decay`` is 0, exactly as before these settings existed; ``torch.optim.AdamW`` with
that decoupled weight decay (same betas, applied to every parameter) when it is above 0.

``LRSchedule``: the learning rate of each optimizer step of a run. Step ``s`` (0-based, counted
from the run's first epoch, a continued run's parent epochs included) gets ``lr * factor(s)``:

* warm-up (``s < warmup_steps``): ``(s + 1) / warmup_steps``, from ``lr / warmup_steps`` at the
  first step up to ``lr`` at step ``warmup_steps - 1``;
* then ``constant``: 1; ``linear``: ``(T - s) / (T - W)``; ``cosine``:
  ``(1 + cos(pi * (s - W) / (T - W))) / 2``, with ``W`` the warm-up steps and ``T`` the run's
  total steps: both start at 1 right after the warm-up and reach 0 at the end of the run (the
  last step ``T - 1`` gets ``1 / (T - W)`` of lr, linear, or about ``(pi / (T - W))**2 / 4``, cosine).

``T`` is the steps already taken (a continued run's, from its checkpoint) plus the epochs this
run trains times its steps per epoch: a run continued from a run that was stopped before its
end goes on along the very schedule the stopped run followed; one continued from a finished
run stretches the schedule over the longer run (the lr rises again from 0).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from .config import LR_SCHEDULES, SASRecConfig

#: Adam's betas, as RecTools trains SASRec.
ADAM_BETAS = (0.9, 0.98)


def make_optimizer(params: Iterable[torch.nn.Parameter], config: SASRecConfig, **options: bool) -> torch.optim.Optimizer:
    """Adam (``config.weight_decay`` 0) or AdamW with that weight decay, at ``config.lr`` with
    betas (0.9, 0.98); ``options`` go to the optimizer (``fused``, ``capturable`` on CUDA)."""
    if config.weight_decay > 0:
        return torch.optim.AdamW(params, lr=config.lr, betas=ADAM_BETAS, weight_decay=float(config.weight_decay), **options)
    return torch.optim.Adam(params, lr=config.lr, betas=ADAM_BETAS, **options)


def is_scheduled(config: SASRecConfig) -> bool:
    """Whether the learning rate changes during the run (a warm-up or a decay is set)."""
    return config.warmup_steps > 0 or config.lr_schedule != "constant"


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """The share of the peak learning rate that 0-based optimizer step ``step`` gets, in (0, 1]
    during a run of ``total_steps`` steps (see the module's docstring); steps at or beyond
    ``total_steps`` get the last step's share. Raises ``ValueError`` for an unknown
    ``schedule`` (one of ``LR_SCHEDULES``)."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {schedule!r}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay = total_steps - warmup_steps
    if schedule == "constant" or decay <= 0:
        return 1.0
    progress = min(step - warmup_steps, decay - 1) / decay  # in [0, 1): the last step keeps a little lr
    if schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class LRSchedule:
    """Sets the optimizer's learning rate before each step: ``lr * lr_factor(step, ...)``.

    ``total_steps``: the run's steps from its first (a continued run's earlier steps included);
    ``step``: the 0-based index of the step about to run."""

    def __init__(self, config: SASRecConfig, total_steps: int) -> None:
        self.lr = float(config.lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(config.warmup_steps)
        self.schedule = str(config.lr_schedule)

    def lr_at(self, step: int) -> float:
        """The learning rate of 0-based step ``step``."""
        return self.lr * lr_factor(step, self.total_steps, self.warmup_steps, self.schedule)

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        """Set every parameter group's learning rate to ``lr_at(step)`` (a host float: no sync)."""
        lr = self.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr


__all__ = ["ADAM_BETAS", "LRSchedule", "is_scheduled", "lr_factor", "make_optimizer"]
