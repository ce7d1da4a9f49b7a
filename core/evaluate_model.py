"""Evaluate a trained SASRec beside the popularity baseline on a held-out split."""
from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .evaluate import Split, leave_last_out, popular_recommendations, popularity, ranking_metrics, time_split
from .load import LoadOptions
from .recommend import Recommender
from .sequences import PAD, UserHistories
from .train import TrainedModel, Validator

SPLITS = ("last", "time")


def make_split(interactions: pd.DataFrame, scheme: str = "last", test_days: int = 7) -> Split:
    """``last``: each user's last interaction held out; ``time``: the last ``test_days`` days."""
    if scheme == "last":
        return leave_last_out(interactions)
    if scheme == "time":
        return time_split(interactions, test_days)
    raise ValueError(f"unknown split {scheme!r}; use one of {SPLITS}")


def model_recommendations(model: TrainedModel, split: Split, k: int, filter_viewed: bool = True, device: str = "cpu") -> pd.DataFrame:
    """Top-``k`` for every test user that has at least one item the model knows."""
    users = pd.unique(split.test["user_id"])
    train = split.train
    # only the test users' histories are read: building them alone spares a sorted copy of
    # every training row (~120 MB and seconds at KION size, where tests are a 20k-user sample)
    histories = UserHistories.from_interactions(train[train["user_id"].isin(users)])
    rec = Recommender(model, histories, device=device)
    pos = histories.positions_of(users)
    users = users[pos >= 0]
    if len(users) == 0:
        return pd.DataFrame(columns=["user_id", "item_id", "score", "rank"])
    # users whose whole history is outside the model's catalog cannot be scored: a miss
    row, items = histories.flat_items(pos[pos >= 0])
    known = np.bincount(row[model.item_map.to_internal(items) != PAD], minlength=len(users)) > 0
    return rec.recommend(users[known], k=k, filter_viewed=filter_viewed)


#: Accuracy metrics (columns ``f"{name}@{k}"`` of ``evaluate_split``), the rest are beyond accuracy.
ACCURACY_METRICS = ("HR", "Recall", "NDCG", "MAP", "MRR")


def item_vectors(model: TrainedModel) -> tuple[np.ndarray, np.ndarray]:
    """The model's item ids (n_items,) and item embeddings (n_items, d) as float32 on the CPU."""
    import torch

    with torch.no_grad():
        emb = model.module.item_embeddings().detach().float().cpu().numpy()
    return model.item_map.external[1:], emb[1:]


def evaluate_split(
    model: TrainedModel,
    split: Split,
    ks: Sequence[int] = (10,),
    filter_viewed: bool = True,
    device: str = "cpu",
    *,
    items: pd.DataFrame | None = None,
    beyond: bool = True,
) -> pd.DataFrame:
    """A table with rows ``SASRec`` and ``Popular`` and one column per metric@k.

    Accuracy (``core.evaluate.ranking_metrics``: HR, Recall, NDCG, MAP, MRR, Coverage,
    MeanPop) and, with ``beyond``, ``core.metrics_beyond``: Novelty, ILD_genre (when ``items``
    has genres), ILD_emb (SASRec's item embeddings for both rows), Serendipity, PopShare.
    Full ranking over the model's catalog; with ``filter_viewed`` the users' training items
    are never recommended.
    """
    from .metrics_beyond import beyond_accuracy_metrics

    k_max = max(ks)
    item_pop = popularity(split.train)
    catalog = model.item_map.n_items
    users = pd.unique(split.test["user_id"])
    recommendations = {
        "SASRec": model_recommendations(model, split, k_max, filter_viewed, device),
        "Popular": popular_recommendations(split.train, users, k_max, filter_viewed),
    }
    vectors = item_vectors(model) if beyond else None
    rows = {}
    for name, recs in recommendations.items():
        rows[name] = ranking_metrics(recs, split.test, ks, catalog_size=catalog, item_popularity=item_pop)
        if beyond:
            rows[name].update(beyond_accuracy_metrics(
                recs, split.train, ks, test=split.test, catalog_size=catalog, items=items, item_vectors=vectors,
            ))
    table = pd.DataFrame(rows).T
    table.index.name = "model"
    return table


def metric_groups(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``evaluate_split``'s table as (accuracy columns, beyond-accuracy columns: Coverage,
    MeanPop and ``core.metrics_beyond``'s), both ordered by k, then metric (fixed order)."""
    from .metrics_beyond import BEYOND_METRICS

    order = {name: i for i, name in enumerate((*ACCURACY_METRICS, "Coverage", "MeanPop", *BEYOND_METRICS))}

    def key(column: str) -> tuple[int, int]:
        name, _, k = column.partition("@")
        return int(k) if k.isdigit() else 0, order.get(name, len(order))

    columns = sorted(table.columns, key=key)
    accuracy = [c for c in columns if c.split("@")[0] in ACCURACY_METRICS]
    return table[accuracy], table[[c for c in columns if c not in accuracy]]


def make_validator(split: Split, k: int = 10, max_users: int | None = 20_000, seed: int = 0) -> Validator:
    """A per-epoch validator for ``core.train.fit``: HR@k and NDCG@k on (a sample of) the test users."""
    test = split.test
    users = pd.unique(test["user_id"])
    if max_users is not None and len(users) > max_users:
        chosen = np.random.default_rng(seed).choice(users, max_users, replace=False)
        test = test[test["user_id"].isin(chosen)]
    sample = Split(split.train, test, split.scheme)

    def validate(model: TrainedModel) -> dict[str, float]:
        recs = model_recommendations(model, sample, k, device=str(next(model.module.parameters()).device))
        metrics = ranking_metrics(recs, sample.test, (k,))
        return {f"HR@{k}": metrics[f"HR@{k}"], f"NDCG@{k}": metrics[f"NDCG@{k}"]}

    return validate


def evaluate_checkpoint(model_path: str, data_dir: str, *, fmt: str = "auto", options: LoadOptions | None = None, split: str = "last", test_days: int = 7, ks: Sequence[int] = (10,), refit: bool | None = None, beyond: bool = True) -> pd.DataFrame:
    """Evaluate a checkpoint honestly on ``data_dir`` (a folder, zip archive or file, read as
    ``options`` say; without them, in format ``fmt``).

    The table is ``evaluate_split``'s (accuracy and, with ``beyond``, beyond-accuracy metrics;
    genres from the data's items table). When the checkpoint was trained with this very hold-out (recorded in its ``extra``), its
    weights are used as they are. Otherwise its configuration is re-fitted on the split's
    training part first, since the saved weights have seen the test interactions.
    """
    from .checkpoint import load_checkpoint
    from .load import load_data
    from .model_data import check_data_match, filter_for_model
    from .train import fit

    model, extra = load_checkpoint(model_path)
    data = load_data(data_dir, options or LoadOptions(fmt=fmt))
    for note in data.notes:  # e.g. the SASRec format's made-up times, unix milliseconds
        print(f"note: {note}", file=sys.stderr)
    filtered = filter_for_model(model, data.interactions).interactions
    warning = check_data_match(model, filtered).warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    the_split = make_split(filtered, split, test_days)
    holdout = extra.get("holdout") or {}
    same_holdout = holdout.get("split") == split and (split != "time" or holdout.get("test_days") == test_days)
    if refit is None:
        refit = not same_holdout
    if refit:
        # as many epochs as the saved model has (an early-stopped run kept fewer than configured)
        epochs = max(1, int(model.epochs_done or model.config.epochs))
        print(f"re-fitting the checkpoint's configuration ({epochs} epochs, as the saved model) on the training part "
              f"of the '{split}' split: the saved weights were trained on the test interactions too", file=sys.stderr)
        config = dataclasses.replace(model.config, epochs=epochs)
        model = fit(the_split.train, config, filter_config=model.filter_config, items=data.items).model
    table = evaluate_split(model, the_split, ks, items=data.items, beyond=beyond)
    from .protocol import evaluation_protocol

    table.attrs["protocol"] = evaluation_protocol(the_split, ks, model.item_map.n_items).describe()
    return table
