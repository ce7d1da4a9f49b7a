"""The graph-capturable training step (used on CUDA) keeps the eager step's semantics."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import core.static_step as static_step
import core.train as train_module
from core.config import SASRecConfig
from core.sequences import build_training_sequences
from core.static_step import batch_capacities, epoch_capacities, target_capacity
from core.train import fit

from tests.synthetic import chain_interactions


def _ragged(n_users: int = 203, seed: int = 1) -> pd.DataFrame:
    """Users with 2..20 interactions, so batches hold different numbers of targets."""
    frame = chain_interactions(n_users=n_users, n_items=30, length=20, seed=seed)
    rng = np.random.default_rng(seed)
    keep_len = dict(zip(frame["user_id"].unique(), rng.integers(2, 21, n_users)))
    rank = frame.groupby("user_id").cumcount()
    return frame[rank < frame["user_id"].map(keep_len)].reset_index(drop=True)


def _config(**overrides) -> SASRecConfig:
    base = dict(n_factors=16, n_blocks=2, n_heads=2, session_maxlen=12, batch_size=32, epochs=2,
                dropout_rate=0.0, device="cpu", seed=7)
    return SASRecConfig(**{**base, **overrides})


def test_target_capacity_is_the_fullest_batch_rounded_up():
    counts = torch.tensor([5, 1, 7, 2, 9])
    order = torch.tensor([4, 2, 0, 1, 3])  # batches of 2: (9+7), (5+1), (2)
    assert target_capacity(counts, order, 2, multiple=4) == 16
    assert target_capacity(counts, order, 2, multiple=5) == 20
    assert target_capacity(counts, torch.tensor([1, 3, 0, 2, 4]), 2, multiple=1) == 12  # (1+2), (5+7), (9)


def test_epoch_capacities_bucket_each_batch_and_cap_the_number_of_sizes():
    counts = torch.tensor([5, 1, 7, 2, 9])
    order = torch.tensor([4, 2, 0, 1, 3])  # batches of 2: 16, 6, 2 targets
    assert batch_capacities(counts, order, 2, multiple=4) == [16, 8, 4]
    assert epoch_capacities(counts, order, 2, bucket=4) == [16, 8, 4]
    assert epoch_capacities(counts, order, 2, bucket=0) == [128] * 3  # one size: the fullest batch
    assert epoch_capacities(counts, order, 2, bucket=4, max_sizes=2) == [16, 8, 8]  # buckets widened to 8
    assert epoch_capacities(counts, order, 2, bucket=1, max_sizes=1) == [16, 16, 16]


@pytest.mark.parametrize("bucket", [0, 32])
def test_static_step_trains_exactly_like_the_eager_step(monkeypatch, bucket):
    """Same batches, same targets, same loss normalisation: without dropout, the losses and the
    weights after two epochs match the eager path (203 users: the last batch is short)."""
    data = _ragged()
    eager = fit(data, _config()).model
    monkeypatch.setattr(train_module, "uses_static_step", lambda *args: True)
    monkeypatch.setattr(static_step, "CAPACITY_BUCKET", bucket)
    static = fit(data, _config()).model
    assert len(static.history.step_losses) == len(eager.history.step_losses) == 2 * 7
    np.testing.assert_allclose(static.history.step_losses, eager.history.step_losses, rtol=1e-5)
    for name, value in eager.module.state_dict().items():
        other = static.module.state_dict()[name]
        if name.endswith("in_proj_bias"):
            # the key bias shifts every score of a query equally, so softmax gives it a zero
            # gradient up to rounding noise, which Adam scales up: compare query and value parts
            d = value.shape[0] // 3
            value, other = torch.cat((value[:d], value[2 * d :])), torch.cat((other[:d], other[2 * d :]))
        torch.testing.assert_close(other, value, rtol=1e-4, atol=1e-6, msg=name)


def test_static_step_learns_with_dropout_and_reports_every_step(monkeypatch):
    monkeypatch.setattr(train_module, "uses_static_step", lambda *args: True)
    reports = []
    result = fit(chain_interactions(n_users=200), _config(dropout_rate=0.2, epochs=8, lr=5e-3), callback=reports.append)
    history = result.model.history
    steps = [loss for r in reports if isinstance(r, train_module.StepReport) for loss in r.losses]
    assert steps == history.step_losses and len(steps) == 8 * 7
    assert history.epoch_losses[-1] < 0.6 * history.epoch_losses[0]


def test_static_step_is_used_only_where_it_applies():
    cuda = torch.device("cuda")
    assert train_module.uses_static_step(_config(), cuda, 1)
    assert not train_module.uses_static_step(_config(), torch.device("cpu"), 1)
    assert not train_module.uses_static_step(_config(), cuda, 2)
    assert not train_module.uses_static_step(_config(loss="bce"), cuda, 1)
    assert not train_module.uses_static_step(_config(deterministic=True), cuda, 1)
    assert not train_module.uses_static_step(_config(cuda_graph=False), cuda, 1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_replay_matches_eager_cuda_training():
    data = _ragged(n_users=403)
    graphed = fit(data, _config(device="cuda", epochs=3)).model
    eager = fit(data, _config(device="cuda", epochs=3, cuda_graph=False)).model
    assert (graphed.step_mode, eager.step_mode) == ("cuda graph", "eager")
    np.testing.assert_allclose(graphed.history.step_losses, eager.history.step_losses, rtol=2e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_is_captured_once_per_buffer_size():
    from core.model import SASRec
    from core.static_step import StaticStep

    config = _config(device="cuda")
    seq = build_training_sequences(_ragged(), config.session_maxlen)
    model = SASRec(seq.item_map.n_items, config).cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True, capturable=True)
    step = StaticStep(model, optimizer, seq.x.cuda(), seq.y.cuda(), seq.w.cuda(), 32)
    counts = (seq.y != 0).sum(1)
    used: set[int] = set()
    for _ in range(2):
        order = torch.randperm(seq.n_sequences)
        sizes = epoch_capacities(counts, order, 32, bucket=32)
        used |= set(sizes)
        step.start_epoch(order, sizes)
        for _ in range(step.n_batches):
            step.step()
    assert step.graphed, step.graph_error
    assert set(step.graphs) <= used and len(step.graphs) >= 2  # one graph per size, reused across epochs
    assert torch.isfinite(step.losses).all()
