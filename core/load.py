"""One entry point for every data source: ``load_data(path, LoadOptions(...))``.

``path`` is a folder (KION, MovieLens), a zip archive of such a folder (the KION download
``data_en.zip``), or a single file: KION's ``interactions.csv``, MovieLens ratings
(``.csv``, ``.dat``, ``u.data``), a SASRec-format ``user item`` file, or any delimited
log read through a ``CsvMapping``; each file may be gzipped. When the format is "auto"
and nothing is recognised, ``UnrecognisedDataError`` is raised so that the caller can
ask which columns hold what (the app's column-mapping dialog; ``preview_file`` shows
the file's first rows).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from . import data as loaders
from . import dates, sources
from .dataset import InteractionData
from .errors import DataError, UnrecognisedDataError
from .preview import normalise_separator, preview_file

__all__ = ["FORMATS", "CsvMapping", "LoadOptions", "load_data", "detect_file_format"]

#: Values of ``LoadOptions.fmt`` (and of the CLI's ``--format``).
FORMATS: tuple[str, ...] = ("auto", "kion", "movielens", "sasrec", "csv")

_HOW_TO_MAP = (
    "say which columns hold the user, item and time: --format csv --user-col C --item-col C --time-col C "
    "[--no-header] [--sep S] on the command line, the column mapping in the app, or "
    "LoadOptions(fmt='csv', mapping=CsvMapping(...)) in the API"
)
_DAT_LINE = re.compile(r"^\s*\d+::\d+::[\d.]+::\d+\s*$")
_SASREC_LINE = re.compile(r"^\s*\d+[ \t]+\d+\s*$")


@dataclass(frozen=True)
class CsvMapping:
    """Which columns of a delimited log hold what (format "csv").

    user, item, time: header names, or 0-based positions (``int``; without a header, the
    columns must be positions, digit strings accepted). weight: optional column of finite
    numbers (default weight 1). header: whether line 1 names the columns. sep: one
    character, a name (comma, semicolon, tab, pipe, whitespace) or None to sniff it from
    the first lines.
    """

    user: str | int
    item: str | int
    time: str | int
    weight: str | int | None = None
    header: bool = True
    sep: str | None = None

    def roles(self) -> dict[str, str | int]:
        """role -> column as given; positions are ``int`` (digit strings converted without a header)."""
        roles = {"user": self.user, "item": self.item, "time": self.time}
        if self.weight is not None and self.weight != "":
            roles["weight"] = self.weight
        if not self.header:
            roles = {r: int(c) if isinstance(c, str) and c.strip().isdigit() else c for r, c in roles.items()}
        return roles

    def validate(self) -> None:
        """Raise ``DataError`` for an empty column, a negative or non-numeric position (without
        a header), one column in two roles, or an unsupported separator."""
        normalise_separator(self.sep)
        roles = self.roles()
        for role, col in roles.items():
            if isinstance(col, bool) or col is None or (isinstance(col, str) and not col.strip()):
                raise DataError(f"the {role} column is not given (--{role}-col)")
            if isinstance(col, int) and col < 0:
                raise DataError(f"the {role} column position must be 0 or more, got {col} (--{role}-col)")
            if not self.header and not isinstance(col, int):
                raise DataError(
                    f"without a header the {role} column is given by its 0-based position, not by name: "
                    f"got {col!r} (--{role}-col)"
                )
        keys = [str(c).strip() for c in roles.values()]
        if len(set(keys)) != len(keys):
            raise DataError("the same column is given for two roles (user, item, time, weight)")


@dataclass(frozen=True)
class LoadOptions:
    """How to read a data source; one object passed by the CLI and the app.

    fmt: one of ``FORMATS`` ("auto" detects KION, MovieLens and SASRec files; with a
    ``mapping`` it means "csv"). date_format: None to infer each time column's format,
    else a name or strftime pattern (``core.dates``). mapping: the columns for "csv".
    """

    fmt: str = "auto"
    date_format: str | None = None
    mapping: CsvMapping | None = None

    @property
    def effective_fmt(self) -> str:
        """``fmt``, with "auto" plus a mapping read as "csv"."""
        return "csv" if self.fmt == "auto" and self.mapping is not None else self.fmt

    def validate(self) -> None:
        """Raise ``DataError`` for an unknown format or date format, "csv" without a mapping,
        or a mapping with another format."""
        if self.fmt not in FORMATS:
            raise DataError(f"unknown format {self.fmt!r}; expected one of {', '.join(FORMATS)} (--format)")
        dates.check_date_format(self.date_format)
        if self.effective_fmt == "csv" and self.mapping is None:
            raise DataError(f"format 'csv' needs a column mapping: {_HOW_TO_MAP}")
        if self.mapping is not None:
            if self.effective_fmt != "csv":
                raise DataError(
                    f"a column mapping (--user-col, --item-col, --time-col, ...) applies to format 'csv', not "
                    f"{self.fmt!r}"
                )
            self.mapping.validate()


def detect_file_format(path: str | Path) -> str:
    """The format of a single file: "kion", "movielens" or "sasrec", from its name or its
    first lines. Raises ``UnrecognisedDataError`` when it is none of them."""
    path = Path(path)
    name = sources.plain_name(path).lower()
    if name == "interactions.csv":
        return "kion"
    if name in ("ratings.csv", "ratings.dat", "u.data"):
        return "movielens"
    text = sources.read_head(path, 1 << 14).decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # may be cut
    lines = lines[:20]
    if lines:
        header = {f.strip().strip('"') for f in lines[0].split(",")}
        if {"user_id", "item_id", "last_watch_dt"} <= header:
            return "kion"
        if {"userId", "movieId", "timestamp"} <= header:
            return "movielens"
        if all(_DAT_LINE.match(ln) for ln in lines):
            return "movielens"
        if all(_SASREC_LINE.match(ln) for ln in lines):
            return "sasrec"
    raise UnrecognisedDataError(
        "the file's format is not recognised (KION interactions, MovieLens ratings, or 'user item' lines of the "
        f"SASRec format); {_HOW_TO_MAP}",
        file=str(path),
    )


def _load_mapped(path: Path, mapping: CsvMapping, date_format: str | None) -> InteractionData:
    sep = normalise_separator(mapping.sep) or preview_file(path).sep
    roles = mapping.roles()
    return loaders.load_csv(
        path, user_col=roles["user"], item_col=roles["item"], datetime_col=roles["time"],
        weight_col=roles.get("weight"), sep=sep, header=mapping.header, date_format=date_format,
    )


def _load_file(path: Path, options: LoadOptions) -> InteractionData:
    fmt = options.effective_fmt
    if fmt == "auto":
        fmt = detect_file_format(path)
    if fmt == "kion":
        return loaders.load_kion(path, options.date_format)
    if fmt == "movielens":
        return loaders.load_movielens(path, options.date_format)
    if fmt == "sasrec":
        return loaders.load_sasrec(path)
    assert options.mapping is not None  # validate() made sure
    return _load_mapped(path, options.mapping, options.date_format)


def _load_folder(folder: Path, options: LoadOptions) -> InteractionData:
    fmt = options.effective_fmt
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if fmt in ("auto", "kion", "movielens"):
        if fmt == "auto":
            try:
                fmt = loaders.detect_format(folder)
            except UnrecognisedDataError:
                if len(files) != 1:
                    raise
                return _load_file(files[0], options)  # a folder holding one log file
        load = loaders.load_kion if fmt == "kion" else loaders.load_movielens
        return load(folder, options.date_format)
    if len(files) != 1:
        shown = ", ".join(p.name for p in files[:8]) + (", ..." if len(files) > 8 else "")
        raise DataError(
            f"with format {fmt!r} open the file itself: the folder holds {len(files)} files ({shown or 'none'})",
            file=str(folder),
        )
    return _load_file(files[0], options)


def _renamed(exc: DataError, tmp: Path, archive: Path, folder: str) -> DataError:
    """``exc`` with the temporary extraction folder replaced by the archive and member names."""
    file = exc.file
    if file and (file == str(tmp) or file.startswith(str(tmp) + "/") or file.startswith(str(tmp) + "\\")):
        rel = Path(file).relative_to(tmp).as_posix()
        file = sources.member_name(archive, posixpath.join(folder, rel) if rel != "." else folder)
    problem = exc.problem.replace(str(tmp), str(archive))
    return type(exc)(problem, file=file, column=exc.column, rows=exc.rows)


def _load_zip(archive: Path, options: LoadOptions) -> InteractionData:
    folders = sources.list_archive(archive)
    members = [m for ms in folders.values() for m in ms]
    fmt = options.effective_fmt
    listing = ", ".join(members[:8]) + (f" and {len(members) - 8} more" if len(members) > 8 else "")
    if fmt in ("auto", "kion", "movielens"):
        candidates = [f for f, ms in folders.items() if (found := loaders.detect_names(ms)) and fmt in ("auto", found)]
        if not candidates and not (fmt == "auto" and len(members) == 1):
            raise UnrecognisedDataError(
                "no known data files found in the archive; expected interactions.csv (KION) or ratings.csv / "
                f"ratings.dat / u.data (MovieLens); it holds: {listing or 'no files'}",
                file=str(archive),
            )
    elif len(members) != 1:
        raise DataError(
            f"with format {fmt!r} the archive must hold exactly one file, it holds {len(members)} "
            f"({listing or 'none'}); extract the one you want and open it",
            file=str(archive),
        )
    else:
        candidates = []
    if candidates:
        depth = min(f.count("/") + (f != "") for f in candidates)
        top = [f for f in candidates if f.count("/") + (f != "") == depth]
        if len(top) > 1:
            raise DataError(
                f"the archive holds several datasets ({', '.join(t + '/' for t in top)}); extract it and open the "
                "folder you want",
                file=str(archive),
            )
        folder, wanted = top[0], folders[top[0]]
    else:  # one file: a zipped log
        folder, wanted = posixpath.dirname(members[0]), members
    with sources.extract_members(archive, wanted) as tmp:
        try:
            if candidates:
                data = _load_folder(tmp, options)
            else:
                data = _load_file(tmp / posixpath.basename(wanted[0]), options)
        except DataError as exc:
            raise _renamed(exc, tmp, archive, folder) from None
    data.source = str(archive)
    return data


def load_data(path: str | Path, options: LoadOptions | None = None) -> InteractionData:
    """Load interactions (and item/user tables when the source has them) from a folder, a zip
    archive or a single file, as ``options`` say (default: detect the format, infer dates).

    Returns ``InteractionData`` whose ``source`` is ``path`` and whose ``notes`` say what
    was assumed (inferred date formats, unix units, synthesized times, skipped rows).
    Raises ``UnrecognisedDataError`` when "auto" recognises nothing, ``DataError`` for
    anything else wrong (naming the file, or archive and member, column and lines).
    """
    options = options or LoadOptions()
    options.validate()
    path = Path(path)
    if path.is_dir():
        return _load_folder(path, options)
    if not path.exists():
        raise DataError("folder or file not found", file=str(path))
    if sources.is_zip(path):
        return _load_zip(path, options)
    return _load_file(path, options)
