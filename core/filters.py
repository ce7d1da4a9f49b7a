"""Notebook preprocessing as a ``FilterConfig``: weighting, duration and frequency filters.

Applying it returns the weighted interactions and a per-step report of rows, users and
items left after each step, so a user can see what every setting costs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError


@dataclass
class FilterConfig:
    """Preprocessing settings; the defaults are the notebook's.

    weight = ``weight_above`` if ``weight_by`` column > ``weight_threshold`` else
    ``weight_below`` (skipped when the data has no such column: weights stay as loaded);
    drop rows with total_dur < ``min_total_dur`` (skipped without a total_dur column);
    optional date range (inclusive, ``YYYY-MM-DD``); keep items with at least
    ``min_item_freq`` interactions (counted after the previous steps); optionally keep
    users with at least ``min_user_interactions``.
    """

    weight_by: str = "watched_pct"
    weight_threshold: float = 10.0
    weight_above: float = 3.0
    weight_below: float = 1.0
    min_total_dur: float = 300.0
    min_item_freq: int = 20
    min_user_interactions: int = 1
    date_from: str | None = None
    date_to: str | None = None

    def errors(self) -> dict[str, str]:
        """Return ``{field: message}`` for every invalid setting."""
        errs: dict[str, str] = {}
        for name in ("min_item_freq", "min_user_interactions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                errs[name] = f"must be a whole number >= 1, got {value!r}"
        for name in ("weight_above", "weight_below"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                errs[name] = f"must be a positive number, got {value!r}"
        if not isinstance(self.min_total_dur, (int, float)) or self.min_total_dur < 0:
            errs["min_total_dur"] = f"must be a number >= 0, got {self.min_total_dur!r}"
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
        return errs

    def validate(self) -> None:
        errs = self.errors()
        if errs:
            raise ConfigError(errs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FilterConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


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


def _codes(ids: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes for ``ids`` and how many code values there can be."""
    values = ids.to_numpy()
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high < 4 * len(values) + 1024:  # small ids: bincount over them directly
            return values, high + 1
    codes, uniques = pd.factorize(ids)
    return codes, len(uniques)


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


def apply_filters(interactions: pd.DataFrame, config: FilterConfig | None = None) -> FilterResult:
    """Weight and filter ``interactions`` as the notebook does; the input is not modified."""
    config = config or FilterConfig()
    config.validate()
    df = interactions
    count = _Counter(df)
    steps = [count.step("loaded")]

    weight = df["weight"].to_numpy(dtype=np.float32)
    if config.weight_by and config.weight_by in df.columns:
        values = df[config.weight_by].to_numpy()
        weight = np.where(values > config.weight_threshold, config.weight_above, config.weight_below).astype(np.float32)
        note = f"weight {config.weight_above:g} if {config.weight_by} > {config.weight_threshold:g} else {config.weight_below:g}"
    else:
        note = f"no '{config.weight_by}' column: weights kept as loaded"
    steps.append(count.step("weighted", note))

    if "total_dur" in df.columns:
        if config.min_total_dur > 0:
            count.keep(count.kept(df["total_dur"].to_numpy()) >= config.min_total_dur)
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

    out = _take_rows(df.drop(columns="weight"), count.rows)
    out.insert(list(df.columns).index("weight"), "weight", count.kept(weight))
    return FilterResult(out, steps)
