"""Persistent run history in SQLite (standard library), with a schema version.

Many processes may record at once (several CLI trainings, the GUI): every write is one
``BEGIN IMMEDIATE`` transaction that waits up to ``RunStore.busy_timeout`` seconds for
another writer's lock (SQLite's own locking). A run that still cannot be written (corrupt,
locked or read-only database) is never lost while its folder is writable: it is kept in a
pending file of its own, ``<db stem>.pending-<time>-<uid>.json`` beside the database, and
added by the next successful write or ``flush_pending``. Each run carries a unique ``uid``
(a UNIQUE column), so two processes flushing the same pending file add it once.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SasrecError

if TYPE_CHECKING:  # numpy and pandas are imported where used: recording a run needs neither
    import pandas as pd

#: 1: the runs table; 2: plus a unique ``uid`` per run (pending runs are added once).
SCHEMA_VERSION = 2

_COLUMNS = ("created_at", "status", "config", "filter_config", "data_fingerprint", "data_source", "history",
            "metrics", "device", "seconds", "checkpoint_path")
_JSON_COLUMNS = ("config", "filter_config", "history", "metrics")


class RunStoreError(SasrecError):
    """The run database cannot be read or written (corrupt, locked, read-only, not ours).

    ``kept_at``: the pending file the run was kept in by a failed ``RunStore.add`` (None
    when nothing was kept).
    """

    def __init__(self, message: str, kept_at: Path | None = None) -> None:
        super().__init__(message)
        self.kept_at = kept_at


@dataclass
class RunRecord:
    """One training run."""

    config: dict
    filter_config: dict
    data_fingerprint: str
    data_source: str
    history: dict
    metrics: dict = field(default_factory=dict)
    device: str = "cpu"
    seconds: float = 0.0
    checkpoint_path: str = ""
    #: finished | stopped (by the user: the app's Stop button, Ctrl-C in the CLI) | failed;
    #: runs recorded by older versions may say "cancelled" for stopped
    status: str = "finished"
    created_at: float = field(default_factory=time.time)
    run_id: int | None = None


def default_db_path() -> Path:
    """``$SASREC_STUDIO_HOME/runs.sqlite`` or the user's data directory."""
    base = os.environ.get("SASREC_STUDIO_HOME")
    if base:
        return Path(base) / "runs.sqlite"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "sasrec-studio" / "runs.sqlite"


def data_fingerprint(interactions: pd.DataFrame) -> str:
    """A short hash of the interactions (ids, times, weights) and their size."""
    import numpy as np
    import pandas as pd

    h = hashlib.sha256()
    h.update(str(len(interactions)).encode())
    for col in ("user_id", "item_id", "datetime", "weight"):
        if col in interactions.columns:
            values = interactions[col].to_numpy()
            if values.dtype.kind == "M":
                values = values.astype("datetime64[s]").view(np.int64)
            h.update(pd.util.hash_array(np.ascontiguousarray(values)).tobytes())
    return h.hexdigest()[:16]


def _reason(exc: BaseException) -> str:
    """One line saying why an OS or SQLite call failed."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return " ".join(str(text).split()) or type(exc).__name__


class RunStore:
    """Read and write runs; every failure becomes ``RunStoreError`` with a readable message."""

    #: seconds a write waits for another process's lock before giving up (the run is then kept pending)
    busy_timeout: float = 5.0

    def __init__(self, path: str | os.PathLike, busy_timeout: float | None = None) -> None:
        self.path = Path(path)
        if busy_timeout is not None:
            self.busy_timeout = float(busy_timeout)

    @classmethod
    def default(cls, busy_timeout: float | None = None) -> "RunStore":
        """The store at ``default_db_path()``."""
        return cls(default_db_path(), busy_timeout)

    # ------------------------------------------------------------------ pending runs

    @property
    def legacy_pending_path(self) -> Path:
        """Where versions before schema 2 kept every pending run in one shared file."""
        return self.path.with_suffix(".pending.json")

    def pending_files(self) -> list[Path]:
        """The pending-run files beside the database, oldest first."""
        try:
            return sorted(self.path.parent.glob(f"{self.path.stem}.pending-*.json"))
        except OSError:
            return []

    def _pending_file(self, row: dict) -> Path:
        stamp = int(float(row.get("created_at", 0.0)) * 1000)
        return self.path.parent / f"{self.path.stem}.pending-{stamp:013d}-{row['uid']}.json"

    def _write_pending(self, row: dict) -> Path:
        """Write one run to its own pending file (atomically: a temp file of its own, then rename)."""
        target = self._pending_file(row)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(row), encoding="utf-8")
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        return target

    def _adopt_legacy_pending(self) -> None:
        """Turn an older version's shared ``runs.pending.json`` into one file per run.

        The file is first renamed to a name of this process's own, so only one process adopts it.
        """
        legacy = self.legacy_pending_path
        if not legacy.exists():
            return
        claimed = legacy.with_name(f".{legacy.name}.{uuid.uuid4().hex}.claimed")
        try:
            os.rename(legacy, claimed)
        except OSError:
            return  # another process adopted it, or the folder is read-only
        try:
            runs = json.loads(claimed.read_text(encoding="utf-8"))
            for run in runs if isinstance(runs, list) else []:
                run.pop("run_id", None)
                run.setdefault("uid", hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()[:32])
                self._write_pending(run)
        except (OSError, ValueError, TypeError, AttributeError):
            with contextlib.suppress(OSError):
                os.rename(claimed, legacy)  # leave it as it was
            return
        with contextlib.suppress(OSError):
            claimed.unlink()

    # ------------------------------------------------------------------ SQLite

    def _error(self, exc: BaseException) -> RunStoreError:
        text = _reason(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            return RunStoreError(f"The run history '{self.path}' is locked by another program (waited {self.busy_timeout:g} s)")
        if "readonly" in lowered or "read-only" in lowered:
            return RunStoreError(f"The run history '{self.path}' cannot be written: {text}")
        if "unable to open" in lowered:
            return RunStoreError(f"Cannot open the run history '{self.path}': {text}")
        return RunStoreError(f"The run history '{self.path}' cannot be used ({text}). Move or delete the file to start a new one.")

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode; with ``write``, inside one ``BEGIN IMMEDIATE`` transaction."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise RunStoreError(f"Cannot open the run history '{self.path}': {_reason(exc)}") from exc
        try:
            self._ensure_schema(conn, write)
            if write:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            conn.close()

    def _ensure_schema(self, conn: sqlite3.Connection, write: bool) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RunStoreError(f"The run history '{self.path}' was written by a newer SASRec Studio (schema {version}).")
        if version == SCHEMA_VERSION or (version == 1 and not write):  # version 1 reads as is
            return
        conn.execute("BEGIN IMMEDIATE")  # another process may be creating or upgrading it right now
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL, status TEXT, "
                "config TEXT, filter_config TEXT, data_fingerprint TEXT, data_source TEXT, history TEXT, metrics TEXT, "
                "device TEXT, seconds REAL, checkpoint_path TEXT, uid TEXT)"
            )
        elif version == 1:
            conn.execute("ALTER TABLE runs ADD COLUMN uid TEXT")
        if version < SCHEMA_VERSION:
            conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS runs_uid ON runs (uid)")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")

    @staticmethod
    def _insert(conn: sqlite3.Connection, row: dict) -> sqlite3.Cursor:
        values = [json.dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in _COLUMNS]
        return conn.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(_COLUMNS)}, uid) VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})",
            [*values, row["uid"]],
        )

    # ------------------------------------------------------------------ public API

    def add(self, run: RunRecord) -> int | None:
        """Store ``run`` and set its ``run_id``; returns the id. Then adds any pending runs.

        If the database cannot be written, the run is kept in a pending file of its own and
        ``RunStoreError`` is raised; its message says where the run was kept (``kept_at``), or
        that it could not be kept either (the folder cannot be written).
        """
        row = asdict(run)
        row.pop("run_id", None)
        row["uid"] = uuid.uuid4().hex
        try:
            with self._connect(write=True) as conn:
                run_id = int(self._insert(conn, row).lastrowid)
        except RunStoreError as exc:
            problem = str(exc).rstrip(".")
            try:
                kept = self._write_pending(row)
            except OSError as pending_exc:
                raise RunStoreError(f"{problem}; the run could not be kept either: {_reason(pending_exc)}") from exc
            raise RunStoreError(f"{problem}; the run is kept in '{kept}' and will be added next time", kept_at=kept) from exc
        run.run_id = run_id
        with contextlib.suppress(RunStoreError, OSError):
            self.flush_pending()
        return run_id

    def flush_pending(self) -> int:
        """Add the runs kept in pending files by earlier failures; returns how many were added.

        Safe to call from several processes at once: a run already in the database is not added again.
        """
        self._adopt_legacy_pending()
        files = self.pending_files()
        rows: list[tuple[Path, dict]] = []
        for file in files:
            try:
                row = json.loads(file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue  # another process added it a moment ago
            except (OSError, ValueError):
                continue  # unreadable: left where it is for the user to inspect
            if isinstance(row, dict) and row.get("uid") and all(c in row for c in _COLUMNS):
                rows.append((file, row))
        if not rows:
            return 0
        with self._connect(write=True) as conn:
            added = sum(self._insert(conn, row).rowcount for _, row in rows)
        for file, _ in rows:
            with contextlib.suppress(OSError):
                file.unlink(missing_ok=True)
        return added

    def runs(self) -> list[RunRecord]:
        """All runs, newest first (by the time each run ended)."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT id, {', '.join(_COLUMNS)} FROM runs ORDER BY created_at DESC, id DESC"
            ).fetchall()
        records = []
        for r in rows:
            values = dict(zip(("run_id", *_COLUMNS), r))
            for c in _JSON_COLUMNS:
                values[c] = json.loads(values[c])
            records.append(RunRecord(**values))
        return records

    def get(self, run_id: int) -> RunRecord | None:
        """The run with id ``run_id``, or None."""
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def delete(self, run_ids: list[int]) -> None:
        """Delete the runs with these ids (unknown ids are ignored)."""
        with self._connect(write=True) as conn:
            conn.executemany("DELETE FROM runs WHERE id = ?", [(int(i),) for i in run_ids])

    def table(self) -> pd.DataFrame:
        """One row per run with key hyperparameters and final metrics."""
        import pandas as pd

        records = []
        for r in self.runs():
            c = r.config
            row = {
                "id": r.run_id, "when": pd.Timestamp(r.created_at, unit="s").strftime("%Y-%m-%d %H:%M"), "status": r.status,
                "epochs": len(r.history.get("epoch_losses", [])), "n_factors": c.get("n_factors"), "n_blocks": c.get("n_blocks"),
                "n_heads": c.get("n_heads"), "maxlen": c.get("session_maxlen"), "lr": c.get("lr"), "batch": c.get("batch_size"),
                "loss": c.get("loss"), "final_loss": (r.history.get("epoch_losses") or [float("nan")])[-1],
                "device": r.device, "seconds": round(r.seconds, 1),
            }
            row.update({k: v for k, v in r.metrics.items()})
            records.append(row)
        return pd.DataFrame(records)
