"""Continuing a run from its checkpoint (issue 13, point 3): the same optimizer, the curves go on,
the parent is linked, another catalog and another architecture are refused."""
from __future__ import annotations

import pytest
import torch

from core import experiment
from core.__main__ import main
from core.checkpoint import TRAINING_STATE_KEY, load_checkpoint, save_checkpoint
from core.config import SASRecConfig
from core.errors import ConfigError, TrainingError
from core.experiment import Experiment, Holdout
from core.filters import FilterConfig
from core.resume import Resume, check_resume_data, load_resume, resumed_settings
from core.runs import RunStore
from core.train import EpochReport, fit
from tests.synthetic import chain_interactions

SMALL = dict(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.2, lr=3e-3,
             deterministic=True, seed=11)
FILTERS = FilterConfig(min_total_dur=0, min_item_freq=1)


@pytest.fixture(scope="module")
def data():
    return chain_interactions(n_users=120, n_items=20, length=8)


@pytest.mark.parametrize("loss", ["softmax", "bce"])
def test_resuming_after_two_epochs_equals_four_epochs_straight(data, tmp_path, loss):
    extra = {"loss": loss, "n_negatives": 3} if loss == "bce" else {}
    straight = fit(data, SASRecConfig(epochs=4, **SMALL, **extra)).model
    first = fit(data, SASRecConfig(epochs=2, **SMALL, **extra)).model
    path = save_checkpoint(first, tmp_path / "two.pt")
    payload = torch.load(path, map_location="cpu", weights_only=True)  # no code runs to read the optimizer state
    assert set(payload[TRAINING_STATE_KEY]) == {"epoch", "optimizer", "rng"}
    loaded, _ = load_checkpoint(path)
    events: list[EpochReport] = []
    resumed = fit(data, SASRecConfig(epochs=2, **SMALL, **extra), init_model=loaded,
                  callback=lambda e: events.append(e) if isinstance(e, EpochReport) else None).model
    assert [(e.epoch, e.epochs) for e in events] == [(3, 4), (4, 4)]  # the curves go on
    assert resumed.history.resumed_after == 2 and resumed.epochs_done == 4
    assert resumed.history.epoch_losses == pytest.approx(straight.history.epoch_losses, rel=1e-6)
    assert resumed.history.step_losses == pytest.approx(straight.history.step_losses, rel=1e-6)
    for name, value in straight.module.state_dict().items():
        assert torch.allclose(resumed.module.state_dict()[name], value, rtol=1e-5, atol=1e-7), name


def test_without_the_optimizer_state_adam_starts_anew(data, tmp_path):
    first = fit(data, SASRecConfig(epochs=2, **SMALL)).model
    straight = fit(data, SASRecConfig(epochs=3, **SMALL)).model
    first.training_state = None  # as an older checkpoint
    loaded, _ = load_checkpoint(save_checkpoint(first, tmp_path / "old.pt"))
    assert loaded.training_state is None and not Resume(loaded, "old.pt").has_optimizer_state
    resumed = fit(data, SASRecConfig(epochs=1, **SMALL), init_model=loaded).model
    assert resumed.epochs_done == 3 and resumed.history.epoch_losses[:2] == first.history.epoch_losses
    assert resumed.history.epoch_losses[2] != pytest.approx(straight.history.epoch_losses[2], rel=1e-6)


def test_a_changed_learning_rate_applies_to_the_continued_run(data):
    first = fit(data, SASRecConfig(epochs=1, **SMALL)).model
    seen = {}
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen["lr"] = self.param_groups[0]["lr"]
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = spy
    try:
        fit(data, SASRecConfig(epochs=1, **{**SMALL, "lr": 1e-4}), init_model=first)
    finally:
        torch.optim.Adam.step = original
    assert seen["lr"] == 1e-4


def test_another_architecture_is_refused(data):
    first = fit(data, SASRecConfig(epochs=1, **SMALL)).model
    with pytest.raises(ConfigError, match="n_factors.*architecture"):
        fit(data, SASRecConfig(epochs=1, **{**SMALL, "n_factors": 32}), init_model=first)
    resume = Resume(first, "m.pt")
    with pytest.raises(ConfigError) as info:
        resumed_settings(resume, {"n_blocks": 2, "seed": 3, "min_item_freq": 5, "epochs": 2})
    assert set(info.value.errors) == {"n_blocks", "seed", "min_item_freq"}
    config, filters, holdout = resumed_settings(resume, {"epochs": 3, "lr": 1e-4, "early_stopping": 0})
    assert (config.epochs, config.lr, config.n_factors) == (3, 1e-4, 16) and holdout.holdout == "none"


def test_another_catalog_is_refused(data, tmp_path):
    first = fit(data, SASRecConfig(epochs=1, **SMALL), filter_config=FILTERS.to_dict()).model
    other = chain_interactions(n_users=120, n_items=30, length=8, seed=3)  # ten items the model never saw
    resume = Resume(first, str(tmp_path / "m.pt"))
    with pytest.raises(TrainingError, match="Cannot continue .*m.pt.*catalog differs.*10 of their 30 items are unknown"):
        experiment.train(other, Experiment(SASRecConfig(epochs=1, **SMALL), FILTERS, resume=resume))
    fewer = data[data["item_id"] != 100]  # one item of the model missing from the data
    with pytest.raises(TrainingError, match="Cannot continue .*19 of the model's 20 items"):
        check_resume_data(resume, fewer)
    with pytest.raises(TrainingError, match="catalog differs"):
        fit(other, SASRecConfig(epochs=1, **SMALL), init_model=first)


def test_the_continued_run_links_its_parent_and_goes_on_from_the_kept_epoch(data, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    holdout = Holdout("last", k=5)
    parent_exp = Experiment(SASRecConfig(epochs=2, **SMALL), FILTERS, holdout)
    outcome = experiment.train(data, parent_exp)
    model = outcome.result.model
    record = experiment.run_record(parent_exp, status="finished", history=model.history, seconds=1, device="cpu", steps_per_epoch=4)
    parent = experiment.record_run(record, store, model=model, checkpoint_path=tmp_path / "parent.pt",
                                   extra=experiment.checkpoint_extra(parent_exp))
    resume = load_resume(tmp_path / "parent.pt", store)
    assert resume.parent_run_id == parent.run_id and resume.epoch == 2 and resume.has_optimizer_state
    assert check_resume_data(resume, data) == ""  # the very data it was trained on
    config, filters, holdout_settings = resumed_settings(resume, {"epochs": 1})
    child_exp = Experiment(config, filters, holdout_settings.to_holdout(), resume=resume)
    child = experiment.train(data, child_exp)
    history = child.result.model.history
    assert history.epoch_losses[:2] == model.history.epoch_losses and len(history.epoch_losses) == 3
    assert history.epoch_metrics[:2] == model.history.epoch_metrics and history.epoch_metrics[2]
    child_record = experiment.run_record(child_exp, status="finished", history=history, seconds=1, device="cpu", steps_per_epoch=4)
    recorded = experiment.record_run(child_record, store, model=child.result.model, checkpoint_path=tmp_path / "child.pt",
                                     extra=experiment.checkpoint_extra(child_exp))
    stored = store.get(recorded.run_id)
    assert stored.parent_run_id == parent.run_id and store.table().set_index("id").loc[recorded.run_id, "parent"] == parent.run_id
    _, extra = load_checkpoint(tmp_path / "child.pt")
    assert extra["resumed_from"] == str((tmp_path / "parent.pt").resolve())
    # a checkpoint moved away from its recorded path still finds its parent by its run key
    (tmp_path / "parent.pt").rename(tmp_path / "moved.pt")
    assert load_resume(tmp_path / "moved.pt", store).parent_run_id == parent.run_id


def test_an_early_stopped_checkpoint_continues_from_its_best_epoch():
    from tests.test_core_early_stopping import ScriptedValidator
    from core.early_stopping import EarlyStopping

    df = chain_interactions(n_users=100, n_items=20)
    validator = ScriptedValidator([0.1, 0.5, 0.3, 0.2, 0.6, 0.7])
    first = fit(df, SASRecConfig(epochs=6, **SMALL), validator=validator, early_stopping=EarlyStopping("NDCG@10", patience=2)).model
    assert first.epochs_done == 4 and first.kept_epoch == 2
    events: list[EpochReport] = []
    resumed = fit(df, SASRecConfig(epochs=2, **SMALL), init_model=first, validator=validator,
                  early_stopping=EarlyStopping("NDCG@10", patience=2),
                  callback=lambda e: events.append(e) if isinstance(e, EpochReport) else None).model
    assert [e.epoch for e in events] == [3, 4] and resumed.history.resumed_after == 2
    assert resumed.history.epoch_losses[:2] == first.history.epoch_losses[:2] and resumed.epochs_done == 4
    assert len(resumed.history.step_losses) == 4 * resumed.history.steps_per_epoch


def test_cli_continue_takes_the_checkpoints_settings_except_the_options_given(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    data = tmp_path / "data"
    assert main(["demo-data", str(data), "--users", "200", "--items", "40", "--seed", "3"]) == 0
    first = tmp_path / "a.pt"
    assert main(["train", str(data), "--out", str(first), "--epochs", "2", "--n-factors", "16", "--n-blocks", "1",
                 "--session-maxlen", "8", "--batch-size", "64", "--min-item-freq", "3", "--device", "cpu",
                 "--holdout", "last", "--k", "5", "--lr", "0.01"]) == 0
    capsys.readouterr()
    second = tmp_path / "b.pt"
    assert main(["train", str(data), "--resume", str(first), "--out", str(second), "--epochs", "1", "--lr", "0.002"]) == 0
    err = capsys.readouterr().err
    assert "continuing" in err and "after epoch 2 for 1 more epoch(s)" in err and "continuing run 1" in err
    model, extra = load_checkpoint(second)
    assert (model.config.n_factors, model.config.lr, model.config.epochs, model.config.batch_size) == (16, 0.002, 1, 64)
    assert model.filter_config["min_item_freq"] == 3 and extra["holdout"]["k"] == 5 and model.epochs_done == 3
    runs = {r.run_id: r for r in RunStore.default().runs()}
    assert runs[2].parent_run_id == 1 and len(runs[2].history["epoch_losses"]) == 3
