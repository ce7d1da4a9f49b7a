"""Qt-free helpers behind the stakeholder views: item card fields, user demographics,
"why this recommendation" and the popularity baseline input.

Everything here is plain pandas / numpy (and core.explain), so it can run in a worker
thread and be unit-tested without a window.
"""
from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.explain import (
    attention_contributions,
    leave_one_out_contributions,
    session_attention_contributions,
    session_leave_one_out_contributions,
)
from core.ids import id_like, id_value
from core.recommend import WHAT_IF_USER, Recommender
from core.sequences import UserHistories, repeat_by_lengths

#: Item card rows: (items_en.csv column, label), in display order. Title and original
#: title are the card's heading; the rest become labelled rows when present.
CARD_FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("title_orig", "Original title"),
    ("release_year", "Year"),
    ("content_type", "Type"),
    ("genres", "Genres"),
    ("countries", "Countries"),
    ("age_rating", "Age rating"),
    ("for_kids", "For kids"),
    ("studios", "Studios"),
    ("directors", "Directors"),
    ("actors", "Actors"),
    ("description", "Description"),
    ("keywords", "Keywords"),
)

#: users_en.csv columns with a label each; any other column is shown under its own name.
USER_FIELDS: tuple[tuple[str, str], ...] = (("age", "Age"), ("income", "Income"), ("sex", "Sex"), ("kids_flg", "Kids"))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when longer."""
    text = str(text)
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _format_field(column: str, value: object) -> str:
    """One card value as text ('' when missing or empty)."""
    if _missing(value):
        return ""
    if column == "release_year" or column == "age_rating":
        try:
            number = int(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value).strip()
        return f"{number}+" if column == "age_rating" else str(number)
    if column == "for_kids":
        try:
            return "yes" if float(value) else "no"  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value).strip()
    return str(value).strip()


class ItemDetails:
    """Every column of the items table by item id, for item cards (KION's ``items_en.csv``;
    MovieLens has only title, original title, year and genres)."""

    def __init__(self, items: pd.DataFrame | None) -> None:
        if items is None or "item_id" not in items.columns:
            self._table = pd.DataFrame(index=pd.Index([], dtype=np.int64, name="item_id"))
        else:
            self._table = items.drop_duplicates("item_id").set_index("item_id")
        self.columns = [c for c, _ in CARD_FIELDS if c in self._table.columns]

    def __contains__(self, item_id: int | str) -> bool:
        key = id_like(item_id, self._table.index)
        return key is not None and key in self._table.index

    def fields(self, item_id: int | str) -> dict[str, str]:
        """Label -> text of every known, non-empty card field of ``item_id`` (card order).

        An item the table does not know gets only ``{"Title": "Item <id>"}``.
        """
        item_id = id_value(item_id)
        key = id_like(item_id, self._table.index)
        if key is None or key not in self._table.index:
            return {"Title": f"Item {item_id}"}
        row = self._table.loc[key]
        out: dict[str, str] = {}
        for column, label in CARD_FIELDS:
            if column in self.columns:
                text = _format_field(column, row[column])
                if text:
                    out[label] = text
        out.setdefault("Title", f"Item {item_id}")
        return out

    def title(self, item_id: int | str) -> str:
        return self.fields(item_id)["Title"]


# --------------------------------------------------------------------------- users

_BAND = re.compile(r"^(?:[a-z]+_)?(\d+)_(\d+|inf)$")


def _band(value: str, unit: str = "") -> str:
    """'age_25_34' -> '25–34', 'age_65_inf' -> '65+', 'income_20_40' -> '20–40k ₽'."""
    match = _BAND.match(value.strip().lower())
    if not match:
        return value
    lo, hi = match.groups()
    text = f"{lo}+" if hi == "inf" else f"{lo}–{hi}"
    if unit:
        text = f"{lo}k+ {unit}" if hi == "inf" else f"{lo}–{hi}k {unit}"
    return text


def _format_user_field(column: str, value: object) -> str:
    if _missing(value):
        return "unknown"
    if column == "age":
        return _band(str(value))
    if column == "income":
        return _band(str(value), "₽ a month")
    if column == "sex":
        return {"M": "male", "F": "female"}.get(str(value).strip().upper(), str(value))
    if column == "kids_flg":
        try:
            return "has kids" if int(float(value)) else "no kids"  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def user_demographics(users: pd.DataFrame | None, user_id: int | str) -> dict[str, str] | None:
    """Label -> text of ``user_id``'s row of the users table (``users_en.csv``).

    None when there is no users table; ``{}`` when the table does not list the user.
    """
    if users is None or "user_id" not in users.columns:
        return None
    key = id_like(user_id, users["user_id"])
    if key is None:
        return {}
    hits = np.flatnonzero(users["user_id"].to_numpy() == key)  # one row taken, not the table filtered
    if not len(hits):
        return {}
    row = users.iloc[int(hits[0])]
    out: dict[str, str] = {}
    for column, label in USER_FIELDS:
        if column in users.columns:
            out[label] = _format_user_field(column, row[column])
    known = {c for c, _ in USER_FIELDS} | {"user_id"}
    for column in users.columns:
        if column not in known and not str(column).startswith("Unnamed"):
            out[str(column).replace("_", " ").capitalize()] = _format_user_field(str(column), row[column])
    return out


# --------------------------------------------------------------------------- why

def recency(position: int) -> str:
    """Position relative to the newest item (0) as words: 'latest', '2nd latest', …"""
    k = 1 - int(position)
    if k == 1:
        return "latest"
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix} latest"


@dataclass
class Explanation:
    """Why ``item_id`` was recommended to ``user_id``.

    ``contributions`` has one row per session item, biggest score drop first: rank,
    item_id, position (0 = latest), recency, score_drop (score lost when the item is
    left out of the history), attention (share of the last position's attention, mean
    over heads and blocks) and attention_block_<b>. ``padding_share`` is the part of the
    last position's attention that goes to padding (PAD keys are not masked, as in
    RecTools). ``seconds`` is the time the computation took.
    """

    user_id: int | str
    item_id: int | str
    contributions: pd.DataFrame
    padding_share: float
    seconds: float


def explain_recommendation(recommender: Recommender, user_id: int | str, item_id: int | str) -> Explanation:
    """Leave-one-out score drops and attention shares of ``user_id``'s session for ``item_id``.

    One batched forward pass (the session plus every leave-one-out variant) and one
    attention pass; fine in a worker thread.
    """
    start = time.perf_counter()
    drops = leave_one_out_contributions(recommender, user_id, item_id)
    attention = attention_contributions(recommender, user_id)
    return _explanation(id_value(user_id), id_value(item_id), drops, attention, start)


def explain_session_recommendation(recommender: Recommender, items: Sequence[int | str], item_id: int | str) -> Explanation:
    """``explain_recommendation`` for a hand-built what-if session (item ids, oldest first;
    items the model does not know are left out, as ``recommend_session`` does). The
    explanation's ``user_id`` is ``core.recommend.WHAT_IF_USER``. Raises ``RecommendError``
    for a session with no known item and ``UnknownItemError`` for an ``item_id`` outside the
    model's catalog."""
    start = time.perf_counter()
    drops = session_leave_one_out_contributions(recommender, items, item_id)
    attention = session_attention_contributions(recommender, items)
    return _explanation(WHAT_IF_USER, id_value(item_id), drops, attention, start)


def _explanation(user_id: int | str, item_id: int | str, drops: pd.DataFrame, attention: pd.DataFrame, start: float) -> Explanation:
    frame = drops.merge(attention.drop(columns="item_id"), on="position", how="left")
    frame = frame.sort_values(["score_drop", "position"], ascending=[False, False], kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["recency"] = [recency(p) for p in frame["position"]]
    padding = float(1.0 - attention["attention"].sum()) if len(attention) else 0.0
    return Explanation(user_id, item_id, frame, max(0.0, padding), time.perf_counter() - start)


# --------------------------------------------------------------------------- popularity

def interactions_of(histories: UserHistories) -> pd.DataFrame:
    """The (user_id, item_id) pairs behind ``histories``: the model's filtered interactions."""
    return pd.DataFrame({
        "user_id": repeat_by_lengths(histories.user_ids, histories.lengths),
        "item_id": histories.item_ids,
    })
