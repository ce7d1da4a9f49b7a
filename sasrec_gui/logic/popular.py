"""The popularity baseline for one user, beside SASRec's list (Qt-free; runs in a worker thread)."""
from __future__ import annotations

import pandas as pd

from core.evaluate import popular_recommendations, popularity
from core.recommend import Recommender

from .explanations import interactions_of

#: The recommender's histories as interactions, and each item's number of viewers.
PopularityCache = tuple[pd.DataFrame, pd.Series]


def popular_for_user(
    recommender: Recommender, cache: PopularityCache | None, user_id: int | str, k: int, filter_viewed: bool
) -> tuple[pd.DataFrame, PopularityCache]:
    """Worker thread: the popularity top-k of ``user_id`` (user_id, item_id, score, rank) and the
    (interactions, viewer counts) cache of the recommender's histories (built on the first call)."""
    if cache is None:
        train = interactions_of(recommender.histories)
        cache = (train, popularity(train))
    train, _counts = cache
    return popular_recommendations(train, [user_id], k, filter_viewed=filter_viewed), cache
