"""The item map's data (Qt-free): the PCA projection of the item embeddings and one colour per
item by primary genre, the most frequent genres coloured and the rest grey."""
from __future__ import annotations

import pandas as pd

from core.explain import embedding_map, primary_genre
from core.recommend import Recommender

MAX_COLOURED_GENRES = 12
OTHER = "other genres"
#: Distinct colours that read on light and dark backgrounds (tab10 plus two).
GENRE_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#637939", "#393b79", "#ad494a",
)
OTHER_COLOR = "#b0b8c1"


def genre_colours(genres: pd.Series) -> tuple[list[str], dict[str, str], dict[str, int]]:
    """Per item a colour, the legend's genre -> colour (most frequent first) and genre counts.

    The ``MAX_COLOURED_GENRES - 1`` most frequent genres get their own colour when there are
    more; the rest share grey as 'other genres'.
    """
    counts = genres.value_counts(sort=True)
    names = [str(g) for g in counts.index]
    if len(names) > MAX_COLOURED_GENRES:
        own = names[: MAX_COLOURED_GENRES - 1]
    else:
        own = names
    colours = {g: GENRE_COLORS[i % len(GENRE_COLORS)] for i, g in enumerate(own)}
    legend_counts = {g: int(counts[g]) for g in own}
    rest = int(counts.sum()) - sum(legend_counts.values())
    if rest:
        colours[OTHER] = OTHER_COLOR
        legend_counts[OTHER] = rest
    per_item = [colours.get(str(g), OTHER_COLOR) for g in genres]
    return per_item, colours, legend_counts


def compute_map(recommender: Recommender, items: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.Series]:
    """Worker thread: the PCA map (item_id, x, y) and each item's primary genre (same order)."""
    frame = embedding_map(recommender)
    return frame, primary_genre(items, frame["item_id"]).reset_index(drop=True)
