"""Make the model's behaviour visible: why an item was recommended, attention maps,
a 2D map of item embeddings, and genre mixes. Qt-free; the GUI renders these frames.

Explanations take a user id (their history in the recommender) or, through the ``session_*``
variants, a hand-built what-if session (item ids, oldest first; ``Recommender.recommend_session``).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch

from .errors import UnknownItemError
from .recommend import Recommender
from .sequences import PAD


def session_items(recommender: Recommender, user_id: int | str) -> np.ndarray:
    """External ids of the items the model sees for ``user_id`` (last maxlen known items, oldest first)."""
    known = recommender.known_items(user_id)
    if len(known) == 0:
        recommender.user_embeddings([user_id])  # raises the usual UnknownUserError
    return known[-recommender.module.session_maxlen :]


def _session_tensor(recommender: Recommender, items: np.ndarray) -> torch.Tensor:
    maxlen = recommender.module.session_maxlen
    x = torch.zeros((1, maxlen), dtype=torch.long)
    x[0, maxlen - len(items) :] = torch.from_numpy(recommender.item_map.to_internal(items))
    return x.to(recommender.device)


def what_if_session_items(recommender: Recommender, items: Iterable[int | str]) -> np.ndarray:
    """External ids of the items the model sees for a hand-built session (``items``, oldest
    first): the known ones, the last ``session_maxlen`` of them, as ``recommend_session`` scores
    them. Raises ``RecommendError`` for an empty session or one with no known item."""
    known, _unknown = recommender.checked_session(items)
    return known[-recommender.module.session_maxlen :]


@torch.no_grad()
def _attention_maps(recommender: Recommender, items: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    maps = recommender.module.attention_maps(_session_tensor(recommender, items))
    n = len(items)
    return [m[0, :, -n:, -n:].cpu().numpy() for m in maps], items


def attention_maps(recommender: Recommender, user_id: int | str) -> tuple[list[np.ndarray], np.ndarray]:
    """Per block, the (heads, n, n) attention of the user's session with PAD positions removed,
    and the session's external item ids (rows attend to columns; causal). As in RecTools,
    PAD keys are not masked, so a row's weights on real items can sum to less than 1."""
    return _attention_maps(recommender, session_items(recommender, user_id))


def session_attention_maps(recommender: Recommender, items: Iterable[int | str]) -> tuple[list[np.ndarray], np.ndarray]:
    """``attention_maps`` for a hand-built session (item ids, oldest first; unknown items
    dropped, see ``what_if_session_items``). Raises ``RecommendError`` when nothing is left."""
    return _attention_maps(recommender, what_if_session_items(recommender, items))


def _contributions_frame(maps: list[np.ndarray], items: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"item_id": items, "position": np.arange(len(items)) - len(items) + 1})
    for b, m in enumerate(maps, start=1):
        frame[f"attention_block_{b}"] = m[:, -1, :].mean(axis=0)
    frame["attention"] = frame[[c for c in frame.columns if c.startswith("attention_block_")]].mean(axis=1)
    return frame.sort_values("attention", ascending=False, kind="stable").reset_index(drop=True)


def attention_contributions(recommender: Recommender, user_id: int | str) -> pd.DataFrame:
    """History items ranked by the attention the last position pays them, averaged over heads
    (columns item_id, attention_block_1.., attention = mean over blocks), strongest first."""
    return _contributions_frame(*attention_maps(recommender, user_id))


def session_attention_contributions(recommender: Recommender, items: Iterable[int | str]) -> pd.DataFrame:
    """``attention_contributions`` for a hand-built session (see ``session_attention_maps``)."""
    return _contributions_frame(*session_attention_maps(recommender, items))


@torch.no_grad()
def _leave_one_out(recommender: Recommender, items: np.ndarray, item_id: int | str) -> pd.DataFrame:
    target = int(recommender.item_map.to_internal([item_id])[0])
    if target == PAD:
        raise UnknownItemError(f"Item {item_id} is not in the model's catalog.")
    maxlen = recommender.module.session_maxlen
    internal = recommender.item_map.to_internal(items)
    n = len(items)
    rows = [internal] + [np.delete(internal, i) for i in range(n)]
    x = torch.zeros((len(rows), maxlen), dtype=torch.long)
    for r, seq in enumerate(rows):
        if len(seq):
            x[r, maxlen - len(seq) :] = torch.from_numpy(seq)
    hidden = recommender.module(x.to(recommender.device))[:, -1, :]
    scores = hidden @ recommender._emb[target]
    if n == 1:
        scores[1] = 0.0  # an empty session has no score; leaving the only item out removes all of it
    frame = pd.DataFrame({
        "item_id": items,
        "position": np.arange(n) - n + 1,
        "score_drop": (scores[0] - scores[1:]).cpu().numpy(),
    })
    return frame.sort_values("score_drop", ascending=False, kind="stable").reset_index(drop=True)


def leave_one_out_contributions(recommender: Recommender, user_id: int | str, item_id: int | str) -> pd.DataFrame:
    """For a recommended ``item_id``: how much its score drops when each history item is left
    out of the session (columns item_id, position, score_drop), biggest drop first."""
    if int(recommender.item_map.to_internal([item_id])[0]) == PAD:
        raise UnknownItemError(f"Item {item_id} is not in the model's catalog.")
    return _leave_one_out(recommender, session_items(recommender, user_id), item_id)


def session_leave_one_out_contributions(recommender: Recommender, items: Iterable[int | str], item_id: int | str) -> pd.DataFrame:
    """``leave_one_out_contributions`` for a hand-built session (item ids, oldest first; unknown
    items dropped). Raises ``UnknownItemError`` for an ``item_id`` outside the catalog and
    ``RecommendError`` for a session with no known item."""
    if int(recommender.item_map.to_internal([item_id])[0]) == PAD:
        raise UnknownItemError(f"Item {item_id} is not in the model's catalog.")
    return _leave_one_out(recommender, what_if_session_items(recommender, items), item_id)


@torch.no_grad()
def embedding_map(recommender: Recommender) -> pd.DataFrame:
    """2D PCA (torch SVD of the centred item embeddings) of every item: item_id, x, y."""
    emb = recommender._emb[1:].float().cpu()
    centred = emb - emb.mean(dim=0, keepdim=True)
    _, _, v = torch.linalg.svd(centred, full_matrices=False)
    xy = (centred @ v[:2].T).numpy()
    return pd.DataFrame({"item_id": recommender.item_map.external[1:], "x": xy[:, 0], "y": xy[:, 1]})


def primary_genre(items: pd.DataFrame | None, item_ids: Iterable[int | str]) -> pd.Series:
    """The first listed genre of each item ("unknown" when missing), indexed like ``item_ids``."""
    ids = pd.Index(list(item_ids))
    if items is None or "genres" not in items.columns:
        return pd.Series("unknown", index=ids)
    genres = items.drop_duplicates("item_id").set_index("item_id")["genres"].reindex(ids)
    first = genres.fillna("").astype(str).str.split(",").str[0].str.strip()
    return first.where(first != "", "unknown")


def genre_mix(items: pd.DataFrame | None, item_ids: Iterable[int | str]) -> pd.Series:
    """Share of each genre over ``item_ids`` (an item with g genres adds 1/g to each), largest first."""
    ids = list(item_ids)
    if items is None or "genres" not in items.columns or not ids:
        return pd.Series(dtype=float)
    genres = items.drop_duplicates("item_id").set_index("item_id")["genres"].reindex(ids).dropna().astype(str)
    split = genres.str.split(",").explode().str.strip()
    split = split[split != ""]
    if split.empty:
        return pd.Series(dtype=float)
    weights = 1.0 / split.groupby(level=0).transform("size")
    mix = weights.groupby(split.to_numpy()).sum()
    return (mix / mix.sum()).sort_values(ascending=False)
