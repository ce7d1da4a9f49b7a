"""What-if sessions (Qt-free): a hand-built list of items, oldest first, scored exactly as a
user with that history would be (``core.recommend.Recommender.recommend_session``).

The Recommendations page's session editor holds the list; ``what_if_recommendations`` runs in
a worker and returns the titled top-k with what the page says about the session (how many
items the model reads, which ones it does not know).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.ids import id_value, query_ids, to_kind
from core.recommend import Recommender
from core.sequences import PAD

from .catalog import ItemCatalog

#: Shown instead of recommendations while the session holds no item.
EMPTY_SESSION_TEXT = (
    "The what-if session is empty: add items by title (the search box above the list) "
    "or start from the shown user's history."
)
#: Unknown items named in a message at most (the rest are counted).
NAMED_ITEMS = 5


def known_mask(recommender: Recommender, items: Sequence[int | str] | np.ndarray) -> np.ndarray:
    """For each item of ``items``, whether the model's catalog has it (bool, shape (n,));
    ids are compared in the kind of the model's item ids (``core.ids.to_kind``)."""
    given = list(items.tolist() if isinstance(items, np.ndarray) else items)
    if not given:
        return np.zeros(0, dtype=bool)
    ids, valid = to_kind(query_ids(given), recommender.item_map.external)
    return valid & (recommender.item_map.to_internal(ids) != PAD)


def name_items(catalog: ItemCatalog, items: Sequence[int | str], limit: int = NAMED_ITEMS) -> str:
    """'“Title” (item 12), “Other” (item 40) and 3 more': items named by title and id."""
    named = []
    for item in list(items)[:limit]:
        title = catalog.describe(item).split(" · ")[0]
        named.append(f"item {item}" if title == f"Item {item}" else f"“{title}” (item {item})")
    more = len(items) - len(named)
    return ", ".join(named) + (f" and {more} more" if more > 0 else "")


@dataclass
class WhatIfResult:
    """The top-k of one what-if session.

    ``recommendations``: titled frame (user_id "what-if", item_id, score, rank, title, …);
    ``items``: the session as given; ``unknown``: the items the model does not know (as
    given, skipped); ``n_read``: how many known items the model reads (the last
    ``session_maxlen``); ``seconds``: the time the scoring took."""

    items: list[int | str]
    recommendations: pd.DataFrame
    unknown: list[int | str] = field(default_factory=list)
    n_known: int = 0
    n_read: int = 0
    k: int = 10
    filter_viewed: bool = True
    seconds: float = 0.0

    def message(self, catalog: ItemCatalog) -> str:
        """One line for the page: what the model read, and the unknown items by name."""
        cut = f" (it reads the last {self.n_read})" if self.n_read < self.n_known else ""
        seen = ", the session's items hidden" if self.filter_viewed else ""
        text = (f"What-if session: {len(self.items)} item(s), {self.n_known} known to the model{cut}; "
                f"top {self.k}{seen}; scored in {1000.0 * self.seconds:.0f} ms.")
        if self.unknown:
            text += f" Skipped {len(self.unknown)} item(s) the model does not know: {name_items(catalog, self.unknown)}."
        return text


def what_if_recommendations(
    recommender: Recommender, catalog: ItemCatalog, items: Sequence[int | str], k: int = 10, filter_viewed: bool = True,
) -> WhatIfResult:
    """Score ``items`` (oldest first) as a user with exactly that history: the titled top-``k``.

    Raises ``core.errors.RecommendError`` for an empty session or one with no item the model
    knows (its message names the items). Cost: one forward pass and one matrix-vector
    product (about a millisecond on the demo model) plus the title join."""
    start = time.perf_counter()
    given = [id_value(i) for i in items]
    frame = recommender.recommend_session(given, k=k, filter_viewed=filter_viewed)
    unknown = list(frame.attrs.get("unknown_items", []))
    seconds = time.perf_counter() - start
    n_known = len(given) - len(unknown)
    titled = catalog.titled(frame)
    return WhatIfResult(given, titled, unknown, n_known, min(n_known, recommender.module.session_maxlen), k, filter_viewed, seconds)
