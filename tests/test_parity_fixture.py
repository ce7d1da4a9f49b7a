"""Parity with RecTools 0.19 pinned by a committed fixture, without RecTools installed.

``tests/fixtures/rectools_parity.npz`` (written by ``benchmarks/make_parity_fixture.py`` in
the RecTools environment) holds a trained RecTools SASRec's weights under our state-dict
names, its input interactions and its outputs. Loaded into ``core.model.SASRec`` and run
through ``core.recommend.Recommender`` on the same interactions, our model must give the
same user embeddings (last hidden state), u2i scores and top-10 lists (filter_viewed on and
off), i2i (cosine) top-10 lists and the same users it cannot recommend for. A weight
perturbed by 0.1 % (or position embeddings in the wrong order) must break the comparison.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core.config import SASRecConfig
from core.model import SASRec
from core.recommend import Recommender
from core.sequences import ItemIdMap, UserHistories
from core.train import TrainedModel, TrainingHistory

FIXTURE = Path(__file__).parent / "fixtures" / "rectools_parity.npz"
#: Scores may differ by this fraction of the largest |score| in the compared frame (float32
#: sums in a different order: attention via scaled_dot_product_attention vs nn.MultiheadAttention).
RTOL = 1e-5


@pytest.fixture(scope="module")
def fx() -> dict[str, np.ndarray]:
    """Every array of the fixture (loaded without pickle) plus its parsed ``meta``."""
    with np.load(FIXTURE, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["meta"] = json.loads(str(arrays["meta"]))
    return arrays


def _state(fx: dict) -> dict[str, torch.Tensor]:
    return {name[len("state/"):]: torch.from_numpy(fx[name].copy()) for name in fx if name.startswith("state/")}


def _recommender(fx: dict, state: dict[str, torch.Tensor] | None = None) -> Recommender:
    """Our model with the fixture's weights (or ``state``) over the fixture's interactions."""
    config = SASRecConfig(**fx["meta"]["config"], device="cpu")
    item_map = ItemIdMap(np.concatenate([[-1], fx["item_external_ids"]]))
    module = SASRec(item_map.n_items, config)
    module.load_state_dict(state if state is not None else _state(fx), strict=True)
    model = TrainedModel(module=module.eval(), config=config, item_map=item_map, history=TrainingHistory())
    interactions = pd.DataFrame({
        "user_id": fx["interactions/user_id"],
        "item_id": fx["interactions/item_id"],
        "datetime": pd.to_datetime(fx["interactions/datetime_ns"], unit="ns"),
        "weight": fx["interactions/weight"],
    })
    return Recommender(model, UserHistories.from_interactions(interactions))


def _frame(fx: dict, prefix: str, key: str) -> pd.DataFrame:
    return pd.DataFrame({c: fx[f"{prefix}/{c}"] for c in (key, "item_id", "score", "rank")})


def assert_same_topk(ours: pd.DataFrame, theirs: pd.DataFrame, key: str) -> None:
    """Same keys, scores equal rank by rank to ``RTOL`` of the largest |score|, and the same
    item at every rank, tie-aware: where the items differ, the two must be a near-tie on
    RecTools' side (scores within 2 tolerances: then float noise within the tolerance may
    swap them). An item missing from RecTools' top-k counts with RecTools' rank-k score, the
    most it can have: a swap across the top-k boundary is excused only near rank k (at rank k
    itself the score check above is what holds it)."""
    tol = RTOL * float(np.abs(theirs["score"]).max())
    assert sorted(ours[key].unique()) == sorted(theirs[key].unique()), f"different {key}s recommended for"
    both = theirs.merge(ours, on=[key, "rank"], how="outer", suffixes=("_rt", "_ours"), indicator=True)
    assert (both["_merge"] == "both").all(), f"ranks missing on one side:\n{both[both['_merge'] != 'both'].head()}"
    diff = np.abs(both["score_ours"].to_numpy(np.float64) - both["score_rt"].to_numpy(np.float64))
    assert diff.max() <= tol, f"scores differ by up to {diff.max():.3g} (tolerance {tol:.3g})"
    wrong = both[both["item_id_rt"] != both["item_id_ours"]]
    rt_score_of_ours = wrong.merge(
        theirs[[key, "item_id", "score"]].rename(columns={"item_id": "item_id_ours", "score": "rt_score_of_ours"}),
        on=[key, "item_id_ours"], how="left",
    )["rt_score_of_ours"].to_numpy(np.float64)
    kth = wrong[key].map(theirs.groupby(key)["score"].min()).to_numpy(np.float64)
    rt_score_of_ours = np.where(np.isnan(rt_score_of_ours), kth, rt_score_of_ours)
    tied = np.abs(rt_score_of_ours - wrong["score_rt"].to_numpy(np.float64)) <= 2 * tol
    assert tied.all(), f"{(~tied).sum()} of {len(both)} (key, rank) entries hold another item, e.g.\n{wrong[~tied].head()}"


def _u2i(rec: Recommender, fx: dict, filter_viewed: bool) -> pd.DataFrame:
    users = np.unique(fx["interactions/user_id"])
    return rec.recommend(users, k=fx["meta"]["k"], filter_viewed=filter_viewed, skip_unknown=True)


def test_fixture_is_small_and_complete(fx):
    assert FIXTURE.stat().st_size < 200 * 1024
    assert fx["meta"]["rectools"] == "0.19.0"
    users = np.unique(fx["interactions/user_id"])
    k = fx["meta"]["k"]
    # every user but the skipped ones has a full top-k, with and without filter_viewed
    for prefix in ("u2i_viewed", "u2i_all"):
        assert len(fx[f"{prefix}/user_id"]) == k * (len(users) - len(fx["skipped_users"]))
    # sessions longer than session_maxlen and one-interaction users are both in the inputs
    lengths = pd.Series(fx["interactions/user_id"]).value_counts()
    assert lengths.max() > fx["meta"]["config"]["session_maxlen"] and (lengths == 1).sum() >= 2


def test_topk_comparison_excuses_only_near_ties():
    theirs = pd.DataFrame({"user_id": [1, 1, 1, 1], "item_id": [5, 6, 7, 8],
                           "score": [2.0, 1.0, 1.0 - 1e-6, 0.5], "rank": [1, 2, 3, 4]})
    assert_same_topk(theirs.copy(), theirs, "user_id")
    swapped = theirs.assign(item_id=[5, 7, 6, 8])  # 6 and 7 are a near-tie
    assert_same_topk(swapped, theirs, "user_id")
    for items in ([6, 5, 7, 8], [5, 6, 8, 7], [5, 9, 7, 8], [5, 6, 9, 8]):  # no near-tie
        with pytest.raises(AssertionError, match="another item"):
            assert_same_topk(theirs.assign(item_id=items), theirs, "user_id")
    # an item outside RecTools' top-k may enter at the last rank only (its score was checked)
    assert_same_topk(theirs.assign(item_id=[5, 6, 7, 9]), theirs, "user_id")
    with pytest.raises(AssertionError, match="scores differ"):
        assert_same_topk(theirs.assign(score=[2.0, 1.0, 1.0 - 1e-6, 0.4999]), theirs, "user_id")
    with pytest.raises(AssertionError, match="recommended for"):
        assert_same_topk(theirs.assign(user_id=2), theirs, "user_id")


def test_user_embeddings_equal_rectools(fx):
    rec = _recommender(fx)
    ours = rec.user_embeddings(fx["user_emb/user_id"]).numpy()
    theirs = fx["user_emb/emb"]
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=RTOL * np.abs(theirs).max())


@pytest.mark.parametrize("filter_viewed", [True, False], ids=["filter_viewed", "all_items"])
def test_u2i_scores_and_topk_equal_rectools(fx, filter_viewed):
    ours = _u2i(_recommender(fx), fx, filter_viewed)
    assert ours.attrs["skipped_users"] == fx["skipped_users"].tolist()
    assert_same_topk(ours, _frame(fx, "u2i_viewed" if filter_viewed else "u2i_all", "user_id"), "user_id")


def test_i2i_topk_equal_rectools(fx):
    theirs = _frame(fx, "i2i", "target_item_id")
    ours = _recommender(fx).similar(pd.unique(theirs["target_item_id"]), k=fx["meta"]["k"])
    assert_same_topk(ours, theirs, "target_item_id")


def _perturbed(fx: dict, name: str) -> dict[str, torch.Tensor]:
    state = _state(fx)
    if name == "pos_emb.weight (reversed)":
        state["pos_emb.weight"] = state["pos_emb.weight"].flip(0)
    else:
        generator = torch.Generator().manual_seed(0)
        weight = state[name]
        state[name] = weight + 1e-3 * weight.abs().max() * torch.randn(weight.shape, generator=generator)
    return state


@pytest.mark.parametrize("name", [
    "blocks.0.multi_head_attn.in_proj_weight",
    "blocks.1.feed_forward.ff_linear_2.weight",
    "last_layernorm.bias",
    "pos_emb.weight (reversed)",
])
def test_comparison_fails_for_perturbed_weights(fx, name):
    """The check can fail: a 0.1 % change of one weight tensor (or RecTools' "inverse"
    positions read the other way round) breaks the u2i comparison."""
    ours = _u2i(_recommender(fx, _perturbed(fx, name)), fx, True)
    with pytest.raises(AssertionError):
        assert_same_topk(ours, _frame(fx, "u2i_viewed", "user_id"), "user_id")
