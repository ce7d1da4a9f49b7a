"""Loaders that turn KION, MovieLens (csv, ml-100k, ML-1M/10M ``.dat``), SASRec-format and
generic CSV files (each possibly ``.gz``) into ``InteractionData``. ``core.load.load_data``
is the entry point that also opens zip archives and single files.

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

from . import dates, preview, sources
from .dataset import REQUIRED_COLUMNS, InteractionData
from .errors import DataError, DateFormatError, UnrecognisedDataError
from .ids import INT64_MAX, as_id_array, is_text_ids, whole_number_ids, whole_numbers

__all__ = [
    "load_kion", "load_movielens", "load_csv", "load_sasrec", "detect_format", "load_folder", "MOVIELENS_100K_GENRES",
    "FOLDER_MARKERS",
]

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

    kind: "id" (whole number or text, no blanks), "int" (whole number, no blanks: the
    SASRec format's ids), "float" (number, blanks allowed), "weight" (finite number, no
    blanks), "date" (date text), "unix" (unix time), "auto_dt" (unix time or date text,
    decided from the values), "text" (kept as read).
    """

    kind: str
    fmt: str | None = None  # "date": a stated date format (core.dates), None to infer it
    unit: str = "s"  # "s" or "ms" for "unix"


_FAST_DTYPE = {"id": "int64", "float": "float64", "weight": "float64", "date": "category", "unix": "int64", "int": "int64"}


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
        with sources.open_binary(path) as fh:
            while chunk := fh.read(1 << 22):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return line + chunk.count(b"\n", 0, max(exc.start, 0))
                line += chunk.count(b"\n")
    except (OSError, LookupError, *sources.DECOMPRESS_ERRORS):
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
    except sources.DECOMPRESS_ERRORS as exc:
        _fail(f"the compressed file is damaged or incomplete ({exc}); download it again", path)
    except OSError as exc:
        _fail(f"the file could not be read: {exc.strerror or exc}", path)


def _first_line(path: Path, encoding: str) -> str:
    try:
        with sources.open_text(path, encoding, errors="replace") as fh:
            return fh.readline().rstrip("\r\n")
    except (OSError, *sources.DECOMPRESS_ERRORS):
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
        with sources.open_text(path, encoding, errors="replace") as fh:
            for row in csv.reader(fh, delimiter=sep):
                if any(f.strip() for f in row):
                    counts.append(len(row))
                    if len(counts) >= n:
                        break
    except (OSError, csv.Error, TypeError, *sources.DECOMPRESS_ERRORS):  # TypeError: sep of 2+ characters
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
        data = sources.read_bytes(path)
    except (OSError, *sources.DECOMPRESS_ERRORS):
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
    """An id column -> int64 when every id is a whole number that fits in int64 (the fast
    path: pandas already read it as integers), else the ids as text exactly as read (an
    object array of ``str``; only the CSV quoting is gone). See ``core.ids``.

    Raises ``DataError`` naming the lines of blank (empty or whitespace-only) ids.
    """
    dtype = s.dtype
    if ptypes.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype) and not s.hasnans:
        if dtype.kind != "u" or len(s) == 0 or int(s.max()) <= INT64_MAX:
            return s.to_numpy(dtype=np.int64)
    if ptypes.is_float_dtype(dtype):  # a loader that read the ids as floats: whole values only
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = np.isnan(vals) | (np.abs(vals) >= 2.0**63) | (vals != np.floor(vals))
        if bad.any():
            _bad("ids must be whole numbers or text (read as numbers here)", path, col, s, bad, locate)
        return vals.astype(np.int64)
    # Text (or a column of mixed values): decide on the distinct values only.
    values = s.to_numpy(dtype=object, na_value=None) if not isinstance(dtype, np.dtype) else s.to_numpy()
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.empty(len(uniques), dtype=object)
    texts[:] = [v if isinstance(v, str) else str(v) for v in uniques.tolist()]
    blank_unique = np.fromiter((not t.strip() for t in texts.tolist()), dtype=bool, count=len(texts))
    blank = codes < 0
    if blank_unique.any():
        blank |= blank_unique[np.where(codes < 0, 0, codes)] & (codes >= 0)
    if blank.any():
        _bad("ids must not be empty", path, col, s, blank, locate)
    ints = whole_number_ids(texts)
    if ints is not None:
        return ints[codes]
    return texts[codes]


#: Rows of the file's head checked for id columns written as codes rather than plain integers.
ID_SAMPLE_ROWS = 50_000


def _ids_written_as_codes(path: Path, kw: dict, columns: list[str]) -> list[str]:
    """Id columns whose values in the file's first ``ID_SAMPLE_ROWS`` rows look like whole
    numbers but are not written as plain integers (leading zeros, as in "001307"): reading them
    as int64 would change them (and merge "07" with "7"), so they are read as text.

    Cost: one small read of the head (milliseconds). A column whose head holds only plain
    integers is read as integers; zero-padded codes are padded throughout, in practice.
    """
    if not columns:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = pd.read_csv(path, **{**kw, "usecols": columns}, dtype=str, nrows=ID_SAMPLE_ROWS,
                               keep_default_na=False)
    except Exception:  # noqa: BLE001 - the full read reports any problem with its location
        return []
    out = []
    for c in columns:
        values = pd.unique(head[c].to_numpy(dtype=object)) if c in head.columns else []
        padded = [v for v in values if isinstance(v, str) and len(v.strip().lstrip("+-")) > 1
                  and v.strip().lstrip("+-")[0] == "0" and v.strip().lstrip("+-")[1].isdigit()]
        if padded:
            out.append(c)
    return out


def _conv_int(s: pd.Series, path: Path, col: str, locate: _Locator) -> np.ndarray:
    """A column of whole numbers -> int64; raises ``DataError`` naming the lines of other values."""
    if ptypes.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype) and not s.hasnans:
        return s.to_numpy(dtype=np.int64)
    vals, _ = _numeric(s)
    with np.errstate(invalid="ignore"):
        bad = np.isnan(vals) | (np.abs(vals) >= 2.0**63) | (vals != np.floor(vals))
    if bad.any():
        _bad("values must be whole numbers", path, col, s, bad, locate)
    return vals.astype(np.int64)


def _dt_spec(default: _Col, date_format: str | None) -> _Col:
    """How to read a time column: ``default`` unless a date format is stated."""
    if date_format is None:
        return default
    unit = dates.unix_unit_of(date_format)
    return _Col("unix", unit=unit) if unit else _Col("date", fmt=date_format)


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


def _first_rows(codes: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
    """Row positions (sorted) of the first occurrence of each code in ``wanted``."""
    return np.sort(np.array([int(np.argmax(codes == k)) for k in wanted], dtype=np.int64))


def _conv_date(
    s: pd.Series, path: Path, col: str, locate: _Locator, fmt: str | None, notes: list[str] | None = None
) -> np.ndarray:
    """Date text -> datetime64[ns], read with ONE format for the whole column (``core.dates``):
    ``fmt`` when stated, else the format all distinct values share.

    Works on the distinct values (categories), so KION's few hundred dates cost nothing.
    Raises ``DataError`` naming two conflicting values (formats mixed, or day/month order
    undecided) or the lines of values that do not match the format.
    """
    unit = dates.unix_unit_of(fmt)
    if unit is not None:
        return _conv_unix(s, path, col, locate, unit)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, values = s.cat.codes.to_numpy(), s.cat.categories
    else:
        codes, values = pd.factorize(s, use_na_sentinel=True)
    if fmt is None and len(values) and notes is not None:
        numbers = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
        if numbers.notna().all():  # a date column holding unix times: seconds or ms by magnitude
            return _conv_auto_dt(s, path, col, locate, notes)
    try:
        parsed = dates.parse_dates(pd.Series(np.asarray(values, dtype=object), dtype=object), fmt)
    except dates.DateConflict as exc:
        raise DateFormatError(exc.problem, file=str(path), column=col, rows=locate(_first_rows(codes, exc.examples))) from None
    missing = codes < 0
    if len(values) and not parsed.bad.any() and not missing.any():  # the usual case: one gather
        ns, bad = parsed.ns[codes], None
    elif len(values):
        safe = np.where(missing, 0, codes)
        ns, bad = parsed.ns[safe], missing | parsed.bad[safe]
    else:
        ns, bad = np.zeros(codes.size, dtype=np.int64), np.ones(codes.size, dtype=bool)
    if bad is not None and bad.any():
        if fmt is not None:
            what = f"dates do not match the stated date format {fmt!r} (--date-format, date_format=)"
        elif parsed.what.startswith("dates could not"):
            what = parsed.what
        else:
            what = f"dates could not be read as {parsed.what}, the format of the column's other values"
        _bad(what, path, col, s, bad, locate)
    if parsed.note and notes is not None:
        notes.append(f"{Path(path).name}: column '{col}' read as {parsed.note}")
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
    """Numbers -> unix seconds or milliseconds (by magnitude, noted); text -> dates (``_conv_date``)."""
    numeric = ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype)
    if not numeric:
        present = s.notna().to_numpy()
        num, _ = _numeric(s)
        numeric = present.any() and np.count_nonzero(~np.isnan(num) & present) * 2 > np.count_nonzero(present)
    if numeric:
        vals, _ = _numeric(s)
        try:
            unit, how = dates.unix_unit(vals)
        except dates.DateConflict as exc:
            raise DateFormatError(exc.problem, file=str(path), column=col, rows=locate(np.sort(np.asarray(exc.examples)))) from None
        notes.append(f"{Path(path).name}: column '{col}' read as {how}")
        return _conv_unix(s, path, col, locate, unit)
    return _conv_date(s, path, col, locate, None, notes)


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
    for c in _ids_written_as_codes(path, kw, [raw_names[c] for c, spec in cols.items() if spec.kind == "id"]):
        fast[c] = object  # e.g. zero-padded "001307": an int64 read would turn it into 1307
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
        elif spec.kind == "int":
            out[col] = _conv_int(s, path, col, locate)
        elif spec.kind == "dat_gap":
            if s.notna().any():  # an empty field between '::' holds something: a lone ':' in the line
                pos = np.flatnonzero(s.notna().to_numpy())
                _fail(f"fields must be separated by '::' ({_DAT_LAYOUT}); {pos.size:,} line(s) have a single ':'",
                      path, rows=locate(pos))
        elif spec.kind in ("float", "weight"):
            out[col] = _conv_float(s, path, col, locate, allow_missing=spec.kind == "float", notes=notes)
        elif spec.kind == "date":
            out[col] = _conv_date(s, path, col, locate, spec.fmt, notes)
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
        "user_id": as_id_array(user),  # int64, or text (object of str: the frame's "str" dtype)
        "item_id": as_id_array(item),
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
            "item_id": as_id_array(item_id),
            "title": title.to_numpy(),
            "title_orig": orig.to_numpy(),
            "release_year": year.array,
            "genres": genres.to_numpy(),
        }
    ).astype({"title": "str", "title_orig": "str", "genres": "str"})


def _note_missing_items(interactions: pd.DataFrame, items: pd.DataFrame, path: Path, notes: list[str]) -> None:
    used = pd.unique(interactions["item_id"].to_numpy())
    n = int((~pd.Series(used).isin(items["item_id"].to_numpy())).sum())  # hashed: fast for text ids too
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


def _side_ids_as_text(path: Path, hd: _Header, id_col: str, n_rows: int) -> np.ndarray | None:
    """The id column of a side table re-read as text exactly as written ("012" stays "012"),
    aligned with ``_read_columns``' rows; None when the rows do not line up."""
    kw: dict = dict(sep=",", encoding="utf-8", engine="c", index_col=False, header=0, dtype=str,
                    keep_default_na=False, na_values=[""], usecols=[hd.raw[id_col]])
    if hd.names is not None:
        kw["names"] = hd.names
    df = _pandas_call(path, "utf-8", lambda: pd.read_csv(path, **kw))
    if len(df) != n_rows:
        return None
    return as_id_array(df.iloc[:, 0].to_numpy(dtype=object))


def _align_side_ids(
    df: pd.DataFrame, id_col: str, ids_like: pd.Series, path: Path, notes: list[str],
    exact_text: np.ndarray | None = None,
) -> pd.DataFrame:
    """Give an items/users table's ids the kind of the interactions' ids (``ids_like``) so
    that lookups match.

    Text interactions, integer side ids: the side ids as text, ``exact_text`` (the column
    as written, e.g. "012") when given, else their decimal text. Integer interactions,
    text side ids: the whole numbers become int64; rows whose id is not one (no
    interaction can name them) are dropped, and so are later rows that become the same
    number ("12" and "012"), each with a note. Same kind: ``df`` unchanged.
    """
    ids = df[id_col]
    if is_text_ids(ids_like) and not is_text_ids(ids):
        text = exact_text if exact_text is not None and len(exact_text) == len(df) else as_id_array(ids.to_numpy().astype(str))
        return df.assign(**{id_col: text})
    if is_text_ids(ids_like) or not is_text_ids(ids):
        return df
    codes, uniques = pd.factorize(ids.to_numpy(dtype=object))
    values, ok = whole_numbers(np.asarray(uniques, dtype=object))
    keep = ok[codes]
    if not keep.all():
        shown = ", ".join(_show(v) for v in pd.unique(ids[~keep].to_numpy(dtype=object))[:3])
        notes.append(
            f"{path.name}: {int((~keep).sum()):,} row(s) ignored: their {id_col} is not a whole number "
            f"(e.g. {shown}) while the interactions' {id_col}s are, so no interaction names them"
        )
    df = df[keep].assign(**{id_col: values[codes[keep]]})
    dup = df[id_col].duplicated(keep="first").to_numpy()
    if dup.any():
        shown = ", ".join(_show(v) for v in ids[keep][dup].to_numpy(dtype=object)[:3])
        notes.append(
            f"{path.name}: {int(dup.sum()):,} row(s) ignored: their {id_col} (e.g. {shown}) is the same "
            "number as an earlier row's; the first one kept"
        )
        df = df[~dup]
    return df.reset_index(drop=True)


def _read_side_table(
    path: Path, id_col: str, notes: list[str], *, numeric_year: bool = False, ids_like: pd.Series | None = None
) -> pd.DataFrame:
    """An items/users table: unique id column plus every other named column.

    ``ids_like``: the interactions' id column; the table's ids get its kind so that lookups
    match (``_align_side_ids``; for text interactions the ids exactly as written). Without
    it, the ids are int64 when they all are whole numbers, else text.
    """
    hd = _resolve_columns(path, ",", "utf-8", [id_col])
    df = _read_columns(
        path, {id_col: _Col("id")}, head=hd, keep_other=True, text_na=True, notes=notes
    )
    if ids_like is not None and is_text_ids(ids_like) and not is_text_ids(df[id_col]):
        df = _align_side_ids(df, id_col, ids_like, path, notes, _side_ids_as_text(path, hd, id_col, len(df)))
    df = _drop_unnamed(df)
    df.columns = [str(c).strip() for c in df.columns]
    df = df[[id_col] + [c for c in df.columns if c != id_col]]
    if numeric_year and "release_year" in df.columns:
        years = pd.to_numeric(df["release_year"], errors="coerce")
        whole = years.where(years == np.floor(years))
        df["release_year"] = whole.astype("Int64")
    df = _dedupe(df, id_col, path, notes)
    return df if ids_like is None else _align_side_ids(df, id_col, ids_like, path, notes)


def _optional_file(folder: Path, *names: str) -> Path | None:
    """The first of ``names`` (or ``name.gz``) present in ``folder``."""
    return sources.find_file(folder, *names)


def _folder_and_file(source: str | Path, names: Sequence[str], what: str) -> tuple[Path, Path]:
    """(folder, main file) for a folder (the first of ``names`` in it, plain or ``.gz``) or for
    the main file itself (its folder holds the side tables)."""
    source = Path(source)
    if source.is_file():
        return source.parent, source
    folder = _require_folder(source)
    path = _optional_file(folder, *names)
    if path is None:
        _check_file(folder / names[0], what)
    return folder, path  # type: ignore[return-value]


def load_kion(folder: str | Path, date_format: str | None = None) -> InteractionData:
    """Load an MTS KION folder: ``interactions.csv`` plus optional ``items_en.csv`` / ``users_en.csv``.

    (``items.csv`` / ``users.csv`` are used when the ``_en`` files are absent; each may be
    gzipped, ``interactions.csv.gz``.) ``folder`` may also be the interactions file itself.
    ``date_format``: how ``last_watch_dt`` is written (see ``core.dates``); None infers it.
    Raises ``DataError``.
    """
    source = str(folder)
    folder, path = _folder_and_file(folder, ["interactions.csv"], "a KION folder needs interactions.csv")
    notes: list[str] = []
    hd = _resolve_columns(path, ",", "utf-8", ["user_id", "item_id", "last_watch_dt"], ["total_dur", "watched_pct"])
    cols = {"user_id": _Col("id"), "item_id": _Col("id"), "last_watch_dt": _dt_spec(_Col("date"), date_format)}
    cols.update({c: _Col("float") for c in ("total_dur", "watched_pct") if c in hd.raw})
    df = _read_columns(path, cols, head=hd, notes=notes)
    extra = {c: df[c].to_numpy() for c in ("total_dur", "watched_pct") if c in df}
    interactions = _interactions(df["user_id"], df["item_id"], df["last_watch_dt"].to_numpy(), extra=extra)
    del df

    items = users = None
    items_path = _optional_file(folder, "items_en.csv", "items.csv")
    if items_path is not None:
        items = _read_side_table(items_path, "item_id", notes, numeric_year=True, ids_like=interactions["item_id"])
        _note_missing_items(interactions, items, items_path, notes)
    users_path = _optional_file(folder, "users_en.csv", "users.csv")
    if users_path is not None:
        users = _read_side_table(users_path, "user_id", notes, ids_like=interactions["user_id"])
    return InteractionData(interactions, items, users, source=source, format="kion", notes=notes)


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


def _read_u_data(path: Path, notes: list[str], date_format: str | None = None) -> pd.DataFrame:
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
    cols = {"user_id": _Col("id"), "item_id": _Col("id"), "rating": _Col("float"),
            "timestamp": _dt_spec(_Col("unix"), date_format)}
    return _read_columns(path, cols, sep="\t", names=names, quoting=csv.QUOTE_NONE, notes=notes)


_ML_RATINGS = ("ratings.csv", "ratings.dat", "u.data")
_DAT_LAYOUT = "UserID::MovieID::Rating::Timestamp"
_DAT_NAMES = ["user_id", "_sep1", "item_id", "_sep2", "rating", "_sep3", "timestamp"]


def _read_ratings_dat(path: Path, notes: list[str], date_format: str | None = None) -> pd.DataFrame:
    """MovieLens-1M/10M ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, no header.

    Read by the C parser splitting on ':' (fast enough for ML-10M's 10M lines): each '::'
    leaves an empty field, which must stay empty; a lone ':' or a missing field shows up
    as a bad value or field count on its line.
    """
    cols = {c: _Col("dat_gap") for c in ("_sep1", "_sep2", "_sep3")}  # checked first: they explain the rest
    cols.update({"user_id": _Col("id"), "item_id": _Col("id"), "rating": _Col("float"),
                 "timestamp": _dt_spec(_Col("unix"), date_format)})
    try:
        df = _read_columns(path, cols, sep=":", names=_DAT_NAMES, quoting=csv.QUOTE_NONE, notes=notes)
    except DataError as exc:
        if "fields but" in exc.problem:
            _fail(f"expected 4 fields separated by '::' ({_DAT_LAYOUT})", path, rows=exc.rows)
        raise
    return df


def _read_movies_dat(path: Path, notes: list[str]) -> pd.DataFrame:
    """MovieLens-1M/10M ``movies.dat``: ``MovieID::Title::Genres`` (Latin-1 in ML-1M; read as
    UTF-8 when it is valid UTF-8). Titles may contain ':', so lines are split in Python."""
    try:
        raw = sources.read_bytes(path)
    except (OSError, *sources.DECOMPRESS_ERRORS) as exc:
        _fail(f"the file could not be read: {getattr(exc, 'strerror', None) or exc}", path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    ids: list[int] = []
    titles: list[str] = []
    genres: list[str] = []
    bad: list[int] = []
    for lineno, line in enumerate(text.split("\n"), start=1):  # not splitlines(): Latin-1 has U+0085
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != 3 or not re.fullmatch(r"\s*\d{1,18}\s*", parts[0]):
            bad.append(lineno)
            continue
        ids.append(int(parts[0]))
        titles.append(parts[1])
        genres.append(parts[2])
    if bad:
        _fail(
            f"expected lines 'MovieID::Title::Genres' with a whole-number MovieID: {len(bad):,} bad line(s)",
            path,
            rows=bad,
        )
    if not ids:
        _fail("the file has no data rows", path)
    genre_text = _ml_genres(pd.Series(genres, dtype="str"))
    items = _items_frame(np.array(ids, dtype=np.int64), pd.Series(titles, dtype="str"), genre_text)
    return _dedupe(items, "item_id", path, notes, header=False, sep=":")


def _movielens_kind(path: Path) -> str:
    """"csv" (ratings.csv), "dat" (ratings.dat) or "u.data" (ml-100k), by name, else by the first line."""
    name = sources.plain_name(path).lower()
    if name.endswith(".dat"):
        return "dat"
    if name == "u.data":
        return "u.data"
    if name.endswith(".csv"):
        return "csv"
    first = _first_line(path, "latin-1")
    return "dat" if "::" in first else "u.data" if "\t" in first else "csv"


def load_movielens(folder: str | Path, date_format: str | None = None) -> InteractionData:
    """Load a MovieLens folder: ``ratings.csv`` (+ ``movies.csv``), ``ratings.dat`` (+ ``movies.dat``;
    MovieLens-1M/10M) or ``u.data`` (+ ``u.item``, ``u.genre``; ml-100k). Each may be gzipped.

    ``folder`` may also be the ratings file itself. The rating goes to the ``rating``
    column; weight is 1.0. Items get ``title`` (year removed), ``title_orig``,
    ``release_year`` (Int64) and ``genres`` (", "-joined). ``date_format`` overrides the
    timestamps' unix seconds (e.g. "unix_ms"). Raises ``DataError``.
    """
    source = str(folder)
    folder, path = _folder_and_file(folder, _ML_RATINGS, "a MovieLens folder needs ratings.csv, ratings.dat or u.data")
    notes: list[str] = []
    items = None
    time_spec = _dt_spec(_Col("unix"), date_format)
    kind = _movielens_kind(path)
    if kind == "csv":
        hd = _resolve_columns(path, ",", "utf-8", ["userId", "movieId", "timestamp"], ["rating"])
        cols = {"userId": _Col("id"), "movieId": _Col("id"), "timestamp": time_spec}
        if "rating" in hd.raw:
            cols["rating"] = _Col("float")
        df = _read_columns(path, cols, head=hd, notes=notes)
        extra = {"rating": df["rating"].to_numpy()} if "rating" in df else {}
        interactions = _interactions(df["userId"], df["movieId"], df["timestamp"].to_numpy(), extra=extra)
        movies_path = _optional_file(folder, "movies.csv")
        if movies_path is not None:
            items = _read_movies_csv(movies_path, notes)
    elif kind == "dat":
        df = _read_ratings_dat(path, notes, date_format)
        interactions = _interactions(
            df["user_id"], df["item_id"], df["timestamp"].to_numpy(), extra={"rating": df["rating"].to_numpy()}
        )
        movies_path = _optional_file(folder, "movies.dat")
        if movies_path is not None:
            items = _read_movies_dat(movies_path, notes)
    else:
        df = _read_u_data(path, notes, date_format)
        interactions = _interactions(
            df["user_id"], df["item_id"], df["timestamp"].to_numpy(), extra={"rating": df["rating"].to_numpy()}
        )
        movies_path = _optional_file(folder, "u.item")
        if movies_path is not None:
            items = _read_u_item(folder, movies_path, notes)
    del df
    if items is not None and movies_path is not None:
        items = _align_side_ids(items, "item_id", interactions["item_id"], movies_path, notes)
        _note_missing_items(interactions, items, movies_path, notes)
    return InteractionData(interactions, items, None, source=source, format="movielens", notes=notes)


# --------------------------------------------------------------------------- generic CSV


def _mapped_columns(
    path: Path, roles: dict[str, str | int], sep: str, header: bool
) -> tuple[dict[str, str], _Header | None, list[str] | None]:
    """Resolve a column mapping (role -> header name, or 0-based position) to the names the
    reader uses: (role -> column name, header info or None, names for a header-less file or None).

    Raises ``DataError`` naming the file for a missing column (listing those found) or a
    position beyond the first line's fields.
    """
    names: list[str] | None = None
    found: list[str] = []
    if header:
        if any(isinstance(c, int) for c in roles.values()):
            found = [c.strip() for c in _header_columns(path, sep, "utf-8")]
        resolved: dict[str, str] = {}
        for role, c in roles.items():
            if isinstance(c, int):
                if not 0 <= c < len(found):
                    _fail(
                        f"{role} column position {c} is out of range: the header has {len(found)} column(s) "
                        f"(positions 0 to {len(found) - 1})",
                        path, rows=[1],
                    )
                resolved[role] = found[c]
            else:
                resolved[role] = c
        head = _resolve_columns(path, sep, "utf-8", list(resolved.values()))
        return resolved, head, None
    n_fields = _count_fields(path, sep, "utf-8", csv.QUOTE_MINIMAL)
    names = [str(i) for i in range(n_fields)]
    resolved = {}
    for role, c in roles.items():
        pos = c if isinstance(c, int) else (int(c) if str(c).strip().isdigit() else None)
        if pos is None:
            _fail(f"without a header, the {role} column is given by its 0-based position, not by name ({c!r})", path)
        if not 0 <= pos < n_fields:
            hint = ""
            if n_fields == 1 and (other := _separator_hint(path, "utf-8", sep)):
                hint = f"; the file looks like it is separated by {_sep_name(other)}, not {_sep_name(sep)}"
            _fail(
                f"{role} column position {pos} is out of range: line 1 has {n_fields} field(s) "
                f"(positions 0 to {n_fields - 1}){hint}",
                path, rows=[1],
            )
        resolved[role] = names[pos]
    return resolved, None, names


def load_csv(
    path: str | Path,
    *,
    user_col: str | int,
    item_col: str | int,
    datetime_col: str | int,
    weight_col: str | int | None = None,
    sep: str = ",",
    datetime_format: str = "auto",
    header: bool = True,
    date_format: str | None = None,
) -> InteractionData:
    """Load interactions from any delimited file (plain or ``.gz``), given which columns hold what.

    Columns are header names, or 0-based positions (``int``; with ``header=False`` also
    digit strings). ``sep``: one character, or ``r"\\s+"`` for runs of spaces/tabs.
    ``date_format`` (``datetime_format`` is its older name; "auto" = None): None infers it
    from the values (numbers -> unix seconds, or milliseconds by magnitude, noted; text ->
    one date format for the column, see ``core.dates``), else "iso", "dayfirst",
    "monthfirst", "unix_s", "unix_ms" or a strftime pattern such as "%d.%m.%Y".
    The weight column, when given, must hold finite numbers. Raises ``DataError``.
    """
    path = Path(path)
    _check_file(path)
    if date_format is None and datetime_format not in ("auto", None):
        date_format = "iso" if datetime_format == "text" else datetime_format
    dates.check_date_format(date_format)
    notes: list[str] = []
    roles: dict[str, str | int] = {"user": user_col, "item": item_col, "time": datetime_col}
    if weight_col is not None:
        roles["weight"] = weight_col
    if len(set(map(str, roles.values()))) != len(roles):
        _fail("the same column is mapped to more than one role (user, item, datetime, weight)", path)
    cols_of, head, names = _mapped_columns(path, roles, sep, header)
    if len(set(cols_of.values())) != len(cols_of):
        _fail("the same column is mapped to more than one role (user, item, datetime, weight)", path)
    cols = {cols_of["user"]: _Col("id"), cols_of["item"]: _Col("id"),
            cols_of["time"]: _dt_spec(_Col("auto_dt"), date_format)}
    if "weight" in cols_of:
        cols[cols_of["weight"]] = _Col("weight")
    df = _read_columns(path, cols, head=head, sep=sep, names=names, notes=notes)
    weight = df[cols_of["weight"]].to_numpy() if "weight" in cols_of else None
    interactions = _interactions(df[cols_of["user"]], df[cols_of["item"]], df[cols_of["time"]].to_numpy(), weight)
    return InteractionData(interactions, None, None, source=str(path), format="csv", notes=notes)


# --------------------------------------------------------------------------- SASRec paper format

#: First synthesized datetime of a SASRec-format file (line i gets this plus i seconds).
SASREC_EPOCH = np.datetime64("2000-01-01T00:00:00", "ns")


def load_sasrec(path: str | Path) -> InteractionData:
    """Load the SASRec paper's format: one ``user item`` pair per line (whole numbers as the
    published files have them, or text ids), separated by whitespace, no header, each
    user's lines in time order (plain or ``.gz``).

    The format has no time: ``datetime`` is synthesized from the line order (line i of
    the data -> 2000-01-01 + i seconds), so only the order within a user is meaningful;
    a note says so. Raises ``DataError`` for another number of fields, naming the lines.
    """
    path = Path(path)
    _check_file(path, "a SASRec-format file ('user item' per line)")
    n_fields = _count_fields(path, preview.WHITESPACE, "utf-8", csv.QUOTE_NONE)
    if n_fields != 2:
        hint = " (one whole sequence per line? write one 'user item' line per interaction)" if n_fields > 2 else ""
        _fail(f"expected 2 fields per line ('user item', the SASRec format), found {n_fields}{hint}", path, rows=[1])
    notes: list[str] = []
    cols = {"user_id": _Col("id"), "item_id": _Col("id")}
    df = _read_columns(path, cols, sep=preview.WHITESPACE, names=["user_id", "item_id"], quoting=csv.QUOTE_NONE,
                       notes=notes)
    n = len(df)
    dt = SASREC_EPOCH + np.arange(n, dtype="timedelta64[s]").astype("timedelta64[ns]")
    notes.append(
        f"{path.name}: the SASRec format has no timestamps; datetime is synthesized from the line order "
        "(line by line, one second apart from 2000-01-01), so only each user's order is meaningful: "
        "hold out each user's last interaction rather than the last days"
    )
    interactions = _interactions(df["user_id"].to_numpy(), df["item_id"].to_numpy(), dt)
    return InteractionData(interactions, None, None, source=str(path), format="sasrec", notes=notes)


# --------------------------------------------------------------------------- folders

#: Files that mark a folder's format (each may also be gzipped).
FOLDER_MARKERS: dict[str, tuple[str, ...]] = {
    "kion": ("interactions.csv",),
    "movielens": _ML_RATINGS,
}


def detect_names(names: Sequence[str]) -> str | None:
    """The format a folder holding files ``names`` is in ("kion", "movielens"), or None."""
    plain = {sources.plain_name(n) for n in names}
    for fmt, markers in FOLDER_MARKERS.items():
        if plain.intersection(markers):
            return fmt
    return None


def detect_format(folder: str | Path) -> str:
    """Return "kion" when the folder has interactions.csv, "movielens" for ratings.csv,
    ratings.dat or u.data (each possibly ``.gz``). Raises ``UnrecognisedDataError``."""
    folder = _require_folder(folder)
    fmt = detect_names([p.name for p in folder.iterdir() if p.is_file()])
    if fmt is None:
        raise UnrecognisedDataError(
            "no known data files found; expected interactions.csv (KION) or ratings.csv / ratings.dat / u.data "
            "(MovieLens); for another log, open its file and say which columns hold the user, item and time "
            "(--format csv --user-col ... --item-col ... --time-col ... on the command line)",
            file=str(folder),
        )
    return fmt


def load_folder(folder: str | Path, fmt: str = "auto", date_format: str | None = None) -> InteractionData:
    """Load a KION or MovieLens folder; ``fmt`` is "auto", "kion" or "movielens".

    Anything that is not a folder (a zip archive, a single file) and the formats "sasrec"
    and "csv" go through ``core.load.load_data``. Raises ``DataError``.
    """
    path = Path(folder)
    if fmt not in ("auto", "kion", "movielens") or (path.exists() and not path.is_dir()):
        from .load import LoadOptions, load_data

        return load_data(path, LoadOptions(fmt=fmt, date_format=date_format))
    dates.check_date_format(date_format)
    if fmt == "auto":
        fmt = detect_format(folder)
    if fmt == "kion":
        return load_kion(folder, date_format)
    return load_movielens(folder, date_format)
