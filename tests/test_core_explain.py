"""Explanations: attention contributions, leave-one-out, attention maps, embedding map, genre mix."""
import numpy as np
import pandas as pd
import pytest
import torch

from core.config import SASRecConfig
from core.explain import attention_contributions, attention_maps, embedding_map, genre_mix, leave_one_out_contributions, primary_genre
from core.recommend import Recommender
from core.sequences import UserHistories
from core.train import fit
from tests.synthetic import chain_interactions


@pytest.fixture(scope="module")
def rec():
    df = chain_interactions(n_users=200, n_items=30, length=6)
    config = SASRecConfig(n_factors=16, n_blocks=2, n_heads=2, session_maxlen=8, batch_size=32, epochs=6, lr=5e-3, device="cpu")
    return Recommender(fit(df, config).model, UserHistories.from_interactions(df)), df


def test_attention_contributions_cover_the_session(rec):
    r, df = rec
    frame = attention_contributions(r, 10)
    history = df[df.user_id == 10].item_id.tolist()
    assert sorted(frame.item_id) == sorted(history)
    assert frame.attention.is_monotonic_decreasing
    for col in ("attention_block_1", "attention_block_2"):
        # the last row of a softmax; the rest of the mass goes to PAD keys (not masked, as in RecTools)
        assert 0 < frame[col].sum() <= 1.0 + 1e-5


def test_attention_maps_hide_pad_and_are_causal(rec):
    r, df = rec
    maps, items = attention_maps(r, 10)
    n = len(df[df.user_id == 10])
    assert len(maps) == 2 and maps[0].shape == (2, n, n) and len(items) == n
    x = torch.zeros((1, 8), dtype=torch.long)
    x[0, 8 - n:] = torch.from_numpy(r.item_map.to_internal(items))
    full = r.module.attention_maps(x)
    assert np.allclose(maps[1], full[1][0, :, -n:, -n:].numpy())
    assert np.allclose(full[0].sum(-1).numpy(), 1.0, atol=1e-5)
    assert np.all(np.triu(maps[1][0], k=1) == 0)


def test_leave_one_out_matches_a_manual_recomputation(rec):
    r, df = rec
    top = r.recommend([10], k=1).item_id.iloc[0]
    frame = leave_one_out_contributions(r, 10, top)
    history = df[df.user_id == 10].item_id.to_numpy()
    assert sorted(frame.item_id) == sorted(history)
    # recompute one drop by hand: remove the first history item
    target = r.item_map.to_internal([top])[0]
    full = r.user_embeddings([10])[0] @ r._emb[target]
    reduced = history[1:]
    x = torch.zeros((1, 8), dtype=torch.long)
    x[0, 8 - len(reduced):] = torch.from_numpy(r.item_map.to_internal(reduced))
    with torch.no_grad():
        without = r.module(x)[0, -1] @ r._emb[target]
    expected = float(full - without)
    assert frame.set_index("item_id").loc[history[0], "score_drop"] == pytest.approx(expected, abs=1e-4)
    assert frame.score_drop.is_monotonic_decreasing


def test_embedding_map_is_a_pca(rec):
    r, _ = rec
    frame = embedding_map(r)
    assert len(frame) == r.item_map.n_items and list(frame.columns) == ["item_id", "x", "y"]
    assert abs(frame.x.mean()) < 1e-4 and frame.x.var() >= frame.y.var()
    assert abs(np.corrcoef(frame.x, frame.y)[0, 1]) < 1e-3


def test_genre_mix_and_primary_genre():
    items = pd.DataFrame({"item_id": [1, 2, 3], "genres": ["drama, comedy", "drama", None]})
    mix = genre_mix(items, [1, 2, 3, 99])
    assert mix.to_dict() == pytest.approx({"drama": 0.75, "comedy": 0.25})
    assert primary_genre(items, [1, 3, 99]).tolist() == ["drama", "unknown", "unknown"]
    assert genre_mix(None, [1]).empty
