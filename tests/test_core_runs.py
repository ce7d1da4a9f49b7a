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
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


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


# --------------------------------------------------------------------------- schema 3: links, sweeps, tags, notes


def test_tags_and_notes_are_stored_and_shown(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.add(record())
    assert store.set_tags(run_id, ["  baseline ", "kion", "baseline", "", "long  run"]) == ["baseline", "kion", "long run"]
    assert store.set_note(run_id, "  lr too high?\nretry with 1e-4 ") == "lr too high?\nretry with 1e-4"
    again = RunStore(tmp_path / "runs.sqlite").get(run_id)
    assert again.tags == ["baseline", "kion", "long run"] and again.note == "lr too high?\nretry with 1e-4"
    row = store.table().iloc[0]
    assert row["tags"] == "baseline, kion, long run" and row["note"] == "lr too high?\nretry with 1e-4"
    assert store.set_tags(run_id, []) == [] and store.get(run_id).tags == []


@pytest.mark.parametrize("tags, fragment", [("kion", "list of text"), (["a,b"], "comma"), ([3], "text")])
def test_bad_tags_are_refused(tmp_path, tags, fragment):
    from core.errors import ConfigError

    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.add(record())
    with pytest.raises(ConfigError, match=fragment):
        store.set_tags(run_id, tags)
    with pytest.raises(ConfigError, match="text"):
        store.set_note(run_id, None)
    with pytest.raises(RunStoreError, match="Run 999 is not in the run history"):
        store.set_note(999, "x")
    assert store.get(run_id).tags == []


def test_schema_2_history_reads_as_is_and_upgrades_on_write(tmp_path):
    db = tmp_path / "runs.sqlite"
    with sqlite3.connect(db) as conn:  # what schema 2 wrote
        conn.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL, status TEXT, config TEXT, filter_config TEXT, "
            "data_fingerprint TEXT, data_source TEXT, history TEXT, metrics TEXT, device TEXT, seconds REAL, checkpoint_path TEXT, uid TEXT)"
        )
        conn.execute("CREATE UNIQUE INDEX runs_uid ON runs (uid)")
        conn.execute("INSERT INTO runs (created_at, status, config, filter_config, data_fingerprint, data_source, history, metrics, "
                     "device, seconds, checkpoint_path, uid) VALUES (1.0, 'finished', '{}', '{}', 'f', '/d', '{}', '{}', 'cpu', 3.0, '', 'u1')")
        conn.execute("PRAGMA user_version = 2")
    db.chmod(0o444)  # reading needs no write
    try:
        (old,) = RunStore(db).runs()
        assert (old.parent_run_id, old.sweep_id, old.tags, old.note, old.best_epoch, old.protocol) == (None, "", [], "", 0, None)
        assert RunStore(db).runs("sweep-x") == [] and RunStore(db).run_id_of_uid("u1") == old.run_id
    finally:
        db.chmod(0o644)
    store = RunStore(db)
    store.set_tags(old.run_id, ["old"])
    store.add(record(sweep_id="sweep-x", parent_run_id=old.run_id))
    assert [r.tags for r in store.runs()] == [[], ["old"]] and store.runs("sweep-x")[0].parent_run_id == old.run_id
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_pending_run_of_an_older_version_is_added_with_defaults(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record())
    from dataclasses import asdict

    old = asdict(record(seconds=8.0))
    for key in ("parent_run_id", "sweep_id", "tags", "note", "run_id"):
        old.pop(key)
    (tmp_path / "runs.pending-0000000000001-abc.json").write_text(json.dumps({**old, "uid": "abc"}))
    assert store.flush_pending() == 1
    added = next(r for r in store.runs() if r.seconds == 8.0)
    assert added.tags == [] and added.sweep_id == "" and added.parent_run_id is None


def test_the_same_uid_is_added_once(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    first = store.add(record(), uid="same")
    assert store.add(record(seconds=99.0), uid="same") == first and len(store.runs()) == 1


def test_runs_csv_round_trips_the_table(tmp_path, monkeypatch, capsys):
    import io

    from core.__main__ import main

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path))
    store = RunStore.default()
    history = {"epoch_losses": [3.0, 2.0, 2.5], "step_losses": [3.0, 2.0, 2.5], "best_epoch": 2, "kept_epoch": 2,
               "val_losses": [4.0, 3.5, 3.6], "best_metrics": {"NDCG@10": 0.4, "HR@10": 0.6, "val_loss": 3.5},
               "protocol": {"split": "last", "ks": [10], "n_items": 60, "filter_seen": True, "n_users": 288,
                            "n_test_users": 288, "n_targets": 288}}
    first = store.add(record(history=history, metrics={"NDCG@10": 0.35, "HR@10": 0.5}))
    second = store.add(record(sweep_id="sweep-a", parent_run_id=first, note='says "hi", twice'))
    store.set_tags(second, ["a b", "c"])
    assert main(["runs", "--csv"]) == 0
    text = capsys.readouterr().out
    read = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    table = store.table()
    assert list(read.columns) == list(table.columns)
    assert read["id"].tolist() == [second, first] and read["parent"].tolist()[0] == first
    assert read.loc[1, "best_epoch"] == 2 and read.loc[1, "best_NDCG@10"] == 0.4 and read.loc[1, "val_loss"] == 3.6
    assert read.loc[0, "tags"] == "a b, c" and read.loc[0, "note"] == 'says "hi", twice'
    assert read.loc[1, "protocol"] == "last k=10 60 items seen-filtered 288 users"
    for column in table.columns:  # every cell comes back: numbers as numbers, text as text
        if pd.api.types.is_numeric_dtype(table[column]):
            pd.testing.assert_series_equal(read[column].astype("float64"), table[column].astype("float64"), check_names=False)
        else:
            def text(values):  # noqa: ANN001, ANN202
                return ["" if pd.isna(v) else str(v) for v in values]

            assert text(read[column]) == text(table[column]), column
    assert main(["runs", "--sweep", "sweep-a"]) == 0
    shown = capsys.readouterr().out
    assert "sweep-a" in shown and len(shown.strip().splitlines()) == 2


def test_an_empty_history_exports_the_header(tmp_path, monkeypatch, capsys):
    from core.__main__ import main

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path))
    assert main(["runs", "--csv"]) == 0
    assert capsys.readouterr().out.startswith("id,when,status,sweep,parent,epochs,best_epoch,kept_epoch,")
    assert main(["runs"]) == 0 and capsys.readouterr().out == "no runs recorded yet\n"
