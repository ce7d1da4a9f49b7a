"""The command-line interface: names, CSV outputs, clean errors."""
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli_runner import run_cli as run

TRAIN = ["--epochs", "1", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64", "--min-item-freq", "5", "--device", "cpu"]




@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    folder = tmp_path_factory.mktemp("demo")
    assert run("demo-data", str(folder), "--users", "400", "--items", "120", "--seed", "3")[0] == 0
    model = folder / "model.pt"
    code, _, err = run("train", str(folder), "--out", str(model), *TRAIN)
    assert code == 0, err
    yield folder, model, err, home
    mp.undo()


def test_demo_data_writes_kion_files(trained):
    folder, *_ = trained
    assert {p.name for p in folder.glob("*.csv")} == {"interactions.csv", "items_en.csv", "users_en.csv"}


def test_train_reports_progress_and_summary(trained):
    _, model, err, home = trained
    assert model.is_file()
    assert "epoch 1/1" in err and "seq/s" in err and "loss" in err
    assert "saved" in err and "trained 1 epoch(s)" in err
    assert (home / "runs.sqlite").is_file()  # the run was recorded


def test_recommend_csv(trained):
    folder, model, *_ = trained
    users = pd.read_csv(folder / "interactions.csv").user_id.unique()[:2]
    code, out, err = run("recommend", str(model), "--data", str(folder), "--user", *map(str, users), "--k", "4")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["user_id", "item_id", "score", "rank", "title"]
    assert len(frame) == 8 and frame["title"].notna().all()
    ids = folder / "users.txt"
    ids.write_text("user_id\n" + "\n".join(map(str, users)) + "\n")
    code, out2, _ = run("recommend", str(model), "--data", str(folder), "--users-file", str(ids), "--k", "4", "--no-filter-viewed")
    assert code == 0 and len(pd.read_csv(io.StringIO(out2))) == 8


def test_similar_csv(trained):
    folder, model, *_ = trained
    item = pd.read_csv(folder / "interactions.csv").item_id.value_counts().index[0]
    code, out, err = run("similar", str(model), "--data", str(folder), "--item", str(item), "--k", "3")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["target_item_id", "item_id", "score", "rank", "title"]
    assert frame["rank"].tolist() == [1, 2, 3] and (frame.item_id != item).all()


def test_errors_are_one_line_without_traceback(trained, tmp_path):
    folder, model, *_ = trained
    code, _, err = run("recommend", str(model), "--data", str(folder), "--user", "-12345")
    assert code == 2 and err.startswith("error: ") and "-12345" in err and "Traceback" not in err
    code, _, err = run("train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.pt"))
    assert code == 2 and "nowhere" in err
    bad = tmp_path / "ids.txt"
    bad.write_text("12\nabc\n")
    code, _, err = run("recommend", str(model), "--data", str(folder), "--users-file", str(bad))
    assert code == 2 and "ids.txt" in err and "line 2" in err
    code, _, err = run("train", str(folder), "--out", str(tmp_path / "m.pt"), "--n-factors", "10", "--n-heads", "3")
    assert code == 2 and "n_heads" in err
    code, _, err = run("similar", str(tmp_path / "missing.pt"), "--data", str(folder), "--item", "1")
    assert code == 2 and "missing.pt" in err


@pytest.mark.slow
def test_module_entry_point_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "core", "recommend", str(tmp_path / "x.pt"), "--data", str(tmp_path), "--user", "1"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_evaluate_and_runs(trained):
    folder, model, _, home = trained
    code, out, err = run("evaluate", str(model), "--data", str(folder), "--k", "5", "10")
    assert code == 0, err
    assert "re-fitting" in err  # the checkpoint saw the test items, so it is re-fitted
    lines = out.splitlines()
    assert lines[0].startswith("measured: leave-last-out") and "k=5,10" in lines[0] and "full ranking over" in lines[0]
    assert "NDCG@10" in lines[1] and any(l.startswith("SASRec") for l in lines) and any(l.startswith("Popular") for l in lines)
    code, out, _ = run("runs")
    assert code == 0 and "n_factors" in out and "softmax" in out


def test_no_cuda_graph_flag_reaches_the_saved_config(trained, tmp_path):
    from core.checkpoint import load_checkpoint

    folder, model, *_ = trained
    assert load_checkpoint(model)[0].config.cuda_graph is True
    eager = tmp_path / "eager.pt"
    code, _, err = run("train", str(folder), "--out", str(eager), *TRAIN, "--no-cuda-graph")
    assert code == 0, err
    assert load_checkpoint(eager)[0].config.cuda_graph is False


def test_recommend_skip_unknown_lists_the_skipped_users(trained):
    folder, model, *_ = trained
    users = pd.read_csv(folder / "interactions.csv")["user_id"].unique()[:2].tolist()
    code, out, err = run("recommend", str(model), "--data", str(folder), "--user", str(users[0]), "-12345",
                         str(users[1]), "--k", "3", "--skip-unknown")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert set(frame.user_id) <= set(users) and len(frame) > 0
    assert "skipped 1 user(s)" in err and "-12345" in err


def test_one_unknown_user_names_skip_unknown(trained):
    folder, model = trained[0], trained[1]
    user = pd.read_csv(folder / "interactions.csv")["user_id"].iloc[0]
    code, _, err = run("recommend", str(model), "--data", str(folder), "--user", str(user), "987654321", "987654322")
    assert code == 2
    err = err.strip().splitlines()
    assert len(err) == 1 and "Users 987654321, 987654322 are not in the data" in err[0] and "--skip-unknown" in err[0]


def test_users_file_is_read_once(trained, tmp_path, monkeypatch):
    from core import __main__ as cli

    folder, model = trained[0], trained[1]
    users = tmp_path / "users.txt"
    users.write_text("user_id\n" + "\n".join(map(str, pd.read_csv(folder / "interactions.csv")["user_id"].unique()[:3])) + "\n")
    reads = []
    real = cli._read_ids
    monkeypatch.setattr(cli, "_read_ids", lambda *a: reads.append(a) or real(*a))
    code, out, _ = run("recommend", str(model), "--data", str(folder), "--users-file", str(users))
    assert code == 0 and len(reads) == 1 and out.count("\n") == 1 + 3 * 10
