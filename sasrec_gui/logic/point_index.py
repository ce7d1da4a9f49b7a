"""Nearest-point lookup for hovering over a scatter plot (Qt-free, numpy only).

Points are sorted by x once. A query with radius (rx, ry) in data units looks only at the
slab ``x ± rx`` (two binary searches) and takes the closest point inside the ellipse: the
x and y radii come from the current pixel scale of each axis, so "within 8 pixels" holds
whatever the aspect ratio or zoom. With 16k items a lookup takes well under a millisecond.
"""
from __future__ import annotations

import numpy as np


class PointIndex:
    """Sorted-by-x index over 2D points."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError("x and y must be 1-D arrays of the same length")
        self._order = np.argsort(x, kind="stable")
        self._xs = x[self._order]
        self._ys = y[self._order]

    def __len__(self) -> int:
        return len(self._xs)

    def nearest(self, x: float, y: float, rx: float, ry: float) -> int | None:
        """Index (into the original arrays) of the point nearest to (x, y) within the
        ellipse of radii (rx, ry), distances scaled per axis; None when there is none."""
        if not len(self._xs) or not (rx > 0 and ry > 0) or not (np.isfinite(x) and np.isfinite(y)):
            return None
        lo = int(np.searchsorted(self._xs, x - rx, side="left"))
        hi = int(np.searchsorted(self._xs, x + rx, side="right"))
        if lo >= hi:
            return None
        dx = (self._xs[lo:hi] - x) / rx
        dy = (self._ys[lo:hi] - y) / ry
        d = dx * dx + dy * dy
        j = int(np.argmin(d))
        return int(self._order[lo + j]) if d[j] <= 1.0 else None
