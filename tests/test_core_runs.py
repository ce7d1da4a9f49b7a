"""Run history: survives restarts, schema version, corrupt/locked databases never lose a run."""
import json
import sqlite3

import pandas as pd
import pytest

from core.runs import SCHEMA_VERSION, RunRecord, RunStore, RunStoreError, data_fingerprint
from tests.synthetic import chain_interactions


def record(**kw):
    base = dict(config={"n_factors": 64, "lr": 0.001, "loss": "softmax"}, filter_config={"min_item_freq": 20},
                data_fingerprint="abc", data_source="/data", history={"epoch_losses": [3.0, 2.0], "step_losses": [3.0, 2.5, 2.0]},
                metrics={"NDCG@10": 0.3}, device="cpu", seconds=1.5, checkpoint_path="/m.pt")
    base.update(kw)
    return RunRecord(**base)


def test_runs_survive_reopening_and_delete(tmp_path):
    db = tmp_path / "runs.sqlite"
    first = RunStore(db).add(record())
    second = RunStore(db).add(record(config={"n_factors": 128}))
    store = RunStore(db)  # a "restart"
    runs = store.runs()
    assert [r.run_id for r in runs] == [second, first]
    assert runs[1].history["step_losses"] == [3.0, 2.5, 2.0] and runs[1].metrics == {"NDCG@10": 0.3}
    table = store.table()
    assert {"id", "n_factors", "lr", "final_loss", "NDCG@10"} <= set(table.columns)
    store.delete([first])
    assert [r.run_id for r in store.runs()] == [second]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2


def test_corrupt_database_keeps_the_run_pending(tmp_path):
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    store = RunStore(db)
    with pytest.raises(RunStoreError, match="runs.sqlite") as info:
        store.add(record(seconds=42.0))
    assert "kept" in str(info.value) and info.value.kept_at in store.pending_files()
    assert len(store.pending_files()) == 1
    db.unlink()  # the user moves the broken file away
    store.add(record(seconds=7.0))
    assert sorted(r.seconds for r in store.runs()) == [7.0, 42.0]
    assert store.pending_files() == []


def test_locked_database_is_a_message_not_a_hang(tmp_path):
    db = tmp_path / "runs.sqlite"
    store = RunStore(db, busy_timeout=0.1)
    store.add(record())
    blocker = sqlite3.connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RunStoreError, match="locked"):
            store.add(record(seconds=9.0))
    finally:
        blocker.rollback()
        blocker.close()
    assert store.flush_pending() == 1
    assert sorted(r.seconds for r in store.runs()) == [1.5, 9.0]


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "runs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(RunStoreError, match="newer"):
        RunStore(db).runs()


def test_fingerprint_changes_with_the_data():
    df = chain_interactions(n_users=20)
    assert data_fingerprint(df) == data_fingerprint(df.copy())
    changed = df.copy()
    changed.loc[0, "item_id"] += 1
    assert data_fingerprint(changed) != data_fingerprint(df)
    assert data_fingerprint(df.iloc[:-1]) != data_fingerprint(df)


def test_schema_1_history_is_upgraded_and_keeps_its_runs(tmp_path):
    db = tmp_path / "runs.sqlite"
    with sqlite3.connect(db) as conn:  # what schema 1 wrote
        conn.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL, status TEXT, config TEXT, filter_config TEXT, "
            "data_fingerprint TEXT, data_source TEXT, history TEXT, metrics TEXT, device TEXT, seconds REAL, checkpoint_path TEXT)"
        )
        conn.execute("INSERT INTO runs (created_at, status, config, filter_config, data_fingerprint, data_source, history, metrics, "
                     "device, seconds, checkpoint_path) VALUES (1.0, 'finished', '{}', '{}', 'f', '/d', '{}', '{}', 'cpu', 3.0, '')")
        conn.execute("PRAGMA user_version = 1")
    store = RunStore(db)
    assert [r.seconds for r in store.runs()] == [3.0]  # read as is
    store.add(record(seconds=4.0))
    assert sorted(r.seconds for r in store.runs()) == [3.0, 4.0]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_older_shared_pending_file_is_adopted_once(tmp_path):
    from dataclasses import asdict

    db = tmp_path / "runs.sqlite"
    legacy = tmp_path / "runs.pending.json"
    legacy.write_text(json.dumps([asdict(record(seconds=s)) for s in (1.0, 2.0)]))
    store = RunStore(db)
    assert store.flush_pending() == 2
    assert store.flush_pending() == 0 and not legacy.exists() and store.pending_files() == []
    assert sorted(r.seconds for r in store.runs()) == [1.0, 2.0]


def test_runs_are_listed_newest_first_even_when_added_late(tmp_path):
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"broken" * 100)
    store = RunStore(db)
    with pytest.raises(RunStoreError):
        store.add(record(seconds=1.0, created_at=100.0))  # kept pending
    db.unlink()
    store.add(record(seconds=2.0, created_at=200.0))  # added first, then the pending one
    assert [r.seconds for r in store.runs()] == [2.0, 1.0]
