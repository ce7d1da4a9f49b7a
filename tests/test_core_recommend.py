"""u2i / i2i frames with RecTools' columns; filter_viewed; one-interaction and unknown users."""
import numpy as np
import pandas as pd
import pytest

from core.config import SASRecConfig
from core.errors import UnknownItemError, UnknownUserError
from core.recommend import Recommender, with_titles
from core.sequences import UserHistories
from core.train import fit
from tests.synthetic import chain_interactions


@pytest.fixture(scope="module")
def trained():
    df = chain_interactions(n_users=300, n_items=40, length=8)
    config = SASRecConfig(n_factors=32, n_blocks=1, session_maxlen=8, batch_size=32, epochs=15, lr=5e-3, device="cpu", dropout_rate=0.1)
    model = fit(df, config).model
    return df, model


def test_u2i_columns_ranks_and_filter_viewed(trained):
    df, model = trained
    rec = Recommender(model, UserHistories.from_interactions(df))
    users = [10, 20, 30]
    out = rec.recommend(users, k=5)
    assert list(out.columns) == ["user_id", "item_id", "score", "rank"]
    assert out.groupby("user_id")["rank"].apply(list).tolist() == [[1, 2, 3, 4, 5]] * 3
    assert (out.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    for user in users:
        seen = set(df.loc[df.user_id == user, "item_id"])
        assert not seen & set(out.loc[out.user_id == user, "item_id"])
    unfiltered = rec.recommend(users, k=40, filter_viewed=False)
    assert unfiltered.groupby("user_id").size().tolist() == [40, 40, 40]


def test_u2i_learned_the_next_item(trained):
    df, model = trained
    rec = Recommender(model, UserHistories.from_interactions(df))
    out = rec.recommend(df.user_id.unique()[:50], k=1)
    last = df.groupby("user_id")["item_id"].last().loc[out.user_id].to_numpy()
    expected_next = (last // 100) % 40 * 100 + 100
    assert (out.item_id.to_numpy() == expected_next).mean() > 0.8


def test_one_interaction_user_gets_recommendations(trained):
    df, model = trained
    single = pd.DataFrame({"user_id": [999999], "item_id": [500], "datetime": [pd.Timestamp("2021-05-01")], "weight": np.float32([1.0])})
    data = pd.concat([df, single], ignore_index=True)
    rec = Recommender(model, UserHistories.from_interactions(data))
    out = rec.recommend([999999], k=3)
    assert len(out) == 3 and 500 not in set(out.item_id)
    assert out.item_id.iloc[0] == 600  # the chain continues


def test_unknown_user_and_user_with_only_unknown_items(trained):
    df, model = trained
    ghost = pd.DataFrame({"user_id": [5], "item_id": [123456789], "datetime": [pd.Timestamp("2021-05-01")], "weight": np.float32([1.0])})
    rec = Recommender(model, UserHistories.from_interactions(pd.concat([df, ghost], ignore_index=True)))
    with pytest.raises(UnknownUserError, match="not in the data"):
        rec.recommend([424242])
    with pytest.raises(UnknownUserError, match="none with an item the model knows"):
        rec.recommend([5])


def test_unknown_items_are_dropped_from_a_history(trained):
    df, model = trained
    extra = pd.DataFrame({"user_id": [10], "item_id": [987654], "datetime": [pd.Timestamp("2030-01-01")], "weight": np.float32([1.0])})
    base = Recommender(model, UserHistories.from_interactions(df)).recommend([10], k=5)
    noisy = Recommender(model, UserHistories.from_interactions(pd.concat([df, extra], ignore_index=True))).recommend([10], k=5)
    assert base.item_id.tolist() == noisy.item_id.tolist()


def test_i2i_cosine_excludes_the_item_itself(trained):
    _, model = trained
    rec = Recommender(model, UserHistories.from_interactions(chain_interactions()))
    out = rec.similar([100, 200], k=4)
    assert list(out.columns) == ["target_item_id", "item_id", "score", "rank"]
    assert len(out) == 8
    assert not (out.target_item_id == out.item_id).any()
    assert (out.score <= 1.0 + 1e-5).all() and (out.score >= -1.0 - 1e-5).all()
    emb = model.module.item_embeddings().detach()
    i, j = model.item_map.to_internal([100, out.item_id.iloc[0]])
    cos = float((emb[i] @ emb[j]) / (emb[i].norm() * emb[j].norm()))
    assert out.score.iloc[0] == pytest.approx(cos, abs=1e-5)
    with pytest.raises(UnknownItemError, match="31337"):
        rec.similar([31337])


def test_with_titles_joins_metadata():
    frame = pd.DataFrame({"user_id": [1, 1], "item_id": [5, 6], "score": [2.0, 1.0], "rank": [1, 2]})
    items = pd.DataFrame({"item_id": [6, 5], "title": ["Six", "Five"], "title_orig": ["6", "5"], "release_year": [2001, 2002], "genres": ["drama", "comedy"], "actors": ["x", "y"]})
    out = with_titles(frame, items)
    assert out.title.tolist() == ["Five", "Six"]
    assert list(out.columns) == ["user_id", "item_id", "score", "rank", "title", "title_orig", "release_year", "genres"]
    assert with_titles(frame, None) is frame


def test_recommender_on_another_device_leaves_the_model_where_it_is(trained, monkeypatch):
    df, model = trained
    param = next(model.module.parameters())
    rec = Recommender(model, UserHistories.from_interactions(df), device="meta")
    assert next(rec.module.parameters()).device.type == "meta"
    assert next(model.module.parameters()) is param and param.device.type == "cpu"


def test_skip_unknown_leaves_out_and_lists_users_it_cannot_recommend_for(trained):
    df, model = trained
    ghost = pd.DataFrame({"user_id": [5], "item_id": [123456789], "datetime": [pd.Timestamp("2021-05-01")], "weight": np.float32([1.0])})
    rec = Recommender(model, UserHistories.from_interactions(pd.concat([df, ghost], ignore_index=True)))
    assert rec.recommendable([10, 5, 7, 20]).tolist() == [True, False, False, True]
    out = rec.recommend([10, 5, 7, 20], k=3, skip_unknown=True)
    assert out.attrs["skipped_users"] == [5, 7]
    assert out.user_id.unique().tolist() == [10, 20]
    pd.testing.assert_frame_equal(out, rec.recommend([10, 20], k=3), check_like=True)
    nobody = rec.recommend([5], k=3, skip_unknown=True)
    assert len(nobody) == 0 and nobody.attrs["skipped_users"] == [5]
