"""Fast lookup and prefix completion over ~1M sorted user ids (numpy searchsorted).

Ids are whole numbers (int64) or text (see ``core.ids``). Whole-number ids complete by
their decimal prefix; text ids by their text prefix (case-sensitive, as ids are).
"""
from __future__ import annotations

import numpy as np

from core.ids import INT64_MAX, as_id_array, parse_id, sort_order

# Sorts after every character a typed prefix can hold: [prefix, prefix + _TOP) is every
# text starting with prefix.
_TOP = "\U0010ffff"


class UserIndex:
    """Sorted unique user ids with O(log n) membership and id-prefix completion."""

    def __init__(self, ids: np.ndarray) -> None:
        ids = as_id_array(ids)
        if len(ids) > 1 and ids.dtype == object:
            order = sort_order(ids)  # C-speed string sort; user histories come sorted already
            if not np.array_equal(order, np.arange(len(ids))):
                ids = ids[order]
            ids = ids[np.r_[True, ids[1:] != ids[:-1]]]
        elif len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            ids = np.sort(ids)  # not np.unique: numpy 2.4 hashes there, holding the GIL for long on a million ids
            ids = ids[np.r_[True, ids[1:] != ids[:-1]]]
        self.ids = ids
        self.text = ids.dtype == object

    def __len__(self) -> int:
        return len(self.ids)

    def parse(self, text: str) -> int | str | None:
        """A typed id in this index's kind (a whole number or text), None when it cannot be one."""
        try:
            return parse_id(text.strip(), "text" if self.text else "int")
        except ValueError:
            return None

    def __contains__(self, user_id: int | str) -> bool:
        value = self.parse(str(user_id)) if isinstance(user_id, str) or self.text else user_id
        if value is None or not len(self.ids):
            return False
        pos = int(np.searchsorted(self.ids, value))
        return pos < len(self.ids) and self.ids[pos] == value

    def _ranges(self, prefix: str) -> list[tuple[int, int]]:
        """[lo, hi) index ranges of ids whose text starts with ``prefix``, shortest ids first
        (whole numbers) or in sorted order (text)."""
        if not len(self.ids) or not prefix:
            return []
        if self.text:
            lo, hi = np.searchsorted(self.ids, np.array([prefix, prefix + _TOP], dtype=object))
            return [(int(lo), int(hi))] if hi > lo else []
        if not prefix.isdigit():
            return []
        value = int(prefix)
        if prefix != str(value):  # leading zeros: only "0" itself can match
            return []
        top = int(self.ids[-1])
        ranges = []
        scale = 1
        while value * scale <= top:
            lo_val, hi_val = value * scale, (value + 1) * scale
            lo = int(np.searchsorted(self.ids, lo_val))
            hi = len(self.ids) if hi_val > INT64_MAX else int(np.searchsorted(self.ids, hi_val))
            if hi > lo:
                ranges.append((lo, hi))
            if value == 0:
                break
            scale *= 10
        return ranges

    def count_prefix(self, prefix: str) -> int:
        """How many ids start with ``prefix``."""
        return sum(hi - lo for lo, hi in self._ranges(prefix.strip()))

    def complete(self, prefix: str, limit: int = 15) -> list[int | str]:
        """Up to ``limit`` ids starting with ``prefix`` (exact match first, then shortest ids
        for whole numbers, sorted order for text)."""
        prefix = prefix.strip()
        out: list[int | str] = []
        for lo, hi in self._ranges(prefix):
            take = min(hi - lo, limit - len(out))
            out.extend(v for v in self.ids[lo : lo + take].tolist())
            if len(out) >= limit:
                break
        return out

    def random(self, rng: np.random.Generator | None = None) -> int | str | None:
        """A uniformly random id (None when empty)."""
        if not len(self.ids):
            return None
        rng = rng or np.random.default_rng()
        value = self.ids[rng.integers(len(self.ids))]
        return value if self.text else int(value)
