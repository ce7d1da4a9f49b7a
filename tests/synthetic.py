"""Small synthetic interaction frames for core tests (no files, no randomness across runs)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def chain_interactions(n_users: int = 300, n_items: int = 40, length: int = 8, seed: int = 0) -> pd.DataFrame:
    """Each user walks the item cycle 1 -> 2 -> ... -> n_items -> 1 from a random start: a
    perfectly learnable next-item pattern."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_items, n_users)
    users = np.repeat(np.arange(1, n_users + 1, dtype=np.int64) * 10, length)
    items = ((starts[:, None] + np.arange(length)[None, :]) % n_items + 1).reshape(-1) * 100
    days = np.tile(np.arange(length), n_users)
    return pd.DataFrame({
        "user_id": users.astype(np.int64),
        "item_id": items.astype(np.int64),
        "datetime": pd.Timestamp("2021-03-13") + pd.to_timedelta(days, unit="D"),
        "weight": np.ones(len(users), dtype=np.float32),
    })
