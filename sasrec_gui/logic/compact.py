"""Keep what the app holds of a loaded dataset small (Qt-free; runs in the load worker).

KION's users table has 960k rows of a few repeated words (age band, income band, sex): as
Python strings that is about 190 MB, as categories about 4 MB. The app only looks users up
one at a time (``explanations.user_demographics``), which reads a category like a string.
"""
from __future__ import annotations

import dataclasses

import pandas as pd
from pandas.api import types as ptypes

from core.dataset import InteractionData

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


def compact_data(data: InteractionData) -> InteractionData:
    """``data`` with a compact users table (see the module); the interactions and items as they are."""
    users = compact_table(data.users)
    return data if users is data.users else dataclasses.replace(data, users=users)
