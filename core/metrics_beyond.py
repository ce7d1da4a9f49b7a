"""Beyond-accuracy metrics: is the model just recommending what is popular?

Every metric takes a recommendations frame (user_id, item_id, rank from 1; RecTools' columns),
looks at each user's top ``k`` (rank <= k), computes one value per user and averages over the
users that have recommendations (users with none are left out, as RecTools does). All are
vectorised over users and work for any k. ``train`` is the interactions the recommendations
were made from (RecTools' ``prev_interactions``): user_id, item_id.

======================  ===========================================================================
Novelty@k               mean self-information  -log2(pop(i) / n_users)  of the recommended items;
                        pop(i): distinct training users of item i, n_users: distinct training
                        users (Zhou et al. 2010, PNAS 107(10); Castells, Hurley & Vargas 2015,
                        "Novelty and diversity in recommender systems", Recommender Systems
                        Handbook). Higher: less popular items. An item without training users
                        counts as seen by one user.
ILD_genre@k             intra-list diversity: mean over the list's pairs of the Jaccard distance
                        1 - |G_i & G_j| / |G_i | G_j| of the items' genre sets (Ziegler et al.
                        2005, "Improving recommendation lists through topic diversification";
                        Smyth & McClave 2001). 0: one genre mix throughout, 1: no genre shared.
                        Items without a listed genre share the set {"unknown"}.
ILD_emb@k               the same with the cosine distance 1 - cos(e_i, e_j) of item embeddings
                        (SASRec's, for every model compared, so lists are judged in one space).
Serendipity@k           RecTools' ``Serendipity``: mean over the top-k of
                        max(p(r) - pu(i), 0) * rel(i), p(r) = (n + 1 - r) / n for rank r,
                        pu(i) = (n + 1 - popularity rank of i) / n (0 for items absent from
                        training; popularity rank: dense rank of the item's number of training
                        interactions, most first), rel(i) = 1 when (user, i) is a test
                        interaction, n = catalog size. Relevant and unexpected (not popular).
PopShare@k              share of each user's top-k that lies in the popularity top-k (the k items
                        with the most distinct training users, ``core.evaluate.popularity``):
                        1.0 is a list made only of best-sellers.
======================  ===========================================================================

Catalog coverage (``Coverage@k``: distinct recommended items / catalog size; Ge,
Delgado-Battenfeld & Jannach 2010, "Beyond accuracy: evaluating recommender systems by coverage
and serendipity") and MeanPop@k live in ``core.evaluate.ranking_metrics``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .filters import rows_per_id
from .ids import IdIndex

#: Metric names this module adds, as ``f"{name}@{k}"`` keys.
BEYOND_METRICS = ("Novelty", "ILD_genre", "ILD_emb", "Serendipity", "PopShare")
#: Elements of one (users, k, k, features) block; bounds the memory of the pairwise metrics.
_BLOCK = 16_000_000


@dataclass
class RecLists:
    """Each user's list as a dense matrix: ``codes[u, r]`` is the position in ``items`` of the
    item at rank r + 1 of ``users[u]`` (-1 where the list is shorter). Shapes: users (n,),
    codes (n, k_max), items (m,) distinct recommended item ids."""

    users: np.ndarray
    codes: np.ndarray
    items: np.ndarray

    @classmethod
    def from_frame(cls, recommendations: pd.DataFrame, k_max: int) -> "RecLists":
        """Lists of ``recommendations`` (user_id, item_id, rank from 1) cut at ``k_max``."""
        recs = recommendations[recommendations["rank"] <= k_max]
        user_codes, users = pd.factorize(recs["user_id"])
        item_codes, items = pd.factorize(recs["item_id"])
        codes = np.full((len(users), k_max), -1, dtype=np.int64)
        codes[user_codes, recs["rank"].to_numpy(dtype=np.int64) - 1] = item_codes
        return cls(np.asarray(users), codes, np.asarray(items))

    def mask(self, k: int) -> np.ndarray:
        """(n, k) bool: where a user's top-k has an item."""
        return self.codes[:, :k] >= 0


def _per_user_mean(lists: RecLists, item_values: np.ndarray, k: int) -> float:
    """Mean over users of the mean of ``item_values`` (one per ``lists.items``) over their top-k."""
    mask = lists.mask(k)
    counts = mask.sum(axis=1)
    if not (counts > 0).any():
        return float("nan")
    values = np.where(mask, item_values[np.maximum(lists.codes[:, :k], 0)], 0.0)
    per_user = values.sum(axis=1)[counts > 0] / counts[counts > 0]
    return float(per_user.mean())


def novelty(recommendations: pd.DataFrame, train: pd.DataFrame, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """``Novelty@k``: mean self-information -log2(pop(i) / n_users) of the recommended items
    (bits), averaged per user then over users. pop(i) = distinct users of item i in ``train``;
    an item absent from ``train`` counts as having one user. NaN without recommendations."""
    from .evaluate import viewers_per_item

    lists = RecLists.from_frame(recommendations, max(ks))
    pop, n_users = viewers_per_item(train)
    counts = pop.reindex(lists.items).fillna(0).to_numpy(dtype=np.float64) if len(lists.items) else np.zeros(0)
    info = -np.log2(np.maximum(counts, 1.0) / max(n_users, 1))
    return {f"Novelty@{k}": _per_user_mean(lists, info, k) for k in ks}


def popularity_share(recommendations: pd.DataFrame, train: pd.DataFrame, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """``PopShare@k``: share of each user's top-k that is among the k items with the most
    distinct users in ``train`` (``core.evaluate.popularity`` order, ties in its stable order),
    averaged over users. 1.0: only best-sellers; NaN without recommendations."""
    from .evaluate import popularity

    lists = RecLists.from_frame(recommendations, max(ks))
    ranking = popularity(train).index
    order = pd.Index(ranking).get_indexer(lists.items) if len(lists.items) else np.zeros(0, np.int64)
    result = {}
    for k in ks:
        in_top = ((order >= 0) & (order < k)).astype(np.float64)
        result[f"PopShare@{k}"] = _per_user_mean(lists, in_top, k)
    return result


def serendipity_per_user(recommendations: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, catalog_size: int, k: int) -> pd.Series:
    """RecTools' ``Serendipity(k).calc_per_user`` (rectools/metrics/serendipity.py): for each
    user of ``recommendations`` the mean over their rows of rank <= k of
    max(p(r) - pu(i), 0) * rel(i) (see the module docstring); index user_id.

    ``test``: the relevant (user_id, item_id) pairs (duplicates count once). ``train``: the
    interactions whose per-item counts (rows, as RecTools' ``value_counts``) give the
    popularity ranks. ``catalog_size``: n, the number of items that could be recommended.
    """
    recs = recommendations[recommendations["rank"] <= k][["user_id", "item_id", "rank"]]
    users = pd.unique(recs["user_id"])
    relevant = test[["user_id", "item_id"]].drop_duplicates().assign(_rel=1.0)
    recs = recs.merge(relevant, on=["user_id", "item_id"], how="left")
    counts = rows_per_id(train["item_id"])  # value_counts, without holding the GIL for every row
    distinct = counts.unique()  # most first: dense rank 1 is the most interacted count
    pop_rank = counts.map(pd.Series(np.arange(1, len(distinct) + 1), index=distinct))
    n = float(catalog_size)
    rank_pop = recs["item_id"].map(pop_rank)
    p_user = (n + 1 - recs["rank"].to_numpy(dtype=np.float64)) / n
    p_any = np.where(rank_pop.notna(), (n + 1 - rank_pop.to_numpy(dtype=np.float64, na_value=0.0)) / n, 0.0)
    value = np.maximum(p_user - p_any, 0.0) * recs["_rel"].fillna(0.0).to_numpy()
    per_user = pd.Series(value, index=recs["user_id"].to_numpy()).groupby(level=0).mean()
    return per_user.reindex(users).rename(None)


def serendipity(recommendations: pd.DataFrame, test: pd.DataFrame, train: pd.DataFrame, catalog_size: int, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """``Serendipity@k`` as RecTools computes it: the mean over users of
    ``serendipity_per_user`` (NaN without recommendations)."""
    result = {}
    for k in ks:
        per_user = serendipity_per_user(recommendations, test, train, catalog_size, k)
        result[f"Serendipity@{k}"] = float(per_user.mean()) if len(per_user) else float("nan")
    return result


def _pairwise_mean(lists: RecLists, distance_block, ks: Sequence[int]) -> dict[int, float]:  # noqa: ANN001
    """Mean over users (with >= 2 items in their top-k) of the mean pairwise distance in the
    top-k. ``distance_block(codes)`` maps a (c, K) block of item codes (>= 0) to its (c, K, K)
    distances. Processed in blocks of users to bound memory."""
    n, k_max = lists.codes.shape
    sums = {k: [] for k in ks}
    width = max(1, _BLOCK // max(1, k_max * k_max * 64))
    for start in range(0, n, width):
        codes = lists.codes[start : start + width]
        dist = distance_block(np.maximum(codes, 0))
        for k in ks:
            mask = (codes[:, :k] >= 0).astype(np.float64)
            d = dist[:, :k, :k]
            pair_sum = (np.einsum("ui,uij,uj->u", mask, d, mask) - np.einsum("ui,uii->u", mask, d)) / 2.0
            m = mask.sum(axis=1)
            ok = m >= 2
            sums[k].append(pair_sum[ok] / (m[ok] * (m[ok] - 1) / 2.0))
    out = {}
    for k in ks:
        values = np.concatenate(sums[k]) if sums[k] else np.zeros(0)
        out[k] = float(values.mean()) if len(values) else float("nan")
    return out


def genre_sets(items: pd.DataFrame | None, item_ids: np.ndarray) -> np.ndarray | None:
    """(m, G) bool multi-hot genre matrix of ``item_ids`` from ``items.genres`` (comma-separated
    genres); items without a genre (or absent from ``items``) get the genre "unknown". None
    when ``items`` has no genres column."""
    if items is None or "genres" not in items.columns or "item_id" not in items.columns:
        return None
    table = items.drop_duplicates("item_id")
    index = IdIndex(table["item_id"].to_numpy())
    pos = index.positions(item_ids)
    genres = pd.Series(table["genres"].to_numpy(dtype=object)[np.maximum(pos, 0)], dtype=object)
    genres[pos < 0] = None
    split = genres.fillna("").astype(str).str.split(",").explode().str.strip().str.lower()
    split = split.where(split != "", "unknown")
    codes, names = pd.factorize(split)
    matrix = np.zeros((len(item_ids), len(names)), dtype=bool)
    matrix[split.index.to_numpy(), codes] = True
    return matrix


def ild_genre(recommendations: pd.DataFrame, items: pd.DataFrame | None, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """``ILD_genre@k``: mean pairwise Jaccard distance of the genre sets in each user's top-k
    (``genre_sets``), averaged over users with at least two items; {} without a genres
    column."""
    lists = RecLists.from_frame(recommendations, max(ks))
    sets = genre_sets(items, lists.items)
    if sets is None:
        return {}
    g = sets.astype(np.float64)
    sizes = g.sum(axis=1)

    def distance(codes: np.ndarray) -> np.ndarray:
        a = g[codes]  # (c, K, G)
        inter = np.einsum("ukg,ulg->ukl", a, a)
        union = sizes[codes][:, :, None] + sizes[codes][:, None, :] - inter
        return 1.0 - inter / np.maximum(union, 1.0)

    return {f"ILD_genre@{k}": v for k, v in _pairwise_mean(lists, distance, ks).items()}


def ild_embedding(recommendations: pd.DataFrame, item_ids: np.ndarray, vectors: np.ndarray, ks: Sequence[int] = (10,)) -> dict[str, float]:
    """``ILD_emb@k``: mean pairwise cosine distance 1 - cos(e_i, e_j) in each user's top-k,
    averaged over users with at least two items. ``item_ids`` (m,) and ``vectors`` (m, d) give
    each item's embedding; recommended items without one are left out of their list."""
    k_max = max(ks)
    known = IdIndex(item_ids).positions(recommendations["item_id"].to_numpy()) >= 0
    lists = RecLists.from_frame(recommendations[known], k_max)
    pos = IdIndex(item_ids).positions(lists.items) if len(lists.items) else np.zeros(0, np.int64)
    unit = np.asarray(vectors, dtype=np.float64)[pos] if len(pos) else np.zeros((0, 1))
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)

    def distance(codes: np.ndarray) -> np.ndarray:
        e = unit[codes]  # (c, K, d)
        return 1.0 - np.einsum("ukd,uld->ukl", e, e)

    return {f"ILD_emb@{k}": v for k, v in _pairwise_mean(lists, distance, ks).items()}


def beyond_accuracy_metrics(
    recommendations: pd.DataFrame,
    train: pd.DataFrame,
    ks: Sequence[int] = (10,),
    *,
    test: pd.DataFrame | None = None,
    catalog_size: int | None = None,
    items: pd.DataFrame | None = None,
    item_vectors: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Every beyond-accuracy metric that the inputs allow, as ``{"Novelty@10": ...}``.

    Always Novelty and PopShare; ILD_genre with an ``items`` table that has genres; ILD_emb
    with ``item_vectors`` (ids (m,), vectors (m, d)); Serendipity with ``test`` (relevant
    pairs) and ``catalog_size``. Column order: metric by metric, each for every k.
    """
    recs = recommendations[["user_id", "item_id", "rank"]]
    result: dict[str, float] = {}
    result.update(novelty(recs, train, ks))
    result.update(ild_genre(recs, items, ks))
    if item_vectors is not None:
        result.update(ild_embedding(recs, item_vectors[0], item_vectors[1], ks))
    if test is not None and catalog_size:
        result.update(serendipity(recs, test, train, catalog_size, ks))
    result.update(popularity_share(recs, train, ks))
    order = {name: i for i, name in enumerate(BEYOND_METRICS)}
    return dict(sorted(result.items(), key=lambda kv: (order[kv[0].split("@")[0]], int(kv[0].split("@")[1]))))
