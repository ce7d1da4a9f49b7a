"""Sweeps (issue 13, point 4): parameters parsed and checked, trials recorded under one sweep id
with their checkpoints, a trial that falls behind pruned by the median rule, a stop keeps the
finished trials, a failing trial does not end the sweep."""
from __future__ import annotations

import pytest

from core.__main__ import main
from core.checkpoint import load_checkpoint
from core.config import SASRecConfig
from core.errors import ConfigError
from core.experiment import Experiment, Holdout
from core.filters import FilterConfig
from core.runs import RunStore
from core.sweep import (
    ParamSpec, SweepSpec, TrialProgress, TrialStarted, parse_param, run_sweep, trial_checkpoint,
)
from tests.synthetic import chain_interactions

SMALL = dict(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.1, epochs=4, lr=0.01)
FILTERS = FilterConfig(min_total_dur=0, min_item_freq=1)


@pytest.fixture(scope="module")
def data():
    return chain_interactions(n_users=120, n_items=20, length=8)


def base(epochs: int = 2, **holdout) -> Experiment:
    config = SASRecConfig(**{**SMALL, "epochs": epochs})
    return Experiment(config, FILTERS, Holdout("last", k=5, **holdout), source="/data/chain", source_format="csv")


# --------------------------------------------------------------------------- parameters


def test_params_are_parsed_by_the_settings_kind():
    assert parse_param("lr=0.01,1e-3") == ParamSpec("lr", (0.01, 0.001))
    assert parse_param("n-factors=16,32") == ParamSpec("n_factors", (16, 32))
    assert parse_param("dropout=0.1:0.5") == ParamSpec("dropout_rate", (), 0.1, 0.5, False)
    assert parse_param("lr=1e-4:1e-2:log") == ParamSpec("lr", (), 1e-4, 1e-2, True)
    assert parse_param("n_blocks=1:4") == ParamSpec("n_blocks", (), 1, 4)
    assert parse_param("loss=softmax,bce") == ParamSpec("loss", ("softmax", "bce"))
    assert parse_param("pos-emb=true,false") == ParamSpec("use_pos_emb", (True, False))
    assert parse_param("lr=1e-4:1e-2:log").describe() == "lr=0.0001:0.01:log"


@pytest.mark.parametrize("text, fragment", [
    ("lr", "NAME=V1,V2"),
    ("bogus=1,2", "bogus is not a hyperparameter"),
    ("device=cpu,cuda", "device is not a hyperparameter"),
    ("min_item_freq=1,5", "the filters and the hold-out are the same for every trial"),
    ("lr=", "no values"),
    ("lr=fast", "lr must be a number, got 'fast'"),
    ("lr=0.01,,0.1", "an empty value"),
    ("lr=0", "lr must be a positive number"),
    ("n_factors=16.5", "n_factors must be a whole number"),
    ("n_factors=16,16", "16 is listed twice"),
    ("loss=softmax,hinge", "loss must be one of softmax, bce, gbce"),
    ("loss=0:1", "loss is not a number"),
    ("lr=0.01:0.001", "LOW (0.01) must be below HIGH (0.001)"),
    ("dropout=0:0.5:log", "a log range needs LOW above 0"),
    ("lr=1:2:3", "a range is LOW:HIGH or LOW:HIGH:log"),
    ("pos-emb=maybe", "use_pos_emb must be true or false"),
])
def test_bad_params_say_what_is_wrong(text, fragment):
    with pytest.raises(ConfigError) as info:
        parse_param(text)
    assert set(info.value.errors) == {"param"} and fragment in info.value.errors["param"] and repr(text) in info.value.errors["param"]


def test_spec_checks_sampler_trials_and_repeats():
    lists = [parse_param("lr=0.01,0.02"), parse_param("n_factors=16,32")]
    assert SweepSpec(lists).resolved_sampler == "grid" and SweepSpec(lists).n_trials == 4
    assert SweepSpec(lists).grid()[1] == {"lr": 0.01, "n_factors": 32}  # in the order given
    ranged = [parse_param("lr=1e-4:1e-2:log")]
    assert SweepSpec(ranged, 3).resolved_sampler == "tpe"
    assert "trials" in SweepSpec(ranged).errors()
    assert "grid search needs value lists" in SweepSpec(ranged, 3, "grid").errors()["sampler"]
    assert "the grid has 4" in SweepSpec(lists, 5).errors()["trials"]
    assert "given twice" in SweepSpec([lists[0], lists[0]]).errors()["param"]
    assert "sampler" in SweepSpec(lists, sampler="bayes").errors()
    assert "prune_warmup" in SweepSpec(lists, prune_warmup=0).errors()


# --------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def three_trials(data, tmp_path_factory):
    """lr 0.01 and 0.005 learn; lr 1e-8 cannot: the median rule prunes it at its 2nd validation."""
    folder = tmp_path_factory.mktemp("sweep")
    store = RunStore(folder / "runs.sqlite")
    events = []
    spec = SweepSpec([parse_param("lr=0.01,0.005,0.00000001")], prune_startup_trials=2, prune_warmup=2)
    result = run_sweep(data, spec, base(epochs=3, patience=2), out_dir=folder / "out", store=store, callback=events.append,
                       app="test")
    return result, store, events, folder


def test_three_trials_are_three_linked_runs_with_checkpoints(three_trials):
    result, store, events, folder = three_trials
    runs = store.runs(result.sweep_id)
    assert len(runs) == 3 and {r.sweep_id for r in runs} == {result.sweep_id}
    assert sorted(r.history["sweep"]["number"] for r in runs) == [1, 2, 3]
    assert [t.params["lr"] for t in result.trials] == [0.01, 0.005, 1e-8]
    assert {r.config["lr"] for r in runs} == {0.01, 0.005, 1e-8}
    for trial in result.trials:
        assert trial.checkpoint_path == str(trial_checkpoint(folder / "out", trial.number).resolve())
        model, extra = load_checkpoint(trial.checkpoint_path)
        assert extra["sweep_id"] == result.sweep_id and extra["trial"] == trial.number
        assert model.config.lr == trial.params["lr"]
    assert [type(e).__name__ for e in events if not isinstance(e, TrialProgress)] == ["TrialStarted", "TrialEnded"] * 3
    assert store.table(result.sweep_id)["sweep"].tolist() == [result.sweep_id] * 3
    assert store.sweeps() == [result.sweep_id]


def test_the_trial_that_falls_behind_is_pruned_by_the_median_rule(three_trials):
    result, store, events, _ = three_trials
    first, second, bad = result.trials
    assert (first.state, second.state, bad.state) == ("finished", "finished", "pruned")
    assert bad.epochs == 2  # pruned at its 2nd validation (prune_warmup), not before
    pruned_at = [e for e in events if isinstance(e, TrialProgress) and e.pruned]
    assert [(e.number, e.report.epoch) for e in pruned_at] == [(3, 2)]
    # the rule: its best value so far is below the median of the finished trials at that validation
    finished = [r for r in store.runs(result.sweep_id) if r.status == "finished"]
    at_second = sorted(r.history["epoch_metrics"][1]["NDCG@5"] for r in finished)
    median = sum(at_second) / len(at_second)
    assert bad.value < median
    (bad_run,) = [r for r in store.runs(result.sweep_id) if r.status == "pruned"]
    assert bad_run.history["sweep"]["state"] == "pruned" and bad_run.checkpoint_path == bad.checkpoint_path
    assert result.best is first or result.best is second
    assert result.table()["trial"].tolist()[-1] == 3


def test_stopping_ends_the_sweep_and_keeps_the_finished_trials(data, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    started = []

    def callback(event) -> None:  # noqa: ANN001
        if isinstance(event, TrialStarted):
            started.append(event.number)

    spec = SweepSpec([parse_param("lr=0.01,0.005,0.002")], prune=False)
    result = run_sweep(data, spec, base(), out_dir=tmp_path / "out", store=store, callback=callback,
                       should_stop=lambda: len(started) >= 2)  # stop as soon as the 2nd trial starts
    assert result.stopped and started == [1, 2]
    assert [t.state for t in result.trials] == ["finished", "stopped"]
    assert sorted(r.status for r in store.runs(result.sweep_id)) == ["finished", "stopped"]
    assert not trial_checkpoint(tmp_path / "out", 2).exists()  # stopped before its first epoch: no model


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(data, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    spec = SweepSpec([parse_param("n_heads=3,2")], prune=False)  # 16 factors cannot be split into 3 heads
    result = run_sweep(data, spec, base(), out_dir=tmp_path / "out", store=store)
    assert [t.state for t in result.trials] == ["failed", "finished"]
    assert "divisible" in result.trials[0].error
    failed = next(r for r in store.runs() if r.status == "failed")
    assert failed.note.startswith("failed:") and "divisible" in failed.note and failed.sweep_id == result.sweep_id


def test_random_search_draws_inside_the_range(data, tmp_path):
    spec = SweepSpec([parse_param("lr=0.001:0.02:log"), parse_param("n_factors=8,16")], trials=2, sampler="random", seed=4)
    result = run_sweep(data, spec, base(), out_dir=tmp_path / "out", store=RunStore(tmp_path / "runs.sqlite"))
    assert len(result.trials) == 2 and all(0.001 <= t.params["lr"] <= 0.02 for t in result.trials)
    assert all(t.params["n_factors"] in (8, 16) for t in result.trials)


def test_a_sweep_needs_a_holdout(data, tmp_path):
    with pytest.raises(ConfigError, match="hold-out"):
        run_sweep(data, SweepSpec([parse_param("lr=0.01")]), Experiment(SASRecConfig(**SMALL), FILTERS),
                  out_dir=tmp_path, store=RunStore(tmp_path / "runs.sqlite"))


def test_cli_sweep_then_runs_lists_it(tmp_path, monkeypatch, capsys):
    import pandas as pd

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    data = tmp_path / "data"
    assert main(["demo-data", str(data), "--users", "200", "--items", "40", "--seed", "3"]) == 0
    capsys.readouterr()
    code = main(["sweep", str(data), "--out-dir", str(tmp_path / "sw"), "--param", "lr=0.01,0.003", "--epochs", "2",
                 "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
                 "--min-item-freq", "3", "--device", "cpu", "--k", "5", "--early-stopping", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "grid search over lr=0.01,0.003: 2 trial(s)" in err and "trial 2 finished" in err
    sweep_id = err.strip().splitlines()[-1].split()[1].rstrip(":")
    assert (tmp_path / "sw" / "trial-001.pt").is_file() and (tmp_path / "sw" / "trial-002.pt").is_file()
    assert "NDCG@5" in out.splitlines()[0]
    assert main(["runs", "--sweep", sweep_id, "--csv"]) == 0
    from io import StringIO

    table = pd.read_csv(StringIO(capsys.readouterr().out))
    assert len(table) == 2 and set(table["sweep"]) == {sweep_id} and set(table["lr"]) == {0.01, 0.003}
    assert set(table["status"]) == {"finished"} and table["protocol"].str.contains("k=5").all()


def test_an_out_dir_with_an_earlier_sweeps_trials_is_refused(tmp_path):
    from core.errors import DataError
    from core.sweep import check_fresh_out_dir, trial_checkpoint

    check_fresh_out_dir(tmp_path / "new", 3)  # missing or empty: fine
    (tmp_path / "old").mkdir()
    trial_checkpoint(tmp_path / "old", 2).write_bytes(b"model")
    with pytest.raises(DataError, match="trial-002.pt of an earlier sweep"):
        check_fresh_out_dir(tmp_path / "old", 3)
