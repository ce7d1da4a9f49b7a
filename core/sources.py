"""Opening files as people download them: gzip-compressed files and zip archives.

``.gz`` files are read through ``gzip`` wherever a loader opens a file itself (pandas
decompresses them on its own). A zip archive is listed without its packaging clutter
(``__MACOSX/``, ``._*`` resource forks, ``.DS_Store``), and the members of one folder are
extracted into a temporary folder that is removed again when the load ends, whatever
happens. Errors name the archive and the member.
"""
from __future__ import annotations

import gzip
import io
import posixpath
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from .errors import DataError

__all__ = [
    "is_gzip", "is_zip", "plain_name", "find_file", "open_binary", "open_text", "read_bytes", "read_head",
    "list_archive", "extract_members", "member_name", "DECOMPRESS_ERRORS",
]

#: Errors a damaged compressed stream raises while it is read.
DECOMPRESS_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile)
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}


def is_gzip(path: Path) -> bool:
    """Whether ``path`` is named like a gzip file (``*.gz``)."""
    return path.suffix.lower() == ".gz"


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a file named ``*.zip`` or starting with a zip signature."""
    if path.suffix.lower() == ".zip":
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def plain_name(path: Path | str) -> str:
    """The file name without a trailing ``.gz``: ``interactions.csv.gz`` -> ``interactions.csv``."""
    name = Path(path).name
    return name[:-3] if name.lower().endswith(".gz") else name


def find_file(folder: Path, *names: str) -> Path | None:
    """The first of ``names`` (or the same name plus ``.gz``) that is a file in ``folder``."""
    for name in names:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def open_binary(path: Path) -> BinaryIO:
    """Open for reading bytes, decompressing ``.gz`` files."""
    if is_gzip(path):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def open_text(path: Path, encoding: str, errors: str = "strict") -> TextIO:
    """Open as text (universal newlines off: ``newline=""``), decompressing ``.gz`` files."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors=errors, newline="")


def read_bytes(path: Path) -> bytes:
    """The whole (decompressed) content. Raises ``OSError`` or one of ``DECOMPRESS_ERRORS``."""
    with open_binary(path) as fh:
        return fh.read()


def read_head(path: Path, max_bytes: int = 1 << 16) -> bytes:
    """Up to ``max_bytes`` from the start (decompressed); b"" when unreadable."""
    try:
        with open_binary(path) as fh:
            return fh.read(max_bytes)
    except (OSError, *DECOMPRESS_ERRORS):
        return b""


def member_name(archive: Path, member: str) -> str:
    """How a member of an archive is named in messages: ``data_en.zip, member data_en/x.csv``."""
    return f"{archive}, member {member}" if member else str(archive)


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    base = parts[-1]
    return parts[0] == "__MACOSX" or base.startswith("._") or base.lower() in _JUNK_NAMES


def list_archive(archive: Path) -> dict[str, list[str]]:
    """The files of a zip archive grouped by folder: {"data_en": ["data_en/interactions.csv", ...]}.

    Folders are posix paths ("" for the top level); ``__MACOSX/`` and resource forks are left
    out. Raises ``DataError`` (naming the archive) when it is missing or not a valid zip.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except FileNotFoundError:
        raise DataError("file not found", file=str(archive)) from None
    except IsADirectoryError:
        raise DataError("is a folder, expected a zip archive", file=str(archive)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise DataError(
            f"is not a valid zip archive ({exc}); the download may be incomplete: download it again", file=str(archive)
        ) from None
    folders: dict[str, list[str]] = {}
    for name in names:
        if not _is_junk(name):
            folders.setdefault(posixpath.dirname(name), []).append(name)
    return folders


@contextmanager
def extract_members(archive: Path, members: Sequence[str]) -> Iterator[Path]:
    """Extract ``members`` (files of one folder of the archive) into a temporary folder, by
    their base names, and yield that folder; it is deleted when the block ends.

    Raises ``DataError`` naming the archive and member when a member cannot be read
    (damaged, encrypted, unsupported compression) or written (disk full).
    """
    tmp = Path(tempfile.mkdtemp(prefix="sasrec-studio-zip-"))
    try:
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"is not a valid zip archive ({exc})", file=str(archive)) from None
        with zf:
            for member in members:
                target = tmp / posixpath.basename(member)
                try:
                    with zf.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 22)
                except (*DECOMPRESS_ERRORS, RuntimeError, NotImplementedError) as exc:
                    raise DataError(
                        f"cannot be extracted ({exc}); the archive is damaged, encrypted or uses an unsupported "
                        "compression: download it again or extract it yourself and open the folder",
                        file=member_name(archive, member),
                    ) from None
                except OSError as exc:
                    raise DataError(
                        f"cannot be extracted to {tmp} ({exc.strerror or exc}); free some disk space or extract it "
                        "yourself and open the folder",
                        file=member_name(archive, member),
                    ) from None
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
