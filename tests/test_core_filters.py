"""FilterConfig: the notebook's defaults, per-step report, date range, validation."""
import numpy as np
import pandas as pd
import pytest

from core.errors import ConfigError
from core.filters import FilterConfig, apply_filters


def kion_like() -> pd.DataFrame:
    # item 1: 25 long views; item 2: 20 views of which 2 short -> 18 after the duration filter
    users = list(range(25)) + list(range(20)) + [100]
    items = [1] * 25 + [2] * 20 + [3]
    dur = [1000] * 25 + [200, 250] + [900] * 18 + [5000]
    pct = [50.0] * 10 + [5.0] * 15 + [80.0] * 20 + [100.0]
    n = len(users)
    return pd.DataFrame({
        "user_id": np.array(users, dtype=np.int64),
        "item_id": np.array(items, dtype=np.int64),
        "datetime": pd.date_range("2021-03-13", periods=n, freq="D"),
        "weight": np.ones(n, dtype=np.float32),
        "total_dur": np.array(dur, dtype=float),
        "watched_pct": np.array(pct),
    })


def test_defaults_are_the_notebooks():
    c = FilterConfig()
    assert (c.weight_threshold, c.weight_above, c.weight_below, c.min_total_dur, c.min_item_freq) == (10, 3, 1, 300, 20)


def test_notebook_pipeline_and_report():
    df = kion_like()
    result = apply_filters(df, FilterConfig())
    out = result.interactions
    # item 2 falls to 18 after the duration filter -> dropped; item 3 has 1 interaction -> dropped
    assert set(out.item_id) == {1}
    assert out.weight.tolist() == [3.0] * 10 + [1.0] * 15
    report = result.report()
    assert report["name"].tolist() == ["loaded", "weighted", "min total_dur", "min item frequency"]
    assert report["rows"].tolist() == [46, 46, 44, 25]
    assert report["items"].tolist() == [3, 3, 3, 1]
    assert report["users"].tolist()[-1] == 25
    assert len(df) == 46 and df.weight.eq(1).all()  # input untouched


def test_min_user_interactions_and_date_range():
    df = kion_like()
    config = FilterConfig(min_item_freq=1, min_user_interactions=2, date_from="2021-03-15", date_to="2021-04-20")
    result = apply_filters(df, config)
    out = result.interactions
    assert len(out) > 0 and out.datetime.min() >= pd.Timestamp("2021-03-15")
    assert out.datetime.max() < pd.Timestamp("2021-04-21")
    assert (out.groupby("user_id").size() >= 2).all()
    assert [s.name for s in result.steps][-2:] == ["min item frequency", "min user interactions"]


def test_without_kion_columns_steps_are_skipped_with_a_note():
    df = kion_like().drop(columns=["total_dur", "watched_pct"])
    result = apply_filters(df, FilterConfig(min_item_freq=1))
    assert len(result.interactions) == len(df)
    notes = {s.name: s.note for s in result.steps}
    assert "no 'watched_pct' column" in notes["weighted"]
    assert "skipped" in notes["min total_dur"]


def test_weight_by_rating():
    df = kion_like().drop(columns=["watched_pct"]).assign(rating=4.0)
    out = apply_filters(df, FilterConfig(weight_by="rating", weight_threshold=3.5, weight_above=2, min_item_freq=1)).interactions
    assert out.weight.eq(2.0).all()


def test_invalid_settings_are_named():
    with pytest.raises(ConfigError) as info:
        apply_filters(kion_like(), FilterConfig(min_item_freq=0, weight_above=-1, date_from="yesterday-ish", min_total_dur=-5))
    assert set(info.value.errors) == {"min_item_freq", "weight_above", "date_from", "min_total_dur"}
    errs = FilterConfig(date_from="2021-05-01", date_to="2021-04-01").errors()
    assert "date_to" in errs


def test_why_user_filtered_names_the_filters_that_removed_the_user():
    from core.filters import FilterConfig, apply_filters, why_user_filtered

    df = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 2, 3, 3, 3],
        "item_id": [10, 11, 12, 10, 10, 10, 10, 11],
        "datetime": pd.to_datetime(["2021-03-13"] * 8),
        "weight": np.ones(8, dtype=np.float32),
        "total_dur": [100.0, 500.0, 600.0, 900.0, 900.0, 900.0, 900.0, 900.0],
        "watched_pct": [50.0] * 8,
    })
    config = FilterConfig(min_total_dur=300, min_item_freq=3)
    filtered = apply_filters(df, config).interactions
    assert set(filtered["user_id"]) == {2, 3}
    text = why_user_filtered(1, df, filtered, config)
    assert "User 1 has 3 interaction(s)" in text
    assert "1 watched for less than 300 s (min_total_dur)" in text
    assert "2 of items with fewer than 3 interactions (min_item_freq)" in text
    assert why_user_filtered(2, df, filtered, config) == ""
    assert why_user_filtered(99, df, filtered, config) == "User 99 is not in the data."


@pytest.mark.parametrize("kind", ["small ints", "large ints", "negative ints", "int32", "text", "empty"])
def test_rows_per_id_equals_pandas_value_counts(kind: str) -> None:
    from core.filters import rows_per_id

    rng = np.random.default_rng(7)
    values = {
        "small ints": rng.integers(0, 40, 500),
        "large ints": rng.integers(0, 30, 500) * 10**12,  # too large to be their own codes
        "negative ints": rng.integers(-20, 20, 500),
        "int32": rng.integers(0, 40, 500).astype(np.int32),
        "text": rng.choice(np.array(["a", "b b", "ç", "10"], dtype=object), 500),
        "empty": np.zeros(0, dtype=np.int64),
    }[kind]
    ids = pd.Series(values, name="item_id")
    ours, theirs = rows_per_id(ids), ids.value_counts()
    pd.testing.assert_series_equal(ours.sort_index(), theirs.sort_index())
    assert ours.is_monotonic_decreasing  # most first, as value_counts
