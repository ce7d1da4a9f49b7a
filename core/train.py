"""The training loop: device choice, seeding, progress callback, cancel, OOM handling.

Per-step losses stay on the device and are handed to the callback in blocks (every
``report_every`` seconds), so a live plot costs no host sync per step.
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
from .errors import ConfigError, OutOfMemoryError, TrainingError
from .model import SASRec
from .sequences import ItemIdMap, TrainingSequences, build_training_sequences
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
    """End of an epoch: its mean loss, duration and any validation metrics."""

    epoch: int
    epochs: int
    mean_loss: float
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[StepReport | EpochReport], None]
#: Called after an epoch with the model in eval mode; returns validation metrics.
Validator = Callable[["TrainedModel"], dict[str, float]]


@dataclass
class TrainingHistory:
    """Per-step and per-epoch figures of one run."""

    step_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    epoch_metrics: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "step_losses": list(self.step_losses),
            "epoch_losses": list(self.epoch_losses),
            "epoch_seconds": list(self.epoch_seconds),
            "epoch_metrics": [dict(m) for m in self.epoch_metrics],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingHistory":
        return cls(
            [float(v) for v in data.get("step_losses", [])],
            [float(v) for v in data.get("epoch_losses", [])],
            [float(v) for v in data.get("epoch_seconds", [])],
            [dict(m) for m in data.get("epoch_metrics", [])],
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
    of targets (RecTools' normalisation); bce / gbce: sampled negatives, mean over the
    positive and its negatives, weighted, divided by the number of targets.
    """
    # With left padding, an input position is non-PAD exactly where its shifted target is.
    h = model.hidden_at(x, target_pos)
    targets = y.reshape(-1).index_select(0, target_pos)
    weights = w.reshape(-1).index_select(0, target_pos)
    emb = model.output_embeddings()
    if config.loss == "softmax":
        logits = h @ emb.T
        loss = F.cross_entropy(logits.float(), targets, reduction="none")
        return (loss * weights).sum() / n_targets
    negatives = torch.randint(
        1, model.n_items + 1, (h.shape[0], config.n_negatives), device=h.device, generator=generator
    )
    candidates = torch.cat((targets.unsqueeze(1), negatives), dim=1)
    logits = torch.einsum("md,mkd->mk", h, emb[candidates])
    if config.loss == "gbce":
        logits = _gbce_logits(logits, config.n_negatives, model.n_items, config.gbce_t)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(-1)
    return (loss * weights).sum() / n_targets


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
    positions: torch.Tensor  # flat (row_in_batch * L + col) target positions, batch after batch
    target_offsets: list[int]
    global_targets: list[int]

    @property
    def n_batches(self) -> int:
        return len(self.row_offsets) - 1


def plan_epoch(y: torch.Tensor, batch_size: int, generator: torch.Generator, rank: int = 0, world: int = 1) -> EpochPlan:
    """Shuffle once per epoch (on the host) and precompute every batch's target positions."""
    n, length = y.shape
    perm = torch.randperm(n, generator=generator)
    n_batches = math.ceil(n / batch_size)
    index = torch.arange(n)
    batch_of = torch.div(index, batch_size, rounding_mode="floor")
    nonpad_all = y.index_select(0, perm) != 0
    global_targets = torch.bincount(batch_of, weights=nonpad_all.sum(1).double(), minlength=n_batches).long().tolist()
    mine = (index % batch_size) % world == rank
    rows, local_batch = perm[mine], batch_of[mine]
    row_counts = torch.bincount(local_batch, minlength=n_batches)
    row_offsets = torch.cat((torch.zeros(1, dtype=torch.long), torch.cumsum(row_counts, 0)))
    row_in_batch = torch.arange(len(rows)) - row_offsets[local_batch]
    r, c = torch.nonzero(nonpad_all[mine], as_tuple=True)
    positions = row_in_batch[r] * length + c
    target_counts = torch.bincount(local_batch[r], minlength=n_batches)
    target_offsets = [0] + torch.cumsum(target_counts, 0).tolist()
    return EpochPlan(rows, row_offsets.tolist(), positions, target_offsets, global_targets)


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
) -> FitResult:
    """Train SASRec on (filtered, weighted) ``interactions``.

    ``callback`` gets ``StepReport`` blocks about every ``report_every`` seconds and an
    ``EpochReport`` after each epoch; ``should_stop`` is checked every step. When stopped,
    the result keeps the model of the last completed epoch (or None).

    Raises ``ConfigError`` (invalid ``config``), ``TrainingError`` (nothing to train on, a
    device that does not exist, or a loss that became NaN or infinite: checked at each
    progress report and epoch end, so without an extra host sync per step; the message
    names the learning rate) and ``OutOfMemoryError`` (CUDA or CPU memory exhausted; the
    message names batch_size, session_maxlen and n_factors).
    """
    config.validate()
    if isinstance(validate_every, bool) or not isinstance(validate_every, int) or validate_every < 1:
        raise ConfigError({"validate_every": f"must be a whole number >= 1, got {validate_every!r}"})
    device = resolve_device(config.device)
    start = time.perf_counter()
    try:
        if sequences is None:
            sequences = build_training_sequences(interactions, config.session_maxlen)
        if sequences.n_sequences == 0:
            raise TrainingError("No user has at least 2 interactions after filtering: nothing to train on. Loosen the filters.")
        with _determinism(config.deterministic), _precision(config.precision, device):
            return _fit(sequences, config, device, start, callback, should_stop, report_every, validator, validate_every, filter_config or {})
    except TrainingError:
        raise
    except BaseException as exc:  # noqa: BLE001 - mapped to a clear error below
        if is_out_of_memory(exc):
            if device.type == "cuda":
                torch.cuda.empty_cache()
            raise _oom_error(config, device) from exc
        raise


def uses_static_step(config: SASRecConfig, device: torch.device, world: int) -> bool:
    """Whether ``fit`` runs the graph-capturable ``StaticStep`` (CUDA, softmax loss, one
    process, not deterministic, ``cuda_graph`` on) instead of the eager step."""
    return (
        device.type == "cuda" and config.cuda_graph and config.loss == "softmax"
        and world == 1 and not config.deterministic
    )


def _fit(
    seq: TrainingSequences,
    config: SASRecConfig,
    device: torch.device,
    start: float,
    callback: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
    report_every: float,
    validator: Validator | None,
    validate_every: int,
    filter_config: dict,
) -> FitResult:
    _seed_all(config.seed)
    model = SASRec(seq.item_map.n_items, config)
    model.xavier_init()
    model.to(device)
    rank, world = _distributed_rank_world()
    loss_module: torch.nn.Module = _LossModule(model, config)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        loss_module = DistributedDataParallel(loss_module, device_ids=[device.index] if device.type == "cuda" else None)
    static = uses_static_step(config, device, world)
    cuda_opts = {"fused": True, "capturable": static} if device.type == "cuda" else {}
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), **cuda_opts)
    x, y, w = seq.x.to(device), seq.y.to(device), seq.w.to(device)
    stepper: StaticStep | None = None
    if static:
        stepper = StaticStep(
            model, optimizer, x, y, w, config.batch_size,
            autocast_dtype=torch.bfloat16 if config.precision == "bf16" else None,
        )
        target_counts = (seq.y != 0).sum(1)
        x = y = w = None  # the stepper holds its own copies
    host_gen = torch.Generator().manual_seed(config.seed)
    dev_gen = torch.Generator(device=device).manual_seed(config.seed)
    n = seq.n_sequences
    steps_per_epoch = math.ceil(n / config.batch_size)
    history = TrainingHistory()
    trained: TrainedModel | None = None
    last_state: dict | None = None

    def snapshot() -> TrainedModel:
        return TrainedModel(
            module=model, config=copy.deepcopy(config), item_map=seq.item_map, history=history,
            filter_config=dict(filter_config), n_sequences=n, device=str(device), epochs_done=len(history.epoch_losses),
            step_mode="cuda graph" if stepper is not None and stepper.graphed else "eager",
        )

    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_start = time.perf_counter()
        if stepper is not None:
            order = torch.randperm(n, generator=host_gen)  # the same shuffle plan_epoch draws
            stepper.start_epoch(order, epoch_capacities(target_counts, order, config.batch_size))
            step_losses = stepper.losses
            run_step: Callable[[int], None] = lambda _step: stepper.step()  # noqa: E731
        else:
            eager = _EagerEpoch(loss_module, optimizer, x, y, w, plan_epoch(seq.y, config.batch_size, host_gen, rank, world), world, dev_gen)
            step_losses = eager.losses
            run_step = eager.step
        reported = 0
        last_report = time.perf_counter()
        for step in range(steps_per_epoch):
            if should_stop is not None and should_stop():
                return _cancelled(model, last_state, trained, start)
            run_step(step)
            now = time.perf_counter()
            if callback is not None and now - last_report >= report_every:
                reported = _report_steps(callback, step_losses, reported, step + 1, epoch, steps_per_epoch, config, now, start, epoch_start, history)
                last_report = now
        now = time.perf_counter()
        if callback is not None:
            reported = _report_steps(callback, step_losses, reported, steps_per_epoch, epoch, steps_per_epoch, config, now, start, epoch_start, history)
        else:
            history.step_losses.extend(step_losses.tolist())
        mean_loss = float(step_losses.mean())  # the epoch's one host sync
        if not math.isfinite(mean_loss):
            raise _non_finite_loss(mean_loss, epoch, None, config)
        history.epoch_losses.append(mean_loss)
        history.epoch_seconds.append(time.perf_counter() - epoch_start)
        if stepper is not None and stepper.graph_error and epoch == 1:
            warnings.warn(f"CUDA graph capture failed, training steps run eagerly: {stepper.graph_error}", stacklevel=2)
        model.eval()
        trained = snapshot()
        metrics: dict[str, float] = {}
        if validator is not None and (epoch % validate_every == 0 or epoch == config.epochs):
            with torch.no_grad():
                metrics = validator(trained)
        history.epoch_metrics.append(metrics)
        last_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if callback is not None:
            callback(EpochReport(epoch, config.epochs, mean_loss, history.epoch_seconds[-1], metrics))
    model.eval()
    if stepper is not None:
        optimizer.zero_grad(set_to_none=True)  # the gradients live in the graph's memory pool: free them
    return FitResult(snapshot(), False, time.perf_counter() - start)


class _EagerEpoch:
    """One epoch of eager steps over ``plan``'s batches (any device, loss, or world size)."""

    def __init__(self, loss_module: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                 w: torch.Tensor, plan: EpochPlan, world: int, generator: torch.Generator) -> None:
        self.loss_module, self.optimizer = loss_module, optimizer
        self.x, self.y, self.w = x, y, w
        self.plan, self.world, self.generator = plan, world, generator
        self.rows = plan.rows.to(x.device)
        self.positions = plan.positions.to(x.device)
        self.losses = torch.zeros(plan.n_batches, device=x.device)

    def step(self, step: int) -> None:
        ro, to = self.plan.row_offsets, self.plan.target_offsets
        rows = self.rows[ro[step] : ro[step + 1]]
        # normalised by the whole (global) batch's targets; DDP averages over ranks, so scale back
        n_targets = self.plan.global_targets[step] / self.world
        loss = self.loss_module(
            self.x.index_select(0, rows), self.y.index_select(0, rows), self.w.index_select(0, rows),
            self.positions[to[step] : to[step + 1]], n_targets, self.generator,
        )
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
    callback(StepReport(epoch, reported + 1, losses, steps_per_epoch, config.epochs, rate, now - start))
    return upto


def _cancelled(model: SASRec, last_state: dict | None, trained: TrainedModel | None, start: float) -> FitResult:
    if trained is None or last_state is None:
        return FitResult(None, True, time.perf_counter() - start)
    model.load_state_dict(last_state)
    model.eval()
    return FitResult(trained, True, time.perf_counter() - start)
