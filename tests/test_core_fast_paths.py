"""Fast paths give exactly what the plain versions gave, on ids and times of every kind: the
packed sort and flat scatters of ``core.sequences`` (against the lexsort-and-2D-index
reference kept here), and ``apply_filters`` with ``columns``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.sequences import (
    ItemIdMap,
    UserHistories,
    _group_bounds,
    build_training_sequences,
    sort_by_user_time,
    user_keys,
    user_time_order,
)


def reference_sequences(interactions: pd.DataFrame, session_maxlen: int):  # noqa: ANN201 - (x, y, w, users, external)
    """The implementation before the packed sort (lexsort, 2D fancy indexing)."""
    keys = user_keys(interactions["user_id"])
    order = np.lexsort((interactions["datetime"].to_numpy().view(np.int64), keys))
    users = interactions["user_id"].to_numpy()[order]
    items = interactions["item_id"].to_numpy()[order]
    weights = interactions["weight"].to_numpy(dtype=np.float32)[order]
    starts, lengths = _group_bounds(keys[order])
    keep_user = lengths >= 2
    starts, lengths = starts[keep_user], lengths[keep_user]
    kept = np.minimum(lengths, session_maxlen + 1)
    first = starts + lengths - kept
    n = len(starts)
    seq_of_row = np.repeat(np.arange(n), kept)
    offset_in_seq = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    rows = first[seq_of_row] + offset_in_seq
    item_map = ItemIdMap.from_ids(items[rows])
    internal = item_map.to_internal(items[rows])
    row_weights = weights[rows]
    x = np.zeros((n, session_maxlen), dtype=np.int64)
    y = np.zeros((n, session_maxlen), dtype=np.int64)
    w = np.zeros((n, session_maxlen), dtype=np.float32)
    col = session_maxlen - kept[seq_of_row] + 1 + offset_in_seq
    is_input = offset_in_seq < kept[seq_of_row] - 1
    is_target = offset_in_seq >= 1
    x[seq_of_row[is_input], col[is_input]] = internal[is_input]
    y[seq_of_row[is_target], col[is_target] - 1] = internal[is_target]
    w[seq_of_row[is_target], col[is_target] - 1] = row_weights[is_target]
    return x, y, w, users[starts], item_map.external


def _frame(rng: np.random.Generator, n: int, kind: str) -> pd.DataFrame:
    users = rng.integers(0, max(n // 4, 2), n)
    items = rng.integers(0, 50, n)
    if kind == "days":  # KION: dates at midnight, many ties
        times = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    elif kind == "seconds":  # MovieLens: unix seconds
        times = pd.to_datetime(rng.integers(9e8, 9.5e8, n), unit="s")
    elif kind == "same":  # every row at one time: only the file order decides
        times = pd.to_datetime(np.full(n, 1_600_000_000), unit="s")
    else:  # nanoseconds over a wide range, big ids: the packed key does not fit (lexsort)
        times = pd.to_datetime(rng.integers(-2**62, 2**62, n))
        users = users * 10**12 - 5 * 10**17
    frame = pd.DataFrame({"user_id": users.astype(np.int64), "item_id": items.astype(np.int64),
                          "datetime": np.asarray(times, dtype="datetime64[ns]"),
                          "weight": rng.choice([1.0, 3.0], n).astype(np.float32)})
    if kind == "text":
        frame["user_id"] = np.array([f"u{u:05d}" for u in frame["user_id"]], dtype=object)
        frame["item_id"] = np.array([f"item-{i}" for i in frame["item_id"]], dtype=object)
    return frame


@pytest.mark.parametrize("kind", ["days", "seconds", "same", "wide", "text"])
@pytest.mark.parametrize("maxlen", [1, 3, 8])
def test_sequences_equal_the_lexsort_reference(kind: str, maxlen: int) -> None:
    frame = _frame(np.random.default_rng(len(kind) * 7 + maxlen), 3000, kind if kind != "text" else "days")
    if kind == "text":
        frame = _frame(np.random.default_rng(5), 3000, "text")
    seq = build_training_sequences(frame, maxlen)
    x, y, w, users, external = reference_sequences(frame, maxlen)
    np.testing.assert_array_equal(seq.x.numpy(), x)
    np.testing.assert_array_equal(seq.y.numpy(), y)
    np.testing.assert_array_equal(seq.w.numpy(), w)
    np.testing.assert_array_equal(seq.user_ids, users)
    np.testing.assert_array_equal(seq.item_map.external, external)
    assert seq.x.dtype == seq.y.dtype and seq.w.numpy().dtype == np.float32


@pytest.mark.parametrize("kind", ["days", "seconds", "same", "wide"])
def test_user_time_order_is_a_stable_lexsort(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(np.random.default_rng(11), 5000, kind)
    keys = user_keys(frame["user_id"])
    times = frame["datetime"].to_numpy().view(np.int64)
    expected = np.lexsort((times, keys))
    if kind != "wide":  # these fit the packed sort: it must not fall back to lexsort
        def no_lexsort(*_args: object) -> None:
            raise AssertionError("lexsort used")

        monkeypatch.setattr(np, "lexsort", no_lexsort)
    np.testing.assert_array_equal(user_time_order(keys, times), expected)
    np.testing.assert_array_equal(sort_by_user_time(frame), expected)


def test_user_time_order_edge_cases() -> None:
    assert user_time_order(np.zeros(0, np.int64), np.zeros(0, np.int64)).tolist() == []
    assert user_time_order(np.array([5]), np.array([7])).tolist() == [0]
    keys = np.array([2, 1, 2, 1, -3], dtype=np.int64)  # negative keys, equal times keep file order
    times = np.array([10, 10, 5, 10, 0], dtype=np.int64)
    assert user_time_order(keys, times).tolist() == np.lexsort((times, keys)).tolist() == [4, 1, 3, 2, 0]
    nat = np.array([np.iinfo(np.int64).min, 3, 1], dtype=np.int64)  # NaT falls back to lexsort
    assert user_time_order(np.array([1, 1, 1]), nat).tolist() == [0, 2, 1]


def test_histories_follow_the_same_order() -> None:
    frame = _frame(np.random.default_rng(3), 2000, "days")
    h = UserHistories.from_interactions(frame)
    keys = user_keys(frame["user_id"])
    order = np.lexsort((frame["datetime"].to_numpy().view(np.int64), keys))
    np.testing.assert_array_equal(h.item_ids, frame["item_id"].to_numpy()[order])
    np.testing.assert_array_equal(h.weights, frame["weight"].to_numpy()[order])


def test_item_map_factorize_matches_from_ids_and_to_internal() -> None:
    ids = np.array([7, 3, 7, 9, 3, 1], dtype=np.int64)
    item_map, internal = ItemIdMap.factorize(ids)
    reference = ItemIdMap.from_ids(ids)
    np.testing.assert_array_equal(item_map.external, reference.external)
    np.testing.assert_array_equal(internal, reference.to_internal(ids))
    text = np.array(["b", "a", "b"], dtype=object)
    text_map, text_internal = ItemIdMap.factorize(text)
    assert text_map.external.tolist() == ["", "b", "a"] and text_internal.tolist() == [1, 2, 1]


def test_apply_filters_columns_keeps_rows_weights_and_report() -> None:
    from core.filters import FilterConfig, apply_filters

    frame = _frame(np.random.default_rng(2), 3000, "days")
    frame["total_dur"] = np.random.default_rng(3).integers(0, 2000, len(frame)).astype(float)
    frame["watched_pct"] = np.random.default_rng(4).integers(0, 100, len(frame)).astype(float)
    config = FilterConfig(min_item_freq=30, min_user_interactions=2)
    full = apply_filters(frame, config)
    slim = apply_filters(frame, config, columns=())
    assert list(slim.interactions.columns) == ["user_id", "item_id", "datetime", "weight"]
    pd.testing.assert_frame_equal(slim.interactions, full.interactions[["user_id", "item_id", "datetime", "weight"]])
    pd.testing.assert_frame_equal(slim.report(), full.report())
    assert list(apply_filters(frame, config, columns=["total_dur"]).interactions.columns) == [
        "user_id", "item_id", "datetime", "weight", "total_dur"]
