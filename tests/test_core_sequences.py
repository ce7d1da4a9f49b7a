"""Sequences exactly as the notebook builds them (its toy table, to the element)."""
import numpy as np
import pandas as pd
import pytest
import torch

from core.sequences import ItemIdMap, UserHistories, build_training_sequences, inference_sequences


def toy() -> pd.DataFrame:
    # The notebook's toy table, in its row order.
    return pd.DataFrame({
        "user_id": [1, 2, 2, 1, 3, 1],
        "item_id": [1, 1, 3, 2, 2, 3],
        "weight": np.array([0.1, 0.3, 0.2, 0.3, 0.4, 0.5], dtype=np.float32),
        "datetime": pd.to_datetime(["2021-09-09", "2021-09-09", "2021-09-05", "2021-09-07", "2021-09-05", "2021-09-08"]),
    })


def test_notebook_toy_table_to_the_element():
    seq = build_training_sequences(toy(), session_maxlen=5)
    i = dict(zip(seq.item_map.external[1:], range(1, 4)))  # external -> internal
    i1, i2, i3 = i[1], i[2], i[3]
    assert list(seq.user_ids) == [1, 2]  # u3 has one interaction: out of training
    assert seq.x.tolist() == [[0, 0, 0, i2, i3], [0, 0, 0, 0, i3]]
    assert seq.y.tolist() == [[0, 0, 0, i3, i1], [0, 0, 0, 0, i1]]
    assert torch.allclose(seq.w, torch.tensor([[0, 0, 0, 0.5, 0.1], [0, 0, 0, 0, 0.3]]))
    assert seq.x.dtype == seq.y.dtype == torch.int32 and seq.w.dtype == torch.float32  # ids as int32: half the memory


def test_long_sessions_keep_the_last_maxlen_plus_one_items():
    df = pd.DataFrame({
        "user_id": [7] * 6,
        "item_id": [10, 20, 30, 40, 50, 60],
        "weight": np.arange(1, 7, dtype=np.float32),
        "datetime": pd.date_range("2021-01-01", periods=6),
    })
    seq = build_training_sequences(df, session_maxlen=3)
    ext = seq.item_map.to_external
    assert ext(seq.x[0].numpy()).tolist() == [30, 40, 50]
    assert ext(seq.y[0].numpy()).tolist() == [40, 50, 60]
    assert seq.w[0].tolist() == [4, 5, 6]
    # items cut off the session are not in the catalog (as in RecTools)
    assert set(seq.item_map.external[1:]) == {30, 40, 50, 60}


def test_ties_in_time_keep_file_order():
    df = pd.DataFrame({
        "user_id": [1, 1, 1],
        "item_id": [5, 3, 9],
        "weight": np.ones(3, dtype=np.float32),
        "datetime": pd.to_datetime(["2021-01-02", "2021-01-01", "2021-01-02"]),
    })
    seq = build_training_sequences(df, session_maxlen=4)
    assert seq.item_map.to_external(seq.x[0].numpy()[-2:]).tolist() == [3, 5]
    assert seq.item_map.to_external(seq.y[0].numpy()[-2:]).tolist() == [5, 9]


def test_id_map_round_trip_and_unknown_ids_map_to_pad():
    m = ItemIdMap.from_ids(np.array([42, 7, 42, 99]))
    assert m.n_items == 3
    internal = m.to_internal([7, 99, 42, 1234])
    assert internal.tolist()[-1] == 0
    assert m.to_external(internal[:3]).tolist() == [7, 99, 42]


def test_inference_sequences_drop_unknown_items_and_left_pad():
    m = ItemIdMap.from_ids(np.array([1, 2, 3]))
    x = inference_sequences([np.array([1, 555, 2]), np.array([3, 1, 2, 3, 1])], m, session_maxlen=3)
    assert x.tolist() == [[0, m.to_internal([1])[0], m.to_internal([2])[0]], m.to_internal([2, 3, 1]).tolist()]


def test_user_histories_lookup():
    hist = UserHistories.from_interactions(toy())
    assert hist.items_of(1).tolist() == [2, 3, 1]
    assert hist.items_of(2).tolist() == [3, 1]
    assert 3 in hist and 4 not in hist
    assert hist.items_of(4).size == 0
    frame = hist.frame_of(1)
    assert list(frame.columns) == ["item_id", "datetime", "weight"]
    assert frame["datetime"].is_monotonic_increasing


def test_vectorised_padding_equals_the_per_user_loop():
    from core.sequences import padded_last_items

    rng = np.random.default_rng(0)
    m = ItemIdMap.from_ids(np.arange(1, 30))
    histories = [rng.integers(1, 40, rng.integers(1, 12)) for _ in range(50)]  # ids >= 30 unknown
    row = np.concatenate([np.full(len(h), i) for i, h in enumerate(histories)])
    internal = m.to_internal(np.concatenate(histories))
    assert torch.equal(padded_last_items(row, internal, 50, 5), inference_sequences(histories, m, 5))


def test_repeat_by_lengths_equals_np_repeat_for_any_lengths() -> None:
    from core.sequences import repeat_by_lengths

    rng = np.random.default_rng(7)
    for _ in range(500):
        n = int(rng.integers(0, 9))
        lengths = rng.integers(0, 4, n)  # zeros anywhere: first, last, in a row
        values = rng.integers(-50, 50, n)
        got = repeat_by_lengths(values, lengths)
        assert got.dtype == values.dtype and np.array_equal(got, np.repeat(values, lengths))
    rows = rng.random((4, 3))
    np.testing.assert_array_equal(repeat_by_lengths(rows, [0, 2, 1, 0]), np.repeat(rows, [0, 2, 1, 0], axis=0))
    text = np.array(["u1", "u2", "u3"], dtype=object)
    assert list(repeat_by_lengths(text, [2, 0, 1])) == ["u1", "u1", "u3"]


def test_repeat_by_lengths_refuses_negative_or_mismatched_lengths() -> None:
    from core.sequences import repeat_by_lengths

    with pytest.raises(ValueError, match="negative"):
        repeat_by_lengths(np.arange(3), [1, -1, 2])
    with pytest.raises(ValueError, match="one length per value"):
        repeat_by_lengths(np.arange(3), [1, 2])
