"""Write ``tests/fixtures/rectools_parity.npz``: RecTools 0.19's SASRec outputs for pinned weights.

Run in the RecTools environment (see benchmarks/README.md, "Set-up"); the file it writes is
committed, and ``tests/test_parity_fixture.py`` checks in the fast suite, without RecTools,
that ``core`` gives the same user embeddings, u2i scores / top-k and i2i top-k for the same
weights and inputs:

    .venv-bench/bin/python benchmarks/make_parity_fixture.py          # rewrites the fixture
    python -m pytest -q tests/test_parity_fixture.py                  # then, in the app's environment

What it does: a small hand-made interaction frame (``make_interactions``: 200 users, 60 items,
1-24 interactions each, a learnable "next item" walk, weights 1 or 3, unique timestamps per
user, rows shuffled, one user whose only item RecTools never trains on) goes through
``rectools.dataset.Dataset.construct``; RecTools' ``SASRecModel`` (softmax loss, id
embeddings only, 2 blocks x 2 heads, 16 factors, session_max_len 12) trains for 3 epochs
with a fixed seed; then its ``recommend`` (k=10, filter_viewed True and False, every user)
and ``recommend_to_items`` (k=10, filter_itself, a few items), plus the last-hidden-state
user embeddings it ranks with, are stored next to the trained weights renamed to
``core.model.SASRec``'s state-dict names (``benchmarks.common._ours_state_from_rectools``,
the mapping ``parity.py``'s same-weights checks use) and the inputs.

The fixture holds numpy arrays only (``np.load(path, allow_pickle=False)`` reads it):

* ``meta``: a JSON string (model config in our ``SASRecConfig`` names, k, versions, seed);
* ``state/<name>``: float32 weights under our state-dict names;
* ``item_external_ids``: RecTools' item order (internal id i + 1 <-> ``item_external_ids[i]``);
* ``interactions/{user_id,item_id,datetime_ns,weight}``: the input frame (datetime as int64 ns);
* ``u2i_viewed/*`` and ``u2i_all/*`` (filter_viewed True / False) and ``i2i/*``: RecTools'
  frames as columns (user_id or target_item_id, item_id, score, rank);
* ``user_emb/{user_id,emb}``: the user embeddings RecTools' u2i ranking used;
* ``skipped_users``: users RecTools could not recommend for (no item it knows).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    REPO_ROOT,
    _ours_state_from_rectools,
    _quiet_lightning,
    rectools_available,
    set_threads,
)

DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / "rectools_parity.npz"
K = 10
#: The model, in RecTools' argument names (``session_max_len``) -> ours (``session_maxlen``) in ``meta``.
MODEL = {"n_factors": 16, "n_blocks": 2, "n_heads": 2, "dropout_rate": 0.1, "use_pos_emb": True,
         "session_max_len": 12, "lr": 5e-3, "batch_size": 32, "epochs": 3}
I2I_TARGETS = 6  # i2i for this many items of RecTools' catalogue (spread over it)
COLD_ITEM = 9999  # watched only by one single-interaction user: RecTools never trains on it


def make_interactions(n_users: int = 200, n_items: int = 60, seed: int = 7) -> pd.DataFrame:
    """A deterministic interaction frame (user_id, item_id, datetime, weight).

    Users walk the item catalogue with small steps (and 20 % random jumps, repeats possible),
    so a few epochs learn something. External ids are not contiguous; each user's timestamps
    are distinct (RecTools and core need not agree on how to order ties); the row order is
    shuffled. Users 0-2 have one interaction; user 0's only item is ``COLD_ITEM``."""
    rng = np.random.default_rng(seed)
    item_ids = 1000 + 7 * np.arange(n_items, dtype=np.int64)
    user_ids = 10 + 3 * np.arange(n_users, dtype=np.int64)
    lengths = rng.integers(2, 25, n_users)
    lengths[:3] = 1
    rows_u, rows_i, rows_t, rows_w = [], [], [], []
    base = pd.Timestamp("2021-03-01").value
    for u, n in zip(user_ids, lengths):
        pos = int(rng.integers(n_items))
        walk = []
        for _ in range(n):
            walk.append(pos)
            jump = rng.random() < 0.2
            pos = int(rng.integers(n_items)) if jump else (pos + int(rng.choice([1, 1, 2, 3]))) % n_items
        seconds = np.cumsum(rng.integers(60, 3 * 86400, n))  # strictly increasing
        rows_u.append(np.full(n, u))
        rows_i.append(item_ids[walk])
        rows_t.append(base + int(rng.integers(0, 30 * 86400)) * 10**9 + seconds * 10**9)
        rows_w.append(rng.choice([1.0, 3.0], size=n, p=[0.6, 0.4]))
    frame = pd.DataFrame({
        "user_id": np.concatenate(rows_u).astype(np.int64),
        "item_id": np.concatenate(rows_i).astype(np.int64),
        "datetime": pd.to_datetime(np.concatenate(rows_t).astype(np.int64), unit="ns"),
        "weight": np.concatenate(rows_w).astype(np.float32),
    })
    frame.loc[frame["user_id"] == user_ids[0], "item_id"] = COLD_ITEM
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _columns(prefix: str, frame: pd.DataFrame, key: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}/{key}": frame[key].to_numpy(np.int64),
        f"{prefix}/item_id": frame["item_id"].to_numpy(np.int64),
        f"{prefix}/score": frame["score"].to_numpy(np.float32),
        f"{prefix}/rank": frame["rank"].to_numpy(np.int64),
    }


def build(seed: int = 32, threads: int = 1) -> dict[str, np.ndarray]:
    """Train RecTools' SASRec on ``make_interactions()`` and collect every fixture array."""
    import pytorch_lightning as pl
    import rectools
    from rectools.dataset import Dataset
    from rectools.models import SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    set_threads(threads)
    frame = make_interactions()

    def get_trainer() -> pl.Trainer:
        return pl.Trainer(max_epochs=MODEL["epochs"], min_epochs=MODEL["epochs"], deterministic=True,
                          accelerator="cpu", devices=1, enable_progress_bar=False, enable_model_summary=False,
                          logger=False, enable_checkpointing=False)

    with _quiet_lightning():
        pl.seed_everything(seed, workers=True, verbose=False)
        dataset = Dataset.construct(frame[["user_id", "item_id", "datetime", "weight"]])
        model = SASRecModel(**MODEL, loss="softmax", deterministic=True, verbose=0,
                            item_net_block_types=(IdEmbeddingsItemNet,), recommend_torch_device="cpu",
                            get_trainer_func=get_trainer)
        model.fit(dataset)

        # Capture the user embeddings RecTools ranks with (rows = internal ids of the
        # recommend-time dataset, whose id map the model-level call receives).
        captured: dict = {}
        model_u2i, sim = model._recommend_u2i, model.torch_model.similarity_module  # noqa: SLF001
        sim_u2i = sim._recommend_u2i  # noqa: SLF001

        def model_hook(user_ids, ds, *args, **kwargs):  # noqa: ANN001, ANN202
            captured["dataset"] = ds
            return model_u2i(user_ids, ds, *args, **kwargs)

        def sim_hook(user_embs, item_embs, user_ids, *args, **kwargs):  # noqa: ANN001, ANN202
            captured["user_embs"] = user_embs.detach().cpu().numpy().copy()
            return sim_u2i(user_embs, item_embs, user_ids, *args, **kwargs)

        model._recommend_u2i, sim._recommend_u2i = model_hook, sim_hook  # noqa: SLF001
        users = np.sort(frame["user_id"].unique())
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            u2i_viewed = model.recommend(users=users, dataset=dataset, k=K, filter_viewed=True,
                                         on_unsupported_targets="warn")
            u2i_all = model.recommend(users=users, dataset=dataset, k=K, filter_viewed=False,
                                      on_unsupported_targets="warn")
        model._recommend_u2i, sim._recommend_u2i = model_u2i, sim_u2i  # noqa: SLF001
        emb_users = np.asarray(captured["dataset"].user_id_map.external_ids, dtype=np.int64)
        order = np.argsort(emb_users)

        external = np.asarray(model.data_preparator.item_id_map.external_ids)[1:].astype(np.int64)  # [0] is PAD
        targets = external[np.linspace(0, len(external) - 1, I2I_TARGETS).astype(int)]
        i2i = model.recommend_to_items(target_items=targets, dataset=dataset, k=K, filter_itself=True)

    state = _ours_state_from_rectools(model.torch_model)
    ours_config = {("session_maxlen" if k == "session_max_len" else k): v for k, v in MODEL.items()}
    meta = {
        "config": {**ours_config, "loss": "softmax"}, "k": K, "seed": seed, "cold_item": COLD_ITEM,
        "rectools": rectools.__version__, "torch": torch.__version__, "numpy": np.__version__,
        "pandas": pd.__version__, "made_by": "benchmarks/make_parity_fixture.py",
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta, sort_keys=True))}
    arrays.update({f"state/{name}": value.cpu().numpy().astype(np.float32) for name, value in state.items()})
    arrays["item_external_ids"] = external
    arrays.update({
        "interactions/user_id": frame["user_id"].to_numpy(np.int64),
        "interactions/item_id": frame["item_id"].to_numpy(np.int64),
        "interactions/datetime_ns": frame["datetime"].to_numpy().astype("datetime64[ns]").view(np.int64),
        "interactions/weight": frame["weight"].to_numpy(np.float32),
    })
    arrays.update(_columns("u2i_viewed", u2i_viewed, "user_id"))
    arrays.update(_columns("u2i_all", u2i_all, "user_id"))
    arrays.update(_columns("i2i", i2i, "target_item_id"))
    arrays["user_emb/user_id"] = emb_users[order]
    arrays["user_emb/emb"] = captured["user_embs"][order].astype(np.float32)
    arrays["skipped_users"] = np.setdiff1d(users, u2i_viewed["user_id"].unique()).astype(np.int64)
    return arrays


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"fixture file (default {DEFAULT_OUT})")
    p.add_argument("--seed", type=int, default=32, help="pytorch_lightning.seed_everything seed (default 32)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)
    if not rectools_available():
        print("RecTools 0.19 / pytorch-lightning are not installed here: run this script in the benchmark "
              "environment (benchmarks/README.md, Set-up); the fixture was left as it is", file=sys.stderr)
        return 2
    arrays = build(args.seed, args.threads)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buffer.getvalue())
    with np.load(args.out, allow_pickle=False) as check:  # readable without pickle
        assert sorted(check.files) == sorted(arrays)
    meta = json.loads(str(arrays["meta"]))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KiB, {len(arrays)} arrays): "
          f"{len(np.unique(arrays['interactions/user_id']))} users, {len(arrays['item_external_ids'])} items "
          f"known to RecTools, {len(arrays['interactions/user_id'])} interactions; "
          f"u2i rows {len(arrays['u2i_viewed/user_id'])} (filter_viewed) / {len(arrays['u2i_all/user_id'])}, "
          f"i2i rows {len(arrays['i2i/item_id'])}, skipped users {arrays['skipped_users'].tolist()}; "
          f"RecTools {meta['rectools']}, torch {meta['torch']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
