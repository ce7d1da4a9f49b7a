"""The arithmetic and the messages of one training run (Qt-free).

``Progress`` and ``format_seconds`` turn the worker's latest ``StepReport`` into what the
Training page shows (epoch, step, ETA); ``planned_steps`` and ``expected_initial_loss`` plan
the live plot's axes; ``RunPlan``, ``RunStatus``, ``RunEnd`` and ``EvaluationPlan`` are what
``services.training_controller`` tells the page at a run's start, while it trains and at its end.
What runs on the worker (and the devices, threads and warm-up of torch) is ``training_job``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.config import SASRecConfig
from core.experiment import ExperimentOutcome, Holdout

from .summary import DataSummary

#: The training outcome is core's (``core.experiment.ExperimentOutcome``).
TrainingOutcome = ExperimentOutcome
#: The run history's status for each way a training session ends.
RUN_STATUS = {"finished": "finished", "cancelled": "stopped", "failed": "failed"}


@dataclass
class Progress:
    """Where a run stands, derived from the latest ``StepReport``."""

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    elapsed: float
    sequences_per_sec: float
    batch_size: int

    @property
    def done_steps(self) -> int:
        return (self.epoch - 1) * self.steps_per_epoch + self.step

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def fraction(self) -> float:
        return self.done_steps / max(self.total_steps, 1)

    @property
    def eta(self) -> float | None:
        """Seconds left, from the current throughput (None until known)."""
        if self.sequences_per_sec <= 0:
            return None
        return (self.total_steps - self.done_steps) * self.batch_size / self.sequences_per_sec


def format_seconds(seconds: float | None) -> str:
    """'1:02:03', '2:03' or '–'."""
    if seconds is None:
        return "–"
    seconds = int(round(max(seconds, 0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def planned_steps(config: SASRecConfig, summary: DataSummary) -> int:
    """Total training steps of a run (core trains one sequence per user with >= 2 interactions)."""
    return config.epochs * math.ceil(summary.n_sequences / config.batch_size)


def expected_initial_loss(config: SASRecConfig, summary: DataSummary) -> float:
    """Roughly the first steps' loss, to plan the live plot's y axis (weights scale every loss)."""
    if config.loss == "softmax":
        return summary.mean_weight * math.log(max(summary.n_items, 2)) * 1.05
    return summary.mean_weight * math.log(2.0) * 1.5


@dataclass
class RunPlan:
    """A run that is about to start: what the page needs to prepare its plot and progress."""

    config: SASRecConfig
    holdout: Holdout | None
    planned_steps: int
    expected_loss: float

    @property
    def preparing_text(self) -> str:
        """The progress bar's text until the first report."""
        return "Preparing the hold-out and sequences …" if self.holdout else "Preparing sequences …"


@dataclass
class RunStatus:
    """Where the running run stands, sent a few times a second (never per report)."""

    elapsed: float
    progress: Progress | None  # None until the first StepReport
    stopping: bool  # a stop was requested

    @property
    def progress_text(self) -> str:
        """'Epoch 2/5 · step 30/120', with ' — stopping …' after a stop request ('' before any report)."""
        p = self.progress
        if p is None:
            return ""
        text = f"Epoch {p.epoch}/{p.epochs} · step {p.step}/{p.steps_per_epoch}"
        return text + " — stopping …" if self.stopping else text


@dataclass
class EvaluationPlan:
    """The hold-out evaluation that follows a run with a hold-out and a model."""

    evaluation_id: int  # a newer run or checkpoint replaces an older evaluation
    holdout: Holdout
    split_text: str  # ``HoldoutSplit.describe()``: how many users and interactions are held out


@dataclass
class RunEnd:
    """How a run ended: ``kind`` "finished", "cancelled" or "failed"; ``outcome`` (not failed) or
    ``error`` (failed); the status line and the progress bar's text."""

    kind: str
    outcome: TrainingOutcome | None
    error: BaseException | None
    text: str
    progress_text: str
    evaluation: EvaluationPlan | None = None


def end_texts(kind: str, outcome: TrainingOutcome | None, had_model: bool) -> tuple[str, str]:
    """(status line, progress bar text) for a run that ended as ``kind``; ``had_model``: a model
    from before is still in use (said when a stopped run has none of its own)."""
    if kind == "failed" or outcome is None:
        return "Training failed.", "Failed"
    model = outcome.result.model
    if kind == "finished":
        return f"Training finished in {outcome.result.seconds:.1f} s.", f"Done: {model.epochs_done if model else 0} epoch(s)"
    if model is not None:
        return (f"Training stopped. The model from epoch {model.epochs_done} (the last completed one) is kept and usable.",
                f"Stopped — model from epoch {model.epochs_done} kept")
    kept = " The previous model is still in use." if had_model else ""
    return f"Training stopped before the first epoch ended: this run has no model.{kept}", "Stopped — no model"
