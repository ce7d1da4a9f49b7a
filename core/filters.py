"""Notebook preprocessing as a ``FilterConfig``: weighting, duration and frequency filters.

Applying it returns the weighted interactions and a per-step report of rows, users and
items left after each step, so a user can see what every setting costs.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .dataset import REQUIRED_COLUMNS
from .schema import SettingGroup, setting

_WEIGHTING, _FILTERS = "Weighting", "Filters"


@dataclass
class FilterConfig(SettingGroup):
    """Preprocessing settings, each declared once (``core.schema``); the defaults are the notebook's.

    weight = ``weight_above`` if ``weight_by`` column > ``weight_threshold`` else
    ``weight_below`` (skipped when the data has no such column: weights stay as loaded);
    drop rows with total_dur < ``min_total_dur`` (skipped without a total_dur column);
    optional date range (inclusive, ``YYYY-MM-DD``); keep items with at least
    ``min_item_freq`` interactions (counted after the previous steps); optionally keep
    users with at least ``min_user_interactions``.
    """

    weight_by: str = setting(
        "watched_pct", label="Weight by", section=_WEIGHTING, optional=True,
        help="Column that decides each interaction's weight (KION: watched_pct, MovieLens: rating; "
             "none or a missing column keeps the weights as loaded).")
    weight_threshold: float = setting(
        10.0, label="Threshold", section=_WEIGHTING, step=1.0,
        help="Interactions whose weight column is above this value get the high weight.")
    weight_above: float = setting(
        3.0, label="Weight above", section=_WEIGHTING, low=0.0, low_open=True, step=0.5, ui_low=0.0, ui_high=1000.0,
        help="Weight of interactions above the threshold (the notebook uses 3).")
    weight_below: float = setting(
        1.0, label="Weight at or below", section=_WEIGHTING, low=0.0, low_open=True, step=0.5, ui_low=0.0,
        ui_high=1000.0, help="Weight of interactions at or below the threshold (the notebook uses 1).")
    min_total_dur: float = setting(
        300.0, label="Min total_dur", section=_FILTERS, low=0.0, step=60.0, decimals=0, unit="s",
        help="Drop interactions watched for fewer seconds than this (skipped without a total_dur column).")
    min_item_freq: int = setting(
        20, label="Min item frequency", section=_FILTERS, low=1, ui_high=10_000_000,
        help="Keep only items with at least this many interactions after the steps above.")
    min_user_interactions: int = setting(
        1, label="Min user interactions", section=_FILTERS, low=1, ui_high=1_000_000,
        help="Keep only users with at least this many interactions after the item filter.")
    date_from: str | None = setting(
        None, kind="date", label="First day", section=_FILTERS, optional=True, check_text="not before",
        help="When set, drop interactions before this day (YYYY-MM-DD).")
    date_to: str | None = setting(
        None, kind="date", label="Last day", section=_FILTERS, optional=True, check_text="not after",
        help="When set, drop interactions after this day (YYYY-MM-DD, inclusive).")

    def check(self, errs: dict[str, str]) -> None:
        """The dates must parse, and the range must not end before it starts."""
        bounds = {}
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value in (None, ""):
                continue
            try:
                bounds[name] = pd.Timestamp(value)
            except (ValueError, TypeError):
                errs[name] = f"must be a date like 2021-05-01, got {value!r}"
        if len(bounds) == 2 and bounds["date_from"] > bounds["date_to"]:
            errs["date_to"] = "must not be before date_from"


@dataclass
class FilterStep:
    """What was left after one preprocessing step."""

    name: str
    rows: int
    users: int
    items: int
    note: str = ""


@dataclass
class FilterResult:
    """Weighted, filtered interactions plus the per-step report."""

    interactions: pd.DataFrame
    steps: list[FilterStep] = field(default_factory=list)

    def report(self) -> pd.DataFrame:
        """The report as a frame: step, rows, users, items, note."""
        return pd.DataFrame([asdict(s) for s in self.steps], columns=["name", "rows", "users", "items", "note"])


class _Counter:
    """Counts distinct users and items of the kept rows with bincounts over integer codes.

    Non-negative integer ids that are not much larger than the row count are their own codes;
    other ids are factorized once. Kept rows start as "all" (no index array) and a step that
    removed nothing reuses the previous counts."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.users, self.n_users = _codes(df["user_id"])
        self.items, self.n_items = _codes(df["item_id"])
        self.n_rows = len(df)
        self.rows: np.ndarray | None = None  # None: every row
        self._distinct: tuple[int, int] | None = None

    def kept(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row of the frame) at the kept rows."""
        return values if self.rows is None else values[self.rows]

    def keep(self, mask: np.ndarray) -> None:
        """Keep the kept rows where ``mask`` (one per kept row) is true."""
        if mask.all():
            return
        self.rows = np.flatnonzero(mask) if self.rows is None else self.rows[mask]
        self._distinct = None

    @property
    def n_kept(self) -> int:
        return self.n_rows if self.rows is None else len(self.rows)

    def step(self, name: str, note: str = "") -> FilterStep:
        if self._distinct is None:

            def distinct(codes: np.ndarray, n: int) -> int:
                return int(np.count_nonzero(np.bincount(self.kept(codes), minlength=n))) if n else 0

            self._distinct = distinct(self.users, self.n_users), distinct(self.items, self.n_items)
        return FilterStep(name, self.n_kept, *self._distinct, note)

    def item_counts(self) -> np.ndarray:
        """Interactions per kept row's item."""
        codes = self.kept(self.items)
        return np.bincount(codes, minlength=self.n_items)[codes]

    def user_counts(self) -> np.ndarray:
        codes = self.kept(self.users)
        return np.bincount(codes, minlength=self.n_users)[codes]


def rows_per_id(ids: pd.Series) -> pd.Series:
    """Rows per distinct value of ``ids``, most first: ``ids.value_counts()`` (index: the id,
    values: int64 counts; ties in any order), counted with a bincount over integer codes.

    pandas' ``value_counts`` hashes every row while holding the GIL (130 ms for 5.4M KION rows
    on a two-core machine, a freeze of the app's interface when a page's measures run on a
    worker); small non-negative integer ids are counted directly and others factorized once.
    """
    codes, n, uniques = _coded(ids)
    counts = np.bincount(codes, minlength=n)
    present = np.flatnonzero(counts)
    index = pd.Index(present.astype(ids.dtype) if uniques is None else uniques[present], name=ids.name)
    order = np.argsort(-counts[present], kind="stable")
    return pd.Series(counts[present][order].astype(np.int64), index=index[order], name="count")


def _coded(ids: pd.Series) -> tuple[np.ndarray, int, pd.Index | np.ndarray | None]:
    """Integer codes for ``ids``, how many code values there can be, and the id of each code
    (None: small non-negative integer ids are their own codes)."""
    values = ids.to_numpy()
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < 4 * len(values) + 1024:  # small ids: bincount over them directly
            return values, high + 1, None
    codes, uniques = pd.factorize(ids)
    return codes, len(uniques), uniques


def _codes(ids: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes for ``ids`` and how many code values there can be."""
    codes, n, _uniques = _coded(ids)
    return codes, n


def _take_rows(df: pd.DataFrame, rows: np.ndarray | None) -> pd.DataFrame:
    """``df`` at ``rows`` (all when None) with a fresh index; plain numpy columns are indexed
    directly, which is faster than ``DataFrame.take`` on millions of rows."""
    if rows is None:
        return df.reset_index(drop=True)
    columns = {}
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, np.dtype):
            columns[name] = col.to_numpy()[rows]
        else:
            columns[name] = col.take(rows).reset_index(drop=True)
    return pd.DataFrame(columns, copy=False)


def apply_filters(
    interactions: pd.DataFrame, config: FilterConfig | None = None, columns: Sequence[str] | None = None,
) -> FilterResult:
    """Weight and filter ``interactions`` as the notebook does; the input is not modified.

    ``columns``: keep only these columns (besides user_id, item_id, datetime and weight) in
    the result, e.g. none of total_dur and watched_pct once they have done their work; None
    keeps every column. The rows, the weights and the report are the same either way.
    """
    config = config or FilterConfig()
    config.validate()
    df = interactions
    count = _Counter(df)
    steps = [count.step("loaded")]

    weight = df["weight"].to_numpy(dtype=np.float32)
    if config.weight_by and config.weight_by in df.columns:
        values = df[config.weight_by].to_numpy()
        # a float64 threshold: float32 columns (the app stores them so) compare exactly as float64 ones
        weight = np.where(values > np.float64(config.weight_threshold), config.weight_above, config.weight_below).astype(np.float32)
        note = f"weight {config.weight_above:g} if {config.weight_by} > {config.weight_threshold:g} else {config.weight_below:g}"
    else:
        note = f"no '{config.weight_by}' column: weights kept as loaded"
    steps.append(count.step("weighted", note))

    if "total_dur" in df.columns:
        if config.min_total_dur > 0:
            count.keep(count.kept(df["total_dur"].to_numpy()) >= np.float64(config.min_total_dur))
        steps.append(count.step("min total_dur", f"dropped total_dur < {config.min_total_dur:g}"))
    else:
        steps.append(count.step("min total_dur", "no total_dur column: skipped"))

    if config.date_from or config.date_to:
        dt = count.kept(df["datetime"].to_numpy())
        keep = np.ones(len(dt), dtype=bool)
        if config.date_from:
            keep &= dt >= np.datetime64(pd.Timestamp(config.date_from))
        if config.date_to:
            # inclusive end date: everything before the next midnight
            keep &= dt < np.datetime64(pd.Timestamp(config.date_to) + pd.Timedelta(days=1))
        count.keep(keep)
        steps.append(count.step("date range", f"{config.date_from or '...'} to {config.date_to or '...'}"))

    if config.min_item_freq > 1:
        count.keep(count.item_counts() >= config.min_item_freq)
    steps.append(count.step("min item frequency", f"kept items with >= {config.min_item_freq} interactions"))

    if config.min_user_interactions > 1:
        count.keep(count.user_counts() >= config.min_user_interactions)
        steps.append(count.step("min user interactions", f"kept users with >= {config.min_user_interactions} interactions"))

    kept = [c for c in df.columns if columns is None or c in REQUIRED_COLUMNS or c in columns]
    out = _take_rows(df[[c for c in kept if c != "weight"]], count.rows)
    out.insert(kept.index("weight"), "weight", count.kept(weight))
    return FilterResult(out, steps)


def why_user_filtered(user_id: object, interactions: pd.DataFrame, filtered: pd.DataFrame, config: FilterConfig) -> str:
    """Why ``user_id`` has no interactions in ``filtered`` (the result of ``apply_filters(
    interactions, config)``): one sentence naming the filter setting(s) that removed their rows,
    or that the user is not in ``interactions`` at all. "" when the user has filtered rows.

    Follows ``apply_filters`` step by step on the user's own rows; the item-frequency step
    uses the items that survived in ``filtered``. Cost: two scans of the id columns.
    """
    if (filtered["user_id"] == user_id).any():
        return ""
    rows = interactions[interactions["user_id"] == user_id]
    if rows.empty:
        return f"User {user_id} is not in the data."
    n, removed = len(rows), []
    if "total_dur" in rows.columns and config.min_total_dur > 0:
        short = rows["total_dur"].to_numpy() < np.float64(config.min_total_dur)
        rows = rows[~short]
        if short.any():
            removed.append(f"{int(short.sum())} watched for less than {config.min_total_dur:g} s (min_total_dur)")
    if config.date_from or config.date_to:
        dt = rows["datetime"]
        keep = np.ones(len(rows), dtype=bool)
        if config.date_from:
            keep &= (dt >= pd.Timestamp(config.date_from)).to_numpy()
        if config.date_to:
            keep &= (dt < pd.Timestamp(config.date_to) + pd.Timedelta(days=1)).to_numpy()
        rows = rows[keep]
        if (~keep).any():
            removed.append(f"{int((~keep).sum())} outside the date range (date_from/date_to)")
    if config.min_item_freq > 1 and len(rows):
        rare = ~rows["item_id"].isin(pd.unique(filtered["item_id"])).to_numpy()
        rows = rows[~rare]
        if rare.any():
            removed.append(f"{int(rare.sum())} of items with fewer than {config.min_item_freq} interactions (min_item_freq)")
    if len(rows):
        removed.append(
            f"the remaining {len(rows)} are fewer than min_user_interactions ({config.min_user_interactions})"
        )
    return f"User {user_id} has {n} interaction(s) in the data, all removed by the filters: " + "; ".join(removed) + "."
