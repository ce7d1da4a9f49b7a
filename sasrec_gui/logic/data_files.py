"""Which file of a folder the "Open with options" dialog maps (Qt-free: the controller asks it too)."""
from __future__ import annotations

from pathlib import Path

#: Suffixes of the delimited files whose columns the load dialog can map.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".gz", ".inter")


def mapped_file(path: str | Path) -> Path | None:
    """The file whose columns the dialog maps: ``path`` itself, or in a folder its largest
    delimited file (None when there is none, e.g. for a zip archive or a missing path)."""
    path = Path(path)
    if path.is_file():
        return None if path.suffix.lower() == ".zip" else path
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES]
        return max(files, key=lambda p: p.stat().st_size) if files else None
    return None
