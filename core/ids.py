"""External user and item ids: whole numbers or text, kept exactly as given.

An id array is either ``int64`` (every id of the column is a whole number that fits in 64
bits, decided once when the data is loaded) or a numpy ``object`` array of Python ``str``
(pandas frames hold such a column with the ``str`` dtype). Users and items are
independent: integer users with text items is fine. Past loading, the kind is never
guessed again: text ids that look like numbers ("012") stay text.

Queries (a typed id, a CLI value, an id from another frame) are converted to the kind of
the ids they are looked up in with ``to_kind``; ``IdIndex`` does the vectorised lookup
(``searchsorted`` for integers, a hash index for text).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__ = [
    "INT64_MAX", "INT64_MIN", "IdIndex", "as_id_array", "id_kind", "id_like", "id_value", "is_text_ids", "parse_id", "query_ids", "sort_order", "sorted_codes", "to_kind",
    "whole_number_ids", "whole_numbers",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_WHOLE = re.compile(r"\s*[+-]?\d+\s*")
#: A whole number as an id column holds one: no leading zeros ("007" is a code, kept as text,
#: and "7" and "07" stay two ids), optional sign, zero fraction and surrounding spaces allowed.
_WHOLE_TEXT = r"\s*[+-]?(?:0|[1-9]\d*)(?:\.0*)?\s*"


def _to_numpy(values: object) -> np.ndarray:
    """Any array-like (list, numpy, pandas Series/Index/ExtensionArray) as a numpy array;
    pandas string and nullable arrays become ``object``."""
    if isinstance(values, (pd.Series, pd.Index)) or isinstance(values, pd.api.extensions.ExtensionArray):
        dtype = values.dtype
        if isinstance(dtype, np.dtype):
            return np.asarray(values)
        if ptypes.is_integer_dtype(dtype) and not np.asarray(pd.isna(values)).any():
            return np.asarray(values, dtype=np.int64)
        return np.asarray(values, dtype=object)
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, (str, bytes, int, np.integer)):
        values = [values]
    elif not isinstance(values, (list, tuple)):
        values = list(values)  # type: ignore[call-overload]
    if values and any(isinstance(v, str) for v in values):
        out = np.empty(len(values), dtype=object)
        out[:] = [v if isinstance(v, str) else str(v) for v in values]
        return out
    try:
        return np.asarray(values)
    except OverflowError:
        return np.asarray(values, dtype=object)


def as_id_array(values: Iterable[object] | np.ndarray) -> np.ndarray:
    """``values`` as an id array of the same kind: ``int64`` for integers, else an
    ``object`` array of ``str`` (shape (n,)).

    Integer input (numpy ints, Python ints, whole floats) gives int64; text stays text, even
    text that looks like a number; a mix of numbers and text becomes text. Raises
    ``TypeError`` for booleans and ``OverflowError`` for integers outside int64.
    """
    arr = _to_numpy(values)
    arr = arr.reshape(-1) if arr.ndim != 1 else arr
    kind = arr.dtype.kind
    if kind == "i":
        return arr.astype(np.int64, copy=False)
    if kind == "u":
        if len(arr) and int(arr.max()) > INT64_MAX:
            raise OverflowError("an id is too large for a 64-bit integer")
        return arr.astype(np.int64)
    if kind == "b":
        raise TypeError("ids must be integers or text, not booleans")
    if kind in "US":
        return arr.astype(str).astype(object)
    if kind == "f":
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        if np.isfinite(arr).all() and (arr == np.floor(arr)).all() and np.abs(arr).max() < 2.0**63:
            return arr.astype(np.int64)
        return np.array([repr(float(v)) for v in arr], dtype=object)
    if kind == "O":
        inferred = ptypes.infer_dtype(arr, skipna=False)
        if inferred == "string" or (inferred == "empty" and len(arr) == 0):
            return arr
        if inferred == "integer":
            if any(int(v) > INT64_MAX or int(v) < INT64_MIN for v in arr):
                raise OverflowError("an id is too large for a 64-bit integer")
            return arr.astype(np.int64)
        if inferred == "boolean":
            raise TypeError("ids must be integers or text, not booleans")
        out = np.empty(len(arr), dtype=object)
        out[:] = [v if isinstance(v, str) else str(v) for v in arr]
        return out
    raise TypeError(f"ids must be integers or text, got {arr.dtype}")


def query_ids(values: Iterable[object] | np.ndarray) -> np.ndarray:
    """Ids asked for (by a person or a caller) as an id array, like ``as_id_array``, except
    that integers too large for int64 become their text instead of raising."""
    try:
        return as_id_array(values)
    except OverflowError:
        out = np.empty(len(_to_numpy(values).reshape(-1)), dtype=object)
        out[:] = [str(v) for v in _to_numpy(values).reshape(-1)]
        return out


def whole_numbers(texts: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which id texts are whole numbers that fit in int64, and their values.

    A whole number is digits without leading zeros ("007" stays text: zero-padded codes are
    kept as written), with an optional sign, an optional fraction of zeros ("12.0", as
    spreadsheets export whole numbers) and surrounding spaces. Returns ``(values, ok)``
    of shape (n,): int64 values (0 where not ``ok``) and the bool mask. Missing values are
    not ``ok``. Cost: a regex per value; pass distinct values for long columns.
    """
    t = pd.Series(np.asarray(texts, dtype=object), dtype=object, copy=False)
    values = np.zeros(len(t), dtype=np.int64)
    if len(t) == 0:
        return values, np.zeros(0, dtype=bool)
    ok = t.str.fullmatch(_WHOLE_TEXT).fillna(False).to_numpy(dtype=bool, copy=True)
    if ok.any():
        digits = t[ok].str.strip().str.replace(r"\.0*$", "", regex=True)
        nums = pd.to_numeric(digits, errors="coerce")
        if nums.dtype == np.int64:
            values[ok] = nums.to_numpy()
        else:  # some value is outside int64 (rare): check them one by one
            big = [int(d) for d in digits.tolist()]
            fits = np.array([INT64_MIN <= v <= INT64_MAX for v in big], dtype=bool)
            idx = np.flatnonzero(ok)
            values[idx[fits]] = [v for v, f in zip(big, fits) if f]
            ok[idx[~fits]] = False
    return values, ok


def whole_number_ids(texts: np.ndarray | pd.Series) -> np.ndarray | None:
    """The int64 values of id texts when every one is a whole number that fits in int64
    (see ``whole_numbers``), else None: the ids are text."""
    texts = np.asarray(texts, dtype=object)
    if len(texts) > 1000 and not whole_numbers(texts[:1000])[1].all():
        return None  # text ids show at once: skip the regex over every value
    values, ok = whole_numbers(texts)
    return values if ok.all() else None


def id_value(value: object) -> int | str:
    """One id (e.g. a cell of an id column) as a plain Python ``int`` or ``str``; numpy and
    pandas integers become ``int``, text stays as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return str(value)


def id_like(value: object, like: object) -> int | str | None:
    """One id converted to the kind of ``like`` (an id array, Series, Index or dtype): a plain
    ``int`` or ``str``, or None when it cannot be an id of that kind."""
    ids, valid = to_kind([id_value(value)], like)
    return id_value(ids[0]) if valid[0] else None


def is_text_ids(ids: object) -> bool:
    """Whether ``ids`` (an id array, Series or pandas dtype) holds text ids."""
    dtype = ids if isinstance(ids, (np.dtype, pd.api.extensions.ExtensionDtype)) else getattr(ids, "dtype", None)
    if dtype is None:
        return as_id_array(ids).dtype == object  # type: ignore[arg-type]
    if isinstance(dtype, np.dtype):
        return dtype.kind not in "iu"
    return not ptypes.is_integer_dtype(dtype)


def id_kind(ids: object) -> str:
    """``"int"`` or ``"text"``: the kind of an id array, Series or dtype."""
    return "text" if is_text_ids(ids) else "int"


def parse_id(text: str, kind: str) -> int | str:
    """One id written by a person (a CLI value, a line of an ids file, a search box) in ``kind``.

    ``kind`` ``"text"``: ``text`` as given. ``"int"``: a whole number (optional sign,
    surrounding spaces ignored) that fits in 64 bits; otherwise ``ValueError`` with a short
    reason ("is not a whole number" / "is too large for a 64-bit integer").
    """
    if kind == "text":
        return text
    if not _WHOLE.fullmatch(text):
        raise ValueError("is not a whole number")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("is too large for a 64-bit integer")
    return value


def to_kind(values: Iterable[object] | np.ndarray, like: object) -> tuple[np.ndarray, np.ndarray]:
    """``values`` converted to the id kind of ``like`` (an id array, Series or dtype).

    Returns ``(ids, valid)``, both of shape (n,): for integer ``like``, text that is not a
    whole number in int64 cannot name any id and is marked invalid (its slot holds 0);
    for text ``like``, numbers become their decimal text (always valid).
    """
    text = is_text_ids(like)
    arr = query_ids(values)
    if text:
        if arr.dtype != object:
            out = np.empty(len(arr), dtype=object)
            out[:] = arr.astype(str).tolist()
            arr = out
        return arr, np.ones(len(arr), dtype=bool)
    if arr.dtype != object:
        return arr, np.ones(len(arr), dtype=bool)
    out = np.zeros(len(arr), dtype=np.int64)
    valid = np.zeros(len(arr), dtype=bool)
    for i, value in enumerate(arr.tolist()):
        try:
            out[i] = parse_id(value, "int")
            valid[i] = True
        except ValueError:
            pass
    return out, valid


def sort_order(ids: np.ndarray) -> np.ndarray:
    """``np.argsort(ids, kind="stable")`` of an id array (shape (n,)); text ids are compared
    as Python compares ``str`` (by code point), through numpy's ``StringDType`` (C speed,
    about 4x faster than sorting Python objects)."""
    ids = as_id_array(ids)
    if ids.dtype != object:
        return np.argsort(ids, kind="stable")
    try:
        return np.argsort(ids.astype(np.dtypes.StringDType()), kind="stable")
    except (UnicodeEncodeError, TypeError, ValueError, AttributeError):  # e.g. lone surrogates
        return np.argsort(ids, kind="stable")


def sorted_codes(ids: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(ids, sort=True)`` for id arrays: int64 codes (shape (n,)) that order like
    the ids, and the sorted distinct ids. Text ids are hashed once and only the distinct
    values are sorted (see ``sort_order``)."""
    codes, uniques = pd.factorize(as_id_array(ids))
    uniques = as_id_array(np.asarray(uniques))
    order = sort_order(uniques)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[codes], uniques[order]


class IdIndex:
    """Vectorised positions of ids in a fixed array of unique ids (shape (n,)).

    Integer ids: ``searchsorted`` over a sorted copy. Text ids: a pandas hash index, built
    on first use (about 0.3 s per million ids).
    """

    def __init__(self, ids: Iterable[object] | np.ndarray) -> None:
        self.ids = as_id_array(ids)
        self.text = self.ids.dtype == object
        self._index: pd.Index | None = None
        if not self.text:
            self._sorter = np.argsort(self.ids, kind="stable")
            self._sorted = self.ids[self._sorter]

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, queries: Iterable[object] | np.ndarray) -> np.ndarray:
        """Position of each query in ``ids`` (int64, shape (m,)); -1 for unknown ids and for
        queries that cannot be of this kind (text that is not a number, for integer ids)."""
        q, valid = to_kind(queries, self.ids)
        if len(self.ids) == 0 or len(q) == 0:
            return np.full(len(q), -1, dtype=np.int64)
        if self.text:
            if self._index is None:
                self._index = pd.Index(self.ids, dtype=object)
            return self._index.get_indexer(q).astype(np.int64, copy=False)
        pos = np.clip(np.searchsorted(self._sorted, q), 0, len(self._sorted) - 1)
        found = (self._sorted[pos] == q) & valid
        return np.where(found, self._sorter[pos], -1).astype(np.int64)
