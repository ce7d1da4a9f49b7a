"""Loaders that turn KION, MovieLens and generic CSV files into ``InteractionData``.

Every public function either returns a complete ``InteractionData`` or raises one
``DataError`` whose message names the file, the column and the first offending lines
(1-based, the header being line 1). Valid files take a fast typed ``read_csv`` path;
only when something is wrong are the columns re-read as text and checked (vectorised)
to find the offending lines.
"""
from __future__ import annotations

import codecs
import csv
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .dataset import REQUIRED_COLUMNS, InteractionData
from .errors import DataError

__all__ = ["load_kion", "load_movielens", "load_csv", "detect_format", "load_folder", "MOVIELENS_100K_GENRES"]

#: Names of ml-100k's 19 genre flags, used when ``u.genre`` is absent.
MOVIELENS_100K_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)

_UNNAMED = re.compile(r"^(Unnamed: \d+)?$")
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)$")
_NS_PER_S = 1_000_000_000
# ``datetime64[ns]`` covers 1677-09-21 .. 2262-04-11; stay inside it.
_MIN_NS_SAFE = -9_200_000_000 * _NS_PER_S
_MAX_NS_SAFE = 9_200_000_000 * _NS_PER_S


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Col:
    """How one column is read and checked.

    kind: "id" (whole number, no blanks), "float" (number, blanks allowed), "weight"
    (finite number, no blanks), "date" (date text), "unix" (unix time), "auto_dt"
    (unix time or date text, decided from the values), "text" (kept as read).
    """

    kind: str
    fmt: str | None = None  # strftime format for "date"
    unit: str = "s"  # "s" or "ms" for "unix"


_FAST_DTYPE = {"id": "int64", "float": "float64", "weight": "float64", "date": "category", "unix": "int64"}


def _fail(problem: str, path: Path | str, column: str | None = None, rows: Sequence[int] | None = None) -> NoReturn:
    raise DataError(problem, file=str(path), column=column, rows=rows)


def _check_file(path: Path, what: str = "") -> None:
    """Raise ``DataError`` unless ``path`` is an existing regular file."""
    if path.is_dir():
        _fail("is a folder, expected a file" + (f" ({what})" if what else ""), path)
    if not path.is_file():
        _fail("file not found" + (f" ({what})" if what else ""), path)


def _decode_error_line(path: Path, encoding: str) -> int | None:
    """1-based line of the first byte sequence that is not valid ``encoding``."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        line = 1
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return line + chunk.count(b"\n", 0, max(exc.start, 0))
                line += chunk.count(b"\n")
    except (OSError, LookupError):
        return None
    return None


def _pandas_call(path: Path, encoding: str, fn: Callable[[], pd.DataFrame], *, header: bool = True) -> pd.DataFrame:
    """Run a ``read_csv`` call, turning I/O, decoding and tokenising failures into ``DataError``.

    Other ``ValueError``s (a typed column that does not parse) pass through.
    """
    try:
        with warnings.catch_warnings():
            # e.g. "Length of header or names does not match length of data. This leads
            # to a loss of data": never load such a file silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return fn()
    except pd.errors.ParserWarning as exc:
        _fail(f"the file's rows do not match its header (check the separator and the quoting): {exc}", path)
    except UnicodeDecodeError:
        line = _decode_error_line(path, encoding)
        _fail(
            f"the file is not valid {encoding} text; save it as UTF-8 and try again",
            path,
            rows=[line] if line else None,
        )
    except pd.errors.EmptyDataError:
        _fail("the file is empty (no header line)" if header else "the file is empty", path)
    except pd.errors.ParserError as exc:
        msg = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            _fail(
                f"line has {m.group(3)} fields but {m.group(1)} were expected (check the separator and the quoting)",
                path,
                rows=[int(m.group(2))],
            )
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:  # pandas counts rows from 0 here
            _fail("a quoted field is never closed (a '\"' without its closing '\"')", path, rows=[int(m.group(1)) + 1])
        _fail(f"the file could not be parsed: {msg}", path)
    except FileNotFoundError:
        _fail("file not found", path)
    except OSError as exc:
        _fail(f"the file could not be read: {exc.strerror or exc}", path)


def _first_line(path: Path, encoding: str) -> str:
    try:
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            return fh.readline().rstrip("\r\n")
    except OSError:
        return ""


def _separator_hint(path: Path, encoding: str, sep: str) -> str | None:
    """If the first line holds another common separator, name it."""
    line = _first_line(path, encoding)
    counts = {c: line.count(c) for c in (",", ";", "\t", "|") if c != sep}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] > 0 else None


def _sep_name(sep: str) -> str:
    return {"\t": "tabs", ",": "','", ";": "';'", "|": "'|'", " ": "spaces"}.get(sep, repr(sep))


def _header_columns(path: Path, sep: str, encoding: str) -> list[str]:
    df = _pandas_call(
        path, encoding, lambda: pd.read_csv(path, sep=sep, nrows=0, encoding=encoding, index_col=False, engine="c")
    )
    return [str(c) for c in df.columns]


@dataclass
class _Header:
    """A header file's columns: wanted name -> header spelling, and, when every data row
    has one more field than the header (an index written without a header cell), the
    names to give pandas so the extra leading field is skipped instead of shifting columns."""

    raw: dict[str, str]
    all: list[str]
    names: list[str] | None = None


def _leading_field_counts(path: Path, sep: str, encoding: str, n: int = 2) -> list[int]:
    """Field counts of the first ``n`` non-blank lines (csv module, same separator)."""
    counts: list[int] = []
    try:
        with open(path, encoding=encoding, errors="replace", newline="") as fh:
            for row in csv.reader(fh, delimiter=sep):
                if any(f.strip() for f in row):
                    counts.append(len(row))
                    if len(counts) >= n:
                        break
    except (OSError, csv.Error):
        pass
    return counts


def _resolve_columns(
    path: Path, sep: str, encoding: str, required: Sequence[str], optional: Sequence[str] = ()
) -> _Header:
    """Map wanted column names to the header's spelling (surrounding spaces ignored).

    Raises ``DataError`` for a missing required column, spotting a wrong separator.
    """
    raw = _header_columns(path, sep, encoding)
    by_name: dict[str, str] = {}
    for c in raw:
        by_name.setdefault(c.strip(), c)
    missing = [c for c in required if c not in by_name]
    if missing:
        shown = [c for c in raw if not _UNNAMED.match(c)]
        if len(raw) == 1:
            hint = _separator_hint(path, encoding, sep)
            if hint is not None:
                _fail(
                    f"only one column was found ({raw[0]!r}); the file looks like it is separated by "
                    f"{_sep_name(hint)}, not {_sep_name(sep)}",
                    path,
                    column=missing[0],
                    rows=[1],
                )
        _fail(
            f"required column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} not found; "
            f"columns found: {', '.join(map(repr, shown)) or '(none)'}",
            path,
            column=missing[0],
            rows=[1],
        )
    header = _Header({c: by_name[c] for c in list(required) + list(optional) if c in by_name}, raw)
    counts = _leading_field_counts(path, sep, encoding)
    if len(counts) == 2 and counts[1] == counts[0] + 1 == len(raw) + 1:
        index_name = "__index__"
        while index_name in raw:
            index_name += "_"
        header.names = [index_name] + raw
    return header


def _count_fields(path: Path, sep: str, encoding: str, quoting: int) -> int:
    """Number of fields on the first line of a header-less file."""
    df = _pandas_call(
        path,
        encoding,
        lambda: pd.read_csv(
            path, sep=sep, header=None, nrows=1, encoding=encoding, quoting=quoting, index_col=False, dtype=str
        ),
        header=False,
    )
    return df.shape[1]


def _data_lines(path: Path, header: bool, sep: str) -> np.ndarray | None:
    """1-based line numbers of the data rows as pandas sees them (blank lines skipped).

    ``None`` when the file has no blank lines (row i is then line i + 1 or i + 2).
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data[:1] not in (b"\n", b"\r", b" ", b"\t") and not any(
        t in data for t in (b"\n\n", b"\n\r\n", b"\n ", b"\n\t")
    ):
        return None  # no empty line and no line starting with whitespace
    arr = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [arr.size]))
    ws = b" \r" + (b"" if sep == "\t" else b"\t")
    blank = ends == starts
    # Only lines starting with whitespace can be whitespace-only: check those one by one.
    first = arr[np.minimum(starts, arr.size - 1)]
    maybe = np.flatnonzero(~blank & np.isin(first, np.frombuffer(ws, dtype=np.uint8)))
    for i in maybe.tolist():
        blank[i] = not arr[starts[i] : ends[i]].tobytes().strip(ws)
    lines = np.flatnonzero(~blank) + 1
    return lines[1:] if header else lines


class _Locator:
    """Turns row positions of a frame into file line numbers (computed only on error)."""

    def __init__(self, path: Path, header: bool, sep: str) -> None:
        self.path, self.header, self.sep = path, header, sep
        self._lines: np.ndarray | None = None

    def __call__(self, pos: np.ndarray) -> list[int]:
        pos = np.asarray(pos, dtype=np.int64)[:5]
        if self._lines is None:
            self._lines = _data_lines(self.path, self.header, self.sep)
        lines = self._lines
        if lines is None or pos.size == 0 or pos.max() >= lines.size:
            return (pos + (2 if self.header else 1)).tolist()
        return lines[pos].tolist()


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "(empty)"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _bad(problem: str, path: Path, column: str, s: pd.Series, bad: np.ndarray, locate: _Locator) -> NoReturn:
    pos = np.flatnonzero(bad)
    n = pos.size
    examples = ", ".join(_show(v) for v in s.iloc[pos[:3]].tolist())
    _fail(f"{problem}: {n:,} bad value{'s' if n != 1 else ''} (e.g. {examples})", path, column, locate(pos))


def _numeric(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, missing mask) of a column that may still be text."""
    missing = s.isna().to_numpy()
    if ptypes.is_bool_dtype(s.dtype) or not (ptypes.is_numeric_dtype(s.dtype)):
        num = pd.to_numeric(s.astype(object), errors="coerce")
    else:
        num = s
    return np.asarray(num.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64), missing


def _conv_id(s: pd.Series, path: Path, col: str, locate: _Locator) -> np.ndarray:
    if ptypes.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.to_numpy(dtype=np.int64)
    if not ptypes.is_numeric_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype):
        num = pd.to_numeric(s.astype(object), errors="coerce")
        if num.dtype.kind == "i":
            return num.to_numpy(dtype=np.int64)
        vals = np.asarray(num.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)
    else:
        vals, _ = _numeric(s)
    with np.errstate(invalid="ignore"):
        bad = np.isnan(vals) | (np.abs(vals) >= 2.0**63) | (vals != np.floor(vals))
    if bad.any():
        _bad("ids must be whole numbers", path, col, s, bad, locate)
    return vals.astype(np.int64)


def _conv_float(
    s: pd.Series, path: Path, col: str, locate: _Locator, *, allow_missing: bool, notes: list[str]
) -> np.ndarray:
    vals, missing = _numeric(s)
    bad = np.isnan(vals) & ~missing
    if not allow_missing:
        bad |= missing | np.isinf(vals)
    if bad.any():
        _bad("values must be numbers" if allow_missing else "values must be finite numbers", path, col, s, bad, locate)
    n_missing = int(missing.sum())
    if n_missing:
        notes.append(f"{Path(path).name}: column '{col}' has {n_missing:,} empty value(s), kept as NaN")
    return vals


def _to_ns(values: pd.Series | pd.Index | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Datetime-like values -> (int64 nanoseconds, NaT-or-out-of-range mask); tz-aware -> naive UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        if isinstance(values, pd.Series):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        else:
            values = values.tz_convert("UTC").tz_localize(None)
    arr = np.asarray(values)
    if arr.dtype.kind != "M":
        arr = np.asarray(pd.to_datetime(pd.Series(arr), errors="coerce"))
    unit, _ = np.datetime_data(arr.dtype)
    ints = arr.view(np.int64)
    nat = np.isnat(arr)
    per = {"s": _NS_PER_S, "ms": 1_000_000, "us": 1_000, "ns": 1}.get(unit)
    if per is None:  # days, minutes...: let numpy convert (small ranges only)
        arr = arr.astype("datetime64[s]")
        ints, per = arr.view(np.int64), _NS_PER_S
    limit = _MAX_NS_SAFE // per
    out_of_range = ~nat & ((ints > limit) | (ints < -limit))
    ns = np.where(nat | out_of_range, 0, ints) * per
    return ns, nat | out_of_range


def _parse_date_text(text: pd.Series, fmt: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Date/time strings -> (int64 ns, unparsable mask). Fast path first, then ISO 8601, then mixed."""
    text = text.astype(object)
    present = text.notna().to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if fmt is not None:
            ns, bad = _to_ns(pd.to_datetime(text, format=fmt, errors="coerce"))
            return ns, bad
        ns, bad = _to_ns(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce"))
        todo = np.flatnonzero(bad & present)
        for kwargs in ({"format": "ISO8601"}, {"format": "mixed"}):
            if todo.size == 0:
                break
            sub = text.iloc[todo].astype(str).str.strip()
            parsed = pd.to_datetime(sub, errors="coerce", utc=True, **kwargs)
            sub_ns, sub_bad = _to_ns(parsed)
            if kwargs["format"] == "mixed":
                # dateutil would read a bare number such as "5" as a day of the current month.
                sub_bad |= pd.to_numeric(sub, errors="coerce").notna().to_numpy()
            ok = ~sub_bad
            ns[todo[ok]] = sub_ns[ok]
            bad[todo[ok]] = False
            todo = todo[sub_bad]
    return ns, bad


def _conv_date(s: pd.Series, path: Path, col: str, locate: _Locator, fmt: str | None) -> np.ndarray:
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = pd.Series(s.cat.categories.astype(str))
        cat_ns, cat_bad = _parse_date_text(cats, fmt)
        codes = s.cat.codes.to_numpy()
        missing = codes < 0
        safe = np.where(missing, 0, codes)
        ns = cat_ns[safe] if cat_ns.size else np.zeros(codes.size, dtype=np.int64)
        bad = missing | (cat_bad[safe] if cat_bad.size else True)
    else:
        ns, bad = _parse_date_text(s, fmt)
    if bad.any():
        what = f"dates must match {fmt!r}" if fmt else "dates could not be read (expected e.g. 2021-05-11)"
        _bad(what, path, col, s, bad, locate)
    return ns.view("datetime64[ns]")


def _conv_unix(s: pd.Series, path: Path, col: str, locate: _Locator, unit: str) -> np.ndarray:
    per = _NS_PER_S if unit == "s" else 1_000_000
    if ptypes.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        ints = s.to_numpy(dtype=np.int64)
        bad = (ints > _MAX_NS_SAFE // per) | (ints < _MIN_NS_SAFE // per)
        if bad.any():
            _bad(f"unix times ({unit}) are out of range", path, col, s, bad, locate)
        return (ints * per).view("datetime64[ns]")
    vals, missing = _numeric(s)
    with np.errstate(invalid="ignore"):
        bad = np.isnan(vals) | (vals > _MAX_NS_SAFE / per) | (vals < _MIN_NS_SAFE / per)
    if bad.any():
        _bad(f"values must be unix times in {'seconds' if unit == 's' else 'milliseconds'}", path, col, s, bad, locate)
    whole = vals == np.floor(vals)
    if whole.all():
        ns = vals.astype(np.int64) * per
    else:
        ns = np.round(vals * per).astype(np.int64)
    return ns.view("datetime64[ns]")


def _conv_auto_dt(
    s: pd.Series, path: Path, col: str, locate: _Locator, notes: list[str]
) -> np.ndarray:
    """Numbers -> unix seconds (milliseconds when too large for seconds); text -> dates."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    numeric = ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype)
    if not numeric:
        present = s.notna().to_numpy()
        num, _ = _numeric(s)
        numeric = present.any() and np.count_nonzero(~np.isnan(num) & present) * 2 > np.count_nonzero(present)
    if numeric:
        vals, _ = _numeric(s)
        finite = vals[np.isfinite(vals)]
        unit = "ms" if finite.size and np.nanmax(np.abs(finite)) > 1e11 else "s"
        if unit == "ms":
            notes.append(f"{Path(path).name}: column '{col}' read as unix time in milliseconds")
        return _conv_unix(s, path, col, locate, unit)
    return _conv_date(s, path, col, locate, None)


_TYPED_READ_ERRORS = (ValueError, TypeError, OverflowError)


def _reads_typed(path: Path, kw: dict, column: str, dtype: str) -> bool:
    """Whether ``column`` alone parses as ``dtype``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.read_csv(path, **{**kw, "usecols": [column]}, dtype={column: dtype})
    except _TYPED_READ_ERRORS:
        return False
    except Exception:  # noqa: BLE001 - anything else is reported by the full read
        return True
    return True


def _read_columns(
    path: Path,
    cols: dict[str, _Col],
    *,
    head: _Header | None = None,
    sep: str = ",",
    names: list[str] | None = None,
    encoding: str = "utf-8",
    quoting: int = csv.QUOTE_MINIMAL,
    keep_other: bool = False,
    text_na: bool = False,
    notes: list[str],
) -> pd.DataFrame:
    """Read ``cols`` from a delimited file and convert/check them.

    ``head`` comes from ``_resolve_columns`` (header files); ``names`` names every
    field of a header-less file. With ``keep_other`` every
    other column is kept as pandas reads it.
    """
    header = names is None
    raw_names = head.raw if head is not None else {c: c for c in cols}
    kw: dict = dict(sep=sep, encoding=encoding, quoting=quoting, engine="c", index_col=False)
    if header:
        kw["header"] = 0
        if head is not None and head.names is not None:
            kw["names"] = head.names
    else:
        kw.update(header=None, names=names)
    all_fields = names if names is not None else (head.all if head is not None else None)
    if not keep_other and (all_fields is None or {raw_names[c] for c in cols} != set(all_fields)):
        # Only when some columns are not wanted: usecols makes pandas accept rows with
        # extra fields, so files holding just the wanted columns are read strictly.
        kw["usecols"] = [raw_names[c] for c in cols]
    if text_na:
        kw.update(keep_default_na=False, na_values=[""])
    fast = {raw_names[c]: _FAST_DTYPE[spec.kind] for c, spec in cols.items() if spec.kind in _FAST_DTYPE}
    try:
        df = _pandas_call(path, encoding, lambda: pd.read_csv(path, dtype=fast, **kw), header=header)
    except _TYPED_READ_ERRORS:
        # A typed column did not parse. Find which one(s) with cheap one-column reads and
        # re-read only those as text, so the checks below can name the offending lines.
        typed = [k for k, v in fast.items() if v != "category"]
        failing = [k for k in typed if not _reads_typed(path, kw, k, fast[k])] or typed
        slow = {k: (object if k in failing else v) for k, v in fast.items()}
        df = _pandas_call(path, encoding, lambda: pd.read_csv(path, dtype=slow, **kw), header=header)
    df = df.rename(columns={v: k for k, v in raw_names.items()})
    if len(df) == 0:
        _fail("the file has a header but no data rows" if header else "the file has no data rows", path)
    locate = _Locator(path, header, sep)
    out: dict[str, object] = {}
    for col, spec in cols.items():
        s = df[col]
        if spec.kind == "id":
            out[col] = _conv_id(s, path, col, locate)
        elif spec.kind in ("float", "weight"):
            out[col] = _conv_float(s, path, col, locate, allow_missing=spec.kind == "float", notes=notes)
        elif spec.kind == "date":
            out[col] = _conv_date(s, path, col, locate, spec.fmt)
        elif spec.kind == "unix":
            out[col] = _conv_unix(s, path, col, locate, spec.unit)
        elif spec.kind == "auto_dt":
            out[col] = _conv_auto_dt(s, path, col, locate, notes)
        else:
            out[col] = s
    if keep_other:
        for col, values in out.items():
            df[col] = values
        if head is not None and head.names is not None:
            df = df.drop(columns=[head.names[0]])
        return df.reset_index(drop=True)
    return pd.DataFrame(out, copy=False)  # no consolidation copy: ~0.5 s on KION's 5.5M rows


def _interactions(
    user: np.ndarray,
    item: np.ndarray,
    dt: np.ndarray,
    weight: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Assemble an interactions frame with the exact dtypes of ``REQUIRED_COLUMNS``."""
    n = len(user)
    data = {
        "user_id": np.asarray(user, dtype=np.int64),
        "item_id": np.asarray(item, dtype=np.int64),
        "datetime": np.asarray(dt).astype("datetime64[ns]", copy=False),
        "weight": np.ones(n, dtype=np.float32) if weight is None else np.asarray(weight, dtype=np.float32),
    }
    for name, values in (extra or {}).items():
        data[name] = np.asarray(values, dtype=np.float64)
    df = pd.DataFrame(data, copy=False)
    assert list(df.columns[:4]) == list(REQUIRED_COLUMNS)
    return df


def _drop_unnamed(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if _UNNAMED.match(str(c))])


def _dedupe(
    df: pd.DataFrame, id_col: str, path: Path, notes: list[str], *, header: bool = True, sep: str = ","
) -> pd.DataFrame:
    """Keep the first row of each id, noting how many duplicates were dropped."""
    dup = df[id_col].duplicated(keep="first").to_numpy()
    if dup.any():
        first = np.flatnonzero(dup)[:3]
        lines = _Locator(path, header, sep)(first)
        notes.append(
            f"{path.name}: {int(dup.sum()):,} duplicate {id_col} row(s) ignored, the first one kept "
            f"(e.g. line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})"
        )
        df = df[~dup]
    return df.reset_index(drop=True)


def _split_title(titles: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """'Toy Story (1995)' -> ('Toy Story', 'Toy Story (1995)', 1995); year is nullable Int64."""
    orig = titles.astype("str").str.strip()
    parts = orig.str.extract(_TITLE_YEAR)
    title = parts["title"].where(parts["title"].fillna("").str.len() > 0, orig)
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int64")
    return title.astype("str"), orig, year


def _ml_genres(genres: pd.Series) -> pd.Series:
    """MovieLens 'A|B' -> KION-style 'A, B'; '(no genres listed)' -> ''."""
    g = genres.fillna("").astype("str").str.replace("(no genres listed)", "", regex=False)
    g = g.str.replace(r"\s*\|[\s|]*", ", ", regex=True)
    return g.str.strip(", ").astype("str")


def _items_frame(
    item_id: np.ndarray, titles: pd.Series, genres: pd.Series, year_fallback: pd.Series | None = None
) -> pd.DataFrame:
    """The MovieLens items table in KION's column names."""
    title, orig, year = _split_title(titles)
    if year_fallback is not None:
        year = year.fillna(year_fallback)
    return pd.DataFrame(
        {
            "item_id": np.asarray(item_id, dtype=np.int64),
            "title": title.to_numpy(),
            "title_orig": orig.to_numpy(),
            "release_year": year.array,
            "genres": genres.to_numpy(),
        }
    ).astype({"title": "str", "title_orig": "str", "genres": "str"})


def _note_missing_items(interactions: pd.DataFrame, items: pd.DataFrame, path: Path, notes: list[str]) -> None:
    used = pd.unique(interactions["item_id"].to_numpy())
    n = int((~np.isin(used, items["item_id"].to_numpy())).sum())
    if n:
        notes.append(f"{path.name}: {n:,} item(s) in the interactions have no entry here (no title)")


def _require_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    if not folder.exists():
        _fail("folder not found", folder)
    if not folder.is_dir():
        _fail("is not a folder", folder)
    return folder


# --------------------------------------------------------------------------- KION


def _read_side_table(
    path: Path, id_col: str, notes: list[str], *, numeric_year: bool = False
) -> pd.DataFrame:
    """An items/users table: unique int64 id column plus every other named column."""
    hd = _resolve_columns(path, ",", "utf-8", [id_col])
    df = _read_columns(
        path, {id_col: _Col("id")}, head=hd, keep_other=True, text_na=True, notes=notes
    )
    df = _drop_unnamed(df)
    df.columns = [str(c).strip() for c in df.columns]
    df = df[[id_col] + [c for c in df.columns if c != id_col]]
    if numeric_year and "release_year" in df.columns:
        years = pd.to_numeric(df["release_year"], errors="coerce")
        whole = years.where(years == np.floor(years))
        df["release_year"] = whole.astype("Int64")
    return _dedupe(df, id_col, path, notes)


def _optional_file(folder: Path, *names: str) -> Path | None:
    for name in names:
        p = folder / name
        if p.is_file():
            return p
    return None


def load_kion(folder: str | Path) -> InteractionData:
    """Load an MTS KION folder: ``interactions.csv`` plus optional ``items_en.csv`` / ``users_en.csv``.

    (``items.csv`` / ``users.csv`` are used when the ``_en`` files are absent.)
    """
    folder = _require_folder(folder)
    notes: list[str] = []
    path = folder / "interactions.csv"
    _check_file(path, "a KION folder needs interactions.csv")
    hd = _resolve_columns(path, ",", "utf-8", ["user_id", "item_id", "last_watch_dt"], ["total_dur", "watched_pct"])
    cols = {"user_id": _Col("id"), "item_id": _Col("id"), "last_watch_dt": _Col("date")}
    cols.update({c: _Col("float") for c in ("total_dur", "watched_pct") if c in hd.raw})
    df = _read_columns(path, cols, head=hd, notes=notes)
    extra = {c: df[c].to_numpy() for c in ("total_dur", "watched_pct") if c in df}
    interactions = _interactions(df["user_id"], df["item_id"], df["last_watch_dt"].to_numpy(), extra=extra)
    del df

    items = users = None
    items_path = _optional_file(folder, "items_en.csv", "items.csv")
    if items_path is not None:
        items = _read_side_table(items_path, "item_id", notes, numeric_year=True)
        _note_missing_items(interactions, items, items_path, notes)
    users_path = _optional_file(folder, "users_en.csv", "users.csv")
    if users_path is not None:
        users = _read_side_table(users_path, "user_id", notes)
    return InteractionData(interactions, items, users, source=str(folder), format="kion", notes=notes)


# --------------------------------------------------------------------------- MovieLens


def _read_movies_csv(path: Path, notes: list[str]) -> pd.DataFrame:
    hd = _resolve_columns(path, ",", "utf-8", ["movieId", "title"], ["genres"])
    cols = {"movieId": _Col("id"), "title": _Col("text")}
    if "genres" in hd.raw:
        cols["genres"] = _Col("text")
    df = _read_columns(path, cols, head=hd, text_na=True, notes=notes)
    genres = _ml_genres(df["genres"]) if "genres" in df else pd.Series([""] * len(df), dtype="str")
    items = _items_frame(df["movieId"].to_numpy(), df["title"].fillna(""), genres)
    return _dedupe(items, "item_id", path, notes)


def _genre_names(folder: Path, notes: list[str]) -> list[str]:
    path = folder / "u.genre"
    if not path.is_file():
        return list(MOVIELENS_100K_GENRES)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        _fail(f"the file could not be read: {exc.strerror or exc}", path)
    pairs = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            name, _, idx = line.rpartition("|")
            if not name or not idx.strip().isdigit():
                _fail("expected lines like 'Action|1'", path, rows=[lineno])
            pairs.append((int(idx), name.strip()))
    names = [n for _, n in sorted(pairs)]
    if len(names) != len(MOVIELENS_100K_GENRES):
        notes.append(f"{path.name}: {len(names)} genres listed, expected 19; using the standard ml-100k names")
        return list(MOVIELENS_100K_GENRES)
    return names


def _read_u_item(folder: Path, path: Path, notes: list[str]) -> pd.DataFrame:
    enc, q = "latin-1", csv.QUOTE_NONE
    n_fields = _count_fields(path, "|", enc, q)
    if n_fields < 2:
        hint = _separator_hint(path, enc, "|")
        extra = f"; it looks like it is separated by {_sep_name(hint)}" if hint else ""
        _fail(f"expected '|'-separated fields (id|title|release date|...){extra}", path, rows=[1])
    names = ["movie_id", "title", "release_date", "video_release_date", "url"][:n_fields]
    names += [f"genre_{i}" for i in range(n_fields - len(names))]
    cols = {"movie_id": _Col("id"), "title": _Col("text")}
    if n_fields >= 3:
        cols["release_date"] = _Col("text")
    genre_cols = [c for c in names if c.startswith("genre_")]
    for c in genre_cols:
        cols[c] = _Col("text")
    df = _read_columns(path, cols, sep="|", names=names, encoding=enc, quoting=q, text_na=True, notes=notes)
    if len(genre_cols) == 19:
        genre_names = np.array([g if g != "unknown" else "" for g in _genre_names(folder, notes)], dtype=object)
        pieces = [
            np.where(pd.to_numeric(df[c], errors="coerce").to_numpy() == 1, (name + ", ") if name else "", "")
            for c, name in zip(genre_cols, genre_names)
        ]
        joined = reduce(lambda a, b: a + b, [p.astype(object) for p in pieces])
        genres = pd.Series(joined, dtype="str").str.rstrip(", ")
    else:
        if genre_cols:
            notes.append(f"{path.name}: {len(genre_cols)} genre flags found, expected 19; genres left empty")
        genres = pd.Series([""] * len(df), dtype="str")
    year_fallback = None
    if "release_date" in df:
        year_fallback = pd.to_numeric(
            df["release_date"].astype("str").str.extract(r"(\d{4})\s*$")[0], errors="coerce"
        ).astype("Int64")
    items = _items_frame(df["movie_id"].to_numpy(), df["title"].fillna(""), genres, year_fallback)
    return _dedupe(items, "item_id", path, notes, header=False, sep="|")


def _read_u_data(path: Path, notes: list[str]) -> pd.DataFrame:
    n_fields = _count_fields(path, "\t", "utf-8", csv.QUOTE_NONE)
    if n_fields < 4:
        hint = _separator_hint(path, "utf-8", "\t")
        if n_fields == 1 and hint:
            _fail(
                f"only one column was found; the file looks like it is separated by {_sep_name(hint)}, not tabs",
                path,
                column="user_id",
                rows=[1],
            )
        _fail(
            f"expected 4 tab-separated fields (user id, item id, rating, timestamp), found {n_fields}",
            path,
            rows=[1],
        )
    names = ["user_id", "item_id", "rating", "timestamp"] + [f"extra_{i}" for i in range(n_fields - 4)]
    cols = {"user_id": _Col("id"), "item_id": _Col("id"), "rating": _Col("float"), "timestamp": _Col("unix")}
    return _read_columns(path, cols, sep="\t", names=names, quoting=csv.QUOTE_NONE, notes=notes)


def load_movielens(folder: str | Path) -> InteractionData:
    """Load a MovieLens folder: ``ratings.csv`` (+ ``movies.csv``) or ``u.data`` (+ ``u.item``, ``u.genre``).

    The rating goes to the ``rating`` column; weight is 1.0. Items get ``title`` (year
    removed), ``title_orig``, ``release_year`` (Int64) and ``genres`` (", "-joined).
    """
    folder = _require_folder(folder)
    notes: list[str] = []
    items = None
    ratings_path, udata_path = folder / "ratings.csv", folder / "u.data"
    if ratings_path.is_file() or not udata_path.is_file():
        _check_file(ratings_path, "a MovieLens folder needs ratings.csv or u.data")
        hd = _resolve_columns(ratings_path, ",", "utf-8", ["userId", "movieId", "timestamp"], ["rating"])
        cols = {"userId": _Col("id"), "movieId": _Col("id"), "timestamp": _Col("unix")}
        if "rating" in hd.raw:
            cols["rating"] = _Col("float")
        df = _read_columns(ratings_path, cols, head=hd, notes=notes)
        extra = {"rating": df["rating"].to_numpy()} if "rating" in df else {}
        interactions = _interactions(df["userId"], df["movieId"], df["timestamp"].to_numpy(), extra=extra)
        movies_path = folder / "movies.csv"
        if movies_path.is_file():
            items = _read_movies_csv(movies_path, notes)
            _note_missing_items(interactions, items, movies_path, notes)
    else:
        df = _read_u_data(udata_path, notes)
        interactions = _interactions(
            df["user_id"], df["item_id"], df["timestamp"].to_numpy(), extra={"rating": df["rating"].to_numpy()}
        )
        uitem_path = folder / "u.item"
        if uitem_path.is_file():
            items = _read_u_item(folder, uitem_path, notes)
            _note_missing_items(interactions, items, uitem_path, notes)
    return InteractionData(interactions, items, None, source=str(folder), format="movielens", notes=notes)


# --------------------------------------------------------------------------- generic CSV


def load_csv(
    path: str | Path,
    *,
    user_col: str,
    item_col: str,
    datetime_col: str,
    weight_col: str | None = None,
    sep: str = ",",
    datetime_format: str = "auto",
) -> InteractionData:
    """Load interactions from any delimited file, given which columns hold what.

    ``datetime_format``: "auto" (numbers -> unix seconds, or milliseconds when too large
    for seconds; text -> dates), "unix" / "unix_s", "unix_ms", "iso" or a strftime
    format such as "%d.%m.%Y".
    """
    path = Path(path)
    _check_file(path)
    notes: list[str] = []
    wanted = [user_col, item_col, datetime_col] + ([weight_col] if weight_col else [])
    if len(set(wanted)) != len(wanted):
        _fail("the same column is mapped to more than one role (user, item, datetime, weight)", path)
    hd = _resolve_columns(path, sep, "utf-8", wanted)
    if datetime_format == "auto":
        dt_spec = _Col("auto_dt")
    elif datetime_format in ("unix", "unix_s"):
        dt_spec = _Col("unix", unit="s")
    elif datetime_format == "unix_ms":
        dt_spec = _Col("unix", unit="ms")
    elif datetime_format in ("iso", "text"):
        dt_spec = _Col("date")
    else:
        dt_spec = _Col("date", fmt=datetime_format)
    cols = {user_col: _Col("id"), item_col: _Col("id"), datetime_col: dt_spec}
    if weight_col:
        cols[weight_col] = _Col("weight")
    df = _read_columns(path, cols, head=hd, sep=sep, notes=notes)
    interactions = _interactions(
        df[user_col], df[item_col], df[datetime_col].to_numpy(), df[weight_col].to_numpy() if weight_col else None
    )
    return InteractionData(interactions, None, None, source=str(path), format="csv", notes=notes)


# --------------------------------------------------------------------------- folders


def detect_format(folder: str | Path) -> str:
    """Return "kion" when the folder has interactions.csv, "movielens" for ratings.csv or u.data."""
    folder = _require_folder(folder)
    if (folder / "interactions.csv").is_file():
        return "kion"
    if (folder / "ratings.csv").is_file() or (folder / "u.data").is_file():
        return "movielens"
    _fail(
        "no known data files found; expected interactions.csv (KION) or ratings.csv / u.data (MovieLens)",
        folder,
    )


def load_folder(folder: str | Path, fmt: str = "auto") -> InteractionData:
    """Load a KION or MovieLens folder; ``fmt`` is "auto", "kion" or "movielens"."""
    if fmt == "auto":
        fmt = detect_format(folder)
    if fmt == "kion":
        return load_kion(folder)
    if fmt == "movielens":
        return load_movielens(folder)
    _fail(f"unknown format {fmt!r}; expected 'auto', 'kion' or 'movielens'", folder)
