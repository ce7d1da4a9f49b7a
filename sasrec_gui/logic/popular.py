"""The popularity baseline for one user, beside SASRec's list (Qt-free; runs in a worker thread).

The ranking is ``core.evaluate.popularity`` of the model's own filtered interactions (its user
histories): items by distinct viewers, most first, ties in order of first appearance. It is
worked out once per model from the histories' arrays with sorts and bincounts (numpy releases
the GIL while it sorts, so the interface keeps running), not with a pandas hash of millions of
(user, item) pairs, which holds the GIL for most of a second at KION size. One user's top-k is
then a walk down that ranking past the items they have seen: exactly what
``core.evaluate.popular_recommendations`` gives for that user.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.ids import as_id_array
from core.recommend import Recommender
from core.sequences import UserHistories

#: The histories the viewer counts belong to, and each item's number of viewers (most first).
PopularityCache = tuple[UserHistories, pd.Series]


def viewer_counts(histories: UserHistories) -> pd.Series:
    """Distinct users per item of ``histories`` (index ``item_id``, values ``count``), most
    viewers first, ties in the order the items first appear: equal to
    ``core.evaluate.popularity(explanations.interactions_of(histories))``.

    Item codes in order of first appearance (``pd.factorize``: one hash pass, the GIL mostly
    released), then one in-place sort of (user, item) keys and a bincount: no ``np.unique``
    (numpy 2.4 hashes there, holding the GIL for seconds), and about three arrays of the row
    count alive at a time (~130 MB at KION size).
    """
    items = as_id_array(histories.item_ids)
    n = len(items)
    if not n:
        return pd.Series(np.zeros(0, dtype=np.int64), index=pd.Index(items, name="item_id"), name="count")
    codes, distinct = pd.factorize(items)  # codes in order of first appearance
    n_items = len(distinct)
    pairs = np.zeros(n, dtype=np.int64)  # the user (position) of each row, without np.repeat ...
    pairs[np.cumsum(histories.lengths)[:-1]] = 1
    np.cumsum(pairs, out=pairs)
    pairs *= n_items  # ... then its (user, item) key
    pairs += codes
    del codes
    pairs.sort()
    viewers = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    del pairs
    viewers %= n_items
    counts = np.bincount(viewers, minlength=n_items)
    ranking = np.argsort(-counts, kind="stable")  # ties: the earlier first appearance first
    return pd.Series(counts[ranking], index=pd.Index(np.asarray(distinct)[ranking], name="item_id"), name="count")


def popular_for_user(
    recommender: Recommender, cache: PopularityCache | None, user_id: int | str, k: int, filter_viewed: bool
) -> tuple[pd.DataFrame, PopularityCache]:
    """Worker thread: the popularity top-k of ``user_id`` (user_id, item_id, rank; the items the
    user has seen left out when ``filter_viewed``) and the (histories, viewer counts) cache,
    built on the first call for these histories."""
    histories = recommender.histories
    if cache is None or cache[0] is not histories:
        cache = (histories, viewer_counts(histories))
    ranking = cache[1].index.to_numpy()
    if filter_viewed:
        seen = as_id_array(histories.items_of(user_id))
        ranking = ranking[~np.isin(ranking, seen)] if len(seen) else ranking
    top = ranking[:k]
    users = as_id_array([user_id])
    frame = pd.DataFrame({
        "user_id": np.repeat(users, len(top)),
        "item_id": top,
        "rank": np.arange(1, len(top) + 1, dtype=np.int64),
    })
    return frame, cache
