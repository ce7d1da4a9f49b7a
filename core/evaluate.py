"""Honest offline evaluation: splits, ranking metrics and a popularity baseline.

Metrics (any k, vectorised): HR (share of users with a hit), Recall, NDCG (binary gains,
log2 discount, divided by the achievable ideal DCG), MAP (average precision divided by
min(#relevant, k)), MRR, catalog coverage, and mean popularity (training interactions)
of the recommended items. Novelty, intra-list diversity, serendipity and the popularity share
are in ``core.metrics_beyond``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ConfigError
from .ids import as_id_array
from .sequences import sort_by_user_time

METRICS = ("HR", "Recall", "NDCG", "MAP", "MRR", "Coverage", "MeanPop")


@dataclass
class Split:
    """Training interactions and test targets (user_id, item_id) of one split.

    ``dropped`` counts the held-out interactions that are not test targets, by reason:
    ``"unknown"`` (user or item absent from training) and ``"seen"`` (the user already has
    the item in training, which no model that filters viewed items can hit).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    scheme: str
    dropped: dict[str, int] = field(default_factory=dict)
    test_days: int = 0

    def describe(self) -> str:
        """One line such as ``"8,000 test targets (each user's last interaction); dropped 312
        already seen in training, 5 unknown to training"``."""
        what = "each user's last interaction" if self.scheme == "last" else f"the last {self.test_days} day(s)"
        text = f"{len(self.test):,} test targets ({what})"
        parts = []
        if self.dropped.get("seen"):
            parts.append(f"{self.dropped['seen']:,} already seen in training")
        if self.dropped.get("unknown"):
            parts.append(f"{self.dropped['unknown']:,} with a user or item unknown to training")
        return text + ("; dropped " + ", ".join(parts) if parts else "")


def _drop_unknown(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    known_users = test["user_id"].isin(pd.unique(train["user_id"]))
    known_items = test["item_id"].isin(pd.unique(train["item_id"]))
    return test[known_users & known_items]


def _drop_seen(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Test rows whose (user, item) pair does not occur in ``train``."""
    seen = train[["user_id", "item_id"]].drop_duplicates().assign(_seen=True)
    test = test.merge(seen, on=["user_id", "item_id"], how="left")
    return test[test["_seen"].isna()].drop(columns="_seen")


def _clean_test(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop test rows unknown to training, then those already seen in training; count both."""
    n0 = len(test)
    known = _drop_unknown(train, test)
    fresh = _drop_seen(train, known)
    return fresh.reset_index(drop=True), {"unknown": n0 - len(known), "seen": len(known) - len(fresh)}


def leave_last_out(interactions: pd.DataFrame) -> Split:
    """Each user's last interaction (stable time order) is the test target; the rest is training.

    Users with a single interaction stay in training only. Test rows whose item never
    occurs in training are dropped, and so are test items the user already has in training
    (as ``time_split`` and RecTools' splitters do: with viewed items filtered they can never
    be hit). ``Split.dropped`` counts both.
    """
    order = sort_by_user_time(interactions)
    users = interactions["user_id"].to_numpy()[order]
    is_last = np.r_[users[1:] != users[:-1], True] if len(users) else np.zeros(0, bool)
    is_first = np.r_[True, users[1:] != users[:-1]] if len(users) else np.zeros(0, bool)
    test_rows = order[is_last & ~is_first]
    mask = np.zeros(len(interactions), dtype=bool)
    mask[test_rows] = True
    train = interactions[~mask].reset_index(drop=True)
    test, dropped = _clean_test(train, interactions[mask][["user_id", "item_id"]])
    return Split(train, test, "last", dropped)


def time_split(interactions: pd.DataFrame, test_days: int = 7) -> Split:
    """The last ``test_days`` days (before the latest timestamp) are the test period.

    Test users and items unknown to training are dropped, and so are test items the user
    already saw in training, like RecTools' ``TimeRangeSplitter``.
    """
    if test_days < 1:
        raise ConfigError({"test_days": f"must be at least 1, got {test_days}"})
    if len(interactions) == 0:
        return Split(interactions, interactions[["user_id", "item_id"]], "time", {}, test_days)
    end = interactions["datetime"].max().normalize() + pd.Timedelta(days=1)
    start = end - pd.Timedelta(days=test_days)
    in_test = interactions["datetime"].to_numpy() >= np.datetime64(start)
    train = interactions[~in_test].reset_index(drop=True)
    test, dropped = _clean_test(train, interactions[in_test][["user_id", "item_id"]].drop_duplicates())
    return Split(train, test, "time", dropped, test_days)


def viewers_per_item(train: pd.DataFrame) -> tuple[pd.Series, int]:
    """(distinct users per item of ``train``, items in order of first appearance; the number of
    distinct users). Integer codes, one in-place sort of (user, item) keys and a bincount: the
    same counts as ``drop_duplicates(["user_id", "item_id"])`` with about half its memory
    (three arrays of the row count) and a fraction of its time on millions of rows."""
    user_codes, users = pd.factorize(train["user_id"].to_numpy())
    item_codes, items = pd.factorize(train["item_id"].to_numpy())
    n_items = len(items)
    pairs = user_codes.astype(np.int64, copy=False)
    del user_codes
    pairs *= n_items
    pairs += item_codes
    del item_codes
    pairs.sort()
    viewers = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    del pairs
    viewers %= max(n_items, 1)
    counts = np.bincount(viewers, minlength=n_items).astype(np.int64)
    return pd.Series(counts, index=pd.Index(np.asarray(items), name="item_id"), name="count"), len(users)


def popularity(train: pd.DataFrame) -> pd.Series:
    """Number of distinct users per item in ``train``, most popular first (ties: the item seen
    first in ``train`` first)."""
    return viewers_per_item(train)[0].sort_values(ascending=False, kind="stable")


#: Users whose popularity candidates are ranked together (``popular_recommendations``): their
#: candidate frame holds users x (k + the longest history) rows, so chunks keep it to tens of MB.
POPULAR_CHUNK_USERS = 2_000


def popular_recommendations(train: pd.DataFrame, users: Sequence[int | str], k: int, filter_viewed: bool = True) -> pd.DataFrame:
    """Popularity baseline: the most popular items each user has not seen (when ``filter_viewed``).

    ``users`` are distinct ids; the result (user_id, item_id, rank) lists users in id order
    with viewed items filtered, in the given order without. Viewed items are filtered for
    ``POPULAR_CHUNK_USERS`` users at a time (the same rows as all at once, less memory)."""
    ranking = popularity(train).index.to_numpy()
    users = as_id_array(users)
    if filter_viewed and len(users) > POPULAR_CHUNK_USERS:
        ordered = np.sort(users)
        seen_rows = train[train["user_id"].isin(users)]
        parts = [_popular_unseen(seen_rows, ranking, ordered[start:start + POPULAR_CHUNK_USERS], k)
                 for start in range(0, len(ordered), POPULAR_CHUNK_USERS)]
        return pd.concat(parts, ignore_index=True)
    if not filter_viewed:
        top = ranking[:k]
        return pd.DataFrame({
            "user_id": np.repeat(users, len(top)),
            "item_id": np.tile(top, len(users)),
            "rank": np.tile(np.arange(1, len(top) + 1), len(users)),
        })
    return _popular_unseen(train, ranking, users, k)


def _popular_unseen(train: pd.DataFrame, ranking: np.ndarray, users: np.ndarray, k: int) -> pd.DataFrame:
    """The first ``k`` items of ``ranking`` each of ``users`` has not seen in ``train``, users in id order."""
    # Each user can have seen at most (their history) items, so k + max history candidates suffice.
    seen = train[train["user_id"].isin(users)][["user_id", "item_id"]].drop_duplicates()
    depth = int(min(len(ranking), k + (seen.groupby("user_id").size().max() if len(seen) else 0)))
    cand = pd.DataFrame({
        "user_id": np.repeat(users, depth),
        "item_id": np.tile(ranking[:depth], len(users)),
        "order": np.tile(np.arange(depth), len(users)),
    })
    cand = cand.merge(seen.assign(_seen=True), on=["user_id", "item_id"], how="left")
    cand = cand[cand["_seen"].isna()].sort_values(["user_id", "order"], kind="stable")
    cand["rank"] = cand.groupby("user_id").cumcount() + 1
    return cand[cand["rank"] <= k][["user_id", "item_id", "rank"]].reset_index(drop=True)


def ranking_metrics(
    recommendations: pd.DataFrame,
    test: pd.DataFrame,
    ks: Sequence[int] = (10,),
    *,
    catalog_size: int | None = None,
    item_popularity: pd.Series | None = None,
) -> dict[str, float]:
    """Metrics averaged over the users of ``test`` (a user with no recommendations scores 0).

    ``recommendations``: user_id, item_id, rank (1-based). ``test``: user_id, item_id.
    Returns keys like ``"NDCG@10"``.
    """
    test = test[["user_id", "item_id"]].drop_duplicates()
    test_users = pd.unique(test["user_id"])
    n_users = len(test_users)
    result: dict[str, float] = {}
    if n_users == 0:
        for k in ks:
            for name in METRICS:
                result[f"{name}@{k}"] = float("nan")
        return result
    n_relevant = test.groupby("user_id").size()
    recs = recommendations[recommendations["user_id"].isin(test_users)][["user_id", "item_id", "rank"]]
    hits = recs.merge(test, on=["user_id", "item_id"], how="inner")
    for k in ks:
        hk = hits[hits["rank"] <= k]
        rk = recs[recs["rank"] <= k]
        rank = hk["rank"].to_numpy().astype(np.float64)
        users = hk["user_id"].to_numpy()
        n_rel = n_relevant.reindex(users).to_numpy().astype(np.float64)
        # per-hit contributions, summed per user
        hit_df = pd.DataFrame({"user_id": users, "rank": rank, "dcg": 1.0 / np.log2(rank + 1.0)})
        hit_df = hit_df.sort_values(["user_id", "rank"], kind="stable")
        hit_df["nth_hit"] = hit_df.groupby("user_id").cumcount() + 1
        hit_df["prec"] = hit_df["nth_hit"] / hit_df["rank"]
        per_user = hit_df.groupby("user_id").agg(n_hits=("rank", "size"), dcg=("dcg", "sum"), ap=("prec", "sum"), first=("rank", "min"))
        rel = n_relevant.reindex(per_user.index).to_numpy().astype(np.float64)
        discounts = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))
        idcg = discounts[np.minimum(rel, k).astype(int) - 1]
        result[f"HR@{k}"] = len(per_user) / n_users
        result[f"Recall@{k}"] = float((per_user["n_hits"].to_numpy() / rel).sum() / n_users)
        result[f"NDCG@{k}"] = float((per_user["dcg"].to_numpy() / idcg).sum() / n_users)
        result[f"MAP@{k}"] = float((per_user["ap"].to_numpy() / np.minimum(rel, k)).sum() / n_users)
        result[f"MRR@{k}"] = float((1.0 / per_user["first"].to_numpy()).sum() / n_users)
        del n_rel
        if catalog_size:
            result[f"Coverage@{k}"] = rk["item_id"].nunique() / catalog_size
        else:
            result[f"Coverage@{k}"] = float("nan")
        if item_popularity is not None and len(rk):
            result[f"MeanPop@{k}"] = float(item_popularity.reindex(rk["item_id"]).fillna(0).mean())
        else:
            result[f"MeanPop@{k}"] = float("nan")
    return result
