"""Shared pieces of the benchmarks: data preparation, one run of ours, one run of RecTools, metrics.

Our side (``core``) needs only the project's own dependencies. The RecTools side imports
``rectools`` / ``pytorch_lightning`` lazily, inside ``run_rectools``, so this module also
works where RecTools is not installed (the smoke test runs only our side).
"""
from __future__ import annotations

import contextlib
import logging
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Research-only data lives beside the repository and is read from there, never copied in.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

K = 10


# --------------------------------------------------------------------------- set-up


def set_threads(n: int) -> None:
    """Use ``n`` intra-op threads (and at most ``n`` inter-op threads) for both models."""
    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel work
        torch.set_num_interop_threads(n)


def rectools_available() -> bool:
    try:
        import rectools  # noqa: F401
        import pytorch_lightning  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class ModelParams:
    """The hyperparameters both implementations get (defaults: the notebook's)."""

    n_factors: int = 128
    n_blocks: int = 2
    n_heads: int = 1
    dropout_rate: float = 0.2
    use_pos_emb: bool = True
    session_maxlen: int = 32
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 5
    deterministic: bool = True
    #: further ``SASRecConfig`` settings of our side only (a preset's options, item features)
    extra: dict = field(default_factory=dict)

    def ours(self, seed: int):  # noqa: ANN201 - core.config.SASRecConfig
        from core.config import SASRecConfig

        return SASRecConfig(
            n_factors=self.n_factors, n_blocks=self.n_blocks, n_heads=self.n_heads,
            dropout_rate=self.dropout_rate, use_pos_emb=self.use_pos_emb,
            session_maxlen=self.session_maxlen, lr=self.lr, batch_size=self.batch_size,
            epochs=self.epochs, loss="softmax", device="cpu", seed=seed, deterministic=self.deterministic,
            **self.extra,
        )

    @property
    def item_features(self) -> list[str]:
        """The item-feature columns of ``extra`` (``[]``: ids only)."""
        return [c.strip() for c in str(self.extra.get("item_features", "")).split(",") if c.strip()]

    def describe(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (
            f"n_factors={self.n_factors} n_blocks={self.n_blocks} n_heads={self.n_heads} "
            f"dropout={self.dropout_rate:g} pos_emb={self.use_pos_emb} maxlen={self.session_maxlen} "
            f"lr={self.lr:g} batch={self.batch_size} epochs={self.epochs} loss={self.extra.get('loss', 'softmax')} "
            f"deterministic={self.deterministic}{extra}"
        )


# --------------------------------------------------------------------------- data


@dataclass
class Prepared:
    """Filtered interactions and their leave-last-out split."""

    name: str
    interactions: pd.DataFrame
    split: object  # core.evaluate.Split
    filter_report: pd.DataFrame
    description: str = ""
    #: the dataset's items table (for item features), None when it has none
    items: pd.DataFrame | None = None

    @property
    def test_users(self) -> np.ndarray:
        return pd.unique(self.split.test["user_id"])

    def summary(self) -> str:
        tr = self.split.train
        return (
            f"{self.description}; after filters {len(self.interactions):,} rows, "
            f"{self.interactions['user_id'].nunique():,} users, {self.interactions['item_id'].nunique():,} items; "
            f"train {len(tr):,} rows; test {len(self.test_users):,} users (each user's last interaction)"
        )


def _prepare(name: str, interactions: pd.DataFrame, filter_config, description: str,  # noqa: ANN001
             items: pd.DataFrame | None = None) -> Prepared:
    from core.evaluate import leave_last_out
    from core.filters import apply_filters

    filtered = apply_filters(interactions, filter_config)
    split = leave_last_out(filtered.interactions)
    return Prepared(name, filtered.interactions, split, filtered.report(), description, items)


def prepare_demo(n_users: int, n_items: int, seed: int = 42) -> Prepared:
    """Demo data written by ``core.demo.write_demo`` and read back with ``core.data.load_kion``
    (the app's own path), then the notebook's default filters (``FilterConfig()``)."""
    from core.data import load_kion
    from core.demo import write_demo
    from core.filters import FilterConfig

    with tempfile.TemporaryDirectory(prefix="sasrec-bench-demo-") as tmp:
        write_demo(tmp, n_users=n_users, n_items=n_items, seed=seed)
        data = load_kion(tmp)
    desc = f"demo: write_demo(n_users={n_users}, n_items={n_items}, seed={seed}) + FilterConfig() defaults"
    return _prepare("demo", data.interactions, FilterConfig(), desc, data.items)


def prepare_movielens(folder: Path, min_item_freq: int) -> Prepared | None:
    """MovieLens via ``core.data.load_movielens``; weights stay 1 (there is no watched_pct
    column), only the item-frequency filter applies. None when the folder is absent."""
    from core.data import load_movielens
    from core.filters import FilterConfig

    if not (folder / "ratings.csv").is_file() and not (folder / "u.data").is_file():
        return None
    data = load_movielens(folder)
    desc = f"{folder.name}: load_movielens + FilterConfig(min_item_freq={min_item_freq}), weights 1"
    return _prepare(folder.name, data.interactions, FilterConfig(min_item_freq=min_item_freq), desc, data.items)


# --------------------------------------------------------------------------- runs


@dataclass
class RunResult:
    """One trained model's figures."""

    impl: str
    seed: int
    hr: float
    ndcg: float
    fit_seconds: float  # wall time of the whole fit, data preparation included
    epoch_seconds: list[float] = field(default_factory=list)  # training loop only, per epoch
    last_loss: float = float("nan")
    recommend_seconds: float = float("nan")
    n_recommended_users: int = 0
    fit_cpu_seconds: float = float("nan")  # process CPU time of the whole fit (all threads)
    epoch_cpu_seconds: list[float] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean(self.epoch_seconds)) if self.epoch_seconds else float("nan")

    @property
    def cpu_seconds_per_epoch(self) -> float:
        return float(np.mean(self.epoch_cpu_seconds)) if self.epoch_cpu_seconds else float("nan")


def _metrics(recs: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float]:
    from core.evaluate import ranking_metrics

    m = ranking_metrics(recs, test, ks=(K,))
    return m[f"HR@{K}"], m[f"NDCG@{K}"]


def popularity_metrics(prep: Prepared) -> tuple[float, float]:
    """HR@10 / NDCG@10 of the most popular unseen items."""
    from core.evaluate import popular_recommendations

    recs = popular_recommendations(prep.split.train, prep.test_users, K, filter_viewed=True)
    return _metrics(recs, prep.split.test)


def run_ours(prep: Prepared, params: ModelParams, seed: int) -> RunResult:
    """``core.train.fit`` on the training part, then ``Recommender.recommend`` (top-10, viewed
    filtered) for every test user that has at least one item the model knows."""
    from core.recommend import Recommender
    from core.sequences import PAD, UserHistories
    from core.train import EpochReport, fit

    train = prep.split.train
    cpu_marks = [time.process_time()]

    def on_progress(report) -> None:  # noqa: ANN001
        if isinstance(report, EpochReport):
            cpu_marks.append(time.process_time())

    items = prep.items if params.item_features else None
    result = fit(train, params.ours(seed), callback=on_progress, report_every=3600.0, items=items)
    fit_cpu = time.process_time() - cpu_marks[0]
    model = result.model
    start = time.perf_counter()
    histories = UserHistories.from_interactions(train)
    known = model.item_map.to_internal(train["item_id"].to_numpy()) != PAD
    recommendable = set(pd.unique(train["user_id"].to_numpy()[known]).tolist())
    users = [int(u) for u in prep.test_users if int(u) in recommendable]
    recs = Recommender(model, histories).recommend(users, k=K, filter_viewed=True)
    rec_seconds = time.perf_counter() - start
    hr, ndcg = _metrics(recs, prep.split.test)
    return RunResult(
        "ours", seed, hr, ndcg, result.seconds, list(model.history.epoch_seconds),
        model.history.epoch_losses[-1] if model.history.epoch_losses else float("nan"),
        rec_seconds, len(users), fit_cpu, list(np.diff(cpu_marks)),  # epoch 1 CPU includes sequence building
    )


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    names = ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def rectools_dataset(train: pd.DataFrame, items: pd.DataFrame | None = None, columns: Sequence[str] = ()):  # noqa: ANN201
    """Exactly the training interactions, as a RecTools Dataset; with ``columns``, the same
    categorical item features ours trains on (``rectools_item_features``)."""
    from rectools.dataset import Dataset

    interactions = train[["user_id", "item_id", "datetime", "weight"]]
    if not columns:
        return Dataset.construct(interactions)
    features = rectools_item_features(train, items, columns)
    return Dataset.construct(interactions, item_features_df=features, cat_item_features=list(columns),
                             make_dense_item_features=False)


def rectools_item_features(train: pd.DataFrame, items: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    """RecTools' flat item-features frame (``id``, ``feature``, ``value``) holding exactly the
    (column, value) pairs ``core.item_features.build_item_features`` gives each training item,
    so both models see the same features (comma-split, lower-cased text, decades, buckets)."""
    from core.item_features import build_item_features
    from core.sequences import ItemIdMap

    item_map = ItemIdMap.from_ids(pd.unique(train["item_id"]))
    features = build_item_features(items, list(columns), item_map)
    assert features is not None
    rows = []
    for internal in range(1, item_map.n_items + 1):
        external = item_map.external[internal]
        rows.extend((external, column, value) for column, value in features.features_of(internal))
    return pd.DataFrame(rows, columns=["id", "feature", "value"])


def run_rectools(prep: Prepared, params: ModelParams, seed: int, threads: int, keep_model: bool = False, device: str = "cpu") -> RunResult:
    """RecTools 0.19 ``SASRecModel`` with the same hyperparameters on exactly ``split.train``;
    fit time includes ``Dataset.construct`` and RecTools' own data preparation."""
    import pytorch_lightning as pl
    from rectools.models import SASRecModel
    from rectools.models.nn.item_net import CatFeaturesItemNet, IdEmbeddingsItemNet

    unsupported = set(params.extra) - {"item_features"}
    if unsupported:
        raise ValueError(f"run_rectools compares the notebook's settings plus item features only, not {sorted(unsupported)}")

    class EpochTimer(pl.Callback):
        def __init__(self) -> None:
            self.seconds: list[float] = []
            self.cpu_seconds: list[float] = []
            self.threads: int = 0
            self._t = self._c = 0.0

        def on_train_epoch_start(self, trainer, pl_module) -> None:  # noqa: ANN001
            self.threads = torch.get_num_threads()
            self._t, self._c = time.perf_counter(), time.process_time()

        def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: ANN001
            self.seconds.append(time.perf_counter() - self._t)
            self.cpu_seconds.append(time.process_time() - self._c)

    def get_trainer() -> pl.Trainer:
        return pl.Trainer(
            max_epochs=params.epochs, min_epochs=params.epochs, deterministic=params.deterministic,
            accelerator="gpu" if device.startswith("cuda") else "cpu",
            devices=[int(device.split(":")[1])] if device.startswith("cuda:") else 1,
            enable_progress_bar=False, enable_model_summary=False,
            logger=False, enable_checkpointing=False, callbacks=[EpochTimer()],
        )

    previous_det = torch.are_deterministic_algorithms_enabled()
    with _quiet_lightning():
        set_threads(threads)
        pl.seed_everything(seed, workers=True, verbose=False)
        start, cpu_start = time.perf_counter(), time.process_time()
        dataset = rectools_dataset(prep.split.train, prep.items, params.item_features)
        blocks = (IdEmbeddingsItemNet, CatFeaturesItemNet) if params.item_features else (IdEmbeddingsItemNet,)
        model = SASRecModel(
            n_factors=params.n_factors, n_blocks=params.n_blocks, n_heads=params.n_heads,
            dropout_rate=params.dropout_rate, use_pos_emb=params.use_pos_emb,
            session_max_len=params.session_maxlen, lr=params.lr, batch_size=params.batch_size,
            epochs=params.epochs, loss="softmax", deterministic=params.deterministic, verbose=0,
            item_net_block_types=blocks, recommend_torch_device=device,
            get_trainer_func=get_trainer,
        )
        model.fit(dataset)
        fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        torch.use_deterministic_algorithms(previous_det)  # Lightning turns it on globally
        timer = next(cb for cb in model.fit_trainer.callbacks if isinstance(cb, EpochTimer))
        loss = model.fit_trainer.callback_metrics.get("train_loss")
        start = time.perf_counter()
        recs = model.recommend(
            users=prep.test_users, dataset=dataset, k=K, filter_viewed=True, on_unsupported_targets="warn"
        )
        rec_seconds = time.perf_counter() - start
    hr, ndcg = _metrics(recs, prep.split.test)
    if timer.threads and timer.threads != threads:
        warnings.warn(f"RecTools trained with {timer.threads} torch threads, not {threads}", stacklevel=2)
    result = RunResult(
        "rectools", seed, hr, ndcg, fit_seconds, timer.seconds,
        float(loss) if loss is not None else float("nan"), rec_seconds, int(recs["user_id"].nunique()),
        fit_cpu, timer.cpu_seconds,
    )
    if keep_model:
        result.model, result.recs = model, recs  # type: ignore[attr-defined]
    return result


# --------------------------------------------------------------------------- equivalence


def _ours_state_from_rectools(torch_model) -> dict:  # noqa: ANN001 - RecTools' TransformerTorchBackbone
    """RecTools' SASRec backbone parameters under core.model.SASRec's names (same layout)."""
    renames = (
        ("item_model.item_net_blocks.0.ids_emb.", "item_emb."),
        ("pos_encoding_layer.pos_emb.", "pos_emb."),
        ("transformer_layers.transformer_blocks.", "blocks."),
        ("transformer_layers.last_layernorm.", "last_layernorm."),
    )
    state = {}
    for name, value in torch_model.state_dict().items():
        for old, new in renames:
            name = name.replace(old, new)
        state[name] = value.detach().clone()
    return state


def _rectools_model(prep: Prepared, params: ModelParams, dropout_rate: float):  # noqa: ANN202
    from rectools.models import SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    with _quiet_lightning():
        model = SASRecModel(
            n_factors=params.n_factors, n_blocks=params.n_blocks, n_heads=params.n_heads,
            dropout_rate=dropout_rate, use_pos_emb=params.use_pos_emb, session_max_len=params.session_maxlen,
            lr=params.lr, batch_size=params.batch_size, epochs=1, item_net_block_types=(IdEmbeddingsItemNet,),
            recommend_torch_device="cpu",
        )
        model._build_model_from_dataset(rectools_dataset(prep.split.train))  # noqa: SLF001
    return model


def training_equivalence(prep: Prepared, params: ModelParams, seed: int, steps: int = 3) -> dict[str, float]:
    """Same initial weights (RecTools' Xavier init copied into ours), same batches (RecTools'
    own train dataloader), dropout off: the softmax losses, the gradients and the parameters
    after ``steps`` Adam steps of the two implementations must agree to float precision."""
    from core.model import SASRec
    from core.train import sequence_loss

    torch.manual_seed(seed)
    rt = _rectools_model(prep, params, dropout_rate=0.0)
    lightning = rt.lightning_model
    lightning._xavier_normal_init()  # noqa: SLF001 - what on_train_start does
    theirs = lightning.torch_model
    config = params.ours(seed)
    config.dropout_rate = 0.0
    ours = SASRec(theirs.item_model.n_items - 1, config)
    ours.load_state_dict(_ours_state_from_rectools(theirs), strict=True)
    theirs.train()
    ours.train()
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=params.lr, betas=(0.9, 0.98))
    opt_ours = torch.optim.Adam(ours.parameters(), lr=params.lr, betas=(0.9, 0.98))
    loss_diff = grad_diff = 0.0
    loader = iter(rt.data_preparator.get_dataloader_train())
    for _ in range(steps):
        batch = next(loader)
        x, y, w = batch["x"], batch["y"], batch["yw"]
        loss_theirs = lightning._calc_softmax_loss(theirs(batch=batch), y, w)  # noqa: SLF001
        positions = torch.nonzero(y.reshape(-1) != 0).squeeze(1)
        loss_ours = sequence_loss(ours, x, y, w, positions, len(positions), config)
        opt_theirs.zero_grad()
        opt_ours.zero_grad()
        loss_theirs.backward()
        loss_ours.backward()
        loss_diff = max(loss_diff, abs(loss_theirs.item() - loss_ours.item()) / abs(loss_theirs.item()))
        for a, b in zip(ours.parameters(), theirs.parameters()):
            if b.grad is not None:
                scale = float(b.grad.abs().max()) or 1.0
                grad_diff = max(grad_diff, float((a.grad - b.grad).abs().max()) / scale)
        opt_theirs.step()
        opt_ours.step()
    with torch.no_grad():
        param_diff = max(float((a - b).abs().max()) for a, b in zip(ours.parameters(), theirs.parameters()))
    return {"steps": steps, "max_rel_loss_diff": loss_diff, "max_rel_grad_diff": grad_diff,
            "max_abs_param_diff": param_diff}


def recommend_equivalence(prep: Prepared, params: ModelParams, rt_result: RunResult) -> dict[str, float]:
    """RecTools' trained weights and item ids loaded into core's ``Recommender``: its top-10
    lists must equal RecTools' own ``recommend`` output (ties aside)."""
    from core.model import SASRec
    from core.recommend import Recommender
    from core.sequences import ItemIdMap, UserHistories
    from core.train import TrainedModel, TrainingHistory

    model, recs_rt = rt_result.model, rt_result.recs  # type: ignore[attr-defined]
    external = np.asarray(model.data_preparator.item_id_map.external_ids)
    item_map = ItemIdMap(np.concatenate([[-1], external[1:].astype(np.int64)]))
    config = params.ours(rt_result.seed)
    module = SASRec(item_map.n_items, config)
    module.load_state_dict(_ours_state_from_rectools(model.lightning_model.torch_model), strict=True)
    trained = TrainedModel(module=module.eval(), config=config, item_map=item_map, history=TrainingHistory())
    users = pd.unique(recs_rt["user_id"])
    recs_ours = Recommender(trained, UserHistories.from_interactions(prep.split.train)).recommend(users, k=K)
    both = recs_ours.merge(recs_rt[["user_id", "item_id", "rank"]], on=["user_id", "item_id"], how="inner",
                           suffixes=("", "_rt"))
    same_rank = float((both["rank"] == both["rank_rt"]).sum()) / max(len(recs_rt), 1)
    hr_o, ndcg_o = _metrics(recs_ours, prep.split.test)
    return {"users": len(users), "share_same_item_same_rank": same_rank,
            "share_same_items": len(both) / max(len(recs_rt), 1),
            "ndcg_ours_code": ndcg_o, "ndcg_rectools_code": rt_result.ndcg}


# --------------------------------------------------------------------------- printing


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def fmt_ms(values: Sequence[float], digits: int = 4) -> str:
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def relative(a: float, b: float) -> float:
    """(a - b) / b, as a fraction."""
    return (a - b) / b if b else float("nan")
