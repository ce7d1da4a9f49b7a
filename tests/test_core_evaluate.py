"""Splits, metrics against hand-computed values, popularity baseline, validation during training."""
import math

import numpy as np
import pandas as pd
import pytest

from core.config import SASRecConfig
from core.errors import ConfigError
from core.evaluate import leave_last_out, popular_recommendations, ranking_metrics, time_split
from core.evaluate_model import evaluate_split, make_split, make_validator
from core.train import EpochReport, fit
from tests.synthetic import chain_interactions


def frame(rows):
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "datetime"])
    df["datetime"] = pd.to_datetime(df["datetime"])
    df["weight"] = np.float32(1)
    return df


def test_metrics_match_hand_computation():
    recs = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": [10, 11, 12, 10, 13, 14], "rank": [1, 2, 3, 1, 2, 3]})
    test = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [11, 12, 99, 10]})  # user 3 has no recs: a miss
    m = ranking_metrics(recs, test, ks=(2, 3), catalog_size=10, item_popularity=pd.Series({10: 5, 11: 1, 12: 2, 13: 0, 14: 4}))
    # user 1: hits at ranks 2 and 3 of 2 relevant; users 2 and 3: nothing
    assert m["HR@2"] == pytest.approx(1 / 3)
    assert m["Recall@2"] == pytest.approx(0.5 / 3)
    assert m["NDCG@2"] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)) / 3)
    assert m["MAP@2"] == pytest.approx((1 / 2) / 2 / 3)
    assert m["MRR@2"] == pytest.approx(0.5 / 3)
    assert m["NDCG@3"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3)) / 3)
    assert m["MAP@3"] == pytest.approx((1 / 2 + 2 / 3) / 2 / 3)
    assert m["Recall@3"] == pytest.approx(1 / 3)
    assert m["Coverage@2"] == pytest.approx(3 / 10)  # items 10, 11, 13
    assert m["MeanPop@2"] == pytest.approx((5 + 1 + 5 + 0) / 4)


def test_perfect_recommendations_score_one():
    test = pd.DataFrame({"user_id": [1, 2], "item_id": [7, 8]})
    recs = pd.DataFrame({"user_id": [1, 2], "item_id": [7, 8], "rank": [1, 1]})
    m = ranking_metrics(recs, test, ks=(10,))
    assert all(m[f"{name}@10"] == pytest.approx(1.0) for name in ("HR", "Recall", "NDCG", "MAP", "MRR"))


def test_leave_last_out_holds_out_each_users_last_known_item():
    df = frame([
        (1, 10, "2021-01-01"), (1, 11, "2021-01-03"), (1, 12, "2021-01-02"),
        (2, 10, "2021-01-01"), (2, 99, "2021-01-05"),  # 99 unknown in train -> dropped from test
        (3, 11, "2021-01-01"),  # one interaction: train only
    ])
    split = leave_last_out(df)
    assert split.test.values.tolist() == [[1, 11]]
    assert len(split.train) == 4 and 3 in set(split.train.user_id)
    assert split.dropped == {"unknown": 1, "seen": 0}


def test_leave_last_out_drops_targets_already_seen_in_training_and_says_how_many():
    df = frame([
        (1, 10, "2021-01-01"), (1, 11, "2021-01-02"), (1, 10, "2021-01-03"),  # rewatch of 10: dropped
        (2, 10, "2021-01-01"), (2, 11, "2021-01-02"),  # kept
        (3, 11, "2021-01-01"), (3, 11, "2021-01-04"),  # rewatch of 11: dropped
    ])
    split = leave_last_out(df)
    assert split.test.values.tolist() == [[2, 11]]
    assert split.dropped == {"unknown": 0, "seen": 2}
    assert "dropped 2 already seen in training" in split.describe()
    assert "1 test targets" in split.describe()


def test_time_split_drops_unknown_users_items_and_already_seen():
    df = frame([
        (1, 10, "2021-01-01"), (1, 11, "2021-01-02"), (2, 10, "2021-01-03"),
        (1, 12, "2021-01-09"),  # item 12 unknown in train -> dropped
        (1, 11, "2021-01-09"),  # already seen by user 1 -> dropped
        (2, 11, "2021-01-10"),  # kept
        (3, 10, "2021-01-10"),  # user 3 unknown in train -> dropped
    ])
    split = time_split(df, test_days=3)
    assert split.test.values.tolist() == [[2, 11]]
    assert split.dropped == {"unknown": 2, "seen": 1}
    assert "the last 3 day(s)" in split.describe()
    assert split.train.datetime.max() < pd.Timestamp("2021-01-08")
    with pytest.raises(ConfigError):
        time_split(df, test_days=0)


def test_popularity_baseline_skips_seen_items():
    train = frame([(1, 10, "2021-01-01"), (2, 10, "2021-01-01"), (2, 11, "2021-01-01"), (3, 12, "2021-01-01"), (3, 10, "2021-01-02")])
    recs = popular_recommendations(train, [1, 4], k=2)
    assert recs[recs.user_id == 1].item_id.tolist() == [11, 12]
    assert recs[recs.user_id == 4].item_id.tolist() == [10, 11]
    assert recs["rank"].tolist() == [1, 2, 1, 2]


@pytest.fixture(scope="module")
def chain_split():
    return make_split(chain_interactions(n_users=300, n_items=40, length=8), "last")


def test_model_beats_popularity_and_validation_is_reported(chain_split):
    events = []
    config = SASRecConfig(n_factors=32, n_blocks=1, session_maxlen=8, batch_size=32, epochs=12, lr=5e-3, device="cpu", dropout_rate=0.1)
    result = fit(chain_split.train, config, validator=make_validator(chain_split), validate_every=4, callback=events.append)
    epochs = [e for e in events if isinstance(e, EpochReport)]
    assert [bool(e.metrics) for e in epochs] == [False, False, False, True] * 3
    assert set(epochs[3].metrics) == {"HR@10", "NDCG@10"}
    table = evaluate_split(result.model, chain_split, ks=(10,))
    assert list(table.index) == ["SASRec", "Popular"]
    assert table.loc["SASRec", "NDCG@10"] > 0.8
    assert table.loc["SASRec", "NDCG@10"] > 2 * table.loc["Popular", "NDCG@10"]
    assert result.model.history.epoch_metrics[-1]["NDCG@10"] == pytest.approx(table.loc["SASRec", "NDCG@10"], abs=1e-6)
