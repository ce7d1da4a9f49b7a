"""The run history never loses a run (issue 10, point 8).

Ten processes recording at once, a locked database, a read-only or missing history folder,
``SASREC_STUDIO_HOME`` pointing at a file: every run that can be recorded is recorded once,
and CLI training still exits 0 with its checkpoint and one warning line.
"""
from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest

from core.runs import RunRecord, RunStore, RunStoreError

N_PROCESSES = 10


def record(seconds: float = 1.0, **kw) -> RunRecord:  # noqa: ANN003
    base = dict(config={"n_factors": 16}, filter_config={}, data_fingerprint="f", data_source="/data",
                history={"epoch_losses": [1.0]}, seconds=seconds)
    base.update(kw)
    return RunRecord(**base)


def _add_one(db: str, seconds: float, busy_timeout: float, go, results) -> None:  # noqa: ANN001
    """Child process: wait for the start signal, add one run, report the id or the error kind."""
    go.wait()
    try:
        results.put(("added", RunStore(db, busy_timeout=busy_timeout).add(record(seconds))))
    except RunStoreError as exc:
        results.put(("kept" if exc.kept_at else "lost", str(exc)))


def _flush(db: str, go, results) -> None:  # noqa: ANN001
    go.wait()
    results.put(RunStore(db, busy_timeout=30.0).flush_pending())


def _in_processes(target, args_for) -> list:  # noqa: ANN001
    """Run ``target(*args_for(i), go, results)`` in N_PROCESSES spawned processes released
    together; return what each reported."""
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(i), go, results)) for i in range(N_PROCESSES)]
    for p in procs:
        p.start()
    go.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


@pytest.mark.slow
def test_ten_processes_recording_at_once_lose_no_run(tmp_path):
    db = tmp_path / "runs.sqlite"  # not created yet: ten processes race to create it too
    out = _in_processes(_add_one, lambda i: (str(db), float(i), 30.0))
    assert sorted(kind for kind, _ in out) == ["added"] * N_PROCESSES
    store = RunStore(db)
    assert sorted(r.seconds for r in store.runs()) == [float(i) for i in range(N_PROCESSES)]
    assert len({r.run_id for r in store.runs()}) == N_PROCESSES
    assert store.pending_files() == []


@pytest.mark.slow  # ten real processes
def test_ten_processes_on_a_locked_database_each_keep_their_run(tmp_path):
    db = tmp_path / "runs.sqlite"
    RunStore(db).add(record(-1.0))
    blocker = sqlite3.connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        out = _in_processes(_add_one, lambda i: (str(db), float(i), 0.05))
    finally:
        blocker.rollback()
        blocker.close()
    assert sorted(kind for kind, _ in out) == ["kept"] * N_PROCESSES
    assert all("locked" in message for _, message in out)
    store = RunStore(db)
    assert len(store.pending_files()) == N_PROCESSES  # one file per run: none overwrote another
    assert store.flush_pending() == N_PROCESSES
    assert store.flush_pending() == 0
    assert sorted(r.seconds for r in store.runs()) == [-1.0] + [float(i) for i in range(N_PROCESSES)]


@pytest.mark.slow  # ten real processes
def test_processes_flushing_the_same_pending_runs_add_each_once(tmp_path):
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"not a database" * 100)
    store = RunStore(db)
    for i in range(7):
        with pytest.raises(RunStoreError):
            store.add(record(float(i)))
    assert len(store.pending_files()) == 7
    db.unlink()
    flushed = _in_processes(_flush, lambda i: (str(db),))
    assert sum(flushed) == 7
    assert sorted(r.seconds for r in store.runs()) == [float(i) for i in range(7)]
    assert store.pending_files() == []


def test_a_pending_file_written_twice_is_added_once(tmp_path):
    """A flusher that added the run but could not delete the file: the next flush adds nothing."""
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"broken" * 100)
    store = RunStore(db)
    with pytest.raises(RunStoreError) as info:
        store.add(record(5.0))
    kept = info.value.kept_at
    copy = kept.read_bytes()
    db.unlink()
    assert store.flush_pending() == 1
    kept.write_bytes(copy)  # as if the unlink had failed
    assert store.flush_pending() == 0
    assert [r.seconds for r in store.runs()] == [5.0]


def test_unwritable_history_folder_raises_one_message_saying_the_run_was_not_kept(tmp_path):
    home = tmp_path / "home"
    home.write_text("I am a file")
    store = RunStore(home / "runs.sqlite")
    with pytest.raises(RunStoreError) as info:
        store.add(record())
    message = str(info.value)
    assert "could not be kept either" in message and str(home / "runs.sqlite") in message and "\n" not in message
    assert info.value.kept_at is None


# --------------------------------------------------------------------------- the CLI

TINY = ["--epochs", "1", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
        "--min-item-freq", "5", "--device", "cpu"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from core.demo import write_demo

    folder = tmp_path_factory.mktemp("runs-safety-demo")
    write_demo(folder, n_users=300, n_items=60, seed=9)
    return folder


def train(capsys, demo: Path, out: Path) -> tuple[int, list[str]]:  # noqa: ANN001
    from core.__main__ import main

    code = main(["train", str(demo), "--out", str(out), *TINY])
    err = capsys.readouterr().err
    return code, err.splitlines()


def assert_trained_with_one_warning(code: int, lines: list[str], out: Path, *fragments: str) -> str:
    from core.checkpoint import load_checkpoint

    assert code == 0, lines
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1 and not any(line.startswith("error") or "Traceback" in line for line in lines), lines
    for fragment in fragments:
        assert fragment in warnings[0], (fragment, warnings[0])
    assert load_checkpoint(out)[0].epochs_done == 1
    return warnings[0]


def test_cli_training_on_a_locked_history_keeps_the_run_and_exits_0(demo, capsys, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    monkeypatch.setattr(RunStore, "busy_timeout", 0.1)
    store = RunStore.default()
    store.add(record(-1.0))
    blocker = sqlite3.connect(store.path)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, lines = train(capsys, demo, tmp_path / "m.pt")
    finally:
        blocker.rollback()
        blocker.close()
    assert_trained_with_one_warning(code, lines, tmp_path / "m.pt", "locked", "kept")
    assert len(store.pending_files()) == 1
    from core.__main__ import main

    assert main(["runs"]) == 0  # lists the history, adding the kept run first
    assert "finished" in capsys.readouterr().out
    assert sorted(r.seconds > 0 for r in store.runs()) == [False, True] and store.pending_files() == []
    assert store.runs()[0].checkpoint_path == str((tmp_path / "m.pt").resolve())


def test_cli_training_with_the_home_being_a_file_exits_0_with_a_warning(demo, capsys, tmp_path, monkeypatch):
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    code, lines = train(capsys, demo, tmp_path / "m.pt")
    assert_trained_with_one_warning(code, lines, tmp_path / "m.pt", str(home), "could not be kept")
    assert home.read_text() == "x"


def test_cli_training_creates_a_missing_history_folder(demo, capsys, tmp_path, monkeypatch):
    home = tmp_path / "a" / "b" / "c"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    code, lines = train(capsys, demo, tmp_path / "m.pt")
    assert code == 0 and not any(line.startswith("warning") for line in lines)
    assert [r.status for r in RunStore.default().runs()] == ["finished"]


def test_cli_training_with_a_read_only_database_keeps_the_run_beside_it(demo, capsys, tmp_path, monkeypatch):
    """The database file cannot be written (its folder can): the run is kept and added later."""
    import core.runs

    home = tmp_path / "home"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    store = RunStore.default()
    store.add(record(-1.0))
    real_connect = sqlite3.connect

    def read_only(path, **kwargs):  # noqa: ANN001, ANN003, ANN202 - what SQLite does with a read-only file
        return real_connect(f"file:{path}?mode=ro", uri=True, **kwargs)

    monkeypatch.setattr(core.runs.sqlite3, "connect", read_only)
    code, lines = train(capsys, demo, tmp_path / "m.pt")
    monkeypatch.setattr(core.runs.sqlite3, "connect", real_connect)
    assert_trained_with_one_warning(code, lines, tmp_path / "m.pt", "cannot be written", "readonly", "kept")
    assert store.flush_pending() == 1 and len(store.runs()) == 2


def test_cli_training_with_a_read_only_history_folder_exits_0_with_a_warning(demo, capsys, tmp_path, monkeypatch):
    """Neither the database nor a pending file can be written."""
    import core.runs

    home = tmp_path / "home"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    RunStore.default().add(record(-1.0))
    home.chmod(0o555)
    try:
        if os.access(home, os.W_OK):  # root: permissions do not bind; make SQLite and the pending file see a read-only folder
            real_connect = sqlite3.connect
            monkeypatch.setattr(core.runs.sqlite3, "connect", lambda p, **kw: real_connect(f"file:{p}?mode=ro", uri=True, **kw))

            def denied(self, row):  # noqa: ANN001, ANN202
                raise PermissionError(13, "Permission denied", str(self._pending_file(row)))

            monkeypatch.setattr(RunStore, "_write_pending", denied)
        code, lines = train(capsys, demo, tmp_path / "m.pt")
    finally:
        home.chmod(0o755)
    warning = assert_trained_with_one_warning(code, lines, tmp_path / "m.pt", str(home), "could not be kept either")
    assert "Permission denied" in warning


def test_listing_an_unusable_history_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    from core.__main__ import main

    home = tmp_path / "file"
    home.write_text("x")
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and str(home) in err

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(RunStore, "busy_timeout", 0.05)
    store = RunStore.default()
    store.add(record())
    blocker = sqlite3.connect(store.path)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["runs"]) == 2
    finally:
        blocker.rollback()
        blocker.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "locked" in err
