"""Tests of ``core.demo``: the embedded KION-shaped demo dataset."""
from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from core import demo
from core.demo import DEFAULT_ITEMS, DEFAULT_USERS, GENRES, DemoTables, generate_demo, write_demo

SMALL = dict(n_users=500, n_items=150, seed=7)

ITEM_COLUMNS = [
    "item_id", "content_type", "title", "title_orig", "release_year", "genres", "countries",
    "for_kids", "age_rating", "studios", "directors", "actors", "description", "keywords",
]
AGE_BANDS = {"age_18_24", "age_25_34", "age_35_44", "age_45_54", "age_55_64", "age_65_inf"}
INCOME_BANDS = {"income_0_20", "income_20_40", "income_40_60", "income_60_90", "income_90_150", "income_150_inf"}


@pytest.fixture(scope="module")
def small() -> DemoTables:
    return generate_demo(**SMALL)


@pytest.fixture(scope="module")
def default() -> tuple[DemoTables, float]:
    start = time.perf_counter()
    tables = generate_demo()
    return tables, time.perf_counter() - start


def notebook_filter(inter: pd.DataFrame) -> pd.DataFrame:
    """The RecTools KION notebook's filters: total_dur >= 300 s, items with >= 20 interactions."""
    inter = inter[inter["total_dur"] >= 300]
    counts = inter["item_id"].value_counts()
    return inter[inter["item_id"].isin(counts[counts >= 20].index)]


def season_pairs(items: pd.DataFrame, first: int = 1, second: int = 2) -> pd.DataFrame:
    """item ids of "<base>: Season <first>" and "<base>: Season <second>" of the same series."""
    parts = items["title"].str.extract(r"^(?P<base>.*): Season (?P<n>\d+)$")
    seasons = items.assign(base=parts["base"], n=pd.to_numeric(parts["n"]))
    a = seasons.loc[seasons["n"] == first, ["base", "item_id", "release_year"]]
    b = seasons.loc[seasons["n"] == second, ["base", "item_id", "release_year"]]
    return a.merge(b, on="base", suffixes=("_a", "_b"))


# ----------------------------------------------------------------------------- schema


def test_interactions_schema(small: DemoTables) -> None:
    inter = small.interactions
    assert list(inter.columns) == ["user_id", "item_id", "last_watch_dt", "total_dur", "watched_pct"]
    assert inter["user_id"].dtype == np.int64
    assert inter["item_id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(inter["last_watch_dt"])
    assert (inter["last_watch_dt"] == inter["last_watch_dt"].dt.normalize()).all()  # dates only
    assert inter["total_dur"].dtype == np.int64
    assert inter["watched_pct"].dtype == np.float64
    assert inter.notna().all().all()
    assert (inter["total_dur"] >= 1).all()
    assert inter["watched_pct"].between(0, 100).all()
    # one row per (user, item), like KION; every id is in the side tables
    assert not inter.duplicated(["user_id", "item_id"]).any()
    assert set(inter["item_id"]) <= set(small.items["item_id"])
    assert set(inter["user_id"]) <= set(small.users["user_id"])


def test_items_schema(small: DemoTables) -> None:
    items = small.items
    assert list(items.columns) == ITEM_COLUMNS
    assert len(items) == SMALL["n_items"]
    assert isinstance(items.index, pd.RangeIndex)
    assert items["item_id"].dtype == np.int64 and items["item_id"].is_unique
    assert items["release_year"].dtype == np.float64
    assert items["release_year"].between(1960, 2021).all()
    assert items["age_rating"].dtype == np.int64
    assert set(items["age_rating"]) <= {0, 6, 12, 16, 18}
    assert set(items["for_kids"].dropna()) <= {0, 1}
    assert items["for_kids"].isna().any()
    assert set(items["content_type"]) == {"film", "series"}
    for col in ("content_type", "title", "title_orig", "genres", "countries", "directors", "actors",
                "description", "keywords"):
        assert pd.api.types.is_string_dtype(items[col]), col
        assert items[col].notna().all(), col
    assert items["studios"].isna().any() and items["studios"].notna().any()
    assert items["title"].is_unique
    genres = items["genres"].str.split(", ")
    assert genres.map(len).between(1, 3).all()
    assert set(genres.explode()) <= set(GENRES)
    assert items["countries"].str.fullmatch(r"[A-Z][A-Za-z ]+(, [A-Z][A-Za-z ]+)?").all()
    assert items["actors"].str.contains(", ").all()
    assert items["description"].str.endswith(".").all()
    assert items["keywords"].str.contains(", ").all()


def test_users_schema(small: DemoTables) -> None:
    users = small.users
    assert list(users.columns) == ["user_id", "age", "income", "sex", "kids_flg"]
    assert len(users) == SMALL["n_users"]
    assert isinstance(users.index, pd.RangeIndex)
    assert users["user_id"].dtype == np.int64 and users["user_id"].is_unique
    assert set(users["age"]) <= AGE_BANDS
    assert set(users["income"]) <= INCOME_BANDS
    assert set(users["sex"].dropna()) == {"M", "F"}
    assert users["kids_flg"].dtype == np.int64
    assert set(users["kids_flg"]) == {0, 1}


def test_catalogue_looks_like_a_streaming_service() -> None:
    items = generate_demo(n_users=200, n_items=1200, seed=3).items
    # English titles; title_orig sometimes the same, sometimes a foreign original
    assert items["title"].str.fullmatch(r"[A-Z][A-Za-z' ]+(\(\d+\))?(: Season \d| \d| II| III| IV|: Part \d)?").all()
    same = (items["title"] == items["title_orig"]).mean()
    assert 0.3 < same < 0.9
    # series with several seasons, released in order
    pairs = season_pairs(items)
    assert len(pairs) >= 20
    assert (pairs["release_year_a"] < pairs["release_year_b"]).all()
    assert items["title"].str.contains(r"(?: \d|: Part \d| II)$").any()  # film sequels
    # many genres, kids' titles rated for kids
    assert items["genres"].str.split(", ").explode().nunique() == len(GENRES)
    cartoons = items["genres"].str.startswith("cartoons")
    assert cartoons.any() and (items.loc[cartoons, "age_rating"] <= 6).all()


# ----------------------------------------------------------------------------- CSV files


def test_write_demo_round_trip(tmp_path) -> None:
    out = write_demo(tmp_path / "demo", **SMALL)
    assert out == tmp_path / "demo"
    tables = generate_demo(**SMALL)

    lines = (out / "interactions.csv").read_text().splitlines()
    assert lines[0] == "user_id,item_id,last_watch_dt,total_dur,watched_pct"
    assert re.fullmatch(r"\d+,\d+,2021-\d\d-\d\d,\d+,\d+(\.\d+)?", lines[1])
    inter = pd.read_csv(out / "interactions.csv")
    assert len(inter) == len(tables.interactions)
    assert inter["last_watch_dt"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    back = inter.assign(last_watch_dt=pd.to_datetime(inter["last_watch_dt"]))
    pd.testing.assert_frame_equal(back, tables.interactions, check_dtype=False)

    for name, frame in (("items_en.csv", tables.items), ("users_en.csv", tables.users)):
        header = (out / name).read_text().splitlines()[0]
        assert header == "," + ",".join(frame.columns), name  # unnamed index column first
        read = pd.read_csv(out / name, index_col=0)
        assert list(read.columns) == list(frame.columns)
        assert read["user_id" if name.startswith("users") else "item_id"].tolist() == frame.iloc[:, 0].tolist()
        pd.testing.assert_frame_equal(read, frame, check_dtype=False, check_index_type=False)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_frames(small: DemoTables) -> None:
    again = generate_demo(**SMALL)
    pd.testing.assert_frame_equal(again.interactions, small.interactions)
    pd.testing.assert_frame_equal(again.items, small.items)
    pd.testing.assert_frame_equal(again.users, small.users)


def test_different_seed_different_frames(small: DemoTables) -> None:
    other = generate_demo(**{**SMALL, "seed": SMALL["seed"] + 1})
    assert not other.interactions.equals(small.interactions)
    assert not other.items["title"].equals(small.items["title"])
    assert not other.users.equals(small.users)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        generate_demo(n_users=0)
    with pytest.raises(ValueError):
        generate_demo(n_items=5)


# ----------------------------------------------------------------------------- dates


def test_dates_in_range_and_in_order_per_user(small: DemoTables) -> None:
    inter = small.interactions
    dt = inter["last_watch_dt"]
    assert dt.min() >= pd.Timestamp("2021-03-13")
    assert dt.max() <= pd.Timestamp("2021-08-22")
    # rows are grouped by user, in watch order: dates never go back within a user
    user = inter["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    assert len(starts) == inter["user_id"].nunique()
    same_user = user[1:] == user[:-1]
    steps = np.diff(dt.to_numpy())[same_user]
    assert (steps >= np.timedelta64(0)).all()
    assert (steps == np.timedelta64(0)).any()  # same-day views happen


# ----------------------------------------------------------------------------- defaults


@pytest.mark.perf
def test_default_demo_generates_in_seconds(default: tuple[DemoTables, float]) -> None:
    assert default[1] < 10.0  # ~0.2 s here; generous for a loaded machine


def test_defaults_size_speed_and_lengths(default: tuple[DemoTables, float]) -> None:
    tables, seconds = default
    assert (demo.DEFAULT_USERS, demo.DEFAULT_ITEMS) == (DEFAULT_USERS, DEFAULT_ITEMS)
    assert len(tables.users) == DEFAULT_USERS and len(tables.items) == DEFAULT_ITEMS
    lengths = tables.interactions.groupby("user_id").size()
    assert len(lengths) == DEFAULT_USERS
    assert 8 <= lengths.mean() <= 15
    assert lengths.between(2, 10).mean() > 0.5
    assert (lengths >= 50).sum() >= 20
    assert (tables.interactions["watched_pct"] > 10).mean() > 0.8
    assert (tables.interactions["watched_pct"] < 10).mean() > 0.03
    # total_dur follows watched_pct
    assert tables.interactions[["total_dur", "watched_pct"]].corr(method="spearman").iloc[0, 1] > 0.5


def test_notebook_filters_keep_most(default: tuple[DemoTables, float]) -> None:
    inter = default[0].interactions
    kept = notebook_filter(inter)
    assert (inter["total_dur"] < 300).mean() > 0.01  # some short views exercise the filter
    assert len(kept) / len(inter) > 0.9
    n_items = inter["item_id"].nunique()
    assert kept["item_id"].nunique() / n_items > 0.9
    assert kept["item_id"].nunique() < n_items  # ... and a few rare items drop out
    assert kept["user_id"].nunique() / DEFAULT_USERS > 0.98


def test_popularity_is_skewed(default: tuple[DemoTables, float]) -> None:
    counts = default[0].interactions["item_id"].value_counts()
    top_decile = counts.iloc[: len(counts) // 10].sum() / counts.sum()
    assert top_decile > 0.25
    assert counts.iloc[0] > 5 * counts.median()


# ----------------------------------------------------------------------------- learnability


def test_seasons_are_watched_in_order(default: tuple[DemoTables, float]) -> None:
    tables = default[0]
    inter = tables.interactions.assign(pos=tables.interactions.groupby("user_id").cumcount())
    pairs = season_pairs(tables.items)
    assert len(pairs) >= 20
    s1 = inter.merge(pairs, left_on="item_id", right_on="item_id_a")
    s2 = inter.merge(pairs, left_on="item_id", right_on="item_id_b")
    both = s1.merge(s2, on=["user_id", "item_id_a"], suffixes=("_1", "_2"))
    in_order = (both["pos_1"] < both["pos_2"]) & (both["last_watch_dt_1"] <= both["last_watch_dt_2"])
    assert in_order.mean() > 0.95
    # most viewers of a Season 1 go on to its Season 2
    not_last = s1["pos"] < s1["user_id"].map(inter.groupby("user_id").size()) - 1
    assert len(both) / not_last.sum() > 0.5


def test_next_item_beats_popularity(default: tuple[DemoTables, float]) -> None:
    """First-order "most common next item" on 80 % of users vs popularity, on the others' last item."""
    inter = notebook_filter(default[0].interactions)
    users = inter["user_id"].unique()
    rng = np.random.default_rng(0)
    test_users = rng.choice(users, size=len(users) // 5, replace=False)
    is_test = inter["user_id"].isin(test_users).to_numpy()
    train, test = inter[~is_test], inter[is_test]

    u, i = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    same = u[1:] == u[:-1]
    pairs = pd.DataFrame({"prev": i[:-1][same], "next": i[1:][same]})
    pair_counts = pairs.value_counts().reset_index(name="n").sort_values(["prev", "n"], ascending=[True, False])
    successors = pair_counts.groupby("prev").head(10).groupby("prev")["next"].agg(list).to_dict()
    popular = train["item_id"].value_counts().index[:10].tolist()

    tail = test[test.groupby("user_id")["user_id"].transform("size") >= 2].groupby("user_id").tail(2)
    context, target = tail["item_id"].to_numpy()[0::2], tail["item_id"].to_numpy()[1::2]
    assert len(target) > 1000

    def next_items(prev: int) -> list[int]:
        recs = list(successors.get(prev, []))
        recs += [p for p in popular if p not in recs]
        return recs[:10]

    hr_pop = float(np.mean([t in popular for t in target]))
    hr_next = float(np.mean([t in next_items(c) for c, t in zip(context, target)]))
    assert hr_next > 0.35
    assert hr_next > hr_pop + 0.25
    assert hr_next > 3 * hr_pop


def test_mean_length_is_tunable() -> None:
    short = generate_demo(n_users=3000, n_items=300, seed=1, mean_length=3.0).interactions
    assert 2.5 < len(short) / 3000 < 3.5
