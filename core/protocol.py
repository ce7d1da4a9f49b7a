"""How a ranking metric was measured: the evaluation protocol stored and shown beside it.

A ``Protocol`` says which split held the targets out (each user's last interaction, or the
last N days), at which list lengths k, over how many items the full ranking ran (no sampled
negatives), whether items the user already had in training were removed from the ranking,
and over how many test users the metrics are averaged (a random sample beyond
``core.validation.VALIDATION_MAX_USERS`` during training). Runs store it with their
validation metrics (``core.experiment.run_record``); ``evaluation_protocol`` describes an
``evaluate`` table.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .evaluate import Split

SPLIT_NAMES = {"last": "leave-last-out (each user's last interaction)", "time": "time split (the last {days} day(s))"}


@dataclass(frozen=True)
class Protocol:
    """The conditions a set of ranking metrics was measured under.

    ``split``: "last" or "time" (``test_days`` long); ``ks``: the list lengths; ``n_items``:
    the catalog every user's full ranking runs over; ``filter_seen``: items of the user's
    training history removed from the ranking; ``n_users``: the test users the metrics are
    averaged over (a user the model cannot score counts as a miss), out of ``n_test_users``
    in the split; ``n_targets``: their held-out (user, item) pairs; ``dropped_seen`` /
    ``dropped_unknown``: held-out interactions left out of the targets because the user
    already had the item in training / the user or item is unknown to training.
    """

    split: str
    ks: tuple[int, ...]
    n_items: int
    filter_seen: bool
    n_users: int
    n_test_users: int
    n_targets: int
    test_days: int = 0
    dropped_seen: int = 0
    dropped_unknown: int = 0

    @property
    def sampled(self) -> bool:
        """Whether the metrics average over a random sample of the test users."""
        return self.n_users < self.n_test_users

    def split_text(self) -> str:
        return SPLIT_NAMES.get(self.split, self.split).format(days=self.test_days)

    def describe(self) -> str:
        """One line, e.g. "leave-last-out (each user's last interaction); k=10; full ranking
        over 1,234 items; items seen in training filtered out; 300 test users"."""
        users = f"{self.n_users:,} test users"
        if self.sampled:
            users = f"{self.n_users:,} of {self.n_test_users:,} test users (random sample)"
        parts = [
            self.split_text(),
            "k=" + ",".join(map(str, self.ks)),
            f"full ranking over {self.n_items:,} items",
            "items seen in training filtered out" if self.filter_seen else "items seen in training kept",
            f"{users}, {self.n_targets:,} targets",
        ]
        dropped = [f"{n:,} {what}" for n, what in ((self.dropped_seen, "already seen"), (self.dropped_unknown, "unknown to training")) if n]
        if dropped:
            parts.append("held-out interactions dropped: " + ", ".join(dropped))
        return "; ".join(parts)

    def short(self) -> str:
        """A compact form for table cells: "last k=10 1234 items seen-filtered 300 users"."""
        split = "last" if self.split == "last" else f"last {self.test_days}d"
        users = f"{self.n_users}/{self.n_test_users}" if self.sampled else f"{self.n_users}"
        seen = "seen-filtered" if self.filter_seen else "seen-kept"
        return f"{split} k={','.join(map(str, self.ks))} {self.n_items} items {seen} {users} users"

    def to_dict(self) -> dict[str, Any]:
        """As stored with runs (JSON)."""
        return {
            "split": self.split, "test_days": int(self.test_days), "ks": [int(k) for k in self.ks],
            "n_items": int(self.n_items), "filter_seen": bool(self.filter_seen), "n_users": int(self.n_users),
            "n_test_users": int(self.n_test_users), "n_targets": int(self.n_targets),
            "dropped_seen": int(self.dropped_seen), "dropped_unknown": int(self.dropped_unknown),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Protocol | None:
        """The inverse of ``to_dict``; None for an empty or unreadable entry (older runs)."""
        if not data:
            return None
        try:
            return cls(
                str(data["split"]), tuple(int(k) for k in data["ks"]), int(data["n_items"]), bool(data["filter_seen"]),
                int(data["n_users"]), int(data["n_test_users"]), int(data["n_targets"]), int(data.get("test_days", 0)),
                int(data.get("dropped_seen", 0)), int(data.get("dropped_unknown", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _protocol(split: Split, scored: Split, ks: Sequence[int], n_items: int, filter_seen: bool) -> Protocol:
    test = scored.test
    return Protocol(
        split=split.scheme, ks=tuple(int(k) for k in ks), n_items=int(n_items), filter_seen=bool(filter_seen),
        n_users=int(test["user_id"].nunique()), n_test_users=int(pd.unique(split.test["user_id"]).size),
        n_targets=int(len(test[["user_id", "item_id"]].drop_duplicates())), test_days=int(split.test_days),
        dropped_seen=int(split.dropped.get("seen", 0)), dropped_unknown=int(split.dropped.get("unknown", 0)),
    )


def validation_protocol(split: Split, k: int, n_items: int, max_users: int | None = None) -> Protocol:
    """The protocol of the per-epoch validation on ``split`` at ``k`` for a model with
    ``n_items`` items: viewed items filtered, at most ``max_users`` test users (default
    ``core.validation.VALIDATION_MAX_USERS``, the sample ``core.experiment`` validates on)."""
    from .validation import VALIDATION_MAX_USERS, validation_sample

    sample = validation_sample(split, VALIDATION_MAX_USERS if max_users is None else max_users)
    return _protocol(split, sample, (k,), n_items, True)


def evaluation_protocol(split: Split, ks: Sequence[int], n_items: int, filter_viewed: bool = True) -> Protocol:
    """The protocol of ``core.evaluate_model.evaluate_split(model, split, ks, filter_viewed)``
    for a model with ``n_items`` items: every test user of ``split``."""
    return _protocol(split, split, ks, n_items, filter_viewed)


__all__ = ["Protocol", "evaluation_protocol", "validation_protocol"]
