"""Early stopping keeps the best epoch (issue 13, points 1-2): the rule, the restored weights,
the records, and the validation loss."""
from __future__ import annotations

import hashlib
import math

import pytest
import torch
import torch.nn.functional as F

from core import experiment
from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import HoldoutConfig, SASRecConfig
from core.early_stopping import BestTracker, EarlyStopping, monitor_key
from core.evaluate_model import make_validator
from core.experiment import Experiment, Holdout
from core.filters import FilterConfig
from core.runs import RunStore
from core.sequences import UserHistories, padded_last_items
from core.train import EpochReport, fit
from core.validation import make_loss_validator, validation_sample
from tests.synthetic import chain_interactions

SMALL = dict(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=32, device="cpu", dropout_rate=0.1)
FILTERS = FilterConfig(min_total_dur=0, min_item_freq=1)


# --------------------------------------------------------------------------- the rule


def test_tracker_counts_validations_without_improvement_by_min_delta():
    tracker = BestTracker(EarlyStopping("NDCG@10", patience=2, min_delta=0.01))
    assert [tracker.update(e, v) for e, v in enumerate([0.10, 0.20, 0.205, 0.209], 1)] == [True, True, False, False]
    assert tracker.best_epoch == 2 and tracker.should_stop
    never = BestTracker(EarlyStopping("NDCG@10", patience=0))
    for epoch in range(1, 6):
        never.update(epoch, 0.5)
    assert never.best_epoch == 1 and not never.should_stop  # patience 0 tracks, never stops


def test_loss_is_minimised_and_nan_never_improves():
    tracker = BestTracker(EarlyStopping("val_loss", patience=3))
    assert [tracker.update(e, v) for e, v in enumerate([3.0, float("nan"), 2.5, 2.7, None], 1)] == [True, False, True, False, False]
    assert tracker.best_epoch == 3 and tracker.waited == 2
    assert monitor_key("ndcg", 5) == "NDCG@5" and monitor_key("hr", 5) == "HR@5" and monitor_key("loss", 5) == "val_loss"
    with pytest.raises(ValueError, match="unknown monitor"):
        monitor_key("mrr", 10)


def test_early_stopping_settings_need_a_holdout_and_round_trip():
    assert HoldoutConfig(early_stopping=3).errors() == {"early_stopping": "needs a hold-out to validate on (holdout last or time)"}
    assert set(HoldoutConfig(holdout="last", early_stopping=-1, monitor="mrr", min_delta=-0.1).errors()) == {
        "early_stopping", "monitor", "min_delta"}
    settings = HoldoutConfig(holdout="last", k=5, early_stopping=3, monitor="loss", min_delta=0.5)
    holdout = settings.to_holdout()
    assert holdout == Holdout("last", 7, 1, 5, 3, "loss", 0.5)
    assert Holdout.from_dict(holdout.to_dict()) == holdout and HoldoutConfig.from_holdout(holdout) == settings
    assert holdout.early_stopping() == EarlyStopping("val_loss", 3, 0.5)
    assert Holdout("last").to_dict() == {"split": "last", "test_days": 7, "every": 1, "k": 10}  # as older runs stored it


# --------------------------------------------------------------------------- the kept weights


def _fingerprint(model) -> str:  # noqa: ANN001
    digest = hashlib.sha256()
    for value in model.module.state_dict().values():
        digest.update(value.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


class ScriptedValidator:
    """NDCG@10 of the weights seen at epoch i is ``script[i]``: a validation metric that is a
    function of the weights, so it can be asked again of the kept model."""

    def __init__(self, script: list[float]) -> None:
        self.script = script
        self.by_weights: dict[str, float] = {}
        self.weights: list[dict[str, torch.Tensor]] = []

    def __call__(self, model) -> dict[str, float]:  # noqa: ANN001
        key = _fingerprint(model)
        if key not in self.by_weights:
            self.by_weights[key] = self.script[len(self.by_weights)]
            self.weights.append({k: v.clone() for k, v in model.module.state_dict().items()})
        return {"NDCG@10": self.by_weights[key]}


def test_stops_after_patience_and_keeps_the_best_epochs_weights():
    validator = ScriptedValidator([0.1, 0.5, 0.3, 0.2, 0.9, 0.9])
    events: list[EpochReport] = []
    result = fit(chain_interactions(n_users=100, n_items=20), SASRecConfig(epochs=6, lr=5e-3, **SMALL), validator=validator,
                 early_stopping=EarlyStopping("NDCG@10", patience=2), callback=lambda e: events.append(e) if isinstance(e, EpochReport) else None)
    model = result.model
    assert not result.cancelled and model.epochs_done == 4  # stopped after 2 validations without improvement
    history = model.history
    assert history.best_epoch == 2 and history.kept_epoch == 2 == model.kept_epoch and history.stopped_early
    assert history.best_metrics["NDCG@10"] == 0.5
    assert [e.is_best for e in events] == [True, True, False, False] and [e.stopping for e in events] == [False] * 3 + [True]
    kept = model.module.state_dict()
    assert all(torch.equal(kept[k], validator.weights[1][k]) for k in kept)  # epoch 2's weights
    assert not all(torch.equal(kept[k], validator.weights[3][k]) for k in kept)  # not the last epoch's
    # the kept model's validation metric is the best epoch's, not the last epoch's
    assert validator(model)["NDCG@10"] == 0.5 != history.epoch_metrics[-1]["NDCG@10"]
    assert model.training_state is not None and model.training_state["epoch"] == 2


def test_without_patience_the_last_epoch_is_kept_and_the_best_recorded():
    validator = ScriptedValidator([0.1, 0.5, 0.3])
    model = fit(chain_interactions(n_users=100, n_items=20), SASRecConfig(epochs=3, **SMALL), validator=validator,
                early_stopping=EarlyStopping("NDCG@10", patience=0)).model
    assert model.epochs_done == 3 and model.kept_epoch == 3 and model.history.best_epoch == 2
    assert validator(model)["NDCG@10"] == 0.3


def test_a_stop_by_the_user_keeps_the_best_epoch_too():
    validator = ScriptedValidator([0.5, 0.2, 0.1])
    steps = {"n": 0}

    def should_stop() -> bool:
        steps["n"] += 1
        return steps["n"] > 2 * 4 + 1  # 100 sequences / 32 = 4 steps an epoch: stop in epoch 3

    result = fit(chain_interactions(n_users=100, n_items=20), SASRecConfig(epochs=5, lr=5e-3, **SMALL), validator=validator,
                 early_stopping=EarlyStopping("NDCG@10", patience=3), should_stop=should_stop)
    assert result.cancelled and result.model.epochs_done == 2 and result.model.kept_epoch == 1
    assert validator(result.model)["NDCG@10"] == 0.5


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """A real hold-out run through the pipeline with early stopping on, recorded with its checkpoint."""
    df = chain_interactions(n_users=120, n_items=20, length=8)
    holdout = Holdout("last", k=5, patience=1, monitor="ndcg")
    exp = Experiment(SASRecConfig(epochs=6, lr=0.02, **SMALL), FILTERS, holdout)
    outcome = experiment.train(df, exp)
    folder = tmp_path_factory.mktemp("es")
    store = RunStore(folder / "runs.sqlite")
    model = outcome.result.model
    record = experiment.run_record(exp, status=outcome.status, history=model.history, seconds=1.0, device="cpu",
                                   steps_per_epoch=4, protocol=outcome.protocol)
    recorded = experiment.record_run(record, store, model=model, checkpoint_path=folder / "m.pt")
    return df, exp, outcome, store, recorded


def test_the_kept_model_scores_the_best_epochs_metrics_and_so_does_its_checkpoint(pipeline_run):
    df, exp, outcome, store, recorded = pipeline_run
    model = outcome.result.model
    history = model.history
    assert history.monitor == "NDCG@5" and 1 <= history.best_epoch == model.kept_epoch <= model.epochs_done
    validate = make_validator(validation_sample(outcome.split), 5, max_users=None)
    best = {k: v for k, v in history.best_metrics.items() if k != "val_loss"}
    assert validate(model) == pytest.approx(best, abs=1e-12)
    loaded, _ = load_checkpoint(recorded.record.checkpoint_path)
    assert validate(loaded) == pytest.approx(best, abs=1e-12)  # what is saved and recommends is the best epoch
    assert loaded.history.best_epoch == history.best_epoch and loaded.kept_epoch == model.kept_epoch


def test_the_record_has_the_best_epoch_next_to_the_last_one(pipeline_run):
    _, _, outcome, store, recorded = pipeline_run
    (run,) = store.runs()
    history = outcome.result.model.history
    assert run.best_epoch == history.best_epoch and run.kept_epoch == history.kept_epoch
    assert run.best_metrics == pytest.approx(history.best_metrics)
    assert run.metrics == history.epoch_metrics[-1]  # the last validation, as before
    assert run.history[experiment.VALIDATION_KEY]["patience"] == 1
    protocol = run.protocol
    assert protocol is not None and protocol.n_items == outcome.result.model.item_map.n_items
    assert protocol.n_users == 120 == protocol.n_test_users and protocol.ks == (5,) and protocol.split == "last"
    table = store.table()
    assert table.loc[0, "best_epoch"] == history.best_epoch and table.loc[0, "best_NDCG@5"] == pytest.approx(history.best_metrics["NDCG@5"])
    assert "120 users" in table.loc[0, "protocol"] and "20 items" in table.loc[0, "protocol"]


# --------------------------------------------------------------------------- validation loss


def test_validation_loss_is_finite_and_falls_on_learnable_data():
    df = chain_interactions(n_users=150, n_items=20, length=8)
    exp = Experiment(SASRecConfig(epochs=4, lr=5e-3, **SMALL), FILTERS, Holdout("last", k=5, monitor="loss"))
    events: list[EpochReport] = []
    outcome = experiment.train(df, exp, callback=lambda e: events.append(e) if isinstance(e, EpochReport) else None)
    losses = outcome.result.model.history.val_losses
    assert len(losses) == 4 and all(v is not None and math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    assert [e.val_loss for e in events] == losses
    assert outcome.result.model.history.monitor == "val_loss"
    assert outcome.result.model.history.best_epoch == min(range(1, 5), key=lambda e: losses[e - 1])


def test_validation_loss_is_the_softmax_loss_of_each_last_target_given_the_training_history():
    df = chain_interactions(n_users=60, n_items=20, length=6)
    split = experiment.prepare_holdout(df, Holdout("last", k=5))[0]
    model = fit(split.train, SASRecConfig(epochs=1, **SMALL)).model
    histories = UserHistories.from_interactions(split.train)
    pos = histories.positions_of(split.test["user_id"].to_numpy())
    row, items = histories.flat_items(pos)
    x = padded_last_items(row, model.item_map.to_internal(items), len(pos), model.config.session_maxlen)
    targets = torch.from_numpy(model.item_map.to_internal(split.test["item_id"].to_numpy()))
    with torch.no_grad():
        h = model.module(x)[:, -1, :]
        expected = F.cross_entropy(h @ model.module.output_embeddings().T, targets).item()
        got = make_loss_validator(split)(model)
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", ["bce", "gbce"])
def test_sampled_validation_losses_repeat_for_the_same_model(loss):
    df = chain_interactions(n_users=60, n_items=20, length=6)
    split = experiment.prepare_holdout(df, Holdout("last", k=5))[0]
    model = fit(split.train, SASRecConfig(epochs=1, loss=loss, n_negatives=4, **SMALL)).model
    validate = make_loss_validator(split)
    with torch.no_grad():
        first, second = validate(model), validate(model)
    assert math.isfinite(first) and first == second  # the negatives are drawn anew from the same seed


def test_checkpoint_keeps_the_best_fields(tmp_path):
    validator = ScriptedValidator([0.4, 0.1])
    model = fit(chain_interactions(n_users=60, n_items=20), SASRecConfig(epochs=2, **SMALL), validator=validator,
                early_stopping=EarlyStopping("NDCG@10", patience=1)).model
    path = save_checkpoint(model, tmp_path / "m.pt")
    loaded, _ = load_checkpoint(path)
    assert (loaded.history.best_epoch, loaded.kept_epoch, loaded.history.stopped_early) == (1, 1, False)
    assert validator(loaded)["NDCG@10"] == 0.4
