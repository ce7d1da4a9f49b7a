"""Beyond-accuracy metrics against hand-computed values on a toy case (3 users, 5 items),
serendipity against RecTools' own documented example, and their place in evaluate_split."""
import math

import numpy as np
import pandas as pd
import pytest

from core.evaluate import ranking_metrics
from core.metrics_beyond import (
    beyond_accuracy_metrics,
    genre_sets,
    ild_embedding,
    ild_genre,
    novelty,
    popularity_share,
    serendipity,
    serendipity_per_user,
)

L3, L15 = math.log2(3), math.log2(1.5)
SQ = math.sqrt(2)

# Training interactions: item 1 seen by 3 users, items 2 and 4 by 2, item 3 by 1, item 5 by none.
TRAIN = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2, 3, 3], "item_id": [1, 2, 4, 1, 3, 4, 1, 2]})
RECS = pd.DataFrame({
    "user_id": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    "item_id": [3, 4, 2, 2, 4, 5, 3, 5, 1],
    "rank": [1, 2, 3] * 3,
})
TEST = pd.DataFrame({"user_id": [1, 2, 2, 3], "item_id": [4, 2, 5, 5]})
ITEMS = pd.DataFrame({
    "item_id": [1, 2, 3, 4, 5],
    "title": list("ABCDE"),
    "genres": ["Drama", "Drama, Comedy", "comedy", "Action,Drama", None],
})
VECTORS = (np.array([1, 2, 3, 4, 5]), np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 2.0]]))


def test_novelty_is_the_mean_self_information_of_recommended_items():
    # self-information -log2(pop / 3): item 1: 0, items 2 and 4: log2 1.5, item 3: log2 3,
    # item 5 (no training user) counts as one user: log2 3
    m = novelty(RECS, TRAIN, ks=(1, 3))
    assert m["Novelty@1"] == pytest.approx((L3 + L15 + L3) / 3)
    per_user = [(L3 + L15 + L15) / 3, (L15 + L15 + L3) / 3, (L3 + L3 + 0) / 3]
    assert m["Novelty@3"] == pytest.approx(sum(per_user) / 3)
    assert m["Novelty@3"] == pytest.approx((4 * L3 + 4 * L15) / 9)


def test_popularity_share_counts_the_top_k_in_the_popularity_top_k():
    m = popularity_share(RECS, TRAIN, ks=(1, 3))
    assert m["PopShare@1"] == 0.0  # no list starts with item 1
    assert m["PopShare@3"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3) / 3)  # popularity top-3: items 1, 2, 4


def test_serendipity_follows_rectools_formula():
    # n = 5; p(rank) = (6 - rank) / 5; popularity ranks (dense, by training rows): item 1: 1,
    # items 2 and 4: 2, item 3: 3, item 5: cold (pu = 0)
    # user 1: item 4 relevant at rank 2: max(0.8 - 0.8, 0) = 0
    # user 2: item 2 relevant at rank 1: 1.0 - 0.8 = 0.2; item 5 at rank 3: 0.6 - 0 = 0.6
    # user 3: item 5 relevant at rank 2: 0.8 - 0 = 0.8
    per_user = serendipity_per_user(RECS, TEST, TRAIN, catalog_size=5, k=3)
    assert per_user.index.tolist() == [1, 2, 3]
    np.testing.assert_allclose(per_user.to_numpy(), [0.0, 0.8 / 3, 0.8 / 3])
    m = serendipity(RECS, TEST, TRAIN, catalog_size=5, ks=(1, 3))
    assert m["Serendipity@1"] == pytest.approx(0.2 / 3)
    assert m["Serendipity@3"] == pytest.approx(1.6 / 9)


def test_serendipity_matches_rectools_documented_example():
    # the example in rectools/metrics/serendipity.py (RecTools 0.x docstring)
    reco = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2", "u3", "u4", "u4"],
                         "item_id": ["i1", "i2", "i2", "i3", "i3", "i2", "i3"], "rank": [1, 2, 1, 2, 1, 1, 2]})
    interactions = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2", "u3", "u4"], "item_id": ["i1", "i2", "i2", "i3", "i2", "i2"]})
    prev = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2", "u3"], "item_id": ["i1", "i2", "i1", "i2", "i1"]})
    np.testing.assert_allclose(serendipity_per_user(reco, interactions, prev, 4, 1).to_numpy(), [0.0, 0.25, 0.0, 0.25])
    np.testing.assert_allclose(serendipity_per_user(reco, interactions, prev, 4, 2).to_numpy(), [0.0, 0.5, 0.0, 0.125])


def test_genre_ild_is_the_mean_pairwise_jaccard_distance():
    # sets: 1 {drama}, 2 {drama, comedy}, 3 {comedy}, 4 {action, drama}, 5 {unknown}
    # user 1 [3, 4, 2]: 1, 1/2, 2/3; user 2 [2, 4, 5]: 2/3, 1, 1; user 3 [3, 5, 1]: 1, 1, 1
    m = ild_genre(RECS, ITEMS, ks=(1, 2, 3))
    assert math.isnan(m["ILD_genre@1"])  # no pair in a list of one
    assert m["ILD_genre@2"] == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert m["ILD_genre@3"] == pytest.approx(((1 + 1 / 2 + 2 / 3) / 3 + (2 / 3 + 2) / 3 + 1) / 3)
    assert m["ILD_genre@3"] == pytest.approx(47 / 54)
    assert ild_genre(RECS, ITEMS.drop(columns="genres"), ks=(3,)) == {}
    assert ild_genre(RECS, None, ks=(3,)) == {}
    sets = genre_sets(ITEMS, np.array([2, 5, 99]))
    assert sets.sum(axis=1).tolist() == [2, 1, 1] and (sets[1] == sets[2]).all()  # 5 and an absent item: "unknown"


def test_embedding_ild_is_the_mean_pairwise_cosine_distance():
    # user 1 [3, 4, 2]: 1 + 1/sqrt2, 1 - 1/sqrt2, 1; user 2 [2, 4, 5]: 1, 0, 1; user 3 [3, 5, 1]: 1 - 1/sqrt2 twice, 1
    m = ild_embedding(RECS, *VECTORS, ks=(3,))
    assert m["ILD_emb@3"] == pytest.approx((1 + 2 / 3 + (3 - SQ) / 3) / 3)
    # an item without a vector leaves its list: user 2 [2, 4] -> 1, user 3 [3, 1] -> 1 - 1/sqrt2
    without_5 = ild_embedding(RECS, VECTORS[0][:4], VECTORS[1][:4], ks=(3,))
    assert without_5["ILD_emb@3"] == pytest.approx((1 + 1 + (1 - 1 / SQ)) / 3)


def test_catalog_coverage_on_the_toy_case():
    m = ranking_metrics(RECS, TEST, ks=(1, 3), catalog_size=5)
    assert m["Coverage@1"] == pytest.approx(2 / 5) and m["Coverage@3"] == pytest.approx(1.0)


def test_all_metrics_together_and_in_order():
    m = beyond_accuracy_metrics(RECS, TRAIN, (1, 3), test=TEST, catalog_size=5, items=ITEMS, item_vectors=VECTORS)
    assert list(m) == ["Novelty@1", "Novelty@3", "ILD_genre@1", "ILD_genre@3", "ILD_emb@1", "ILD_emb@3",
                       "Serendipity@1", "Serendipity@3", "PopShare@1", "PopShare@3"]
    assert m["ILD_genre@3"] == pytest.approx(47 / 54) and m["Serendipity@3"] == pytest.approx(1.6 / 9)
    # without a test set, genres or vectors only what can be computed is returned
    assert list(beyond_accuracy_metrics(RECS, TRAIN, (3,))) == ["Novelty@3", "PopShare@3"]


def test_text_ids_and_unordered_rows_give_the_same_values():
    text = {c: f.assign(**{col: "i" + f[col].astype(str) for col in ("user_id", "item_id") if col in f}) for c, f in
            (("recs", RECS), ("train", TRAIN), ("test", TEST), ("items", ITEMS))}
    shuffled = text["recs"].sample(frac=1.0, random_state=3)
    vectors = (np.array([f"i{i}" for i in VECTORS[0]], dtype=object), VECTORS[1])
    a = beyond_accuracy_metrics(RECS, TRAIN, (1, 3), test=TEST, catalog_size=5, items=ITEMS, item_vectors=VECTORS)
    b = beyond_accuracy_metrics(shuffled, text["train"], (1, 3), test=text["test"], catalog_size=5, items=text["items"],
                                item_vectors=vectors)
    assert list(a) == list(b)
    np.testing.assert_allclose(list(a.values()), list(b.values()))


def test_no_recommendations_give_nan_not_an_error():
    empty = RECS.iloc[:0]
    m = beyond_accuracy_metrics(empty, TRAIN, (3,), test=TEST, catalog_size=5, items=ITEMS, item_vectors=VECTORS)
    assert all(math.isnan(v) for v in m.values()) and len(m) == 5


def test_evaluate_split_reports_them_for_sasrec_and_popular():
    from core.config import SASRecConfig
    from core.evaluate_model import make_split, metric_groups
    from core.evaluate_model import evaluate_split
    from core.train import fit
    from tests.synthetic import chain_interactions

    split = make_split(chain_interactions(n_users=80, n_items=20, length=6), "last")
    config = SASRecConfig(n_factors=16, n_blocks=1, session_maxlen=6, batch_size=32, epochs=1, device="cpu")
    model = fit(split.train, config).model
    items = pd.DataFrame({"item_id": np.arange(1, 21) * 100, "genres": ["Drama", "Comedy"] * 10})
    table = evaluate_split(model, split, ks=(5,), items=items)
    assert list(table.index) == ["SASRec", "Popular"]
    for name in ("Novelty", "ILD_genre", "ILD_emb", "Serendipity", "PopShare", "Coverage"):
        assert table[f"{name}@5"].notna().all(), name
    accuracy, beyond = metric_groups(table)
    assert list(accuracy.columns) == ["HR@5", "Recall@5", "NDCG@5", "MAP@5", "MRR@5"]
    assert "PopShare@5" in beyond.columns and "HR@5" not in beyond.columns
    # the popularity baseline recommends the popularity top-k minus seen items: a high share
    assert table.loc["Popular", "PopShare@5"] >= table.loc["SASRec", "PopShare@5"]
    assert "ILD_genre@5" not in evaluate_split(model, split, ks=(5,)).columns  # no genres, no genre ILD
    assert "Novelty@5" not in evaluate_split(model, split, ks=(5,), beyond=False).columns
