"""Sweeps as the app runs them (Qt-free): the dialog's parameter rows as ``core.sweep``
specs, the worker's job (``core.sweep.run_sweep`` with the worker's stop flag and progress
reports), and the progress figures the dialog shows (trial n/N, the current trial's epoch
and step, the best trial so far).
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from core import experiment
from core.errors import ConfigError
from core.runs import RunStore
from core.sweep import (
    ParamSpec,
    SweepEvent,
    SweepResult,
    SweepSpec,
    TrialEnded,
    TrialProgress,
    TrialResult,
    TrialStarted,
    parse_param,
    run_sweep,
)
from core.train import EpochReport, StepReport

from .memory import training_allocator
from .training_job import JobTask, cpu_threads_for_training

#: How a parameter row gives its values: a list, a range, or a range drawn log-uniformly.
ROW_KINDS = ("values", "range", "log range")
SWEEP_FOLDER = "sweeps"


@dataclass
class ParamRow:
    """One row of the sweep dialog: the setting, how its values are given, and the texts."""

    name: str
    kind: str = "values"
    values: str = ""
    low: str = ""
    high: str = ""

    def text(self) -> str:
        """The row as ``--param`` takes it: ``lr=0.001,0.01`` or ``lr=0.0001:0.01:log``."""
        if self.kind == "values":
            return f"{self.name}={self.values.strip()}"
        return f"{self.name}={self.low.strip()}:{self.high.strip()}" + (":log" if self.kind == "log range" else "")

    def spec(self) -> ParamSpec:
        """The row parsed by ``core.sweep.parse_param``; raises its ``ConfigError``."""
        if self.kind not in ROW_KINDS:
            raise ConfigError({"param": f"{self.name}: choose one of {', '.join(ROW_KINDS)}"})
        return parse_param(self.text())


def build_spec(rows: Sequence[ParamRow], trials: int | None, sampler: str | None, *, prune: bool = True,
               seed: int = 0) -> tuple[SweepSpec | None, dict[str, str]]:
    """The ``SweepSpec`` of the dialog's rows and options, and its problems: ``{field:
    message}`` with a row's problem under ``"row N"`` (1-based) and the spec's own
    (``SweepSpec.errors()``: ``param``, ``trials``, ``sampler``). The spec is None when
    there is any problem."""
    errors: dict[str, str] = {}
    params: list[ParamSpec] = []
    for number, row in enumerate(rows, start=1):
        try:
            params.append(row.spec())
        except ConfigError as exc:
            errors[f"row {number}"] = "; ".join(exc.errors.values())
    spec = SweepSpec(params, trials, sampler, seed=seed, prune=prune)
    if not errors:
        errors.update(spec.errors())
    return (None if errors else spec), errors


def sweep_folder(store: RunStore, sweep_id: str) -> Path:
    """Where a sweep's trials save their models: beside the run history, ``sweeps/<id>``."""
    return store.path.parent / SWEEP_FOLDER / sweep_id


def sweep_job(
    interactions: pd.DataFrame, spec: SweepSpec, base: experiment.Experiment, *, store: RunStore, sweep_id: str,
    out_dir: str | os.PathLike | None = None, app: str = "", report_every: float = 0.1,
) -> Callable[[JobTask], SweepResult]:
    """The worker's job: ``core.sweep.run_sweep`` reporting every ``SweepEvent`` and stopping
    when asked (the current trial is recorded as stopped, finished trials stay), on all
    CPU cores but one."""

    def job(task: JobTask) -> SweepResult:
        previous = torch.get_num_threads()
        torch.set_num_threads(cpu_threads_for_training())
        try:
            with training_allocator():  # the trials' steps reuse their big tensors (logic.memory)
                return run_sweep(
                    interactions, spec, base, out_dir=out_dir or sweep_folder(store, sweep_id), store=store,
                    callback=task.report, should_stop=task.should_stop, report_every=report_every, sweep_id=sweep_id,
                    app=app,
                )
        finally:
            torch.set_num_threads(previous)

    return job


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


@dataclass
class SweepProgress:
    """Where a sweep stands, from its events: the current trial, its epoch and step, the
    trials that ended, and the best of them by ``monitor`` (higher is better unless
    ``maximize`` is False)."""

    n_trials: int
    monitor: str
    maximize: bool = True
    number: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    ended: list[TrialResult] = field(default_factory=list)
    pruned_now: bool = False

    def apply(self, event: SweepEvent) -> None:
        """Take one event of ``core.sweep.run_sweep``."""
        if isinstance(event, TrialStarted):
            self.number, self.params = event.number, dict(event.params)
            self.n_trials = event.n_trials
            self.epoch = self.epochs = self.step = self.steps_per_epoch = 0
            self.pruned_now = False
        elif isinstance(event, TrialProgress):
            report = event.report
            self.epoch, self.epochs = report.epoch, report.epochs
            if isinstance(report, StepReport):
                self.step, self.steps_per_epoch = report.step, report.steps_per_epoch
            elif isinstance(report, EpochReport):
                self.step = self.steps_per_epoch
            self.pruned_now = self.pruned_now or event.pruned
        elif isinstance(event, TrialEnded):
            self.ended.append(event.result)

    @property
    def best(self) -> TrialResult | None:
        """The ended trial with the best value so far (None before one has a value)."""
        scored = [t for t in self.ended if t.value is not None and math.isfinite(t.value) and t.state in ("finished", "pruned")]
        if not scored:
            return None
        return (max if self.maximize else min)(scored, key=lambda t: t.value)

    @property
    def fraction(self) -> float:
        """The current trial's share done (0..1)."""
        total = self.epochs * self.steps_per_epoch
        done = (self.epoch - 1) * self.steps_per_epoch + self.step if self.epoch else 0
        return min(max(done / total, 0.0), 1.0) if total else 0.0

    def trial_text(self) -> str:
        """"Trial 2/3: lr=0.003, n_factors=32" ("" before the first trial)."""
        if not self.number:
            return ""
        return f"Trial {self.number}/{self.n_trials}: {_params_text(self.params)}"

    def step_text(self) -> str:
        """"Epoch 1/2 · step 3/5" for the current trial."""
        if not self.epoch:
            return "Preparing …" if self.number else ""
        text = f"Epoch {self.epoch}/{self.epochs}"
        if self.steps_per_epoch:
            text += f" · step {self.step}/{self.steps_per_epoch}"
        return text + (" — pruned" if self.pruned_now else "")

    def best_text(self) -> str:
        """"Best so far: trial 1, NDCG@10 0.1234 (epoch 2), run 7"."""
        best = self.best
        if best is None:
            return "Best so far: –"
        run = f", run {best.run_id}" if best.run_id is not None else ""
        return f"Best so far: trial {best.number}, {self.monitor} {best.value:.4f} (epoch {best.best_epoch}){run}"


def trial_row(result: TrialResult) -> dict[str, Any]:
    """One ended trial as the dialog's table shows it."""
    return {"trial": result.number, "state": result.state, "value": result.value, "best_epoch": result.best_epoch or None,
            "epochs": result.epochs, "run": result.run_id, "params": _params_text(result.params), "error": result.error}


__all__ = [
    "ParamRow", "ROW_KINDS", "SweepProgress", "build_spec", "sweep_folder", "sweep_job", "trial_row",
]
