"""Date and time columns: one format per column, inferred from all of its distinct values.

A column of date text is read with exactly one of these formats, never a per-value guess:

* ``iso``: year first, ``2021-03-13``, optionally with a time (``2021-03-13 10:00``,
  ``2021-03-13T10:00:00.5``) and a UTC offset (``Z``, ``+03:00``; converted to UTC, then
  stored without a time zone). ``2021/03/13`` and ``2021.03.13`` are year first too, but a
  different format than ``2021-03-13`` (a column mixing them is refused).
* ``dayfirst``: ``13.03.2021``, ``13/03/2021``, ``13-03-2021``, optionally followed by a
  space and a time.
* ``monthfirst``: ``03/13/2021``, ``03-13-2021``, optionally with a time.
* month names: ``13 Mar 2021``, ``Mar 13, 2021``, ``13-Mar-2021`` (never ambiguous).

Dots are always day first (month-first dates are not written with dots). With ``/`` or
``-`` the column's values must decide: a first field above 12 means day first, a second
field above 12 means month first. When no value decides (every day is 12 or less) or the
values disagree, or when values of one column use different formats, ``DateConflict`` is
raised with two example values, and the caller asks the user to state the format.

Numbers are unix time; ``unix_unit`` decides seconds or milliseconds from their magnitude.
An explicit format (a name above, ``unix_s``, ``unix_ms`` or a strftime pattern such as
``%d.%m.%Y``) skips the inference; values that do not match it are reported as bad.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = [
    "DATE_FORMAT_NAMES", "HOW_TO_STATE", "DateConflict", "ParsedDates", "check_date_format", "parse_dates",
    "to_ns", "unix_unit", "unix_unit_of",
]

#: Named formats accepted by ``date_format`` (besides strftime patterns containing ``%``).
DATE_FORMAT_NAMES: tuple[str, ...] = ("iso", "dayfirst", "monthfirst", "unix_s", "unix_ms")
_UNIX_NAMES = {"unix_s": "s", "unix": "s", "unix_ms": "ms"}

#: How a user states a column's date format, for the end of error messages.
HOW_TO_STATE = (
    "state the format: --date-format on the command line, the \"Date format\" field in the app, or "
    "date_format= in the API (iso, dayfirst, monthfirst, unix_s, unix_ms, or a pattern such as %d.%m.%Y)"
)

_NS_PER_S = 1_000_000_000
# ``datetime64[ns]`` covers 1677-09-21 .. 2262-04-11; stay inside it.
_MAX_NS_SAFE = 9_200_000_000 * _NS_PER_S
#: Unix times at or above this magnitude are milliseconds (as seconds they would be after year 5000).
UNIX_MS_THRESHOLD = 1e11
#: Seconds at or above this magnitude (after 1973) cannot be milliseconds of a real log (1970-01-02).
_UNIX_S_FLOOR = 1e8

_TIME = r"(?:[ T](?P<time>.*))?"
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?$")
_YMD = re.compile(r"^(?P<y>\d{4})(?P<sep>[/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME + "$")
_DM = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME + "$")
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_NAMED = re.compile(
    rf"^(?:\d{{1,2}}[ ./-]?{_MONTHS}[ ./,-]*\d{{4}}|{_MONTHS} \d{{1,2}},? \d{{4}})(?:,? \d{{1,2}}:\d{{2}}(?::\d{{2}})?)?$",
    re.IGNORECASE,
)

_FAMILY_NAMES = {
    "iso": "ISO, year first (2021-03-13)",
    "ymd/": "year first with slashes (2021/03/13)",
    "ymd.": "year first with dots (2021.03.13)",
    "dm.": "day first with dots (13.03.2021)",
    "dm/": "day and month with slashes (13/03/2021 or 03/13/2021)",
    "dm-": "day and month with dashes (13-03-2021 or 03-13-2021)",
    "named": "with a month name (13 Mar 2021)",
}


class DateConflict(Exception):
    """The values of one column do not settle on one date format.

    ``problem`` is the user-facing explanation (it ends with ``HOW_TO_STATE``); ``examples``
    are positions, in the values given to ``parse_dates`` or ``unix_unit``, of the values it quotes.
    """

    def __init__(self, problem: str, examples: list[int]) -> None:
        super().__init__(problem)
        self.problem = problem
        self.examples = examples


@dataclass
class ParsedDates:
    """Result of ``parse_dates`` for n values.

    ns: (n,) int64 nanoseconds since the epoch (UTC, 0 where bad); bad: (n,) bool, values
    that are missing or do not match the format; what: the format in words, for messages;
    note: a sentence for ``InteractionData.notes`` when the format was inferred and is not ISO.
    """

    ns: np.ndarray
    bad: np.ndarray
    what: str
    note: str | None = None


def unix_unit_of(date_format: str | None) -> str | None:
    """"s" or "ms" when ``date_format`` names unix time ("unix_s", "unix", "unix_ms"), else None."""
    return _UNIX_NAMES.get(date_format.strip().lower()) if date_format else None


def check_date_format(date_format: str | None) -> None:
    """Raise ``DataError`` unless ``date_format`` is None, a name in ``DATE_FORMAT_NAMES`` or a
    strftime pattern pandas accepts (it must contain ``%``)."""
    if date_format is None:
        return
    name = date_format.strip().lower()
    if name in DATE_FORMAT_NAMES or name in _UNIX_NAMES:
        return
    if "%" in date_format:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pd.to_datetime(pd.Series(["x"]), format=date_format, errors="coerce")
        except ValueError as exc:
            raise DataError(f"date format {date_format!r} is not a valid pattern: {exc}") from None
        return
    raise DataError(
        f"unknown date format {date_format!r}; use one of {', '.join(DATE_FORMAT_NAMES)} "
        "or a strftime pattern such as %d.%m.%Y or '%m/%d/%Y %H:%M'"
    )


def to_ns(values: pd.Series | pd.Index | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _quiet_to_datetime(text: pd.Series, **kwargs: object) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(text, errors="coerce", **kwargs)


def _iso(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """ISO 8601 text -> (ns, bad); the plain ``%Y-%m-%d`` form first (fast), the rest as ISO 8601."""
    ns, bad = to_ns(_quiet_to_datetime(text, format="%Y-%m-%d"))
    todo = np.flatnonzero(bad & text.notna().to_numpy())
    if todo.size:
        sub_ns, sub_bad = to_ns(_quiet_to_datetime(text.iloc[todo], format="ISO8601", utc=True))
        ok = ~sub_bad
        ns[todo[ok]] = sub_ns[ok]
        bad[todo[ok]] = False
    return ns, bad


def _assemble(y: pd.Series, m: pd.Series, d: pd.Series, time: pd.Series) -> pd.Series:
    """ISO text from year, month, day and optional time parts (all text)."""
    out = y + "-" + m.str.zfill(2) + "-" + d.str.zfill(2)
    return out + (" " + time).fillna("")


def _parse_family(
    text: pd.Series, fam: np.ndarray, keys: tuple[str, ...], dayfirst: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(ns, bad) of the values whose family is one of ``keys``; every other value is bad."""
    n = len(text)
    ns, bad = np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
    for key in keys:
        idx = np.flatnonzero(fam == key)
        if idx.size == 0:
            continue
        sub = text.iloc[idx]
        if key == "iso":
            sub_ns, sub_bad = _iso(sub)
        elif key.startswith("ymd"):
            p = sub.str.extract(_YMD)
            sub_ns, sub_bad = _iso(_assemble(p["y"], p["m"], p["d"], p["time"]))
        elif key.startswith("dm"):
            p = sub.str.extract(_DM)
            day, month = (p["a"], p["b"]) if dayfirst else (p["b"], p["a"])
            sub_ns, sub_bad = _iso(_assemble(p["y"], month, day, p["time"]))
        else:  # month names: dateutil, unambiguous since the month is a word
            sub_ns, sub_bad = to_ns(_quiet_to_datetime(sub, format="mixed", utc=True))
        ns[idx], bad[idx] = sub_ns, sub_bad
    return ns, bad


def _classify(text: pd.Series) -> np.ndarray:
    """Family key per value ("iso", "ymd/", "ymd.", "dm.", "dm/", "dm-", "named"; "" when unknown)."""
    fam = np.full(len(text), "", dtype=object)
    iso = text.str.match(_ISO).fillna(False).to_numpy(dtype=bool)
    fam[iso] = "iso"
    rest = np.flatnonzero(~iso & text.notna().to_numpy())
    if rest.size:
        sub = text.iloc[rest]
        ymd = sub.str.extract(_YMD)["sep"].to_numpy(dtype=object)
        dm = sub.str.extract(_DM)["sep"].to_numpy(dtype=object)
        named = sub.str.match(_NAMED).fillna(False).to_numpy(dtype=bool)
        sub_fam = np.where(pd.notna(ymd), "ymd" + ymd.astype(str), np.where(pd.notna(dm), "dm" + dm.astype(str), ""))
        sub_fam = np.where((sub_fam == "") & named, "named", sub_fam)
        fam[rest] = sub_fam
    return fam


def _q(values: pd.Series, i: int) -> str:
    return repr(str(values.iloc[i]))


def _choose_orientation(text: pd.Series, fam: np.ndarray, key: str) -> bool:
    """True for day first. Dots are day first; with / or - the values must decide."""
    if key == "dm.":
        return True
    pos = np.flatnonzero(fam == key)
    fields = text.iloc[pos].str.extract(_DM)
    a = pd.to_numeric(fields["a"]).to_numpy()
    b = pd.to_numeric(fields["b"]).to_numpy()
    day_first, month_first = pos[a > 12], pos[b > 12]
    if day_first.size and month_first.size:
        i, j = int(day_first[0]), int(month_first[0])
        raise DateConflict(
            f"values mix day-first and month-first dates: {_q(text, i)} has the day first, {_q(text, j)} the month "
            f"first; {HOW_TO_STATE}",
            [i, j],
        )
    if day_first.size or month_first.size:
        return bool(day_first.size)
    ex = [int(p) for p in pos[:2]]
    shown = " and ".join(_q(text, i) for i in ex)
    raise DateConflict(
        f"cannot tell whether the day or the month comes first: no value has a day above 12 (e.g. {shown}, "
        f"which read either way); {HOW_TO_STATE}",
        ex,
    )


def _infer(text: pd.Series) -> tuple[np.ndarray, np.ndarray, str, str | None]:
    """(ns, bad, what, note) with the one format all recognised values share."""
    fam = _classify(text)
    keys = list(dict.fromkeys(fam[fam != ""].tolist()))  # in order of first appearance
    if not keys:
        what = f"dates could not be read (expected e.g. 2021-05-11 or 13.05.2021); {HOW_TO_STATE}"
        return np.zeros(len(text), dtype=np.int64), np.ones(len(text), dtype=bool), what, None
    if len(keys) > 1:
        i, j = (int(np.flatnonzero(fam == k)[0]) for k in keys[:2])
        raise DateConflict(
            f"values mix date formats: {_q(text, i)} is {_FAMILY_NAMES[keys[0]]}, {_q(text, j)} is "
            f"{_FAMILY_NAMES[keys[1]]}; {HOW_TO_STATE}",
            [i, j],
        )
    key = keys[0]
    if key.startswith("dm"):
        dayfirst = _choose_orientation(text, fam, key)
        sep = key[2]
        what = f"{'day' if dayfirst else 'month'}-first dates ({'dd{0}mm{0}yyyy' if dayfirst else 'mm{0}dd{0}yyyy'})"
        what = what.format(sep)
        ns, bad = _parse_family(text, fam, (key,), dayfirst)
        return ns, bad, what, what
    ns, bad = _parse_family(text, fam, (key,))
    if key == "iso":
        return ns, bad, "ISO dates (yyyy-mm-dd)", None
    return ns, bad, f"dates {_FAMILY_NAMES[key]}", f"dates {_FAMILY_NAMES[key]}"


def parse_dates(values: pd.Series, date_format: str | None = None) -> ParsedDates:
    """Parse date text with one format: ``date_format`` (see ``check_date_format``) or, when
    None, the format inferred from all ``values`` (pass the distinct values: this is
    vectorised but works per value).

    values: (n,) text, NaN/empty for missing. Raises ``DateConflict`` when the values
    mix formats or do not decide between day first and month first, ``DataError`` for an
    invalid ``date_format``. Unix names are not handled here (see ``unix_unit_of``).
    """
    text = pd.Series(values, dtype=object).reset_index(drop=True)
    missing = text.isna().to_numpy()
    text = text.where(missing, text.astype(str).str.strip())
    missing = missing | (text == "").to_numpy()
    text = text.where(~missing, None)
    name = date_format.strip().lower() if date_format else None
    note = None
    if name is None:
        ns, bad = to_ns(_quiet_to_datetime(text, format="%Y-%m-%d"))  # fast path (KION)
        if (bad & ~missing).any():
            ns, bad, what, note = _infer(text)
        else:
            what = "ISO dates (yyyy-mm-dd)"
    elif name in ("iso", "dayfirst", "monthfirst"):
        fam = _classify(text)
        if name == "iso":
            ns, bad = _parse_family(text, fam, ("iso", "ymd/", "ymd."))
            what = "ISO dates (yyyy-mm-dd), the stated format"
        else:
            ns, bad = _parse_family(text, fam, ("dm.", "dm/", "dm-"), dayfirst=name == "dayfirst")
            what = f"{'day' if name == 'dayfirst' else 'month'}-first dates, the stated format"
    else:
        check_date_format(date_format)
        ns, bad = to_ns(_quiet_to_datetime(text, format=date_format))
        what = f"dates in the stated format {date_format!r}"
    return ParsedDates(ns, bad | missing, what, note)


def unix_unit(values: np.ndarray) -> tuple[str, str]:
    """Seconds or milliseconds for numeric unix times, from their magnitude.

    values: (n,) float64, NaN allowed. Returns (unit "s" or "ms", a sentence for notes).
    Raises ``DateConflict`` when the column holds both values that only make sense as
    seconds (1e8 <= |v| < 1e11, i.e. 1973 onwards) and values that must be milliseconds
    (|v| >= 1e11), with positions of one of each.
    """
    mag = np.abs(values)
    with np.errstate(invalid="ignore"):
        ms = np.flatnonzero(mag >= UNIX_MS_THRESHOLD)
        if ms.size == 0:
            return "s", "unix time in seconds (every value is below 1e11)"
        sec = np.flatnonzero((mag >= _UNIX_S_FLOOR) & (mag < UNIX_MS_THRESHOLD))
    if sec.size:
        i, j = int(sec[0]), int(ms[0])
        raise DateConflict(
            f"values mix unix seconds and milliseconds: {values[i]:.0f} looks like seconds, {values[j]:.0f} like "
            f"milliseconds; {HOW_TO_STATE}",
            [i, j],
        )
    return "ms", "unix time in milliseconds (values reach 1e11 or more)"
