"""The shared experiment pipeline (core.experiment): train with a hold-out, build the run record,
record it with its checkpoint."""
from __future__ import annotations

import pytest

from core import experiment
from core.checkpoint import load_checkpoint
from core.config import SASRecConfig
from core.errors import TrainingError
from core.experiment import Experiment, Holdout
from core.filters import FilterConfig
from core.runs import RunStore, data_fingerprint
from tests.synthetic import chain_interactions

CONFIG = SASRecConfig(n_factors=16, n_blocks=1, session_maxlen=6, batch_size=32, epochs=2, device="cpu")
FILTERS = FilterConfig(min_total_dur=0, min_item_freq=1)


@pytest.fixture(scope="module")
def outcome():
    df = chain_interactions(n_users=80, n_items=20, length=6)
    exp = Experiment(CONFIG, FILTERS, Holdout("last", k=5), source="/data/x", source_format="csv")
    splits = []
    return df, exp, experiment.train(df, exp, on_split=splits.append), splits


def test_train_with_holdout_validates_every_epoch_and_keeps_all_histories(outcome):
    df, exp, out, splits = outcome
    assert out.status == "finished" and out.split is splits[0]
    assert len(out.split.test) == 80 and len(out.split.train) == len(df) - 80
    assert [set(m) for m in out.result.model.history.epoch_metrics] == [{"HR@5", "NDCG@5"}] * 2
    assert len(out.histories.user_ids) == 80  # held-out interactions included
    assert out.data_fingerprint == data_fingerprint(df) == out.result.model.data_fingerprint


def test_run_record_has_the_pipeline_fields(outcome):
    _, exp, out, _ = outcome
    model = out.result.model
    record = experiment.run_record(exp, status="finished", history=model.history, seconds=1.5, device="cpu",
                                   steps_per_epoch=3, data_fingerprint=out.data_fingerprint)
    assert record.config == CONFIG.to_dict() and record.filter_config == FILTERS.to_dict()
    assert record.history[experiment.VALIDATION_KEY] == {"split": "last", "test_days": 7, "every": 1, "k": 5}
    assert record.history[experiment.STEPS_PER_EPOCH_KEY] == 3
    assert record.metrics == model.history.epoch_metrics[-1] and record.data_source == "/data/x"
    with pytest.raises(ValueError, match="unknown run status"):
        experiment.run_record(exp, status="cancelled", history=model.history, seconds=0, device="cpu", steps_per_epoch=1)


def test_record_run_saves_the_checkpoint_and_the_run(outcome, tmp_path):
    _, exp, out, _ = outcome
    model = out.result.model
    store = RunStore(tmp_path / "runs.sqlite")
    record = experiment.run_record(exp, status="finished", history=model.history, seconds=1, device="cpu", steps_per_epoch=3)
    result = experiment.record_run(record, store, model=model, checkpoint_path=tmp_path / "ck" / "m.pt",
                                   extra=experiment.checkpoint_extra(exp, app="test"))
    assert result.run_id is not None and not result.checkpoint_error
    (stored,) = store.runs()
    assert stored.data_fingerprint == out.data_fingerprint  # taken from the model
    _, extra = load_checkpoint(stored.checkpoint_path)
    run_uid = extra.pop(experiment.RUN_UID_KEY)  # the run's key in the store: a run continued from it links back
    assert store.run_id_of_uid(run_uid) == stored.run_id
    assert extra == {"source": "/data/x", "source_format": "csv", "app": "test",
                     "holdout": {"split": "last", "test_days": 7, "every": 1, "k": 5}}


def test_a_checkpoint_that_cannot_be_saved_still_records_the_run(outcome, tmp_path):
    _, exp, out, _ = outcome
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = RunStore(tmp_path / "runs.sqlite")
    record = experiment.run_record(exp, status="stopped", history=out.result.model.history, seconds=1, device="cpu", steps_per_epoch=3)
    result = experiment.record_run(record, store, model=out.result.model, checkpoint_path=blocker / "m.pt")
    assert result.run_id is not None and result.checkpoint_error
    assert store.runs()[0].status == "stopped" and store.runs()[0].checkpoint_path == ""


def test_holdout_with_nothing_to_validate_is_refused():
    df = chain_interactions(n_users=5, n_items=20, length=2)
    df["item_id"] = df.index.to_numpy() + 1  # every item once: no test item occurs in training
    with pytest.raises(TrainingError, match="nothing to validate on"):
        experiment.train(df, Experiment(CONFIG, FILTERS, Holdout("last")))
