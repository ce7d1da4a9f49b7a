"""Check where a command will write, before it does any work.

A checkpoint target must be a file name in an existing, writable folder, and must not be
one of the input data files: the data file itself, or any file inside the data folder that
is not itself a saved model (the loaders read the folder's files, and a future format may
read more of them). Replacing an earlier checkpoint is allowed anywhere.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from .errors import CheckpointError, DataError


def _writable(folder: Path) -> bool:
    """Whether this process can create files in ``folder``: permissions (read-only mounts
    included), then a real probe file, created and removed, for places such as /proc where
    the permissions say yes and every write fails."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, probe = tempfile.mkstemp(prefix=".sasrec-write-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return True


def is_saved_model(path: Path) -> bool:
    """Whether ``path`` is a ``torch.save`` archive (what ``save_checkpoint`` writes), by its
    zip directory only: no data is unpickled."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def input_file_hit(out: Path, inputs: Sequence[str | os.PathLike]) -> Path | None:
    """The input ``out`` would overwrite: a data file that is ``out`` (links resolved), or the
    data folder holding ``out`` when ``out`` is an existing file that is not a saved model."""
    if not out.exists():
        return None
    resolved = out.resolve()
    for source in inputs:
        source = Path(source)
        if source.is_dir():
            if resolved.is_relative_to(source.resolve()) and not is_saved_model(resolved):
                return source
        elif _same_file(out, source):
            return source
    return None


def check_checkpoint_target(out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), option: str = "--out") -> Path:
    """Refuse a checkpoint target that cannot or must not be written; returns it as a ``Path``.

    Raises ``CheckpointError`` (naming ``option`` and the path) when ``out`` is a folder, lies
    in a folder that does not exist or cannot be written, or would overwrite one of
    ``inputs`` (data files or folders).
    """
    path = Path(out)
    if str(out).strip() == "":
        raise CheckpointError(f"{option} is empty; give a file name such as model.pt")
    if path.is_dir():
        raise CheckpointError(f"{option} '{path}' is a folder; give a file name, for example '{path / 'model.pt'}'")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise CheckpointError(f"{option} '{path}': the folder '{folder}' does not exist; create it first or choose another folder")
    if not folder.is_dir():
        raise CheckpointError(f"{option} '{path}': '{folder}' is not a folder")
    if not _writable(folder):
        raise CheckpointError(f"{option} '{path}': the folder '{folder}' cannot be written (read-only); choose another folder")
    hit = input_file_hit(path, inputs)
    if hit is not None:
        what = "the input data file" if not hit.is_dir() else f"a file in the input data folder '{hit}'"
        raise CheckpointError(
            f"{option} '{path}' is {what}; it would be overwritten. Choose another name, for example '{folder / 'model.pt'}'"
        )
    return path


def check_output_folder(out_dir: str | os.PathLike, option: str = "out_dir") -> Path:
    """Refuse an output folder that is a file or cannot be created or written; returns it.

    Raises ``DataError`` naming the folder.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise DataError(f"{option} is a file, not a folder", file=str(path))
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DataError(f"{option} cannot be created: '{existing}' is a file", file=str(path))
    if not _writable(existing):
        raise DataError(f"{option} cannot be written: '{existing}' is read-only", file=str(path))
    return path
