"""A cheap look at the first rows of a delimited file, for choosing a column mapping.

``preview_file`` reads only the file's first 64 KiB (decompressing ``.gz``), guesses the
separator and whether the first line is a header, and returns the first rows as text.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from . import sources
from .errors import DataError

__all__ = [
    "FilePreview", "preview_file", "sniff_separator", "looks_like_header", "split_line", "WHITESPACE", "SEPARATOR_NAMES",
    "normalise_separator",
]

#: The separator value meaning "one or more spaces or tabs" (the SASRec paper format).
WHITESPACE = r"\s+"
#: Names accepted for separators (CLI and GUI), besides the character itself.
SEPARATOR_NAMES = {
    "comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "space": WHITESPACE,
    "whitespace": WHITESPACE, " ": WHITESPACE, WHITESPACE: WHITESPACE,
}
_CANDIDATES = (",", ";", "\t", "|")
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass
class FilePreview:
    """The first rows of a file as text.

    columns: header names (or "0", "1", ... when there is no header); rows: up to n_rows
    lists of field text (data rows only); sep: the separator used (``WHITESPACE`` for runs
    of spaces/tabs); has_header: whether the first line looks like a header; encoding:
    "utf-8" or "latin-1" (when the start is not valid UTF-8).
    """

    columns: list[str]
    rows: list[list[str]]
    sep: str
    has_header: bool
    encoding: str = "utf-8"


def normalise_separator(sep: str | None) -> str | None:
    """A separator as given by a user -> the one the loaders use (None stays None).

    Accepts one character, or a name: comma, semicolon, tab (or a literal backslash-t), pipe,
    space/whitespace (runs of spaces and tabs). Raises ``DataError`` otherwise.
    """
    if sep is None:
        return None
    named = SEPARATOR_NAMES.get(sep.lower() if len(sep) > 1 else sep)
    if named is not None:
        return named
    if len(sep) == 1 and sep not in "\r\n\"":
        return sep
    raise DataError(
        f"separator {sep!r} is not supported: use one character (such as , ; | or a tab) or one of "
        "comma, semicolon, tab, pipe, whitespace"
    )


def split_line(line: str, sep: str) -> list[str]:
    """Fields of one line (quotes handled for one-character separators)."""
    if sep == WHITESPACE:
        return line.split()
    return next(csv.reader([line], delimiter=sep), [])


def sniff_separator(lines: list[str]) -> str:
    """The separator that splits every given line into the same number (> 1) of fields;
    ties go to the most fields. Falls back to whitespace, then ",".
    """
    lines = [ln for ln in lines if ln.strip()]
    best, best_fields = None, 1
    for sep in _CANDIDATES:
        counts = {len(split_line(ln, sep)) for ln in lines}
        if len(counts) == 1 and (n := counts.pop()) > best_fields:
            best, best_fields = sep, n
    if best is not None:
        return best
    counts = {len(ln.split()) for ln in lines}
    if lines and len(counts) == 1 and counts.pop() > 1:
        return WHITESPACE
    return ","


def looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    """Whether ``first`` is a header: some column is numeric in every later row but not in
    the first; or, when no column is numeric, every first-row field looks like a name
    (letters, digits, ``_ -.``, starting with a letter) that no later row repeats."""
    if not first:
        return False
    rest = [r for r in rest if len(r) == len(first)]
    for j, name in enumerate(first):
        below = [r[j] for r in rest]
        if below and not _NUMBER.match(name) and all(_NUMBER.match(v) for v in below):
            return True
    if any(_NUMBER.match(v) for v in first):
        return False
    names_like = all(re.match(r"^[A-Za-z][\w .\-]{0,40}$", v.strip()) for v in first)
    repeated = any(r[j] == v for r in rest for j, v in enumerate(first))
    return names_like and not repeated


def preview_file(path: str | Path, n_rows: int = 20, sep: str | None = None) -> FilePreview:
    """The first ``n_rows`` data rows of a delimited text file (plain or ``.gz``), as text.

    sep: None to guess (",", ";", tab, "|" or whitespace), else as ``normalise_separator``
    accepts. Raises ``DataError`` when the file is missing, a folder, not text, or empty.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError("is a folder; choose the file that holds the interactions", file=str(path))
    if not path.is_file():
        raise DataError("file not found", file=str(path))
    head = sources.read_head(path)
    if not head.strip():
        raise DataError("the file is empty (or could not be read)", file=str(path))
    if b"\x00" in head:
        raise DataError("is not a text file (a delimited file such as CSV is expected)", file=str(path))
    try:
        text, encoding = head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # the 64 KiB cut may split a character: only a failure before the end is real
        if exc.start < len(head) - 4:
            text, encoding = head.decode("latin-1"), "latin-1"
        else:
            text, encoding = head[: exc.start].decode("utf-8"), "utf-8"
    text = text.lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(head) == 1 << 16 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    lines = lines[: n_rows + 1]
    used = normalise_separator(sep) or sniff_separator(lines)
    rows = [split_line(ln, used) for ln in lines]
    has_header = looks_like_header(rows[0], rows[1:]) if rows else False
    width = max((len(r) for r in rows), default=0)
    columns = [c.strip() for c in rows[0]] if has_header else [str(i) for i in range(width)]
    data = rows[1:] if has_header else rows
    return FilePreview(columns, data[:n_rows], used, has_header, encoding)
