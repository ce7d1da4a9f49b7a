"""torchrun data-parallel training on CPU (gloo, 2 processes): same maths, one checkpoint, no hangs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.checkpoint import load_checkpoint
from core.config import SASRecConfig
from core.data import load_folder
from core.demo import write_demo
from core.filters import FilterConfig, apply_filters
from core.recommend import recommender_for
from core.train import fit

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--epochs", "2", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
        "--min-item-freq", "5", "--dropout", "0", "--device", "cpu", "--seed", "5"]

pytestmark = pytest.mark.slow  # torchrun subprocesses


def torchrun(*args: str, env_extra: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "core", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    write_demo(folder, n_users=300, n_items=80, seed=1)
    return folder


def test_two_process_training_matches_one_process(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path))
    out = tmp_path / "ddp.pt"
    proc = torchrun("train", str(demo), "--out", str(out), *ARGS, env_extra={"SASREC_STUDIO_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    ddp_model, _ = load_checkpoint(out)
    data = load_folder(demo)
    filtered = apply_filters(data.interactions, FilterConfig(min_item_freq=5)).interactions
    config = SASRecConfig(epochs=2, n_factors=16, n_blocks=1, session_maxlen=8, batch_size=64, dropout_rate=0.0, device="cpu", seed=5)
    single = fit(filtered, config).model
    d = config.n_factors
    for (name, a), (_, b) in zip(ddp_model.module.state_dict().items(), single.module.state_dict().items()):
        if name.endswith("in_proj_bias"):
            # The key bias adds q.b_k to every score of a query, which softmax ignores: its exact
            # gradient is 0, so it holds only rounding noise that Adam scales up to lr-sized steps.
            a, b = torch.cat((a[:d], a[2 * d :])), torch.cat((b[:d], b[2 * d :]))
        assert torch.allclose(a, b, atol=1e-4), name
    recs = recommender_for(ddp_model, data.interactions).recommend([int(filtered.user_id.iloc[0])], k=5)
    assert len(recs) == 5


def test_an_error_on_one_rank_ends_all_ranks(demo, tmp_path):
    proc = torchrun("train", str(demo), "--out", str(tmp_path / "x.pt"), *ARGS,
                    env_extra={"SASREC_STUDIO_FAIL_RANK": "1", "SASREC_STUDIO_HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode != 0
    assert not (tmp_path / "x.pt").exists()
