"""Validation during training on a hold-out: which test users are scored, and the held-out loss.

The ranking metrics (HR@k, NDCG@k) come from ``core.evaluate_model.make_validator``; this
module draws the user sample both use (``validation_sample``) and computes the validation
loss (``make_loss_validator``): the training loss (softmax, sampled_softmax, bce or gbce, as
configured) of each held-out target given the user's training history, in eval mode (no
dropout), without gradients. Sampled negatives (sampled_softmax, bce, gbce) come from a
generator seeded anew at every validation, so successive values differ only through the model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .evaluate import Split
from .sequences import PAD, ItemIdMap, UserHistories, padded_last_items
from .train import LossValidator, TrainedModel, target_losses

#: At most this many test users are scored per validation (a random sample beyond it).
VALIDATION_MAX_USERS = 20_000
#: The seed of that sample, and of the validation loss's sampled negatives.
VALIDATION_SEED = 0
#: Logits computed at once by the validation loss (rows x catalog), to bound its memory.
_LOGITS_PER_BATCH = 1 << 25


def validation_sample(split: Split, max_users: int | None = VALIDATION_MAX_USERS, seed: int = VALIDATION_SEED) -> Split:
    """``split`` with its test part cut to at most ``max_users`` random test users (all of
    them when there are fewer, or ``max_users`` is None); the training part is unchanged."""
    test = split.test
    users = pd.unique(test["user_id"])
    if max_users is not None and len(users) > max_users:
        chosen = np.random.default_rng(seed).choice(users, max_users, replace=False)
        test = test[test["user_id"].isin(chosen)].reset_index(drop=True)
    return Split(split.train, test, split.scheme, dict(split.dropped), split.test_days)


class _HeldOut:
    """The held-out (user history, target) pairs of a split in one model's internal ids."""

    def __init__(self, histories: UserHistories, test: pd.DataFrame, item_map: ItemIdMap, session_maxlen: int) -> None:
        self.item_map = item_map
        self.session_maxlen = session_maxlen
        positions = histories.positions_of(test["user_id"].to_numpy())
        targets = item_map.to_internal(test["item_id"].to_numpy())
        users, pair_user = np.unique(positions, return_inverse=True)
        known = users >= 0
        safe = np.where(known, users, 0)
        row, items = histories.flat_items(safe[known])
        x = padded_last_items(row, item_map.to_internal(items), int(known.sum()), session_maxlen)
        inputs = torch.zeros((len(users), session_maxlen), dtype=torch.int64)
        inputs[torch.from_numpy(np.flatnonzero(known))] = x
        has_history = (inputs != PAD).any(dim=1).numpy()
        keep = (targets != PAD) & has_history[pair_user]
        order = np.argsort(pair_user[keep], kind="stable")
        self.inputs = inputs  # (n_users, L): each test user's last known training items
        self.pair_user = torch.from_numpy(pair_user[keep][order].astype(np.int64))  # (m,) row of inputs
        self.targets = torch.from_numpy(targets[keep][order].astype(np.int64))  # (m,) internal ids

    @property
    def n_pairs(self) -> int:
        return int(self.targets.shape[0])


def make_loss_validator(split: Split, seed: int = VALIDATION_SEED) -> LossValidator:
    """A ``fit`` loss validator: the mean training loss over ``split.test``'s (user, item)
    pairs, each target scored from the user's last ``session_maxlen`` training items.

    Pairs whose item is not in the model's catalog, or whose user has no training item the
    model knows, are left out (the loss is NaN when none is left). The model must be in eval
    mode (``fit`` calls it so, under ``torch.no_grad``). Returns a float (nats per target).
    """
    test = split.test[["user_id", "item_id"]]
    # only the test users' histories are read (``_HeldOut``): building them alone spares a sorted
    # copy of every training row (~120 MB at KION size, held while the whole run trains)
    train = split.train
    histories = UserHistories.from_interactions(train[train["user_id"].isin(pd.unique(test["user_id"]))])
    cache: dict[str, _HeldOut] = {}

    def held_out(model: TrainedModel) -> _HeldOut:
        found = cache.get("pairs")
        if found is None or found.item_map is not model.item_map or found.session_maxlen != model.config.session_maxlen:
            found = cache["pairs"] = _HeldOut(histories, test, model.item_map, model.config.session_maxlen)
        return found

    def validate(model: TrainedModel) -> float:
        pairs = held_out(model)
        if pairs.n_pairs == 0:
            return float("nan")
        module = model.module
        device = next(module.parameters()).device
        generator = torch.Generator(device=device).manual_seed(seed)
        per_batch = max(1, min(4096, _LOGITS_PER_BATCH // max(module.n_items + 1, 1)))
        total = 0.0
        with torch.no_grad():
            for first in range(0, pairs.n_pairs, per_batch):
                users = pairs.pair_user[first : first + per_batch]
                unique, inverse = torch.unique(users, return_inverse=True)
                h = module(pairs.inputs.index_select(0, unique).to(device))[:, -1, :]
                targets = pairs.targets[first : first + per_batch].to(device)
                losses = target_losses(module, h.index_select(0, inverse.to(device)), targets, model.config, generator)
                total += float(losses.double().sum())
        return total / pairs.n_pairs

    return validate


__all__ = ["VALIDATION_MAX_USERS", "VALIDATION_SEED", "make_loss_validator", "validation_sample"]
