"""The one experiment pipeline: data -> filters -> hold-out split -> validator -> fit ->
histories -> checkpoint -> run record.

The CLI (``python -m core train``) and the app's training worker both call these steps;
neither re-implements one. The app runs them on different threads (filtering while the user
edits filters, training in a worker, recording after the plot's last draw), so the pipeline
is a handful of functions rather than one call:

1. ``filter_data(data, filters)``: the notebook's filters (``core.filters``).
2. ``train(filtered, experiment, ...)``: split off the hold-out, build the validators
   (HR@k/NDCG@k and the held-out loss on one sample of test users) and the early-stopping
   rule, fit (from scratch, or continuing ``experiment.resume``), and build the user
   histories (held-out interactions included) -> ``ExperimentOutcome`` (with the validation
   ``protocol``).
3. ``run_record(experiment, ...)`` and ``record_run(...)``: the run history entry and the
   model's checkpoint (``core.runs``, ``core.checkpoint``); a run record never gets lost.

Sweeps (``core.sweep``) run steps 2 and 3 once per trial on one split.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .checkpoint import save_checkpoint
from .config import SASRecConfig
from .dataset import InteractionData
from .early_stopping import MONITORS, VAL_LOSS_KEY, EarlyStopping, monitor_key
from .errors import SasrecError, TrainingError
from .evaluate import Split
from .filters import FilterConfig, FilterResult, apply_filters
from .protocol import Protocol, validation_protocol
from .runs import RunRecord, RunStore, RunStoreError, data_fingerprint
from .sequences import UserHistories, build_training_sequences
from .train import EpochReport, FitResult, ProgressCallback, StepReport, TrainedModel, TrainingHistory, align_catalog, fit
from .validation import make_loss_validator, validation_sample

if TYPE_CHECKING:
    from .resume import Resume

HOLDOUT_SCHEMES = ("last", "time")
#: History keys the pipeline stores beside ``TrainingHistory``'s own fields.
VALIDATION_KEY = "validation"
STEPS_PER_EPOCH_KEY = "steps_per_epoch"
#: The validation protocol (``core.protocol.Protocol.to_dict``; {} when unknown) and a sweep
#: trial's number and parameters, in stored histories.
PROTOCOL_KEY = "protocol"
SWEEP_KEY = "sweep"
#: The key of a run's store uid in its checkpoint's ``extra``.
RUN_UID_KEY = "run_uid"
#: How a run ended, as stored in the run history ("pruned": a sweep trial stopped for falling behind).
STATUSES = ("finished", "stopped", "failed", "pruned")


@dataclass(frozen=True)
class Holdout:
    """Validation during training: hold out a split, validate every ``every`` epochs at ``k``.

    ``scheme``: "last" (each user's last interaction, leave-one-out) or "time" (the last
    ``test_days`` days). ``patience`` > 0: stop when ``monitor`` ("ndcg", "hr" or "loss")
    has not improved by more than ``min_delta`` for that many validations, and keep the best
    epoch; 0: train every epoch and keep the last (the best epoch is still recorded).
    """

    scheme: str = "last"
    test_days: int = 7
    every: int = 1
    k: int = 10
    patience: int = 0
    monitor: str = "ndcg"
    min_delta: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """As stored with runs and checkpoints ("split" is core's name for the scheme); the
        early-stopping keys only where they differ from the defaults (as older runs read)."""
        data: dict[str, Any] = {"split": self.scheme, "test_days": int(self.test_days), "every": int(self.every), "k": int(self.k)}
        if self.patience:
            data["patience"] = int(self.patience)
        if self.monitor != "ndcg":
            data["monitor"] = self.monitor
        if self.min_delta:
            data["min_delta"] = float(self.min_delta)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Holdout | None":
        """The inverse of ``to_dict``; None for no hold-out (or an unknown scheme)."""
        data = data or {}
        scheme = data.get("split") or data.get("scheme")
        if scheme not in HOLDOUT_SCHEMES:
            return None
        monitor = data.get("monitor", "ndcg")
        return cls(str(scheme), int(data.get("test_days", 7)), int(data.get("every", 1)), int(data.get("k", 10)),
                   int(data.get("patience", 0)), monitor if monitor in MONITORS else "ndcg", float(data.get("min_delta", 0.0)))

    def early_stopping(self) -> EarlyStopping:
        """The rule ``fit`` applies: the monitored key at ``k``, the patience and min_delta."""
        return EarlyStopping(monitor_key(self.monitor, self.k), int(self.patience), float(self.min_delta))

    def describe(self) -> str:
        text = "leave last out" if self.scheme == "last" else f"last {self.test_days} day(s)"
        if self.patience:
            text += f", early stopping on {monitor_key(self.monitor, self.k)} after {self.patience}"
        return text


@dataclass
class Experiment:
    """What one run trains: settings, the filters its data went through, the hold-out, and
    where the data came from (a path and a format name, for the record)."""

    config: SASRecConfig
    filter_config: FilterConfig
    holdout: Holdout | None = None
    source: str = ""
    source_format: str = ""
    #: continue this checkpoint's run (``core.resume``) instead of starting from scratch
    resume: Resume | None = None
    #: the items table (``InteractionData.items``) that ``config.item_features`` reads
    items: pd.DataFrame | None = field(default=None, repr=False, compare=False)


@dataclass
class ExperimentOutcome:
    """A finished or stopped run: the fit result and the user histories to recommend from.

    With a hold-out, ``split`` is the split the model was trained (``split.train``) and
    validated (``split.test``) on; the histories still come from all the interactions, and
    ``protocol`` says how the validation metrics were measured. ``data_fingerprint`` is that
    of the filtered interactions (before the split).
    """

    result: FitResult
    histories: UserHistories | None
    split: Split | None = None
    holdout: Holdout | None = None
    data_fingerprint: str = ""
    protocol: Protocol | None = None

    @property
    def status(self) -> str:
        return "stopped" if self.result.cancelled else "finished"


@dataclass
class RecordResult:
    """How recording went: ``run_id`` is None when the database could not be written (the run
    is then kept pending by ``RunStore``)."""

    record: RunRecord
    run_id: int | None
    checkpoint_error: str = ""
    store_error: str = ""
    db_path: str = ""


class ReportedHistory:
    """A progress callback that keeps what training reported (per-step losses, per-epoch
    losses and metrics) and forwards each report to ``forward``: the history of a run that
    stopped before its first epoch ended, or failed, has no model to take it from."""

    def __init__(self, forward: ProgressCallback | None = None) -> None:
        self.history = TrainingHistory()
        self.steps_per_epoch = 0
        self._forward = forward

    def __call__(self, report: StepReport | EpochReport) -> None:
        if isinstance(report, StepReport):
            self.steps_per_epoch = report.steps_per_epoch
            self.history.steps_per_epoch = report.steps_per_epoch
            self.history.step_losses.extend(report.losses)
        else:
            self.history.epoch_losses.append(report.mean_loss)
            self.history.epoch_seconds.append(report.seconds)
            self.history.epoch_metrics.append(dict(report.metrics))
            self.history.val_losses.append(report.val_loss)
            if report.is_best:
                self.history.best_epoch = report.epoch
                self.history.best_metrics = dict(report.metrics)
                if report.val_loss is not None:
                    self.history.best_metrics[VAL_LOSS_KEY] = report.val_loss
            if report.stopping:
                self.history.stopped_early = True
        if self._forward is not None:
            self._forward(report)


def filter_data(data: InteractionData, filters: FilterConfig) -> FilterResult:
    """Step 1: the filters, with a per-step report (``core.filters.apply_filters``)."""
    return apply_filters(data.interactions, filters)


def prepare_holdout(interactions: pd.DataFrame, holdout: Holdout, split: Split | None = None) -> tuple[Split, dict[str, Any]]:
    """The split and ``fit``'s validation arguments (``validator``, ``loss_validator``,
    ``validate_every``, ``early_stopping``). Both validators score the same sample of test
    users (``core.validation.validation_sample``). ``split``: one made before (a sweep's
    trials share it), else it is made here.

    Raises ``TrainingError`` when the split leaves nothing to validate on.
    """
    from .evaluate_model import make_split, make_validator

    if split is None:
        split = make_split(interactions, holdout.scheme, holdout.test_days)
    if len(split.test) == 0:
        where = "each user's last interaction" if holdout.scheme == "last" else f"the last {holdout.test_days} day(s)"
        raise TrainingError(
            f"The hold-out ({where}) leaves no test interaction whose user and item also occur in training: "
            "nothing to validate on. Choose another hold-out or turn validation off."
        )
    sample = validation_sample(split)
    return split, {
        "validator": make_validator(sample, holdout.k, max_users=None),
        "loss_validator": make_loss_validator(sample),
        "validate_every": holdout.every,
        "early_stopping": holdout.early_stopping(),
    }


def train(
    interactions: pd.DataFrame,
    experiment: Experiment,
    *,
    callback: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    report_every: float = 0.1,
    validate: bool = True,
    on_split: Callable[[Split], None] | None = None,
    fit_fn: Callable[..., FitResult] = fit,
    split: Split | None = None,
    on_protocol: Callable[[Protocol], None] | None = None,
) -> ExperimentOutcome:
    """Step 2: split off the hold-out, fit on the rest, build the histories.

    ``interactions``: the filtered interactions (``filter_data(...).interactions``).
    ``validate=False`` splits but skips validation (DDP ranks other than 0; early stopping
    then follows rank 0). ``on_split`` is told the split before training starts (for a
    progress line), ``on_protocol`` how the validation metrics will be measured. ``split``:
    a split of these interactions made before (a sweep's trials share one), else one is
    made. With ``experiment.resume`` the run continues that checkpoint (its weights, Adam
    state and curves) on the same catalog.

    Errors: those of ``fit`` (``TrainingError``, ``OutOfMemoryError``, ``ConfigError``) and
    ``prepare_holdout``; a catalog that is not the resumed checkpoint's is a
    ``TrainingError`` naming the checkpoint.
    """
    train_df, validation = interactions, {}
    if experiment.holdout is not None:
        split, validation = prepare_holdout(interactions, experiment.holdout, split)
        train_df = split.train
        if not validate:
            validation = {"early_stopping": validation["early_stopping"], "validate_every": validation["validate_every"]}
        if on_split is not None:
            on_split(split)
    else:
        split = None
    fingerprint = data_fingerprint(interactions)  # before training: a stopped run then ends quickly
    sequences = build_training_sequences(train_df, experiment.config.session_maxlen)
    resume = experiment.resume
    if resume is not None:
        try:
            sequences = align_catalog(sequences, resume.model.item_map)
        except TrainingError as exc:
            raise TrainingError(f"Cannot continue '{resume.checkpoint}': {exc}") from None
        validation["init_model"] = resume.model
    protocol = None
    if split is not None and experiment.holdout is not None:
        protocol = validation_protocol(split, experiment.holdout.k, sequences.item_map.n_items)
        if on_protocol is not None:
            on_protocol(protocol)
    result = fit_fn(
        train_df,
        experiment.config,
        callback=callback,
        should_stop=should_stop,
        report_every=report_every,
        filter_config=experiment.filter_config.to_dict(),
        sequences=sequences,
        **validation,
        **({"items": experiment.items} if experiment.items is not None else {}),
    )
    del sequences, validation  # the training data (compact sequences, ~50 MB at KION size) goes before the histories come
    histories = None
    if result.model is not None:
        # recommendations use every interaction, held-out ones included
        histories = UserHistories.from_interactions(interactions)
        result.model.data_fingerprint = fingerprint  # flags other data opened with it (core.model_data)
    return ExperimentOutcome(result, histories, split, experiment.holdout, fingerprint, protocol)


def stored_history(history: TrainingHistory, experiment: Experiment, steps_per_epoch: int,
                   protocol: Protocol | None = None) -> dict[str, Any]:
    """The history as the run history stores it: ``TrainingHistory.to_dict()`` plus the
    steps per epoch, the hold-out and the validation protocol ({} when unknown)."""
    stored = history.to_dict()
    stored[STEPS_PER_EPOCH_KEY] = int(steps_per_epoch)
    if experiment.holdout is not None:
        stored[VALIDATION_KEY] = experiment.holdout.to_dict()
    stored[PROTOCOL_KEY] = protocol.to_dict() if protocol is not None else {}
    return stored


def final_metrics(epoch_metrics: list[dict]) -> dict[str, float]:
    """The last validation metrics of a run ({} when it never validated)."""
    return dict(next((m for m in reversed(epoch_metrics) if m), {}))


def run_record(
    experiment: Experiment,
    *,
    status: str,
    history: TrainingHistory,
    seconds: float,
    device: str,
    steps_per_epoch: int,
    data_fingerprint: str = "",
    checkpoint_path: str = "",
    protocol: Protocol | None = None,
    sweep_id: str = "",
    sweep_trial: dict[str, Any] | None = None,
) -> RunRecord:
    """Step 3a: the run history's record of one run (the same fields from the CLI and the app).

    ``metrics`` are the last validation's; the best epoch and its values are in the history
    (``RunRecord.best_epoch``, ``RunRecord.best_metrics``), beside ``protocol`` (how they
    were measured: ``ExperimentOutcome.protocol``). A continued run (``experiment.resume``)
    links its parent run; a sweep's trial carries ``sweep_id`` and, in the history under
    ``SWEEP_KEY``, ``sweep_trial`` (its number and sampled parameters).
    """
    if status not in STATUSES:
        raise ValueError(f"unknown run status {status!r}; expected one of {STATUSES}")
    stored = stored_history(history, experiment, steps_per_epoch, protocol)
    if sweep_trial is not None:
        stored[SWEEP_KEY] = dict(sweep_trial)
    return RunRecord(
        config=experiment.config.to_dict(),
        filter_config=experiment.filter_config.to_dict(),
        data_fingerprint=data_fingerprint,
        data_source=experiment.source,
        history=stored,
        metrics=final_metrics(history.epoch_metrics),
        device=str(device),
        seconds=float(seconds),
        checkpoint_path=checkpoint_path,
        status=status,
        parent_run_id=experiment.resume.parent_run_id if experiment.resume is not None else None,
        sweep_id=sweep_id,
    )


def checkpoint_extra(experiment: Experiment, app: str = "") -> dict[str, Any]:
    """What a checkpoint records beside the model: data source, format and hold-out (and the
    checkpoint a continued run started from)."""
    extra: dict[str, Any] = {
        "source": experiment.source,
        "source_format": experiment.source_format,
        "holdout": experiment.holdout.to_dict() if experiment.holdout else {},
    }
    if experiment.resume is not None:
        extra["resumed_from"] = str(experiment.resume.checkpoint)
    if app:
        extra["app"] = app
    return extra


def record_run(
    record: RunRecord,
    store: RunStore,
    *,
    model: TrainedModel | None = None,
    checkpoint_path: str | Path | None = None,
    extra: dict[str, Any] | None = None,
    interactions: pd.DataFrame | None = None,
) -> RecordResult:
    """Step 3b: save ``model`` to ``checkpoint_path`` (when both are given) and add ``record``
    to ``store``. Never raises for a checkpoint or store problem: the result says what failed,
    and ``RunStore`` keeps an unwritable run pending. ``interactions`` are fingerprinted when
    the record has no fingerprint yet. The checkpoint's ``extra`` gets the run's store key
    (``RUN_UID_KEY``), by which a run continued from it finds its parent.
    """
    if not record.data_fingerprint:
        known = model.data_fingerprint if model is not None else ""
        if known or interactions is not None:
            record.data_fingerprint = known or data_fingerprint(interactions)
    checkpoint_error = ""
    uid = uuid.uuid4().hex  # the run's key in the store, also written into its checkpoint (links continued runs)
    if model is not None and checkpoint_path is not None:
        try:
            Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True)
            saved = save_checkpoint(model, checkpoint_path, {**(extra or {}), RUN_UID_KEY: uid})
            record.checkpoint_path = str(Path(saved).resolve())
        except (OSError, SasrecError) as exc:
            checkpoint_error = str(exc)
    try:
        run_id = store.add(record, uid=uid)
    except RunStoreError as exc:
        return RecordResult(record, None, checkpoint_error, str(exc), str(store.path))
    except OSError as exc:  # not even the pending file could be written
        message = f"Cannot write the run history beside '{store.path}': {exc.strerror or exc}"
        return RecordResult(record, None, checkpoint_error, message, str(store.path))
    return RecordResult(record, run_id, checkpoint_error, "", str(store.path))


__all__ = [
    "Experiment", "ExperimentOutcome", "Holdout", "HOLDOUT_SCHEMES", "PROTOCOL_KEY", "RUN_UID_KEY", "RecordResult",
    "ReportedHistory", "STATUSES", "STEPS_PER_EPOCH_KEY", "SWEEP_KEY", "VALIDATION_KEY", "checkpoint_extra", "filter_data",
    "final_metrics",
    "prepare_holdout", "record_run", "run_record", "stored_history", "train",
]
