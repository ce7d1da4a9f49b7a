"""Dataset summary figures and chart data, computed off the UI thread (no Qt here)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


#: The labels ``DataSummary.rows`` produces, in order.
ROW_NAMES = (
    "Interactions", "Users", "Items", "First day", "Last day", "Sparsity", "Mean session length", "Median session length",
)


def _counts(ids: np.ndarray) -> np.ndarray:
    """Rows per distinct id (any order): a bincount for small non-negative whole-number ids
    (KION's: no sort of millions of rows), sorted counts for other int64 ids, a hash count for
    text ids."""
    if ids.dtype == object:
        return np.bincount(pd.factorize(ids)[0])
    if len(ids) and ids.dtype.kind in "iu":
        low, high = int(ids.min()), int(ids.max())
        if low >= 0 and high < 4 * len(ids) + 1024:
            counts = np.bincount(ids, minlength=high + 1)
            return counts[counts > 0]
    return np.unique(ids, return_counts=True)[1]


@dataclass
class DataSummary:
    """Counts, date range, sparsity, session lengths and the chart data of one interactions frame.

    ``length_edges``/``length_counts`` are a histogram of interactions per user (log-spaced
    integer bins); ``popularity`` holds item interaction counts, most popular first.
    """

    n_interactions: int
    n_users: int
    n_items: int
    date_min: pd.Timestamp | None
    date_max: pd.Timestamp | None
    sparsity: float
    mean_length: float
    median_length: float
    length_edges: np.ndarray
    length_counts: np.ndarray
    popularity: np.ndarray
    n_sequences: int = 0  # users with at least 2 interactions: the training sequences
    mean_weight: float = 1.0

    @classmethod
    def of(cls, interactions: pd.DataFrame) -> "DataSummary":
        users = interactions["user_id"].to_numpy()
        items = interactions["item_id"].to_numpy()
        n = len(interactions)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(0, 0, 0, None, None, 1.0, 0.0, 0.0, np.array([1, 2]), np.zeros(1, dtype=np.int64), empty)
        lengths, item_counts = _counts(users), _counts(items)
        dt = interactions["datetime"].to_numpy()
        n_users, n_items = len(lengths), len(item_counts)
        edges = np.unique(np.round(np.logspace(0, np.log10(lengths.max() + 1), 40)).astype(np.int64))
        if len(edges) < 2:
            edges = np.array([1, 2])
        counts, _ = np.histogram(lengths, bins=edges)
        return cls(
            n_interactions=n,
            n_users=n_users,
            n_items=n_items,
            date_min=pd.Timestamp(dt.min()),
            date_max=pd.Timestamp(dt.max()),
            sparsity=1.0 - n / (n_users * n_items),
            mean_length=float(lengths.mean()),
            median_length=float(np.median(lengths)),
            length_edges=edges,
            length_counts=counts,
            popularity=np.sort(item_counts)[::-1],
            n_sequences=int((lengths >= 2).sum()),
            mean_weight=float(interactions["weight"].mean()) if "weight" in interactions.columns else 1.0,
        )

    def rows(self) -> list[tuple[str, str]]:
        """(label, text) pairs for display."""
        first = f"{self.date_min:%Y-%m-%d}" if self.date_min is not None else "–"
        last = f"{self.date_max:%Y-%m-%d}" if self.date_max is not None else "–"
        return [
            ("Interactions", f"{self.n_interactions:,}"),
            ("Users", f"{self.n_users:,}"),
            ("Items", f"{self.n_items:,}"),
            ("First day", first),
            ("Last day", last),
            ("Sparsity", f"{self.sparsity:.4%}"),
            ("Mean session length", f"{self.mean_length:.2f}"),
            ("Median session length", f"{self.median_length:g}"),
        ]
