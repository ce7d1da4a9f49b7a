"""The training loop: device choice, seeding, progress callback, cancel, OOM handling,
validation with early stopping (the best epoch kept), and continuing a run from a checkpoint.

Per-step losses stay on the device and are handed to the callback in blocks (every
``report_every`` seconds), so a live plot costs no host sync per step. At each epoch end the
weights, Adam's state and the random state are copied (on the device; the best epoch's to the
CPU), so a stop, an early stop or a later continuation starts from a consistent epoch.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .config import SASRecConfig
from .early_stopping import VAL_LOSS_KEY, BestTracker, EarlyStopping
from .errors import ConfigError, OutOfMemoryError, TrainingError
from .item_features import ItemFeatures, build_item_features, check_feature_columns
from .model import SASRec
from .optim import LRSchedule, is_scheduled, make_optimizer
from .sequences import PAD, ItemIdMap, TrainingSequences, build_training_sequences
from .static_step import StaticStep, epoch_capacities


@dataclass
class StepReport:
    """Losses of the steps ``first_step .. first_step + len(losses) - 1`` (1-based) of ``epoch``."""

    epoch: int  # 1-based
    first_step: int
    losses: list[float]
    steps_per_epoch: int
    epochs: int
    sequences_per_sec: float
    elapsed: float

    @property
    def step(self) -> int:
        """The last step this report covers."""
        return self.first_step + len(self.losses) - 1


@dataclass
class EpochReport:
    """End of an epoch: its mean loss, duration and any validation values.

    ``epoch`` and ``epochs`` count from the start of the curves: a run continued from a
    checkpoint after its epoch 5 reports epochs 6, 7, ... of ``5 + config.epochs``.
    ``val_loss`` is the held-out loss (None when the epoch was not validated); ``is_best``
    says this validation is the best so far of the monitored value (``best_epoch``, 0 when
    none yet); ``stopping`` says early stopping ends the run after this epoch.
    """

    epoch: int
    epochs: int
    mean_loss: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    val_loss: float | None = None
    is_best: bool = False
    best_epoch: int = 0
    stopping: bool = False


ProgressCallback = Callable[[StepReport | EpochReport], None]
#: Called after an epoch with the model in eval mode; returns validation metrics.
Validator = Callable[["TrainedModel"], dict[str, float]]
#: Called after an epoch with the model in eval mode (no grad); returns the held-out loss.
LossValidator = Callable[["TrainedModel"], float]
#: Settings that fix the shapes of the weights: a continued run must keep them.
ARCHITECTURE_FIELDS = ("n_factors", "n_blocks", "n_heads", "session_maxlen", "use_pos_emb", "item_features")


@dataclass
class TrainingHistory:
    """Per-step and per-epoch figures of one run (of all its epochs, a continued run's
    parent epochs included), and which epoch was best and which one the model holds."""

    step_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    epoch_metrics: list[dict[str, float]] = field(default_factory=list)
    #: per epoch, the held-out loss (None where the epoch was not validated)
    val_losses: list[float | None] = field(default_factory=list)
    #: the best validated epoch by ``monitor`` (1-based; 0: none)
    best_epoch: int = 0
    #: the best epoch's validation values: its metrics, plus "val_loss" when measured
    best_metrics: dict[str, float] = field(default_factory=dict)
    #: the value the best epoch is chosen by ("NDCG@10", "HR@10", "val_loss"; "": none)
    monitor: str = ""
    #: the epoch whose weights the model holds (0: the last one, as in older runs)
    kept_epoch: int = 0
    #: whether early stopping ended the run before its last epoch
    stopped_early: bool = False
    #: epochs that came from the checkpoint this run continued (0: trained from scratch)
    resumed_after: int = 0
    #: training steps per epoch (0: unknown)
    steps_per_epoch: int = 0

    def to_dict(self) -> dict:
        """Plain lists and numbers (JSON and ``torch.load(weights_only=True)`` safe)."""
        return {
            "step_losses": list(self.step_losses),
            "epoch_losses": list(self.epoch_losses),
            "epoch_seconds": list(self.epoch_seconds),
            "epoch_metrics": [dict(m) for m in self.epoch_metrics],
            "val_losses": [None if v is None else float(v) for v in self.val_losses],
            "best_epoch": int(self.best_epoch),
            "best_metrics": {k: float(v) for k, v in self.best_metrics.items()},
            "monitor": str(self.monitor),
            "kept_epoch": int(self.kept_epoch),
            "stopped_early": bool(self.stopped_early),
            "resumed_after": int(self.resumed_after),
            "steps_per_epoch": int(self.steps_per_epoch),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingHistory":
        """The inverse of ``to_dict``; keys older runs lack take their defaults."""
        return cls(
            [float(v) for v in data.get("step_losses", [])],
            [float(v) for v in data.get("epoch_losses", [])],
            [float(v) for v in data.get("epoch_seconds", [])],
            [dict(m) for m in data.get("epoch_metrics", [])],
            [None if v is None else float(v) for v in data.get("val_losses", [])],
            int(data.get("best_epoch", 0) or 0),
            {str(k): float(v) for k, v in (data.get("best_metrics") or {}).items()},
            str(data.get("monitor", "") or ""),
            int(data.get("kept_epoch", 0) or 0),
            bool(data.get("stopped_early", False)),
            int(data.get("resumed_after", 0) or 0),
            int(data.get("steps_per_epoch", 0) or 0),
        )

    @property
    def epochs(self) -> int:
        """Epochs trained (completed)."""
        return len(self.epoch_losses)

    def kept(self) -> int:
        """The epoch whose weights the model holds (the last one unless recorded otherwise)."""
        return self.kept_epoch if 0 < self.kept_epoch <= self.epochs else self.epochs

    def val_loss_of(self, epoch: int) -> float | None:
        """The held-out loss of 1-based ``epoch`` (None when not measured)."""
        return self.val_losses[epoch - 1] if 0 < epoch <= len(self.val_losses) else None

    def truncated(self, epochs: int) -> "TrainingHistory":
        """The first ``epochs`` epochs (their steps, losses and validations), as the start of a
        continued run: the best epoch, the stop and the kept epoch are left to the new run."""
        per_epoch = self.steps_per_epoch or (len(self.step_losses) // self.epochs if self.epochs else 0)
        return TrainingHistory(
            step_losses=list(self.step_losses[: epochs * per_epoch]),
            epoch_losses=list(self.epoch_losses[:epochs]),
            epoch_seconds=list(self.epoch_seconds[:epochs]),
            epoch_metrics=[dict(m) for m in self.epoch_metrics[:epochs]],
            val_losses=[self.val_loss_of(e) for e in range(1, epochs + 1)],
            monitor=self.monitor,
            steps_per_epoch=self.steps_per_epoch,
        )


@dataclass
class TrainedModel:
    """A fitted SASRec with everything needed to recommend and to save it."""

    module: SASRec
    config: SASRecConfig
    item_map: ItemIdMap
    history: TrainingHistory
    filter_config: dict = field(default_factory=dict)
    n_sequences: int = 0
    device: str = "cpu"
    epochs_done: int = 0
    #: how the training step ran: "cuda graph" (captured and replayed) or "eager"
    step_mode: str = "eager"
    #: ``core.runs.data_fingerprint`` of the filtered interactions the model was trained from
    #: (before any hold-out split); "" when unknown. Used to flag data opened with the model.
    data_fingerprint: str = ""
    #: what continuing this run needs beyond the weights, as of the epoch the weights are from
    #: (``kept_epoch``): ``{"epoch": int, "optimizer": {"state": {param index: {"step",
    #: "exp_avg", "exp_avg_sq": tensor}}, "steps": int}, "rng": {name: uint8 tensor,
    #: "device_type": str}}``, CPU tensors only ("steps": optimizer steps taken, the position
    #: of the learning-rate schedule; absent in older checkpoints); None when unknown (older
    #: checkpoints)
    training_state: dict | None = None

    @property
    def kept_epoch(self) -> int:
        """The epoch whose weights the model holds (the best one after early stopping)."""
        return self.history.kept()


@dataclass
class FitResult:
    """What ``fit`` returns. ``model`` is None only when cancelled before the first epoch ended."""

    model: TrainedModel | None
    cancelled: bool
    seconds: float


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present else CPU; 'cuda'/'cuda:N' checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainingError(f"device '{name}' was asked for but no CUDA device is available; use cpu or auto")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise TrainingError(f"device '{name}' does not exist: {torch.cuda.device_count()} CUDA device(s) found")
    return torch.device(name)


def available_devices() -> list[str]:
    """'cpu' plus one 'cuda:N' per CUDA device found."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return devices


@contextlib.contextmanager
def _determinism(enabled: bool) -> Iterator[None]:
    """Turn on deterministic algorithms for the block only."""
    if not enabled:
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


@contextlib.contextmanager
def _precision(precision: str, device: torch.device) -> Iterator[None]:
    """fp32: nothing; tf32: TF32 matmuls on CUDA for the block; bf16: autocast to bfloat16."""
    if precision == "tf32":
        previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous
    elif precision == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    else:
        yield


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _oom_error(config: SASRecConfig, device: torch.device) -> OutOfMemoryError:
    return OutOfMemoryError(
        f"Out of memory on {device}. Lower batch_size (now {config.batch_size}), "
        f"session_maxlen (now {config.session_maxlen}) or n_factors (now {config.n_factors})."
    )


#: How PyTorch's allocators word running out of memory (CUDA, and the CPU's DefaultCPUAllocator).
_OOM_TEXTS = ("out of memory", "can't allocate memory", "cannot allocate memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the device or the host ran out of memory (CUDA or CPU)."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(t in text for t in _OOM_TEXTS)



def _non_finite_loss(value: float, epoch: int, step: int | None, config: SASRecConfig) -> TrainingError:
    where = f"epoch {epoch}" + (f", step {step}" if step is not None else "")
    return TrainingError(
        f"Training stopped: the loss became {value} in {where}. The learning rate (lr {config.lr:g}) is probably "
        f"too high: lower it, for example to {config.lr / 10:g}."
    )


def sequence_loss(
    model: SASRec,
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    target_pos: torch.Tensor,
    n_targets: int,
    config: SASRecConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Loss of one batch, computed only at the ``target_pos`` flat positions (the non-PAD targets).

    softmax: weighted cross-entropy over the whole catalog, summed and divided by the number
    of targets (RecTools' normalisation); sampled_softmax: the same over the positive and its
    sampled negatives; bce / gbce: sampled negatives, mean over the positive and its
    negatives, weighted, divided by the number of targets.
    """
    # With left padding, an input position is non-PAD exactly where its shifted target is.
    h = model.hidden_at(x, target_pos)
    targets = y.reshape(-1).index_select(0, target_pos).long()  # stored as int32 (core.sequences)
    weights = w.reshape(-1).index_select(0, target_pos)
    return (target_losses(model, h, targets, config, generator) * weights).sum() / n_targets


def target_losses(
    model: SASRec,
    h: torch.Tensor,
    targets: torch.Tensor,
    config: SASRecConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The training loss of each target, unweighted: shape (m,) for hidden states ``h`` (m, d)
    and internal target ids ``targets`` (m,). softmax: cross-entropy over the whole catalog;
    sampled_softmax: cross-entropy over the positive and ``config.n_negatives`` negatives;
    bce / gbce: the mean of the binary cross-entropies of the positive and the negatives.

    Negatives are drawn uniformly from the catalog (PAD excluded) with ``generator``, as
    RecTools' ``CatalogUniformSampler``: a negative may equal the positive (it is not masked)
    and the sampled softmax's logits get no sampling correction (no logQ), as in RecTools
    0.19's ``_calc_sampled_softmax_loss``. With ``n_negatives`` at or above the catalog size
    items are simply drawn several times."""
    emb = model.output_embeddings()
    if config.loss == "softmax":
        logits = h @ emb.T
        return F.cross_entropy(logits.float(), targets, reduction="none")
    negatives = torch.randint(
        1, model.n_items + 1, (h.shape[0], config.n_negatives), device=h.device, generator=generator
    )
    candidates = torch.cat((targets.unsqueeze(1), negatives), dim=1)
    logits = torch.einsum("md,mkd->mk", h, emb[candidates])
    if config.loss == "sampled_softmax":  # the positive is class 0
        return F.cross_entropy(logits.float(), torch.zeros_like(targets), reduction="none")
    if config.loss == "gbce":
        logits = _gbce_logits(logits, config.n_negatives, model.n_items, config.gbce_t)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(-1)


def _gbce_logits(logits: torch.Tensor, n_negatives: int, n_items: int, t: float) -> torch.Tensor:
    """gSASRec's calibrated positive logits (float64, as in the original implementation)."""
    alpha = n_negatives / max(n_items - 1, 1)
    beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)
    pos = logits[:, :1].to(torch.float64)
    eps = 1e-10
    big = torch.finfo(torch.float64).max
    probs = torch.clamp(torch.sigmoid(pos), eps, 1 - eps)
    adjusted = torch.clamp(probs.pow(-beta), 1 + eps, big)
    adjusted = torch.clamp(1 / (adjusted - 1), eps, big)
    return torch.cat((torch.log(adjusted).to(logits.dtype), logits[:, 1:]), dim=1)


@dataclass
class EpochPlan:
    """One epoch's shuffled batches for one rank, with each batch's non-PAD target positions.

    Everything the step needs is sliced with host-side offsets: no boolean indexing and no
    host sync inside the step. With ``world`` ranks, global batch ``b`` (``batch_size``
    sequences) is split row-wise across ranks, and ``global_targets[b]`` counts its targets
    on all ranks, so the loss keeps the single-process normalisation.
    """

    rows: torch.Tensor  # this rank's sequence indices, batch after batch
    row_offsets: list[int]
    #: flat (row_in_batch * L + col) target positions, batch after batch; None where they are
    #: every target cell of each batch (compact sequences without PAD items: ``TrainingSequences.batch_and_cells``)
    positions: torch.Tensor | None
    target_offsets: list[int]
    global_targets: list[int]
    #: per batch, the offsets of its rows' targets PAD included (``TrainingSequences.batch``'s
    #: ``n_targets``); None for a plan of dense targets
    element_offsets: list[int] | None = None

    @property
    def n_batches(self) -> int:
        return len(self.row_offsets) - 1


def plan_epoch(
    y: torch.Tensor | TrainingSequences, batch_size: int, generator: torch.Generator, rank: int = 0, world: int = 1
) -> EpochPlan:
    """Shuffle once per epoch (on the host) and precompute every batch's target positions.

    ``y``: the training sequences (compact, ``TrainingSequences``, host tensors) or their
    dense (n, L) targets (PAD = 0); both give the same plan."""
    compact = isinstance(y, TrainingSequences)
    n, length = (y.n_sequences, y.session_maxlen) if compact else y.shape
    perm = torch.randperm(n, generator=generator)
    n_batches = math.ceil(n / batch_size)
    index = torch.arange(n)
    batch_of = torch.div(index, batch_size, rounding_mode="floor")
    counts = y.target_counts() if compact else (y != 0).sum(1)
    global_targets = torch.bincount(batch_of, weights=counts.index_select(0, perm).double(), minlength=n_batches).long().tolist()
    mine = (index % batch_size) % world == rank
    rows, local_batch = perm[mine], batch_of[mine]
    row_counts = torch.bincount(local_batch, minlength=n_batches)
    row_offsets = torch.cat((torch.zeros(1, dtype=torch.long), torch.cumsum(row_counts, 0)))
    row_in_batch = torch.arange(len(rows)) - row_offsets[local_batch]
    target_counts = torch.bincount(local_batch, weights=counts.index_select(0, rows).double(), minlength=n_batches).long()
    target_offsets = [0] + torch.cumsum(target_counts, 0).tolist()
    if not compact:
        r, c = torch.nonzero((y != 0).index_select(0, rows), as_tuple=True)  # a bool copy, not one of y
        positions = row_in_batch[r] * length + c
        return EpochPlan(rows, row_offsets.tolist(), positions, target_offsets, global_targets)
    lengths = y.target_lengths.index_select(0, rows)
    positions = None  # every target cell: the step takes them from the batch (no epoch-long array)
    if y.has_pad_items():  # targets the item map could not place are skipped, as (y != 0) does
        # row i's targets sit right-aligned in its padded row: flat positions base_i + j, j < lengths_i
        first = torch.cumsum(lengths, 0) - lengths  # each row's first target, batch after batch
        total = int(lengths.sum())
        positions = torch.repeat_interleave(row_in_batch * length + length - lengths - first, lengths, output_size=total)
        positions += torch.arange(total)
        target = torch.repeat_interleave(y.offsets.index_select(0, rows) + 1 - first, lengths, output_size=total)
        target += torch.arange(total)
        positions = positions[y.items.index_select(0, target) != PAD]
    elements = torch.bincount(local_batch, weights=lengths.double(), minlength=n_batches).long()
    element_offsets = [0] + torch.cumsum(elements, 0).tolist()
    return EpochPlan(rows, row_offsets.tolist(), positions, target_offsets, global_targets, element_offsets)


class _LossModule(torch.nn.Module):
    """Wraps the model so the whole loss is one forward (what DDP needs)."""

    def __init__(self, model: SASRec, config: SASRecConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config

    def forward(self, x, y, w, positions, n_targets, generator):  # noqa: ANN001, ANN201
        return sequence_loss(self.model, x, y, w, positions, n_targets, self.config, generator)


def fit(
    interactions: pd.DataFrame,
    config: SASRecConfig,
    *,
    callback: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    report_every: float = 0.1,
    validator: Validator | None = None,
    validate_every: int = 1,
    filter_config: dict | None = None,
    sequences: TrainingSequences | None = None,
    loss_validator: LossValidator | None = None,
    early_stopping: EarlyStopping | None = None,
    init_model: TrainedModel | None = None,
    items: pd.DataFrame | None = None,
) -> FitResult:
    """Train SASRec on (filtered, weighted) ``interactions``.

    ``items``: the items table (``InteractionData.items``) the ``config.item_features``
    columns are read from (``core.item_features``); a continued run keeps ``init_model``'s
    item features and vocabulary instead.

    ``callback`` gets ``StepReport`` blocks about every ``report_every`` seconds and an
    ``EpochReport`` after each epoch; ``should_stop`` is checked every step. When stopped,
    the result keeps the model of the last completed epoch (or None), or the best epoch's
    when early stopping is on.

    Validation (every ``validate_every`` epochs and after the last): ``validator`` gives the
    metrics, ``loss_validator`` the held-out loss. ``early_stopping`` names the monitored
    value: the best epoch is tracked (``TrainingHistory.best_epoch``) and, with a patience,
    training stops when it has not improved for that many validations and the model keeps
    the best epoch's weights (and optimizer state). Without a validator on this process (DDP
    ranks but 0) the stop follows rank 0's decision.

    ``init_model`` continues a run: its weights, Adam state and random state (when it has
    a ``training_state``), its history up to its kept epoch, and its catalog (the training
    sequences are mapped onto it). ``config`` then gives the further epochs and any changed
    training settings; the architecture must stay.

    Raises ``ConfigError`` (invalid ``config``, an architecture change on ``init_model``, or
    ``item_features`` columns that ``items`` lacks or no ``items`` table),
    ``TrainingError`` (nothing to train on, a device that does not exist, a catalog that is
    not ``init_model``'s, or a loss that became NaN or infinite: checked at each progress
    report and epoch end, so without an extra host sync per step; the message names the
    learning rate) and ``OutOfMemoryError`` (CUDA or CPU memory exhausted; the message names
    batch_size, session_maxlen and n_factors).
    """
    config.validate()
    if isinstance(validate_every, bool) or not isinstance(validate_every, int) or validate_every < 1:
        raise ConfigError({"validate_every": f"must be a whole number >= 1, got {validate_every!r}"})
    if init_model is not None:
        changed = architecture_changes(init_model.config, config)
        if changed:
            raise ConfigError(changed)
    else:
        check_feature_columns(items, config.item_features)  # before any work
    device = resolve_device(config.device)
    start = time.perf_counter()
    try:
        if sequences is None:
            sequences = build_training_sequences(interactions, config.session_maxlen)
        if sequences.n_sequences == 0:
            raise TrainingError("No user has at least 2 interactions after filtering: nothing to train on. Loosen the filters.")
        if init_model is not None:
            sequences = align_catalog(sequences, init_model.item_map)
        run = _Run(config, device, start, callback, should_stop, report_every, validator, validate_every,
                   filter_config or {}, loss_validator, early_stopping, init_model)
        features = (getattr(init_model.module, "item_features", None) if init_model is not None
                    else build_item_features(items, config.item_features, sequences.item_map))
        with _determinism(config.deterministic), _precision(config.precision, device):
            return _fit(sequences, run, features)
    except TrainingError:
        raise
    except BaseException as exc:  # noqa: BLE001 - mapped to a clear error below
        if is_out_of_memory(exc):
            if device.type == "cuda":
                torch.cuda.empty_cache()
            raise _oom_error(config, device) from exc
        raise


def architecture_changes(old: SASRecConfig, new: SASRecConfig) -> dict[str, str]:
    """``{field: message}`` for each setting of ``ARCHITECTURE_FIELDS`` that differs: a model
    continued from a checkpoint keeps the shapes of its weights."""
    return {
        name: f"is {getattr(old, name)!r} in the checkpoint; a continued run keeps the model's architecture "
              f"(got {getattr(new, name)!r})"
        for name in ARCHITECTURE_FIELDS if getattr(old, name) != getattr(new, name)
    }


def align_catalog(seq: TrainingSequences, item_map: ItemIdMap) -> TrainingSequences:
    """``seq`` with its internal item ids mapped onto ``item_map``'s (a checkpoint's catalog).

    Raises ``TrainingError`` when the sequences' items are not exactly ``item_map``'s: items
    the checkpoint has no embedding for, or checkpoint items absent from the data.
    """
    if seq.item_map is item_map:
        return seq
    ours = seq.item_map.external[1:]
    remap = item_map.to_internal(ours)  # (n_ours,) internal ids in the checkpoint's catalog
    unknown = int(np.count_nonzero(remap == PAD))
    theirs_in_ours = int(np.count_nonzero(seq.item_map.to_internal(item_map.external[1:]) != PAD))
    if unknown or theirs_in_ours != item_map.n_items:
        raise TrainingError(
            f"The data's catalog differs from the model's: {theirs_in_ours:,} of the model's {item_map.n_items:,} items "
            f"occur in the training sequences, and {unknown:,} of their {len(ours):,} items are unknown to the model. "
            "Continue training on the data (and with the filters) the model was trained on, or train a new model."
        )
    table = torch.from_numpy(np.concatenate(([PAD], remap)).astype(np.int64))
    return TrainingSequences(table[seq.items], seq.weights, seq.offsets, seq.session_maxlen, seq.user_ids, item_map)


def uses_static_step(config: SASRecConfig, device: torch.device, world: int) -> bool:
    """Whether ``fit`` runs the graph-capturable ``StaticStep`` (CUDA, softmax loss, one
    process, not deterministic, ``cuda_graph`` on, constant learning rate) instead of the
    eager step. A learning-rate warm-up or decay (``core.optim.is_scheduled``) falls back to
    the eager step: a captured optimizer step replays the learning rate it was captured with."""
    return (
        device.type == "cuda" and config.cuda_graph and config.loss == "softmax"
        and world == 1 and not config.deterministic and not is_scheduled(config)
    )


@dataclass
class _Run:
    """``fit``'s arguments, as ``_fit`` uses them."""

    config: SASRecConfig
    device: torch.device
    start: float
    callback: ProgressCallback | None
    should_stop: Callable[[], bool] | None
    report_every: float
    validator: Validator | None
    validate_every: int
    filter_config: dict
    loss_validator: LossValidator | None
    early_stopping: EarlyStopping | None
    init_model: TrainedModel | None


@dataclass
class _Snapshot:
    """The weights and ``TrainedModel.training_state`` at the end of ``epoch``."""

    epoch: int
    weights: dict[str, torch.Tensor]
    state: dict


def _fit(seq: TrainingSequences, run: _Run, features: ItemFeatures | None = None) -> FitResult:
    config, device, callback, init = run.config, run.device, run.callback, run.init_model
    _seed_all(config.seed)
    model = SASRec(seq.item_map.n_items, config, features)
    if init is None:
        model.xavier_init()
    else:
        model.load_state_dict(init.module.state_dict())
    model.to(device)
    rank, world = _distributed_rank_world()
    loss_module: torch.nn.Module = _LossModule(model, config)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        loss_module = DistributedDataParallel(loss_module, device_ids=[device.index] if device.type == "cuda" else None)
    static = uses_static_step(config, device, world)
    cuda_opts = {"fused": True, "capturable": static} if device.type == "cuda" else {}
    optimizer = make_optimizer(model.parameters(), config, **cuda_opts)
    resume_state = init.training_state if init is not None else None
    if resume_state:
        _load_optimizer_state(optimizer, resume_state.get("optimizer") or {})
    on_device = seq.to(device)  # compact: each eager batch is padded from it as it comes
    stepper: StaticStep | None = None
    if static:
        x, y, w = on_device.dense()  # padded on the device: the graph step keeps the whole set there
        stepper = StaticStep(
            model, optimizer, x, y, w, config.batch_size,
            autocast_dtype=torch.bfloat16 if config.precision == "bf16" else None,
        )
        target_counts = seq.target_counts()
        x = y = w = on_device = None  # the stepper holds its own copies
    host_gen = torch.Generator().manual_seed(config.seed)
    dev_gen = torch.Generator(device=device).manual_seed(config.seed)
    if resume_state:
        _set_rng_states(resume_state.get("rng") or {}, host_gen, dev_gen, device)
    n = seq.n_sequences
    steps_per_epoch = math.ceil(n / config.batch_size)
    done = init.kept_epoch if init is not None else 0
    history = init.history.truncated(done) if init is not None else TrainingHistory()
    history.resumed_after = done
    history.steps_per_epoch = steps_per_epoch
    total = done + config.epochs
    # optimizer steps taken so far: the learning-rate schedule's position (core.optim)
    steps_taken = _steps_taken(resume_state, done, (init.history.steps_per_epoch if init is not None else 0) or steps_per_epoch)
    schedule = LRSchedule(config, steps_taken + config.epochs * steps_per_epoch) if is_scheduled(config) else None
    rule = run.early_stopping
    tracker = BestTracker(rule) if rule is not None else None
    best: _Snapshot | None = None
    last: _Snapshot | None = None
    trained: TrainedModel | None = None

    def snapshot() -> TrainedModel:
        return TrainedModel(
            module=model, config=copy.deepcopy(config), item_map=seq.item_map, history=history,
            filter_config=dict(run.filter_config), n_sequences=n, device=str(device), epochs_done=len(history.epoch_losses),
            step_mode="cuda graph" if stepper is not None and stepper.graphed else "eager",
        )

    def capture(epoch: int, to_cpu: bool) -> _Snapshot:
        target = "cpu" if to_cpu else None
        weights = {k: v.detach().to(target or v.device, copy=True) for k, v in model.state_dict().items()}
        state = _training_state(optimizer, _rng_states(host_gen, dev_gen, device), epoch, to_cpu, steps_taken)
        return _Snapshot(epoch, weights, state)

    if rule is not None and tracker is not None:
        history.monitor = rule.monitor
        if done:  # a continued run starts from its kept epoch: the best so far, if validated
            tracker.start_from(done, rule.value(history.epoch_metrics[done - 1], history.val_loss_of(done)))
            if tracker.best_epoch == done:
                history.best_epoch = done
                history.best_metrics = _validation_values(history.epoch_metrics[done - 1], history.val_loss_of(done))
                if rule.restores_best and resume_state:
                    best = _Snapshot(done, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
                                     _cpu_state(resume_state))

    for epoch in range(done + 1, total + 1):
        model.train()
        epoch_start = time.perf_counter()
        if stepper is not None:
            order = torch.randperm(n, generator=host_gen)  # the same shuffle plan_epoch draws
            stepper.start_epoch(order, epoch_capacities(target_counts, order, config.batch_size))
            step_losses = stepper.losses
            run_step: Callable[[int], None] = lambda _step: stepper.step()  # noqa: E731
        else:
            eager = _EagerEpoch(loss_module, optimizer, on_device, plan_epoch(seq, config.batch_size, host_gen, rank, world), world, dev_gen)
            step_losses = eager.losses
            run_step = eager.step
        reported = 0
        last_report = time.perf_counter()
        for step in range(steps_per_epoch):
            if run.should_stop is not None and run.should_stop():
                return _stopped(model, history, best if rule is not None and rule.restores_best else None, last, snapshot, run.start)
            if schedule is not None:
                schedule.apply(optimizer, steps_taken)
            run_step(step)
            steps_taken += 1
            now = time.perf_counter()
            if callback is not None and now - last_report >= run.report_every:
                reported = _report_steps(callback, step_losses, reported, step + 1, epoch, total, steps_per_epoch, config, now, run.start, epoch_start, history)
                last_report = now
        now = time.perf_counter()
        if callback is not None:
            reported = _report_steps(callback, step_losses, reported, steps_per_epoch, epoch, total, steps_per_epoch, config, now, run.start, epoch_start, history)
        else:
            history.step_losses.extend(step_losses.tolist())
        mean_loss = float(step_losses.mean())  # the epoch's one host sync
        if not math.isfinite(mean_loss):
            raise _non_finite_loss(mean_loss, epoch, None, config)
        history.epoch_losses.append(mean_loss)
        history.epoch_seconds.append(time.perf_counter() - epoch_start)
        if stepper is not None and stepper.graph_error and epoch == done + 1:
            warnings.warn(f"CUDA graph capture failed, training steps run eagerly: {stepper.graph_error}", stacklevel=2)
        model.eval()
        trained = snapshot()
        metrics: dict[str, float] = {}
        val_loss: float | None = None
        if (run.validator is not None or run.loss_validator is not None) and (epoch % run.validate_every == 0 or epoch == total):
            with torch.no_grad():
                if run.validator is not None:
                    metrics = run.validator(trained)
                if run.loss_validator is not None:
                    val_loss = float(run.loss_validator(trained))
        history.epoch_metrics.append(metrics)
        history.val_losses.append(val_loss)
        is_best = stop = False
        if rule is not None and tracker is not None and (metrics or val_loss is not None):
            is_best = tracker.update(epoch, rule.value(metrics, val_loss))
            if is_best:
                history.best_epoch = epoch
                history.best_metrics = _validation_values(metrics, val_loss)
                if rule.restores_best:
                    best = capture(epoch, to_cpu=True)
            stop = tracker.should_stop
        if world > 1 and rule is not None and rule.restores_best:
            stop = _agree_on_stop(stop, device)
        last = capture(epoch, to_cpu=False)
        if callback is not None:
            callback(EpochReport(epoch, total, mean_loss, history.epoch_seconds[-1], metrics, val_loss, is_best,
                                 history.best_epoch, stop and epoch < total))
        if stop:
            history.stopped_early = epoch < total
            break
    model.eval()
    if stepper is not None:
        optimizer.zero_grad(set_to_none=True)  # the gradients live in the graph's memory pool: free them
    kept = best if rule is not None and rule.restores_best and best is not None else last
    if kept is None:  # not one epoch to train (cannot happen: epochs >= 1)
        return FitResult(None, False, time.perf_counter() - run.start)
    return FitResult(_keep(model, history, kept, snapshot), False, time.perf_counter() - run.start)


def _validation_values(metrics: dict[str, float], val_loss: float | None) -> dict[str, float]:
    """One validation's values: its metrics, plus ``"val_loss"`` when measured."""
    values = {k: float(v) for k, v in metrics.items()}
    if val_loss is not None:
        values[VAL_LOSS_KEY] = float(val_loss)
    return values


def _rng_states(host_gen: torch.Generator, dev_gen: torch.Generator, device: torch.device) -> dict:
    """The random state training goes on from: torch's global generator (dropout on the CPU),
    the shuffling and negative-sampling generators, and CUDA's generator (dropout on a GPU)."""
    states = {"torch": torch.get_rng_state(), "host": host_gen.get_state(), "device": dev_gen.get_state(),
              "device_type": device.type}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def _set_rng_states(states: dict, host_gen: torch.Generator, dev_gen: torch.Generator, device: torch.device) -> None:
    """Continue from ``_rng_states``; generators of another device type keep their seed."""
    try:
        if isinstance(states.get("torch"), torch.Tensor):
            torch.set_rng_state(states["torch"])
        if isinstance(states.get("host"), torch.Tensor):
            host_gen.set_state(states["host"])
        if states.get("device_type") == device.type and isinstance(states.get("device"), torch.Tensor):
            dev_gen.set_state(states["device"])
        if device.type == "cuda" and isinstance(states.get("cuda"), torch.Tensor):
            torch.cuda.set_rng_state(states["cuda"], device)
    except (RuntimeError, TypeError, ValueError) as exc:
        warnings.warn(f"the checkpoint's random state could not be restored ({exc}); continuing from the seed", stacklevel=3)


def _training_state(optimizer: torch.optim.Optimizer, rng: dict, epoch: int, to_cpu: bool, steps: int = 0) -> dict:
    """``TrainedModel.training_state`` now: a copy of Adam's per-parameter state, the number
    of optimizer ``steps`` taken (the learning-rate schedule's position) and ``rng``."""
    state = {
        int(index): {
            name: (value.detach().to("cpu", copy=True) if to_cpu else value.detach().clone()) if isinstance(value, torch.Tensor) else value
            for name, value in values.items()
        }
        for index, values in optimizer.state_dict()["state"].items()
    }
    return {"epoch": int(epoch), "optimizer": {"state": state, "steps": int(steps)}, "rng": rng}


def _steps_taken(state: dict | None, epochs: int, steps_per_epoch: int) -> int:
    """The optimizer steps a checkpoint's run had taken: as its training ``state`` records,
    else (older checkpoints) its ``epochs`` times ``steps_per_epoch``; 0 for a new run."""
    saved = ((state or {}).get("optimizer") or {}).get("steps")
    if isinstance(saved, int) and not isinstance(saved, bool) and saved >= 0:
        return saved
    return epochs * steps_per_epoch


def _cpu_state(state: dict) -> dict:
    """``state`` with every tensor copied to the CPU (what checkpoints store)."""
    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu", copy=True)
    if isinstance(state, dict):
        return {k: _cpu_state(v) for k, v in state.items()}
    return state


def _load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load a checkpoint's Adam (or AdamW: the same per-parameter state) state into
    ``optimizer``, keeping its own settings (learning rate, weight decay, fused/capturable), so
    a run can switch between Adam and AdamW when continued. Raises ``TrainingError`` when the
    state does not fit the model."""
    fresh = optimizer.state_dict()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    state = saved.get("state") or {}
    try:
        converted = {int(k): dict(v) for k, v in state.items()}
    except (TypeError, ValueError, AttributeError) as exc:
        raise TrainingError(f"The checkpoint's optimizer state is not readable: {exc}") from exc
    for index, values in converted.items():
        if not 0 <= index < len(params):
            raise TrainingError(f"The checkpoint's optimizer state names parameter {index}; the model has {len(params)}.")
        for name in ("exp_avg", "exp_avg_sq"):
            value = values.get(name)
            if not isinstance(value, torch.Tensor) or value.shape != params[index].shape:
                raise TrainingError(f"The checkpoint's optimizer state does not match the model (parameter {index}, {name}).")
    optimizer.load_state_dict({"state": converted, "param_groups": fresh["param_groups"]})


def _agree_on_stop(stop: bool, device: torch.device) -> bool:
    """Rank 0's early-stopping decision, on every rank (only rank 0 validates)."""
    import torch.distributed as dist

    flag = torch.tensor([1 if stop else 0], device=device)
    dist.broadcast(flag, 0)
    return bool(flag.item())


def _keep(model: SASRec, history: TrainingHistory, kept: _Snapshot, snapshot: Callable[[], TrainedModel]) -> TrainedModel:
    """The model with ``kept``'s weights and training state (CPU copies)."""
    model.load_state_dict(kept.weights)
    model.eval()
    history.kept_epoch = kept.epoch
    trained = snapshot()
    trained.training_state = _cpu_state(kept.state)
    return trained


class _EagerEpoch:
    """One epoch of eager steps over ``plan``'s batches (any device, loss, or world size);
    each batch is padded from the compact ``sequences`` (on the model's device) as it comes."""

    def __init__(self, loss_module: torch.nn.Module, optimizer: torch.optim.Optimizer, sequences: TrainingSequences,
                 plan: EpochPlan, world: int, generator: torch.Generator) -> None:
        self.loss_module, self.optimizer = loss_module, optimizer
        self.sequences = sequences
        self.plan, self.world, self.generator = plan, world, generator
        device = sequences.offsets.device
        self.rows = plan.rows.to(device)
        self.positions = plan.positions.to(device) if plan.positions is not None else None
        self.losses = torch.zeros(plan.n_batches, device=device)

    def step(self, step: int) -> None:
        ro, to, eo = self.plan.row_offsets, self.plan.target_offsets, self.plan.element_offsets
        rows = self.rows[ro[step] : ro[step + 1]]
        x, y, w, cells = self.sequences.batch_and_cells(rows, eo[step + 1] - eo[step] if eo is not None else None)
        positions = cells if self.positions is None else self.positions[to[step] : to[step + 1]]
        # normalised by the whole (global) batch's targets; DDP averages over ranks, so scale back
        n_targets = self.plan.global_targets[step] / self.world
        loss = self.loss_module(x, y, w, positions, n_targets, self.generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.losses[step] = loss.detach()


def _distributed_rank_world() -> tuple[int, int]:
    """(rank, world size) of an initialised process group, else (0, 1)."""
    dist = sys.modules.get("torch.distributed")  # never imported here just to find out
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _report_steps(
    callback: ProgressCallback,
    step_losses: torch.Tensor,
    reported: int,
    upto: int,
    epoch: int,
    epochs: int,
    steps_per_epoch: int,
    config: SASRecConfig,
    now: float,
    start: float,
    epoch_start: float,
    history: TrainingHistory,
) -> int:
    if upto <= reported:
        return reported
    losses = step_losses[reported:upto].tolist()  # the only host sync, once per report
    bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
    if bad is not None:
        raise _non_finite_loss(losses[bad], epoch, reported + 1 + bad, config)
    history.step_losses.extend(losses)
    rate = upto * config.batch_size / max(now - epoch_start, 1e-9)
    callback(StepReport(epoch, reported + 1, losses, steps_per_epoch, epochs, rate, now - start))
    return upto


def _stopped(model: SASRec, history: TrainingHistory, best: _Snapshot | None, last: _Snapshot | None,
             snapshot: Callable[[], TrainedModel], start: float) -> FitResult:
    """Stopped by the user: keep the best epoch (early stopping on) or the last completed one."""
    kept = best or last
    if kept is None:
        return FitResult(None, True, time.perf_counter() - start)
    return FitResult(_keep(model, history, kept, snapshot), True, time.perf_counter() - start)
