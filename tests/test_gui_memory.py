"""What the app keeps in memory at KION size (issue 11): leaner copies that give the same results.

Each fast or lean path is compared with the plain computation it replaces, on data with the
awkward cases (text ids, one-interaction users, items held out only, ties)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.evaluate import leave_last_out, popular_recommendations, popularity
from core.filters import FilterConfig, apply_filters
from core.sequences import UserHistories
from sasrec_gui.logic import memory
from sasrec_gui.logic.beyond import last_out_split, model_interactions
from sasrec_gui.logic.compact import compact_data, compact_measures, exact_float32


def _interactions(seed: int, text: bool, n: int = 6000, users: int = 700, items: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    user = rng.integers(0, users, n)
    item = rng.integers(0, items, n)
    frame = pd.DataFrame({
        "user_id": user,
        "item_id": item,
        "datetime": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 20, n), unit="D"),  # many ties
        "weight": rng.choice([1.0, 3.0], n).astype(np.float32),
    })
    # an item that only ever comes last for its users, and a user with one interaction
    last = frame.groupby("user_id")["datetime"].idxmax()
    frame.loc[last.iloc[:5], ["item_id", "datetime"]] = [items + 7, pd.Timestamp("2021-04-01")]
    frame = pd.concat([frame, pd.DataFrame({"user_id": [users + 3], "item_id": [1], "datetime": [pd.Timestamp("2021-03-02")],
                                            "weight": np.float32([1.0])})], ignore_index=True)
    if text:
        frame["user_id"] = [f"u{u:04d}" for u in frame["user_id"]]
        frame["item_id"] = [f"i{i:03d}" for i in frame["item_id"]]
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("text", [False, True])
def test_the_last_out_split_of_histories_is_leave_last_out_of_their_frame(text: bool) -> None:
    histories = UserHistories.from_interactions(_interactions(1, text))
    expected = leave_last_out(model_interactions(histories))
    split = last_out_split(histories)
    pd.testing.assert_frame_equal(split.train, expected.train)
    pd.testing.assert_frame_equal(split.test, expected.test)
    assert split.dropped == expected.dropped and split.scheme == "last"
    assert expected.dropped["unknown"] >= 1 and expected.dropped["seen"] >= 1  # both kinds were exercised


@pytest.mark.parametrize("text", [False, True])
def test_popularity_counts_distinct_users_like_drop_duplicates(text: bool) -> None:
    for seed in range(4):
        train = _interactions(seed, text, n=3000 + 500 * seed, users=300, items=40)  # many ties
        expected = train.drop_duplicates(["user_id", "item_id"])["item_id"].value_counts()
        expected = expected.sort_values(ascending=False, kind="stable")
        pd.testing.assert_series_equal(popularity(train), expected)
    empty = train.iloc[:0]
    assert popularity(empty).empty


def test_popular_recommendations_in_chunks_are_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.evaluate as evaluate

    train = _interactions(2, False)
    users = pd.unique(train["user_id"])[::-1]  # not in id order
    whole = popular_recommendations(train, users, 10)
    monkeypatch.setattr(evaluate, "POPULAR_CHUNK_USERS", 7)
    pd.testing.assert_frame_equal(popular_recommendations(train, users, 10), whole)
    assert whole["user_id"].is_monotonic_increasing and set(whole["user_id"]) == set(users)


def test_measure_columns_become_float32_only_when_exact_and_filter_the_same() -> None:
    frame = pd.DataFrame({
        "user_id": np.arange(6), "item_id": np.arange(6) % 2, "datetime": pd.Timestamp("2021-01-01"),
        "weight": np.ones(6, np.float32),
        "total_dur": [299.0, 300.0, 301.0, np.nan, 5000.0, 12.0],
        "watched_pct": [10.0, 10.100000381469727, 9.0, 50.0, 100.0, 0.0],  # a float32 just above 10.1
    })
    compact = compact_measures(frame)
    assert compact["total_dur"].dtype == np.float32 and compact["watched_pct"].dtype == np.float32
    np.testing.assert_array_equal(compact["total_dur"].to_numpy(np.float64), frame["total_dur"].to_numpy())
    config = FilterConfig(weight_threshold=10.1, min_total_dur=300.0, min_item_freq=1)
    wide, narrow = apply_filters(frame, config).interactions, apply_filters(compact, config).interactions
    np.testing.assert_array_equal(narrow["weight"].to_numpy(), wide["weight"].to_numpy())
    assert list(narrow["user_id"]) == list(wide["user_id"]) == [1, 2, 4]
    assert list(wide["weight"]) == [3.0, 1.0, 3.0]  # 10.1000004 > 10.1 in float64, as in the file

    inexact = frame.assign(watched_pct=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert exact_float32(inexact["watched_pct"].to_numpy()) is None
    assert compact_measures(inexact)["watched_pct"].dtype == np.float64
    already = frame.drop(columns=["total_dur", "watched_pct"])
    assert compact_measures(already) is already

    from core.dataset import InteractionData

    data = InteractionData(frame)
    compacted = compact_data(data)
    assert compacted is not data and compacted.interactions["total_dur"].dtype == np.float32
    assert compact_data(InteractionData(already)).interactions is already


def test_the_allocator_hooks_answer_where_they_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = memory._libc()  # noqa: SLF001
    if libc is not None:  # glibc: the threshold is taken, a trim runs
        assert memory.configure_allocator() is True
        assert isinstance(memory.release_free_memory(), bool)
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.configure_allocator() is False and memory.release_free_memory() is False


def test_model_histories_reuse_the_filtered_data_when_the_settings_are_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import sasrec_gui.services.controller as controller
    from core.dataset import InteractionData
    from sasrec_gui.logic.summary import DataSummary
    from sasrec_gui.services.state import Filtered

    frame = _interactions(3, False)
    data = InteractionData(frame)
    config = FilterConfig(min_item_freq=2)
    result = apply_filters(frame, config, columns=())
    filtered = Filtered(config, result, DataSummary.of(result.interactions))
    model = SimpleNamespace(filter_config=config.to_dict())
    calls = []
    real = controller.filter_for_model
    monkeypatch.setattr(controller, "filter_for_model", lambda m, i: calls.append(1) or real(m, i))
    monkeypatch.setattr(controller, "check_data_match", lambda m, rows: SimpleNamespace(warning=lambda: f"{len(rows)} rows"))

    reused = controller.model_histories(model, data, filtered)
    assert calls == [] and reused.warning == f"{len(result.interactions)} rows"
    again = controller.model_histories(model, data, None)  # no filtered data: filtered for the model
    assert calls == [1]
    np.testing.assert_array_equal(reused.histories.item_ids, again.histories.item_ids)
    np.testing.assert_array_equal(reused.histories.user_ids, again.histories.user_ids)
    other = Filtered(FilterConfig(min_item_freq=50), result, filtered.summary)  # other settings: not reused
    controller.model_histories(model, data, other)
    assert calls == [1, 1]


def test_training_raises_the_mmap_threshold_for_its_run_and_puts_it_back(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

        def malloc_trim(self, pad: int) -> int:
            return 0

    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc())
    monkeypatch.setattr(memory, "_state", {"threshold": None, "training": 0})
    with memory.training_allocator():  # not configured: nothing changes
        pass
    assert calls == []
    assert memory.configure_allocator(1 << 22)
    with memory.training_allocator():
        with memory.training_allocator():  # overlapping runs (a sweep and a run): one raise, one restore
            assert [v for _, v in calls] == [1 << 22, memory.TRAINING_MMAP_THRESHOLD]
        assert len(calls) == 2
    assert [v for _, v in calls] == [1 << 22, memory.TRAINING_MMAP_THRESHOLD, 1 << 22]
    with pytest.raises(RuntimeError), memory.training_allocator():  # a failed run restores it too
        raise RuntimeError("boom")
    assert calls[-1][1] == 1 << 22 and memory._state["training"] == 0  # noqa: SLF001
