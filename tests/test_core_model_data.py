"""A model opened with data that is not its own is flagged (fingerprint and catalog overlap)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import SASRecConfig
from core.filters import FilterConfig
from core.model_data import check_data_match, filter_for_model
from core.runs import data_fingerprint
from core.train import fit
from tests.synthetic import chain_interactions

NO_FILTERS = FilterConfig(min_total_dur=0, min_item_freq=1).to_dict()


@pytest.fixture(scope="module")
def model_and_data():
    df = chain_interactions(n_users=60, n_items=20, length=5)
    config = SASRecConfig(n_factors=16, n_blocks=1, session_maxlen=5, batch_size=32, epochs=1, device="cpu")
    model = fit(df, config, filter_config=NO_FILTERS).model
    filtered = filter_for_model(model, df).interactions
    model.data_fingerprint = data_fingerprint(filtered)
    return model, df


def test_own_data_matches(model_and_data):
    model, df = model_and_data
    match = check_data_match(model, filter_for_model(model, df).interactions)
    assert match.ok and match.warning() == ""
    assert match.fingerprint_matches is True
    assert match.model_items == match.model_items_in_data == 20


def test_same_catalog_other_interactions_is_flagged(model_and_data):
    model, df = model_and_data
    other = df.iloc[: len(df) - 5]  # the last user's history removed: every item still occurs
    match = check_data_match(model, filter_for_model(model, other).interactions)
    assert match.fingerprint_matches is False and not match.ok
    assert "same catalog of 20 items" in match.warning()


def test_other_catalog_names_the_overlap(model_and_data):
    model, df = model_and_data
    other = df.copy()
    other["item_id"] = np.where(other["item_id"] <= 500, other["item_id"] + 10_000, other["item_id"])  # 5 items renamed
    match = check_data_match(model, filter_for_model(model, other).interactions)
    assert (match.model_items_in_data, match.data_items, match.data_items_in_model) == (15, 20, 15)
    text = match.warning()
    assert "15 of the model's 20 items (75%)" in text and "5 of its 20 items are unknown" in text


def test_model_without_fingerprint_checks_the_catalog_only(model_and_data):
    model, df = model_and_data
    old = dataclasses.replace(model, data_fingerprint="")
    assert check_data_match(old, filter_for_model(old, df).interactions).fingerprint_matches is None
    assert check_data_match(old, filter_for_model(old, df.iloc[:-5]).interactions).ok


def test_fingerprint_survives_the_checkpoint(model_and_data, tmp_path):
    model, _ = model_and_data
    loaded, _ = load_checkpoint(save_checkpoint(model, tmp_path / "m.pt"))
    assert loaded.data_fingerprint == model.data_fingerprint != ""


def test_cli_recommend_warns_about_other_data(tmp_path, capsys):
    from core import demo
    from core.__main__ import main

    own, other = tmp_path / "own", tmp_path / "other"
    demo.write_demo(own, n_users=300, n_items=60, seed=1)
    demo.write_demo(other, n_users=300, n_items=60, seed=2)
    model_path = tmp_path / "m.pt"
    common = ["--epochs", "1", "--n-factors", "8", "--n-blocks", "1", "--batch-size", "64", "--min-item-freq", "1"]
    assert main(["train", str(own), "--out", str(model_path), *common]) == 0
    user = pd.read_csv(own / "interactions.csv")["user_id"].iloc[0]
    capsys.readouterr()
    assert main(["recommend", str(model_path), "--data", str(own), "--user", str(user)]) == 0
    assert "warning" not in capsys.readouterr().err
    user = pd.read_csv(other / "interactions.csv")["user_id"].iloc[0]
    assert main(["recommend", str(model_path), "--data", str(other), "--user", str(user), "--skip-unknown"]) == 0
    err = capsys.readouterr().err
    assert "warning: The data differs" in err or "warning: This data does not match" in err


def test_an_item_only_a_one_interaction_user_has_is_not_a_mismatch(model_and_data):
    model, df = model_and_data
    lone = pd.DataFrame({"user_id": [999_999], "item_id": [777_777], "datetime": [pd.Timestamp("2021-05-01")],
                         "weight": np.float32([1.0])})
    data = pd.concat([df, lone], ignore_index=True)
    old = dataclasses.replace(model, data_fingerprint="")  # catalog check only
    assert check_data_match(old, filter_for_model(old, data).interactions).ok
