"""Fast lookup and prefix completion over ~1M sorted integer user ids (numpy searchsorted)."""
from __future__ import annotations

import numpy as np


class UserIndex:
    """Sorted unique user ids with O(log n) membership and id-prefix completion."""

    def __init__(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            ids = np.unique(ids)
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, user_id: int) -> bool:
        pos = int(np.searchsorted(self.ids, user_id))
        return pos < len(self.ids) and int(self.ids[pos]) == int(user_id)

    def _ranges(self, prefix: str) -> list[tuple[int, int]]:
        """[lo, hi) index ranges of ids whose decimal text starts with ``prefix``, shortest ids first."""
        if not prefix.isdigit() or not len(self.ids):
            return []
        value = int(prefix)
        if prefix != str(value):  # leading zeros: only "0" itself can match
            return []
        top = int(self.ids[-1])
        ranges = []
        scale = 1
        while value * scale <= top:
            lo_val, hi_val = value * scale, (value + 1) * scale
            lo, hi = np.searchsorted(self.ids, [lo_val, hi_val])
            if hi > lo:
                ranges.append((int(lo), int(hi)))
            if value == 0:
                break
            scale *= 10
        return ranges

    def count_prefix(self, prefix: str) -> int:
        """How many ids start with ``prefix``."""
        return sum(hi - lo for lo, hi in self._ranges(prefix.strip()))

    def complete(self, prefix: str, limit: int = 15) -> list[int]:
        """Up to ``limit`` ids starting with ``prefix`` (exact match first, then shortest ids)."""
        out: list[int] = []
        for lo, hi in self._ranges(prefix.strip()):
            take = min(hi - lo, limit - len(out))
            out.extend(int(v) for v in self.ids[lo : lo + take])
            if len(out) >= limit:
                break
        return out

    def random(self, rng: np.random.Generator | None = None) -> int | None:
        if not len(self.ids):
            return None
        rng = rng or np.random.default_rng()
        return int(self.ids[rng.integers(len(self.ids))])
