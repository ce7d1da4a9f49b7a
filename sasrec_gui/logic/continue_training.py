"""Continuing a run from its checkpoint, as the app prepares it (Qt-free, worker thread).

``prepare_continue`` reads the checkpoint (``core.resume.load_resume``: its model, Adam
state and parent run), takes its settings with the user's changes (N more epochs, maybe a
new learning rate: ``core.resume.resumed_settings``), filters the open data with the
checkpoint's own filters, and checks that the data has the checkpoint's catalog
(``core.resume.check_resume_data``). The result is a ``ContinuePlan``: the experiment to
train through ``TrainingController.start_experiment`` and the ``RunPlan`` of its plot.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import pandas as pd

from core import experiment
from core.dataset import InteractionData
from core.filters import FilterConfig
from core.resume import check_resume_data, load_resume, resumed_settings
from core.runs import RunStore
from core.schema import validate_all

from .training import RunPlan

#: Most further epochs the dialog offers.
MAX_MORE_EPOCHS = 10_000


@dataclass
class ContinuePlan:
    """What continuing a checkpoint trains: the experiment (``Experiment.resume`` set), the
    interactions through the checkpoint's filters, how the plot is planned, and the warning
    for data with the checkpoint's catalog but other interactions ("" for its own data)."""

    experiment: experiment.Experiment
    interactions: pd.DataFrame
    run_plan: RunPlan
    warning: str = ""


def prepare_continue(
    checkpoint: str | os.PathLike,
    epochs: int,
    lr: float | None,
    data: InteractionData,
    *,
    store: RunStore | None = None,
    filtered: tuple[FilterConfig, pd.DataFrame] | None = None,
    source: str = "",
) -> ContinuePlan:
    """Plan ``epochs`` more epochs of ``checkpoint`` on ``data`` (learning rate ``lr``, or
    the checkpoint's when None). ``filtered``: the open data already through some filters
    (reused when they are the checkpoint's); ``store``: where the parent run is looked up.

    Raises ``CheckpointError`` (unreadable checkpoint), ``ConfigError`` (``epochs`` or
    ``lr`` out of range) and ``TrainingError`` (the data lacks some of the checkpoint's
    items: the message names the checkpoint and the counts).
    """
    resume = load_resume(checkpoint, store)
    overrides: dict = {"epochs": int(epochs)}
    if lr is not None:
        overrides["lr"] = float(lr)
    config, filters, holdout_settings = resumed_settings(resume, overrides)
    validate_all(config, filters, holdout_settings)
    if filtered is not None and filtered[0] == filters:
        interactions = filtered[1]
    else:
        interactions = experiment.filter_data(data, filters).interactions
    warning = check_resume_data(resume, interactions)
    holdout = holdout_settings.to_holdout()
    exp = experiment.Experiment(config, filters, holdout, source, data.format, resume)
    initial = resume.model.history.truncated(resume.epoch)
    per_epoch = initial.steps_per_epoch or math.ceil(max(resume.model.n_sequences, 1) / config.batch_size)
    first_loss = max(initial.epoch_losses[:1] or [1.0])
    first_val = next((v for v in initial.val_losses if v is not None), None)
    run_plan = RunPlan(
        config, holdout, per_epoch * (resume.epoch + config.epochs), first_loss * 1.1,
        (first_val * 1.1 if first_val is not None else first_loss) if holdout is not None else None,
        initial,
    )
    return ContinuePlan(exp, interactions, run_plan, warning)


def describe_checkpoint(epochs_done: int, kept_epoch: int, lr: float, parent_run_id: int | None = None) -> str:
    """One line for the dialog: which epoch the run goes on from, at which learning rate."""
    parent = f"Run {parent_run_id}" if parent_run_id is not None else "The model"
    kept = f"epoch {kept_epoch}" + (f" (the best of {epochs_done})" if kept_epoch != epochs_done else "")
    return f"{parent} continues from its {kept}, with Adam's state, at learning rate {lr:g} unless you change it."


__all__ = ["ContinuePlan", "MAX_MORE_EPOCHS", "describe_checkpoint", "prepare_continue"]
