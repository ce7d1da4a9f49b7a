"""Checkpoints: round trip, atomic writes, version and shape checks, no code execution."""
import os
import pickle

import pytest
import torch

from core import checkpoint as ckpt
from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import SASRecConfig
from core.errors import CheckpointError
from core.recommend import Recommender
from core.sequences import UserHistories
from core.train import fit
from tests.synthetic import chain_interactions


@pytest.fixture(scope="module")
def model():
    config = SASRecConfig(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=64, epochs=1, device="cpu")
    return fit(chain_interactions(), config, filter_config={"min_item_freq": 1}).model


def test_round_trip_gives_identical_recommendations(model, tmp_path):
    path = save_checkpoint(model, tmp_path / "m.pt", extra={"data_dir": "/somewhere"})
    loaded, extra = load_checkpoint(path)
    assert extra == {"data_dir": "/somewhere"}
    assert loaded.config == model.config
    assert loaded.filter_config == {"min_item_freq": 1}
    assert loaded.history.step_losses == model.history.step_losses
    hist = UserHistories.from_interactions(chain_interactions())
    a = Recommender(model, hist).recommend([10, 20], k=5)
    b = Recommender(loaded, hist).recommend([10, 20], k=5)
    assert a.equals(b)
    assert Recommender(model, hist).similar([100], k=5).equals(Recommender(loaded, hist).similar([100], k=5))


def test_interrupted_save_leaves_the_old_file_intact(model, tmp_path, monkeypatch):
    path = save_checkpoint(model, tmp_path / "m.pt")
    before = path.read_bytes()

    def crash(obj, f, *a, **k):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temp file left behind


def test_truncated_file_is_a_clear_error(model, tmp_path):
    path = save_checkpoint(model, tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable SASRec Studio checkpoint"):
        load_checkpoint(path)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/sasrec_pwned",))


def test_crafted_pickle_never_runs_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "sasrec-studio-checkpoint", "version": 1, "payload": Evil()}, path, pickle_protocol=2)
    if os.path.exists("/tmp/sasrec_pwned"):
        os.unlink("/tmp/sasrec_pwned")
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not os.path.exists("/tmp/sasrec_pwned")
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(raw)
    assert not os.path.exists("/tmp/sasrec_pwned")


def test_version_and_shape_checks(model, tmp_path):
    path = save_checkpoint(model, tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["version"] = 99
    torch.save(payload, tmp_path / "v.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(tmp_path / "v.pt")
    payload["version"] = 1
    payload["item_ids"] = payload["item_ids"][:-3]
    torch.save(payload, tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "text.pt")


def test_gpu_saved_weights_load_on_cpu(model, tmp_path, monkeypatch):
    path = save_checkpoint(model, tmp_path / "m.pt")
    calls = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(ckpt.torch, "load", spy)
    load_checkpoint(path)
    assert calls["map_location"] == "cpu" and calls["weights_only"] is True


def test_saving_into_a_missing_folder_is_a_clear_error(model, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        save_checkpoint(model, tmp_path / "nope" / "m.pt")


def test_unreadable_checkpoints_never_suggest_running_code_from_the_file(tmp_path):
    corrupt = tmp_path / "flip.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(corrupt)
    assert "weights_only" not in str(info.value) and "truncated, corrupt or another kind of file" in str(info.value)
    with pytest.raises(CheckpointError, match="is a folder, not a checkpoint file"):
        load_checkpoint(tmp_path)
