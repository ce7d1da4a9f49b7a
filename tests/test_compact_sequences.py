"""Training sequences kept compact (CSR) and padded one batch at a time: every batch, every
epoch plan and every count equal those of the dense (n, maxlen) tensors they replace."""
import numpy as np
import pandas as pd
import pytest
import torch

from core.sequences import ItemIdMap, TrainingSequences, build_training_sequences
from core.train import plan_epoch


def _frame(seed: int, n: int = 2000, users: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": rng.integers(0, users, n).astype(np.int64),
        "item_id": rng.integers(0, 60, n).astype(np.int64),
        "weight": rng.choice([0.5, 1.0, 3.0], n).astype(np.float32),
        "datetime": pd.to_datetime(rng.integers(1_600_000_000, 1_600_100_000, n), unit="s"),
    })


def _with_pad_items() -> TrainingSequences:
    """Three sessions, two of them with an item the map could not place (PAD) inside."""
    items = torch.tensor([3, 0, 4, 5, 1, 2, 6, 0, 0, 7, 8], dtype=torch.int32)
    weights = torch.arange(1, 12, dtype=torch.float32)
    offsets = torch.tensor([0, 4, 6, 11])
    return TrainingSequences(items, weights, offsets, 4, np.array([10, 20, 30]), ItemIdMap(np.arange(-1, 9)))


@pytest.mark.parametrize("maxlen", [1, 3, 8])
def test_the_compact_form_holds_only_the_kept_items(maxlen):
    frame = _frame(maxlen)
    seq = build_training_sequences(frame, maxlen)
    per_user = frame.groupby("user_id").size()
    kept = np.minimum(per_user[per_user >= 2].to_numpy(), maxlen + 1)
    assert seq.items.shape == seq.weights.shape == (int(kept.sum()),)
    assert seq.offsets.tolist() == [0, *np.cumsum(kept).tolist()]
    assert seq.items.dtype == torch.int32 and seq.weights.dtype == torch.float32
    assert seq.target_lengths.tolist() == (kept - 1).tolist()


@pytest.mark.parametrize("maxlen", [1, 3, 8])
def test_batches_are_the_rows_of_the_padded_tensors(maxlen):
    seq = build_training_sequences(_frame(maxlen + 10), maxlen)
    x, y, w = seq.dense()  # checked against an independent reference in test_core_fast_paths
    assert x.shape == (seq.n_sequences, maxlen)
    rows = torch.randperm(seq.n_sequences, generator=torch.Generator().manual_seed(maxlen))[:37]
    for n_targets in (None, int(seq.target_lengths[rows].sum())):
        bx, by, bw = seq.batch(rows, n_targets)
        assert torch.equal(bx, x[rows]) and torch.equal(by, y[rows]) and torch.equal(bw, w[rows])
        assert bx.dtype == x.dtype == torch.int32 and bw.dtype == torch.float32


def test_pad_items_stay_where_the_dense_tensors_had_them():
    seq = _with_pad_items()
    x, y, w = seq.dense()
    assert x.tolist() == [[0, 3, 0, 4], [0, 0, 0, 1], [6, 0, 0, 7]]
    assert y.tolist() == [[0, 0, 4, 5], [0, 0, 0, 2], [0, 0, 7, 8]]
    assert w.tolist() == [[0, 2, 3, 4], [0, 0, 0, 6], [8, 9, 10, 11]]
    assert seq.has_pad_items() and not build_training_sequences(_frame(1), 4).has_pad_items()
    assert seq.target_counts().tolist() == (y != 0).sum(1).tolist() == [2, 1, 2]


@pytest.mark.parametrize("world", [1, 2, 3])
@pytest.mark.parametrize("source", ["frame", "pad items"])
def test_the_compact_plan_is_the_dense_plan(world, source):
    seq = build_training_sequences(_frame(world), 5) if source == "frame" else _with_pad_items()
    dense_y = seq.y
    for rank in range(world):
        compact = plan_epoch(seq, 4 if source == "frame" else 2, torch.Generator().manual_seed(7), rank, world)
        dense = plan_epoch(dense_y, 4 if source == "frame" else 2, torch.Generator().manual_seed(7), rank, world)
        assert torch.equal(compact.rows, dense.rows) and compact.row_offsets == dense.row_offsets
        if source == "frame":  # no PAD item: each batch's target cells are its positions
            assert compact.positions is None
            for b in range(compact.n_batches):
                rows = compact.rows[compact.row_offsets[b] : compact.row_offsets[b + 1]]
                cells = seq.batch_and_cells(rows, compact.element_offsets[b + 1] - compact.element_offsets[b])[3]
                assert torch.equal(cells, dense.positions[dense.target_offsets[b] : dense.target_offsets[b + 1]])
        else:
            assert torch.equal(compact.positions, dense.positions)
        assert compact.target_offsets == dense.target_offsets and compact.global_targets == dense.global_targets
        assert dense.element_offsets is None
        lengths = seq.target_lengths[compact.rows]
        assert compact.element_offsets == [0, *[int(lengths[:e].sum()) for e in compact.row_offsets[1:]]]


def test_head_and_no_sequences():
    seq = build_training_sequences(_frame(3), 6)
    first = seq.head(5)
    assert first.n_sequences == 5 and torch.equal(first.x, seq.x[:5]) and torch.equal(first.w, seq.w[:5])
    assert seq.head(10**6).n_sequences == seq.n_sequences
    none = build_training_sequences(_frame(3).drop_duplicates("user_id"), 6)
    assert none.n_sequences == 0 and none.x.shape == (0, 6) and none.target_counts().shape == (0,)
