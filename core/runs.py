"""Persistent run history in SQLite (standard library), with a schema version.

A corrupt or locked database never loses the run that just finished: the run is kept in
a pending-runs JSON file beside the database until it can be written.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SasrecError

SCHEMA_VERSION = 1


class RunStoreError(SasrecError):
    """The run database cannot be read or written (corrupt, locked, not ours)."""


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
    status: str = "finished"  # finished | cancelled | failed
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
    h = hashlib.sha256()
    h.update(str(len(interactions)).encode())
    for col in ("user_id", "item_id", "datetime", "weight"):
        if col in interactions.columns:
            values = interactions[col].to_numpy()
            if values.dtype.kind == "M":
                values = values.astype("datetime64[s]").view(np.int64)
            h.update(pd.util.hash_array(np.ascontiguousarray(values)).tobytes())
    return h.hexdigest()[:16]


class RunStore:
    """Read and write runs; every failure becomes ``RunStoreError`` with a readable message."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.pending_path = self.path.with_suffix(".pending.json")

    @classmethod
    def default(cls) -> "RunStore":
        return cls(default_db_path())

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=2.0)
        except (OSError, sqlite3.Error) as exc:
            raise RunStoreError(f"Cannot open the run history '{self.path}': {exc}") from exc
        try:
            self._ensure_schema(conn)
            yield conn
            conn.commit()
        except sqlite3.DatabaseError as exc:
            conn.rollback()
            raise RunStoreError(f"The run history '{self.path}' cannot be used ({exc}). Move or delete the file to start a new one.") from exc
        finally:
            conn.close()

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL, status TEXT, "
                "config TEXT, filter_config TEXT, data_fingerprint TEXT, data_source TEXT, history TEXT, metrics TEXT, "
                "device TEXT, seconds REAL, checkpoint_path TEXT)"
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise RunStoreError(f"The run history '{self.path}' was written by a newer SASRec Studio (schema {version}).")

    def add(self, run: RunRecord) -> int | None:
        """Store ``run``; returns its id. If the database fails, the run is kept pending and the
        error is raised; it is written with the next successful ``add`` or ``flush_pending``."""
        pending = self._read_pending() + [asdict(run)]
        try:
            ids = self._insert_all(pending)
        except RunStoreError:
            self._write_pending(pending)
            raise
        self._write_pending([])
        run.run_id = ids[-1]
        return run.run_id

    def flush_pending(self) -> int:
        """Write runs kept from earlier failures; returns how many were written."""
        pending = self._read_pending()
        if not pending:
            return 0
        self._insert_all(pending)
        self._write_pending([])
        return len(pending)

    def _insert_all(self, runs: list[dict]) -> list[int]:
        ids = []
        with self._connect() as conn:
            for r in runs:
                cur = conn.execute(
                    "INSERT INTO runs (created_at, status, config, filter_config, data_fingerprint, data_source, history, metrics, device, seconds, checkpoint_path) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (r["created_at"], r["status"], json.dumps(r["config"]), json.dumps(r["filter_config"]), r["data_fingerprint"],
                     r["data_source"], json.dumps(r["history"]), json.dumps(r["metrics"]), r["device"], r["seconds"], r["checkpoint_path"]),
                )
                ids.append(int(cur.lastrowid))
        return ids

    def _read_pending(self) -> list[dict]:
        try:
            return json.loads(self.pending_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []

    def _write_pending(self, runs: list[dict]) -> None:
        if not runs:
            if self.pending_path.exists():
                self.pending_path.unlink()
            return
        self.pending_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.pending_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs), encoding="utf-8")
        os.replace(tmp, self.pending_path)

    def runs(self) -> list[RunRecord]:
        """All runs, newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, created_at, status, config, filter_config, data_fingerprint, data_source, history, metrics, device, seconds, checkpoint_path FROM runs ORDER BY id DESC"
            ).fetchall()
        return [
            RunRecord(config=json.loads(r[3]), filter_config=json.loads(r[4]), data_fingerprint=r[5], data_source=r[6],
                      history=json.loads(r[7]), metrics=json.loads(r[8]), device=r[9], seconds=r[10], checkpoint_path=r[11],
                      status=r[2], created_at=r[1], run_id=r[0])
            for r in rows
        ]

    def get(self, run_id: int) -> RunRecord | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def delete(self, run_ids: list[int]) -> None:
        with self._connect() as conn:
            conn.executemany("DELETE FROM runs WHERE id = ?", [(int(i),) for i in run_ids])

    def table(self) -> pd.DataFrame:
        """One row per run with key hyperparameters and final metrics."""
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
