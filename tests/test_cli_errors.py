"""No traceback from any CLI path; nothing overwritten, nothing trained in vain (issue 10, points 5-7).

Every bad value of every subcommand and option ends with exit status 2 and exactly one line
on stderr, checked before any work; ``--out`` is refused before loading when it is a folder,
lies in a missing or read-only folder, or is an input data file; a failed save names the
target; checkpoints with invalid settings or non-finite weights are refused naming the file.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import core.__main__ as cli
from core import out_path
from core.__main__ import main
from core.checkpoint import load_checkpoint, save_checkpoint
from core.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
        "--min-item-freq", "5", "--device", "cpu"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Demo data, a trained tiny model, and broken copies of it."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    root = tmp_path_factory.mktemp("cli-errors")
    data = root / "data"
    assert main(["demo-data", str(data), "--users", "300", "--items", "60", "--seed", "5"]) == 0
    model = root / "model.pt"
    assert main(["train", str(data), "--out", str(model), *TINY]) == 0
    payload = torch.load(model, map_location="cpu", weights_only=True)
    bad_settings = root / "bad-settings.pt"
    torch.save({**payload, "config": {**payload["config"], "n_heads": 3, "dropout_rate": float("nan")}}, bad_settings)
    bad_filter = root / "bad-filter.pt"  # would silently turn the duration filter off
    torch.save({**payload, "filter_config": {**payload["filter_config"], "min_total_dur": float("nan")}}, bad_filter)
    state = {k: v.clone() for k, v in payload["state_dict"].items()}
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name].view(-1)[0] = float("nan")
    nan_weights = root / "nan-weights.pt"
    torch.save({**payload, "state_dict": state}, nan_weights)
    not_a_model = root / "notes.txt"
    not_a_model.write_text("hello\n")
    yield {"root": root, "data": data, "model": model, "bad_settings": bad_settings, "bad_filter": bad_filter, "nan_weights": nan_weights,
           "text": not_a_model, "home": home}
    mp.undo()


D, M, R = "{data}", "{model}", "{root}"
#: (argv with placeholders, fragments the one line must contain)
BAD = [
    # top level
    ([], ["required"]),
    (["bogus"], ["invalid choice"]),
    (["--bogus"], []),
    # demo-data
    (["demo-data", R + "/d", "--users", "0"], ["--users", "got 0"]),
    (["demo-data", R + "/d", "--users", "-3"], ["--users"]),
    (["demo-data", R + "/d", "--users", "abc"], ["--users", "abc"]),
    (["demo-data", R + "/d", "--users", "10000000000"], ["--users"]),
    (["demo-data", R + "/d", "--items", "0"], ["--items"]),
    (["demo-data", R + "/d", "--items", "-1"], ["--items"]),
    (["demo-data", R + "/d", "--items", "19"], ["--items", "from 20"]),
    (["demo-data", R + "/d", "--seed", "-1"], ["--seed"]),
    (["demo-data", R + "/d", "--seed", "1.5"], ["--seed"]),
    (["demo-data", "{text}"], ["notes.txt", "not a folder"]),
    (["demo-data"], ["out_dir"]),
    # train: every option
    (["train", D, "--out", R + "/m.pt", "--epochs", "0"], ["--epochs"]),
    (["train", D, "--out", R + "/m.pt", "--epochs", "-1"], ["--epochs"]),
    (["train", D, "--out", R + "/m.pt", "--epochs", "x"], ["--epochs"]),
    (["train", D, "--out", R + "/m.pt", "--epochs", "99999999999999999999999"], ["--epochs"]),
    (["train", D, "--out", R + "/m.pt", "--batch-size", "0"], ["--batch-size"]),
    (["train", D, "--out", R + "/m.pt", "--n-factors", "0"], ["--n-factors"]),
    (["train", D, "--out", R + "/m.pt", "--n-blocks", "0"], ["--n-blocks"]),
    (["train", D, "--out", R + "/m.pt", "--n-heads", "0"], ["--n-heads"]),
    (["train", D, "--out", R + "/m.pt", "--n-factors", "10", "--n-heads", "3"], ["--n-heads", "divisible"]),
    (["train", D, "--out", R + "/m.pt", "--dropout", "nan"], ["--dropout", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--dropout", "inf"], ["--dropout", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--dropout", "1.0"], ["--dropout"]),
    (["train", D, "--out", R + "/m.pt", "--dropout", "-0.1"], ["--dropout"]),
    (["train", D, "--out", R + "/m.pt", "--session-maxlen", "0"], ["--session-maxlen"]),
    (["train", D, "--out", R + "/m.pt", "--lr", "nan"], ["--lr", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--lr", "NaN"], ["--lr", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--lr", "inf"], ["--lr", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--lr=-inf"], ["--lr", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--lr", "0"], ["--lr"]),
    (["train", D, "--out", R + "/m.pt", "--lr", "11"], ["--lr"]),
    (["train", D, "--out", R + "/m.pt", "--lr", "fast"], ["--lr"]),
    (["train", D, "--out", R + "/m.pt", "--loss", "hinge"], ["--loss"]),
    (["train", D, "--out", R + "/m.pt", "--n-negatives", "0"], ["--n-negatives"]),
    (["train", D, "--out", R + "/m.pt", "--device", "tpu"], ["--device"]),
    (["train", D, "--out", R + "/m.pt", "--device", "cuda:x"], ["--device"]),
    (["train", D, "--out", R + "/m.pt", "--seed", "-1"], ["--seed"]),
    (["train", D, "--out", R + "/m.pt", "--seed", str(1 << 64)], ["--seed"]),
    (["train", D, "--out", R + "/m.pt", "--precision", "fp8"], ["--precision"]),
    (["train", D, "--out", R + "/m.pt", "--min-total-dur", "nan"], ["--min-total-dur", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--min-total-dur", "inf"], ["--min-total-dur", "finite"]),
    (["train", D, "--out", R + "/m.pt", "--min-total-dur", "-1"], ["--min-total-dur"]),
    (["train", D, "--out", R + "/m.pt", "--min-item-freq", "0"], ["--min-item-freq"]),
    (["train", D, "--out", R + "/m.pt", "--min-user-interactions", "0"], ["--min-user-interactions"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "random"], ["--holdout"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "time", "--test-days", "0"], ["--test-days"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "time", "--test-days", "10000000"], ["--test-days"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "last", "--validate-every", "0"], ["--validate-every"]),
    (["train", D, "--out", R + "/m.pt", "--validate-every", "-2"], ["--validate-every"]),
    (["train", D], ["--out"]),
    (["train", R + "/nowhere", "--out", R + "/m.pt", *TINY], ["nowhere"]),
    (["train", D, "--out", R], ["--out", "is a folder"]),
    (["train", D, "--out", R + "/missing/m.pt"], ["--out", "does not exist"]),
    (["train", D, "--out", D + "/interactions.csv"], ["--out", "interactions.csv", "overwritten"]),
    (["train", D, "--out", D + "/items_en.csv"], ["--out", "items_en.csv", "overwritten"]),
    # recommend / similar / evaluate
    (["recommend", M, "--data", D, "--user", "1", "--k", "0"], ["--k", "got 0"]),
    (["recommend", M, "--data", D, "--user", "1", "--k", "-5"], ["--k"]),
    (["recommend", M, "--data", D, "--user", "1", "--k", "ten"], ["--k"]),
    (["recommend", M, "--data", D, "--user", "1", "--k", "1000000000"], ["--k"]),
    (["recommend", M, "--data", D], ["--user"]),
    (["recommend", M, "--data", D, "--users-file", R + "/no-ids.txt"], ["no-ids.txt"]),
    (["recommend", M, "--user", "1"], ["--data"]),
    (["recommend", "{text}", "--data", D, "--user", "1"], ["notes.txt"]),
    (["recommend", R + "/missing.pt", "--data", D, "--user", "1"], ["missing.pt"]),
    (["recommend", "{bad_settings}", "--data", D, "--user", "1"], ["bad-settings.pt", "n_heads", "dropout_rate"]),
    (["recommend", "{nan_weights}", "--data", D, "--user", "1"], ["nan-weights.pt", "NaN"]),
    (["recommend", "{bad_filter}", "--data", D, "--user", "1"], ["bad-filter.pt", "min_total_dur"]),
    (["recommend", M, "--data", R + "/nowhere", "--user", "1"], ["nowhere"]),
    (["similar", M, "--data", D, "--item", "1", "--k", "0"], ["--k"]),
    (["similar", M, "--data", D, "--item", "1", "--k", "-1"], ["--k"]),
    (["similar", M, "--data", D], ["--item"]),
    (["similar", "{bad_settings}", "--data", D, "--item", "1"], ["bad-settings.pt"]),
    (["similar", "{nan_weights}", "--data", D, "--item", "1"], ["nan-weights.pt"]),
    (["evaluate", M, "--data", D, "--k", "0"], ["--k"]),
    (["evaluate", M, "--data", D, "--k", "5", "-1"], ["--k"]),
    (["evaluate", M, "--data", D, "--split", "random"], ["--split"]),
    (["evaluate", M, "--data", D, "--split", "time", "--test-days", "0"], ["--test-days"]),
    (["evaluate", M, "--data", D, "--test-days", "-1"], ["--test-days"]),
    (["evaluate", "{bad_settings}", "--data", D], ["bad-settings.pt"]),
    (["evaluate", "{bad_filter}", "--data", D], ["bad-filter.pt", "min_total_dur"]),
    (["evaluate", "{nan_weights}", "--data", D], ["nan-weights.pt", "lower learning rate"]),
    (["evaluate", M], ["--data"]),
    # runs
    (["runs", "--all"], ["unrecognized"]),
    (["runs", "--sweep", "sweep-nope"], ["--sweep", "'sweep-nope'", "no run belongs"]),
    # train: early stopping (issue 13)
    (["train", D, "--out", R + "/m.pt", "--early-stopping", "2"], ["--early-stopping", "needs a hold-out"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "last", "--early-stopping", "-1"], ["--early-stopping"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "last", "--early-stopping", "x"], ["--early-stopping"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "last", "--monitor", "mrr"], ["--monitor"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "last", "--min-delta", "-0.1"], ["--min-delta"]),
    (["train", D, "--out", R + "/m.pt", "--holdout", "last", "--min-delta", "nan"], ["--min-delta", "finite"]),
    # train --resume
    (["train", D, "--resume", R + "/missing.pt", "--out", R + "/m2.pt"], ["missing.pt", "does not exist"]),
    (["train", D, "--resume", "{text}", "--out", R + "/m2.pt"], ["notes.txt"]),
    (["train", D, "--resume", "{bad_settings}", "--out", R + "/m2.pt"], ["bad-settings.pt", "n_heads"]),
    (["train", D, "--resume", M, "--out", M], ["--out", "--resume", "new file"]),
    (["train", D, "--resume", M, "--out", R + "/m2.pt", "--n-factors", "32"], ["--n-factors", "architecture"]),
    (["train", D, "--resume", M, "--out", R + "/m2.pt", "--seed", "3"], ["--seed", "random state"]),
    (["train", D, "--resume", M, "--out", R + "/m2.pt", "--min-item-freq", "3"], ["--min-item-freq", "filters"]),
    (["train", D, "--resume", M, "--out", R + "/m2.pt", "--lr", "0"], ["--lr"]),
    (["train", D, "--resume", M, "--out", R + "/m2.pt", "--early-stopping", "2"], ["--early-stopping", "hold-out"]),
    # sweep: every --param mistake is one line naming --param and the text
    (["sweep", D, "--out-dir", R + "/sw"], ["--param", "required"]),
    (["sweep", D, "--param", "lr=0.01"], ["--out-dir", "required"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr"], ["--param", "'lr'", "NAME=V1,V2"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "=1,2"], ["--param", "not a hyperparameter"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "bogus=1,2"], ["--param", "bogus is not a hyperparameter"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "device=cpu"], ["--param", "device is not a hyperparameter"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "min_item_freq=1,5"], ["--param", "same for every trial"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr="], ["--param", "no values"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=fast"], ["--param", "lr must be a number, got 'fast'"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01,,0.1"], ["--param", "empty value"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0"], ["--param", "lr must be a positive number"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=nan,0.1"], ["--param", "lr must be"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "n_factors=1.5"], ["--param", "whole number"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "n_factors=16,16"], ["--param", "listed twice"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "loss=softmax,hinge"], ["--param", "one of softmax, bce, gbce"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "loss=0:1"], ["--param", "not a number"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01:0.001"], ["--param", "must be below HIGH"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "dropout=0:0.5:log"], ["--param", "log range needs LOW above 0"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=1:2:3"], ["--param", "LOW:HIGH or LOW:HIGH:log"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.1", "--param", "lr=0.2"], ["--param", "lr is given twice"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.001:0.01"], ["--trials", "how many trials"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.001:0.01", "--trials", "3", "--sampler", "grid"],
     ["--sampler", "grid search needs value lists"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01,0.02", "--trials", "3"], ["--trials", "the grid has 2"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01", "--trials", "0"], ["--trials"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01", "--sampler", "bayes"], ["--sampler"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01", "--prune-after", "0"], ["--prune-after"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01", "--holdout", "none"], ["--holdout", "hold-out"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01", "--early-stopping", "-2"], ["--early-stopping"]),
    (["sweep", D, "--out-dir", R + "/sw", "--param", "lr=0.01", "--lr", "nan"], ["--lr", "finite"]),
    (["sweep", D, "--out-dir", "{text}", "--param", "lr=0.01"], ["--out-dir", "notes.txt", "not a folder"]),
    (["sweep", R + "/nowhere", "--out-dir", R + "/sw", "--param", "lr=0.01", *TINY], ["nowhere"]),
]


@pytest.mark.parametrize("argv, fragments", BAD, ids=[" ".join(a)[:80] for a, _ in BAD])
def test_every_bad_value_is_one_line_and_exit_2(setup, capsys, argv, fragments):
    args = [a.format(**setup) for a in argv]
    code, out, err = run(capsys, *args)
    assert_one_line_error(code, err, *[f.format(**setup) for f in fragments])


def test_bad_values_are_refused_before_any_work(setup, capsys, monkeypatch):
    """Not a line of progress and no data read: the option checks come first."""
    import core.data

    def no_loading(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("data was loaded before the options were checked")

    for name in ("load_folder", "load_kion", "load_movielens"):
        monkeypatch.setattr(core.data, name, no_loading, raising=False)
    data, root = setup["data"], setup["root"]
    for argv in (["train", data, "--out", root / "m.pt", "--min-total-dur", "nan"],
                 ["train", data, "--out", root / "missing" / "m.pt"],
                 ["train", data, "--out", data / "interactions.csv"],
                 ["train", data, "--out", root / "m.pt", "--holdout", "last", "--validate-every", "0"],
                 ["train", data, "--resume", setup["model"], "--out", root / "m2.pt", "--n-factors", "32"],
                 ["sweep", data, "--out-dir", root / "sw", "--param", "lr=fast"],
                 ["recommend", setup["model"], "--data", data, "--user", "1", "--k", "0"]):
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err)
        assert "loaded before" not in err


def test_help_is_not_an_error(capsys):
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ["train", "{data}", "--out", "{root}/sub.pt", "--lr", "nan"],
    ["recommend", "{model}", "--data", "{data}", "--user", "1", "--k", "0"],
    ["similar", "{nan_weights}", "--data", "{data}", "--item", "1"],
    ["frobnicate"],
])
def test_module_entry_point_bad_values_without_traceback(setup, argv):
    env = {**os.environ, "SASREC_STUDIO_HOME": str(setup["home"])}
    proc = subprocess.run([sys.executable, "-m", "core", *[a.format(**setup) for a in argv]],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- unexpected failures


def test_memory_exhaustion_on_the_cpu_is_one_line_naming_the_knobs(setup, capsys, monkeypatch):
    import core.recommend

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 1099511627776 bytes.\nError code 12 (Cannot allocate memory)")

    monkeypatch.setattr(core.recommend.Recommender, "recommend", boom)
    code, _, err = run(capsys, "recommend", setup["model"], "--data", setup["data"], "--user", "1")
    assert_one_line_error(code, err, "out of memory during recommend", "--k")


def test_memory_exhaustion_in_training_names_the_training_knobs(setup, capsys, monkeypatch):
    import core.train

    def boom(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 68719476736 bytes")

    monkeypatch.setattr(core.train, "sequence_loss", boom)
    code, _, err = run(capsys, "train", setup["data"], "--out", setup["root"] / "oom.pt", *TINY)
    assert code == 2 and "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: Out of memory on cpu") and "batch_size" in last and "n_factors" in last
    assert not (setup["root"] / "oom.pt").exists()


def test_a_bug_is_still_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    def broken(args):  # noqa: ANN001, ANN202
        raise ValueError("something inside\nwent wrong")

    monkeypatch.setitem(cli.COMMANDS, "runs", broken)
    code, _, err = run(capsys, "runs")
    assert_one_line_error(code, err, "unexpected ValueError during runs", "something inside", "SASREC_STUDIO_DEBUG")
    monkeypatch.setenv("SASREC_STUDIO_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["runs"])


def test_memory_error_without_a_message_still_says_what_happened(capsys, monkeypatch):
    def broken(args):  # noqa: ANN001, ANN202
        raise MemoryError()

    monkeypatch.setitem(cli.COMMANDS, "demo-data", broken)
    code, _, err = run(capsys, "demo-data", "x")
    assert_one_line_error(code, err, "out of memory during demo-data", "--users")


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_with_invalid_settings_names_the_file(setup):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(setup["bad_settings"])
    message = str(info.value)
    assert str(setup["bad_settings"]) in message and "n_heads" in message and "dropout_rate" in message


def test_checkpoint_with_non_finite_weights_is_refused(setup, tmp_path):
    with pytest.raises(CheckpointError, match="NaN or infinite weights") as info:
        load_checkpoint(setup["nan_weights"])
    assert str(setup["nan_weights"]) in str(info.value)
    payload = torch.load(setup["model"], map_location="cpu", weights_only=True)
    state = {k: (v.clone().fill_(float("inf")) if v.is_floating_point() else v) for k, v in payload["state_dict"].items()}
    infinite = tmp_path / "inf.pt"
    torch.save({**payload, "state_dict": state}, infinite)
    with pytest.raises(CheckpointError, match="infinite"):
        load_checkpoint(infinite)
    load_checkpoint(setup["model"])  # the healthy one still loads


@pytest.mark.parametrize("failure", [
    RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 64 vs 0\nPytorchStreamWriter failed writing file data/0: file write failed"),
    OSError(28, "No space left on device"),
])
def test_failed_save_names_the_target_not_a_temp_file(setup, tmp_path, monkeypatch, failure):
    model, _ = load_checkpoint(setup["model"])
    target = tmp_path / "model.pt"

    def full_disk(obj, handle, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(failure, OSError):
            raise OSError(failure.errno, failure.strerror, str(handle.name))  # the OS names the temp file
        raise failure

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(model, target)
    message = str(info.value)
    assert str(target) in message and ".tmp" not in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # no temp file left behind


def test_save_into_an_unwritable_folder_names_the_target(setup, tmp_path, monkeypatch):
    import tempfile

    model, _ = load_checkpoint(setup["model"])

    def denied(*args, dir=None, **kwargs):  # noqa: A002, ANN002, ANN003, ANN202
        raise PermissionError(13, "Permission denied", os.path.join(dir, ".model.pt.abc123.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(model, tmp_path / "model.pt")
    assert str(tmp_path / "model.pt") in str(info.value) and ".tmp" not in str(info.value)


def test_failed_save_after_training_still_records_the_run(setup, capsys, tmp_path, monkeypatch):
    from core.runs import RunStore

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))

    def full_disk(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    out = tmp_path / "model.pt"
    code, _, err = run(capsys, "train", setup["data"], "--out", out, *TINY)
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == f"error: Cannot save checkpoint to '{out}': No space left on device"
    (record,) = RunStore.default().runs()
    assert record.status == "finished" and record.checkpoint_path == ""


# --------------------------------------------------------------------------- --out


def test_out_may_replace_an_earlier_checkpoint_in_the_data_folder(setup, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "interactions.csv").write_text("user_id,item_id\n1,2\n")
    (data / "old-model.pt").write_bytes(setup["model"].read_bytes())
    assert out_path.check_checkpoint_target(data / "old-model.pt", [data]) == data / "old-model.pt"
    assert out_path.check_checkpoint_target(data / "new-model.pt", [data]) == data / "new-model.pt"
    with pytest.raises(CheckpointError, match="overwritten"):
        out_path.check_checkpoint_target(data / "interactions.csv", [data])
    (data / "sub").mkdir()
    (data / "sub" / "ratings.dat").write_text("1::2::5::978300760\n")
    with pytest.raises(CheckpointError, match="input data folder"):
        out_path.check_checkpoint_target(data / "sub" / "ratings.dat", [data])


def test_out_that_is_the_data_file_itself_or_a_link_to_it_is_refused(tmp_path):
    source = tmp_path / "ratings.csv"
    source.write_text("u,i,t\n1,2,3\n")
    with pytest.raises(CheckpointError, match="the input data file"):
        out_path.check_checkpoint_target(source, [source])
    link = tmp_path / "link.pt"
    link.symlink_to(source)
    with pytest.raises(CheckpointError, match="the input data file"):
        out_path.check_checkpoint_target(link, [source])
    relative = Path(os.path.relpath(source))
    with pytest.raises(CheckpointError):
        out_path.check_checkpoint_target(relative, [source])
    assert source.read_text() == "u,i,t\n1,2,3\n"


def test_out_in_a_read_only_folder_is_refused_before_loading(setup, capsys, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # running as root: permissions do not bind, say the folder is read-only
            monkeypatch.setattr(out_path, "_writable", lambda f: Path(f) != folder)
        code, _, err = run(capsys, "train", setup["data"], "--out", folder / "m.pt", *TINY)
        assert_one_line_error(code, err, "--out", str(folder), "cannot be written")
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_out_in_a_truly_read_only_folder_without_patching(setup, capsys, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write into any folder")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, _, err = run(capsys, "train", setup["data"], "--out", folder / "m.pt", *TINY)
    finally:
        folder.chmod(0o755)
    assert_one_line_error(code, err, "cannot be written")


def test_train_never_writes_over_its_input(setup, capsys):
    data = setup["data"]
    before = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    for name in before:
        code, _, err = run(capsys, "train", data, "--out", data / name, *TINY)
        assert_one_line_error(code, err, name)
    assert {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()} == before


@pytest.mark.slow
def test_a_closed_stdout_ends_quietly(setup, tmp_path):
    """``python -m core recommend ... | head -1``: no error text, no 'Exception ignored', status 141 like Unix tools."""
    import pandas as pd

    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(map(str, pd.read_csv(setup["data"] / "interactions.csv").user_id.unique())) + "\n")
    env = {**os.environ, "SASREC_STUDIO_HOME": str(setup["home"])}
    proc = subprocess.Popen([sys.executable, "-m", "core", "recommend", str(setup["model"]), "--data", str(setup["data"]),
                             "--users-file", str(ids), "--k", "50", "--skip-unknown"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("user_id,")
    proc.stdout.close()  # the reader goes away with most of the (far larger than a pipe buffer) output unread
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "Exception ignored" not in err and "error" not in err


def test_demo_data_never_writes_over_existing_data(tmp_path, capsys):
    folder = tmp_path / "kion"
    folder.mkdir()
    (folder / "interactions.csv").write_text("user_id,item_id,last_watch_dt\n1,2,2021-03-13\n")
    assert main(["demo-data", str(folder), "--users", "300", "--items", "60"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds interactions.csv" in err[0] and "--overwrite" in err[0]
    assert (folder / "interactions.csv").read_text().startswith("user_id,item_id,last_watch_dt\n1,2,")
    assert main(["demo-data", str(folder), "--users", "300", "--items", "60", "--overwrite"]) == 0
    assert len((folder / "interactions.csv").read_text().splitlines()) > 300


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_out_in_a_folder_that_only_looks_writable_is_refused_before_training(capsys):
    # /proc passes os.access(W_OK) for root, but no file can be created there
    assert main(["demo-data", "/proc/sasrec-demo"]) == 2
    assert main(["train", "/nonexistent", "--out", "/proc/m.pt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("/proc" in line and "cannot be" in line for line in err)
