"""Keep what the app holds of a loaded dataset small (Qt-free; runs in the load worker).

KION's users table has 960k rows of a few repeated words (age band, income band, sex): as
Python strings that is about 190 MB, as categories about 4 MB. The app only looks users up
one at a time (``explanations.user_demographics``), which reads a category like a string.

The interactions' optional measure columns (KION's total_dur and watched_pct, MovieLens'
rating) are read as float64; when every value is exactly a float32 (whole seconds, whole
percents, half stars) they are kept as float32: 43 MB less at KION size, the same numbers
(``core.filters`` compares them with float64 thresholds, so no comparison changes).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from core.dataset import OPTIONAL_COLUMNS, InteractionData

#: A text column becomes categorical when it has at most this many distinct values ...
MAX_CATEGORIES = 1000
#: ... and they are at most this share of its rows.
MAX_CATEGORY_SHARE = 0.05


def compact_table(frame: pd.DataFrame | None, keep: tuple[str, ...] = ("user_id", "item_id")) -> pd.DataFrame | None:
    """``frame`` with its repetitive text columns as categories (same values; ``keep`` and
    columns with many distinct values unchanged). None stays None."""
    if frame is None or frame.empty:
        return frame
    changed = {}
    for column in frame.columns:
        values = frame[column]
        if column in keep or isinstance(values.dtype, pd.CategoricalDtype):
            continue
        if not (ptypes.is_object_dtype(values.dtype) or ptypes.is_string_dtype(values.dtype)):
            continue
        distinct = values.nunique(dropna=True)
        if distinct <= MAX_CATEGORIES and distinct <= MAX_CATEGORY_SHARE * len(values):
            changed[column] = values.astype("category")
    return frame.assign(**changed) if changed else frame


def exact_float32(values: np.ndarray) -> np.ndarray | None:
    """``values`` (float64) as float32 when that changes none of them (NaN stays NaN), else None."""
    narrow = values.astype(np.float32)
    if not np.array_equal(narrow.astype(np.float64), values, equal_nan=True):
        return None
    return narrow


def compact_measures(interactions: pd.DataFrame) -> pd.DataFrame:
    """``interactions`` with each float64 column of ``OPTIONAL_COLUMNS`` as float32 when
    ``exact_float32`` allows (the same frame when none does)."""
    changed = {}
    for column in OPTIONAL_COLUMNS:
        if column in interactions.columns and interactions[column].dtype == np.float64:
            narrow = exact_float32(interactions[column].to_numpy())
            if narrow is not None:
                changed[column] = narrow
    if not changed:
        return interactions
    return pd.DataFrame({c: changed.get(c, interactions[c]) for c in interactions.columns}, copy=False)


def compact_data(data: InteractionData) -> InteractionData:
    """``data`` with a compact users table and exact float32 measure columns (see the module);
    the ids, times, weights and the items table as they are."""
    users = compact_table(data.users)
    interactions = compact_measures(data.interactions)
    if users is data.users and interactions is data.interactions:
        return data
    return dataclasses.replace(data, users=users, interactions=interactions)
