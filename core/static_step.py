"""A training step with fixed tensor shapes, so it can be captured in CUDA graphs.

On a GPU the notebook's step (batch 128, 2 blocks, 128 factors) is a few hundred tiny
kernels: launched one by one from Python it is bound by launch overhead, not arithmetic.
``StaticStep`` keeps the whole training set on the device and does everything inside the
step: it picks the batch's rows from the epoch's order by a step counter held on the device,
gathers the non-PAD target positions into a buffer of fixed size (the batch's target count
rounded up to a bucket, known on the host from the epoch's order; unused slots get weight 0),
computes the loss, backpropagates, steps the optimizer, logs the loss and advances the
counter. Nothing in it depends on a host value, so after a few warm-up steps the step is
captured in a ``torch.cuda.CUDAGraph`` per buffer size, and each batch is one ``replay()``.

The maths is the eager step's (``core.train.sequence_loss``, softmax loss): the same batches
in the same order (the epoch's permutation comes from the host generator), the same logits at
the same target positions, summed and divided by the batch's number of targets. The last,
short batch is padded with an all-PAD row that adds no target and changes no other row.
The key padding mask (``use_key_padding_mask``) is part of the model's forward, so the step
honours it; AdamW (``weight_decay``) is captured like Adam. A learning-rate warm-up or decay is
not captured (a graph would replay the lr it was captured with): ``core.train.uses_static_step``
then runs the eager step.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .model import SASRec


#: Target-buffer sizes are multiples of this; each size used gets its own captured graph, so a
#: batch computes logits for at most this many unused slots. 0: one size per epoch (its fullest batch).
CAPACITY_BUCKET = 128


def batch_capacities(target_counts: torch.Tensor, order: torch.Tensor, batch_size: int, multiple: int = 128) -> list[int]:
    """Each batch's number of targets in ``order``, rounded up to ``multiple`` (at least one
    ``multiple``). ``target_counts`` is each sequence's number of non-PAD targets (host tensor)."""
    counts = target_counts.index_select(0, order)
    pad = (-len(counts)) % batch_size
    if pad:
        counts = torch.cat((counts, counts.new_zeros(pad)))
    per_batch = counts.view(-1, batch_size).sum(1)
    return (torch.div(per_batch + multiple - 1, multiple, rounding_mode="floor").clamp_min(1) * multiple).tolist()


def target_capacity(target_counts: torch.Tensor, order: torch.Tensor, batch_size: int, multiple: int = 128) -> int:
    """The most targets any batch of ``order`` holds, rounded up to ``multiple``."""
    return max(batch_capacities(target_counts, order, batch_size, multiple), default=multiple)


def epoch_capacities(
    target_counts: torch.Tensor, order: torch.Tensor, batch_size: int, bucket: int = CAPACITY_BUCKET, max_sizes: int = 6
) -> list[int]:
    """The target-buffer size of each batch of ``order``: its count rounded up to ``bucket``
    (widened until at most ``max_sizes`` sizes occur, since each size is one captured graph with
    its own memory), or with ``bucket`` 0 the epoch's fullest batch for every batch."""
    if bucket <= 0:
        most = target_capacity(target_counts, order, batch_size)
        return [most] * math.ceil(len(order) / batch_size)
    multiple = bucket
    while True:
        sizes = batch_capacities(target_counts, order, batch_size, multiple)
        if len(set(sizes)) <= max_sizes:
            return sizes
        multiple *= 2


class StaticStep:
    """One optimizer step over the next batch of the current epoch, with fixed shapes.

    ``x``, ``y``, ``w`` are the (n, L) training tensors already on the model's device.
    Call ``start_epoch(order, capacities)`` with the epoch's permutation and each batch's
    target-buffer size (``epoch_capacities``), then ``step()`` once per batch; ``losses`` holds
    each batch's loss on the device. On CUDA, after ``warmup`` eager steps, ``step()`` captures
    one graph per buffer size the first time that size comes up and replays it afterwards
    (``graphed`` tells whether any graph runs); elsewhere it runs the same code eagerly.
    """

    def __init__(
        self,
        model: SASRec,
        optimizer: torch.optim.Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        w: torch.Tensor,
        batch_size: int,
        *,
        use_graph: bool = True,
        warmup: int = 3,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.device = x.device
        n, length = x.shape
        self.n, self.length, self.batch_size = n, length, batch_size
        self.n_batches = math.ceil(n / batch_size)
        # row n is all PAD: it pads the last batch without adding targets
        self.x = torch.cat((x, x.new_zeros(1, length))).long()  # int32 in TrainingSequences; int64 on the device
        self.y = torch.cat((y, y.new_zeros(1, length))).long()
        self.w = torch.cat((w, w.new_zeros(1, length)))
        self.order = torch.full((self.n_batches * batch_size,), n, dtype=torch.long, device=self.device)
        self.step_index = torch.zeros(1, dtype=torch.long, device=self.device)
        self.losses = torch.zeros(self.n_batches, device=self.device)
        self._in_batch = torch.arange(batch_size, device=self.device)
        self.use_graph = use_graph and self.device.type == "cuda"
        self.warmup = warmup
        self.autocast_dtype = autocast_dtype
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.graph_error: str | None = None
        self._eager_steps = 0
        self._capacities: list[int] = []
        self._next = 0

    @property
    def graphed(self) -> bool:
        """True once the step runs as captured CUDA graphs."""
        return bool(self.graphs)

    def start_epoch(self, order: torch.Tensor, capacities: list[int]) -> None:
        """Load the epoch's permutation of the sequences (host or device tensor), each batch's
        target-buffer size, and reset the step counter."""
        if len(capacities) != self.n_batches:
            raise ValueError(f"{len(capacities)} capacities for {self.n_batches} batches")
        self.order[: self.n].copy_(order.to(self.device, non_blocking=True))
        self.step_index.zero_()
        self._capacities = [min(int(c), self.batch_size * self.length) for c in capacities]
        self._next = 0

    def step(self) -> None:
        """Run the next batch's step: eagerly during warm-up (or off CUDA), else replay its graph."""
        capacity = self._capacities[self._next]
        self._next += 1
        graph = self.graphs.get(capacity)
        if graph is None and self.use_graph and self._eager_steps >= self.warmup:
            graph = self._capture(capacity)
        if graph is not None:
            graph.replay()
        else:
            self._eager(capacity)

    def _eager(self, capacity: int) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.use_graph:
            # warm up on a side stream, as torch.cuda.graph's documentation asks
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                self._body(capacity)
            torch.cuda.current_stream(self.device).wait_stream(side)
        else:
            self._body(capacity)
        self._eager_steps += 1

    def _capture(self, capacity: int) -> torch.cuda.CUDAGraph | None:
        graph = torch.cuda.CUDAGraph()
        # gradients are allocated inside the capture, in the graph's own memory pool
        self.optimizer.zero_grad(set_to_none=True)
        try:
            # thread_local: CUDA work other threads do meanwhile (the app's UI thread) is allowed
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._body(capacity)
        except RuntimeError as exc:  # capture unsupported here: keep stepping eagerly
            self.graph_error = f"{type(exc).__name__}: {exc}"
            self.use_graph = False
            self.graphs.clear()
            torch.cuda.synchronize(self.device)
            return None
        self.graphs[capacity] = graph
        return graph

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        if self.autocast_dtype is None:
            yield
            return
        # the autocast weight cache must be off while capturing
        with torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype, cache_enabled=False):
            yield

    def _body(self, capacity: int) -> None:
        """The step itself; reads and writes device tensors only."""
        rows = self.order.index_select(0, self.step_index * self.batch_size + self._in_batch)
        x = self.x.index_select(0, rows)
        y = self.y.index_select(0, rows).reshape(-1)
        w = self.w.index_select(0, rows).reshape(-1)
        valid = y != 0
        n_targets = valid.sum()
        # non-PAD targets first, in row-major order (stable), then PAD slots up to capacity
        positions = torch.argsort((~valid).to(torch.uint8), stable=True)[:capacity]
        used = torch.arange(capacity, device=self.device) < n_targets
        with self._autocast():
            hidden = self.model(x).reshape(self.batch_size * self.length, -1)
            hidden = hidden.index_select(0, positions)
            logits = F.linear(hidden, self.model.output_embeddings())
        targets = y.index_select(0, positions)
        weights = w.index_select(0, positions) * used
        loss = (F.cross_entropy(logits.float(), targets, reduction="none") * weights).sum() / n_targets
        loss.backward()
        self.optimizer.step()
        self.losses.index_copy_(0, self.step_index, loss.detach().view(1))
        self.step_index.add_(1)
