"""The CLI and the app train through one pipeline (core.experiment): for the same data and
settings they write the same run record, field by field."""
from __future__ import annotations

import dataclasses

import pytest

from core.__main__ import main
from core.runs import RunStore
from tests.conftest import GUI_MIN_ITEM_FREQ, GUI_TINY_CONFIG

#: Fields that differ between any two runs (when, how long, where the checkpoint went).
RUN_SPECIFIC = {"run_id", "created_at", "seconds", "checkpoint_path"}


@pytest.fixture
def run_home(monkeypatch, tmp_path):
    home = tmp_path / "studio"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    return home


def test_cli_and_app_write_the_same_run_record(window, open_demo, train, qtbot, run_home, gui_demo_dir, tmp_path):
    settings = {**GUI_TINY_CONFIG, "deterministic": True, "seed": 5}
    open_demo(window)
    window.train_page.validation.set_values({"holdout": "last", "validate_every": 1, "k": 10, "early_stopping": 3})
    assert train(window, **settings) == "finished"
    qtbot.waitUntil(lambda: len(RunStore.default().runs()) == 1, timeout=20_000)
    (app_run,) = RunStore.default().runs()

    flags = ["--n-factors", "16", "--n-blocks", "1", "--n-heads", "1", "--dropout", "0.1", "--session-maxlen", "16",
             "--batch-size", "64", "--epochs", "2", "--lr", "0.003", "--device", "cpu", "--deterministic", "--seed", "5",
             "--min-item-freq", str(GUI_MIN_ITEM_FREQ), "--holdout", "last", "--validate-every", "1", "--early-stopping", "3"]
    assert main(["train", str(gui_demo_dir), "--out", str(tmp_path / "m.pt"), *flags]) == 0
    cli_run = next(r for r in RunStore.default().runs() if r.run_id != app_run.run_id)

    app_fields, cli_fields = dataclasses.asdict(app_run), dataclasses.asdict(cli_run)
    assert set(app_fields) == set(cli_fields)
    for name in set(app_fields) - RUN_SPECIFIC - {"history", "metrics"}:
        assert cli_fields[name] == app_fields[name], name
    assert set(cli_run.history) == set(app_run.history)
    for key in ("validation", "steps_per_epoch", "protocol", "monitor", "resumed_after"):
        assert cli_run.history[key] == app_run.history[key], key
    assert app_run.history["validation"]["patience"] == 3 and app_run.history["monitor"] == "NDCG@10"
    assert app_run.protocol is not None and app_run.protocol.split == "last" and app_run.protocol.n_users > 0
    for key in ("epoch_losses", "epoch_metrics", "step_losses", "val_losses"):
        assert len(cli_run.history[key]) == len(app_run.history[key]), key
    assert all(v is not None for v in app_run.history["val_losses"])
    assert set(cli_run.metrics) == set(app_run.metrics) == {"HR@10", "NDCG@10"}
    # the best epoch and its values, and the epoch the checkpoint keeps (early stopping restores the best)
    assert cli_run.best_epoch in (1, 2) and app_run.best_epoch in (1, 2)
    assert set(cli_run.best_metrics) == set(app_run.best_metrics) == {"HR@10", "NDCG@10", "val_loss"}
    for run in (cli_run, app_run):
        assert run.kept_epoch == run.best_epoch and run.history["stopped_early"] is False
    assert app_run.status == "finished" and app_run.data_source == str(gui_demo_dir.resolve())
