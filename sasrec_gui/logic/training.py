"""The arithmetic and the messages of one training run (Qt-free).

``Progress`` and ``format_seconds`` turn the worker's latest ``StepReport`` into what the
Training page shows (epoch, step, an ETA once it means something, durations like "3 min 10 s"); ``planned_steps`` and ``expected_initial_loss`` plan
the live plot's axes; ``RunPlan``, ``RunStatus``, ``RunEnd`` and ``EvaluationPlan`` are what
``services.training_controller`` tells the page at a run's start, while it trains and at its end.
What runs on the worker (and the devices, threads and warm-up of torch) is ``training_job``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.config import SASRecConfig
from core.experiment import ExperimentOutcome, Holdout
from core.train import TrainingHistory

from .summary import DataSummary

#: The training outcome is core's (``core.experiment.ExperimentOutcome``).
TrainingOutcome = ExperimentOutcome
#: The run history's status for each way a training session ends.
RUN_STATUS = {"finished": "finished", "cancelled": "stopped", "failed": "failed"}


#: The ETA is shown once it rests on at least this many steps of the run ...
MIN_ETA_STEPS = 20
#: ... and this many seconds of training (before that it is noise: warm-up, the first batches).
MIN_ETA_SECONDS = 2.0


@dataclass
class Progress:
    """Where a run stands, derived from the latest ``StepReport``.

    ``elapsed``: seconds since the run's training started; ``run_steps``: steps this run has
    done so far (a continued run's earlier epochs not counted).
    """

    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    elapsed: float
    sequences_per_sec: float
    batch_size: int
    run_steps: int = 0

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
        """Seconds left at this run's pace so far (its elapsed time over its steps, validation
        pauses included); None until that rests on ``MIN_ETA_STEPS`` steps and
        ``MIN_ETA_SECONDS`` seconds."""
        if self.run_steps < MIN_ETA_STEPS or self.elapsed < MIN_ETA_SECONDS:
            return None
        return max(self.total_steps - self.done_steps, 0) * self.elapsed / self.run_steps


def format_seconds(seconds: float | None) -> str:
    """A duration as people say it: '42 s', '3 min 10 s', '24 h 45 min' ('–' for None).

    Under an hour to the second; from an hour on to the minute (rounded)."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(max(seconds, 0.0)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        m, s = divmod(seconds, 60)
        return f"{m} min {s} s" if s else f"{m} min"
    h, m = divmod(int(round(seconds / 60)), 60)
    return f"{h} h {m} min" if m else f"{h} h"


def planned_steps(config: SASRecConfig, summary: DataSummary) -> int:
    """Total training steps of a run (core trains one sequence per user with >= 2 interactions)."""
    return config.epochs * math.ceil(summary.n_sequences / config.batch_size)


def expected_initial_loss(config: SASRecConfig, summary: DataSummary) -> float:
    """Roughly the first steps' loss, to plan the live plot's y axis (weights scale every loss)."""
    if config.loss == "softmax":
        return summary.mean_weight * math.log(max(summary.n_items, 2)) * 1.05
    if config.loss == "sampled_softmax":  # cross-entropy over the positive and n_negatives
        return summary.mean_weight * math.log(config.n_negatives + 1) * 1.05
    return summary.mean_weight * math.log(2.0) * 1.5


def expected_validation_loss(config: SASRecConfig, summary: DataSummary) -> float:
    """Roughly the first validation loss (unweighted: the loss of one target), to plan the
    live plot's validation-loss axis."""
    return expected_initial_loss(config, summary) / max(summary.mean_weight, 1e-9)


@dataclass
class RunPlan:
    """A run that is about to start: what the page needs to prepare its plot and progress.

    ``planned_steps`` counts every step of the curves (a continued run's ``initial_history``
    included); ``expected_val_loss`` plans the validation-loss axis (None: no hold-out)."""

    config: SASRecConfig
    holdout: Holdout | None
    planned_steps: int
    expected_loss: float
    expected_val_loss: float | None = None
    initial_history: TrainingHistory | None = None

    @property
    def total_epochs(self) -> int:
        """The epochs of the curves when the run ends (a continued run's included)."""
        return self.config.epochs + (self.initial_history.epochs if self.initial_history is not None else 0)

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
    history = model.history if model is not None else None
    if kind == "finished" and history is not None and history.stopped_early:
        best = " ".join(f"{k} {v:.4f}" for k, v in history.best_metrics.items() if k == history.monitor)
        return (f"Early stopping ended training after epoch {model.epochs_done} in {outcome.result.seconds:.1f} s: "  # type: ignore[union-attr]
                f"{history.monitor} did not improve; the best epoch, {model.kept_epoch}{f' ({best})' if best else ''}, is kept.",  # type: ignore[union-attr]
                f"Stopped early — best epoch {model.kept_epoch} of {model.epochs_done} kept")  # type: ignore[union-attr]
    if kind == "finished":
        return f"Training finished in {outcome.result.seconds:.1f} s.", f"Done: {model.epochs_done if model else 0} epoch(s)"
    if model is not None:
        if model.kept_epoch != model.epochs_done:
            return (f"Training stopped. The model from epoch {model.kept_epoch} (the best one so far) is kept and usable.",
                    f"Stopped — best epoch {model.kept_epoch} kept")
        return (f"Training stopped. The model from epoch {model.epochs_done} (the last completed one) is kept and usable.",
                f"Stopped — model from epoch {model.epochs_done} kept")
    kept = " The previous model is still in use." if had_model else ""
    return f"Training stopped before the first epoch ended: this run has no model.{kept}", "Stopped — no model"
