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

from .errors import ConfigError, SasrecError

if TYPE_CHECKING:  # numpy and pandas are imported where used: recording a run needs neither
    import pandas as pd

#: 1: the runs table; 2: plus a unique ``uid`` per run (pending runs are added once);
#: 3: plus ``parent_run_id`` (a continued run's parent), ``sweep_id``, ``tags`` and ``note``.
SCHEMA_VERSION = 3

#: The columns every schema has (and every pending file, of any version, holds).
_COLUMNS = ("created_at", "status", "config", "filter_config", "data_fingerprint", "data_source", "history",
            "metrics", "device", "seconds", "checkpoint_path")
#: The columns schema 3 added, with their SQL types (older rows and pending files read as the defaults).
_NEW_COLUMNS = {"parent_run_id": "INTEGER", "sweep_id": "TEXT", "tags": "TEXT", "note": "TEXT"}
_ALL_COLUMNS = (*_COLUMNS, *_NEW_COLUMNS)
_JSON_COLUMNS = ("config", "filter_config", "history", "metrics", "tags")
#: What separates tags in tables and CSV exports (a tag cannot contain it).
TAG_SEPARATOR = ", "


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
    #: finished | stopped (by the user: the app's Stop button, Ctrl-C in the CLI) | failed |
    #: pruned (a sweep trial stopped for falling behind); older versions may say "cancelled"
    status: str = "finished"
    created_at: float = field(default_factory=time.time)
    run_id: int | None = None
    #: the run this one continued from its checkpoint (None: trained from scratch, or unknown)
    parent_run_id: int | None = None
    #: the sweep this run is a trial of ("" for none)
    sweep_id: str = ""
    #: the user's labels (``RunStore.set_tags``) and free-text note (``RunStore.set_note``)
    tags: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def best_epoch(self) -> int:
        """The best validated epoch (1-based; 0 when the run never validated or is older)."""
        value = self.history.get("best_epoch", 0)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0

    @property
    def best_metrics(self) -> dict[str, float]:
        """The best epoch's validation values (metrics and "val_loss"); {} when unknown."""
        values = self.history.get("best_metrics") or {}
        return {str(k): float(v) for k, v in values.items() if isinstance(v, (int, float))} if isinstance(values, dict) else {}

    @property
    def kept_epoch(self) -> int:
        """The epoch whose weights the run's checkpoint holds (the last one unless early
        stopping kept the best)."""
        epochs = len(self.history.get("epoch_losses") or [])
        kept = self.history.get("kept_epoch", 0)
        return int(kept) if isinstance(kept, int) and 0 < kept <= epochs else epochs

    @property
    def last_val_loss(self) -> float | None:
        """The last measured validation loss (None when never measured)."""
        return next((float(v) for v in reversed(self.history.get("val_losses") or []) if v is not None), None)

    @property
    def protocol(self):  # noqa: ANN201 - core.protocol.Protocol | None (imported lazily)
        """How the validation metrics were measured (None for runs without one)."""
        from .protocol import Protocol

        return Protocol.from_dict(self.history.get("protocol"))


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
        if version == SCHEMA_VERSION or (version in (1, 2) and not write):  # older schemas read as they are
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
            present = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            for name, kind in _NEW_COLUMNS.items():
                if name not in present:
                    conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
            conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS runs_uid ON runs (uid)")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")

    @staticmethod
    def _insert(conn: sqlite3.Connection, row: dict) -> sqlite3.Cursor:
        row = {**_defaults(), **row}
        values = [json.dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in _ALL_COLUMNS]
        return conn.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(_ALL_COLUMNS)}, uid) VALUES ({', '.join('?' * (len(_ALL_COLUMNS) + 1))})",
            [*values, row["uid"]],
        )

    # ------------------------------------------------------------------ public API

    def add(self, run: RunRecord, uid: str | None = None) -> int | None:
        """Store ``run`` and set its ``run_id``; returns the id. Then adds any pending runs.

        ``uid``: the run's unique key (default: a new one); adding a run whose ``uid`` is
        already stored adds nothing and returns the stored run's id (``run_id_of_uid``).
        If the database cannot be written, the run is kept in a pending file of its own and
        ``RunStoreError`` is raised; its message says where the run was kept (``kept_at``), or
        that it could not be kept either (the folder cannot be written).
        """
        row = asdict(run)
        row.pop("run_id", None)
        row["uid"] = uid or uuid.uuid4().hex
        try:
            with self._connect(write=True) as conn:
                cursor = self._insert(conn, row)
                if cursor.rowcount:
                    run_id = int(cursor.lastrowid)
                else:
                    run_id = int(conn.execute("SELECT id FROM runs WHERE uid = ?", (row["uid"],)).fetchone()[0])
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

    def runs(self, sweep_id: str | None = None) -> list[RunRecord]:
        """All runs (or those of sweep ``sweep_id``), newest first (by the time each run ended).

        Histories of older schemas read as they are: columns they lack take their defaults."""
        with self._connect() as conn:
            present = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            columns = [c for c in _ALL_COLUMNS if c in present]
            where, params = "", ()
            if sweep_id is not None:
                if "sweep_id" not in present:
                    return []
                where, params = " WHERE sweep_id = ?", (sweep_id,)
            rows = conn.execute(
                f"SELECT id, {', '.join(columns)} FROM runs{where} ORDER BY created_at DESC, id DESC", params
            ).fetchall()
        return [self._record(dict(zip(("run_id", *columns), r))) for r in rows]

    @staticmethod
    def _record(values: dict) -> RunRecord:
        for c in _JSON_COLUMNS:
            if c in values and values[c] is not None:
                values[c] = json.loads(values[c])
        defaults = _defaults()
        for name, default in defaults.items():
            if values.get(name) is None:
                values[name] = default
        values["tags"] = [str(t) for t in values["tags"]] if isinstance(values["tags"], list) else []
        return RunRecord(**values)

    def get(self, run_id: int) -> RunRecord | None:
        """The run with id ``run_id``, or None."""
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def run_id_of_uid(self, uid: str) -> int | None:
        """The id of the run stored under ``uid`` (``core.experiment.RUN_UID_KEY`` in its
        checkpoint), or None when it is not (yet) in the database."""
        if not uid:
            return None
        with self._connect() as conn:
            if "uid" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}:
                return None
            row = conn.execute("SELECT id FROM runs WHERE uid = ?", (str(uid),)).fetchone()
        return int(row[0]) if row else None

    def sweeps(self) -> list[str]:
        """The sweep ids of the stored runs, newest sweep first."""
        seen: dict[str, None] = {}
        for run in self.runs():
            if run.sweep_id:
                seen.setdefault(run.sweep_id, None)
        return list(seen)

    def set_tags(self, run_id: int, tags: list[str]) -> list[str]:
        """Replace run ``run_id``'s tags; returns them as stored: each stripped, empty ones and
        repeats dropped, in the given order.

        Raises ``ConfigError`` for a tag that is not text or holds a comma (the separator of
        tables and exports), ``RunStoreError`` when the run is not stored or the history
        cannot be written."""
        clean = normalise_tags(tags)
        self._update(run_id, "tags", json.dumps(clean))
        return clean

    def set_note(self, run_id: int, note: str) -> str:
        """Replace run ``run_id``'s note (free text; surrounding blanks removed); returns it.

        Raises ``ConfigError`` when ``note`` is not text, ``RunStoreError`` when the run is not
        stored or the history cannot be written."""
        if not isinstance(note, str):
            raise ConfigError({"note": f"must be text, got {type(note).__name__}"})
        clean = note.strip()
        self._update(run_id, "note", clean)
        return clean

    def _update(self, run_id: int, column: str, value: object) -> None:
        with self._connect(write=True) as conn:
            changed = conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, int(run_id))).rowcount
        if not changed:
            raise RunStoreError(f"Run {run_id} is not in the run history '{self.path}'.")

    def delete(self, run_ids: list[int]) -> None:
        """Delete the runs with these ids (unknown ids are ignored)."""
        with self._connect(write=True) as conn:
            conn.executemany("DELETE FROM runs WHERE id = ?", [(int(i),) for i in run_ids])

    def table(self, sweep_id: str | None = None) -> pd.DataFrame:
        """One row per run (of sweep ``sweep_id``, when given): ``runs_table``."""
        return runs_table(self.runs(sweep_id))


def _defaults() -> dict:
    """The values of schema 3's columns for rows and pending files that lack them."""
    return {"parent_run_id": None, "sweep_id": "", "tags": [], "note": ""}


def normalise_tags(tags: object) -> list[str]:
    """``tags`` as stored: each stripped, empty ones and repeats dropped, order kept.

    Raises ``ConfigError`` when ``tags`` is not a list of text or a tag holds a comma."""
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise ConfigError({"tags": f"must be a list of text, got {type(tags).__name__}"})
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ConfigError({"tags": f"each tag must be text, got {tag!r}"})
        text = " ".join(tag.split())
        if "," in text:
            raise ConfigError({"tags": f"a tag cannot contain a comma: {text!r}; give several tags instead"})
        if text and text not in clean:
            clean.append(text)
    return clean


#: The hyperparameter columns of the runs table (config key -> column).
TABLE_SETTINGS = {"n_factors": "n_factors", "n_blocks": "n_blocks", "n_heads": "n_heads", "session_maxlen": "maxlen",
                  "dropout_rate": "dropout", "lr": "lr", "batch_size": "batch", "loss": "loss"}


def runs_table(records: list[RunRecord]) -> pd.DataFrame:
    """One row per run: id, time, status, sweep, parent, epochs (trained, best, kept), key
    hyperparameters (and every parameter a sweep varied), the final training loss, the last
    validation's values, the best epoch's (``best_`` prefix), the validation protocol, tags,
    note, device and seconds. Metric columns are sorted HR, NDCG, then the others."""
    import pandas as pd

    swept: list[str] = []  # parameters a sweep varied that the key settings leave out
    for r in records:
        trial = r.history.get("sweep")
        params = trial.get("params") if isinstance(trial, dict) else None
        for name in params if isinstance(params, dict) else {}:
            if name not in TABLE_SETTINGS and name not in swept:
                swept.append(name)
    rows, metric_names = [], []
    for r in records:
        c = r.config
        epoch_losses = r.history.get("epoch_losses") or []
        row: dict = {
            "id": r.run_id, "when": pd.Timestamp(r.created_at, unit="s").strftime("%Y-%m-%d %H:%M"), "status": r.status,
            "sweep": r.sweep_id, "parent": r.parent_run_id, "epochs": len(epoch_losses),
            "best_epoch": r.best_epoch or None, "kept_epoch": r.kept_epoch or None,
        }
        row.update({column: c.get(key) for key, column in TABLE_SETTINGS.items()})
        row.update({name: c.get(name) for name in swept})
        row["final_loss"] = epoch_losses[-1] if epoch_losses else float("nan")
        val_loss = r.last_val_loss
        row["val_loss"] = float("nan") if val_loss is None else val_loss
        for key, value in r.metrics.items():
            if isinstance(value, (int, float)):
                row[key] = float(value)
                metric_names.append(key)
        for key, value in r.best_metrics.items():
            row[f"best_{key}"] = value
            if key != "val_loss":
                metric_names.append(key)
        protocol = r.protocol
        row["protocol"] = protocol.short() if protocol is not None else ""
        row.update({"tags": TAG_SEPARATOR.join(r.tags), "note": r.note, "device": r.device, "seconds": round(r.seconds, 1)})
        rows.append(row)
    head = ["id", "when", "status", "sweep", "parent", "epochs", "best_epoch", "kept_epoch",
            *TABLE_SETTINGS.values(), *swept, "final_loss", "val_loss"]
    tail = ["protocol", "tags", "note", "device", "seconds"]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=head + tail)  # an empty history still has the header (CSV exports keep it)
    order = {"HR": 0, "NDCG": 1}
    names = sorted(dict.fromkeys(metric_names), key=lambda m: (order.get(m.split("@")[0], 2), m))
    metric_cols = [m for m in names if m in table.columns]
    best_cols = [c for c in ("best_val_loss", *(f"best_{m}" for m in names)) if c in table.columns]
    for column in ("parent", "best_epoch", "kept_epoch"):
        table[column] = table[column].astype("Int64")  # whole numbers, blank where there is none
    return table[head + metric_cols + best_cols + tail]
