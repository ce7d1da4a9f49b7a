"""What-if sessions: a hand-built history is scored exactly as a user with that history;
unknown items are dropped and listed; an empty session is refused. Explanations follow it."""
import io

import numpy as np
import pandas as pd
import pytest

from core.config import SASRecConfig
from core.errors import RecommendError, UnknownItemError
from core.explain import (
    attention_contributions,
    attention_maps,
    leave_one_out_contributions,
    session_attention_contributions,
    session_attention_maps,
    session_leave_one_out_contributions,
)
from core.recommend import WHAT_IF_USER, Recommender
from core.sequences import UserHistories
from core.train import fit
from tests.synthetic import chain_interactions
from tests.cli_runner import run_cli as run

GHOST = 999_999  # a user id absent from the chain data


@pytest.fixture(scope="module")
def trained():
    df = chain_interactions(n_users=120, n_items=20, length=6)
    config = SASRecConfig(n_factors=16, n_blocks=1, session_maxlen=5, batch_size=32, epochs=3, lr=5e-3, device="cpu")
    return df, fit(df, config).model


def user_rows(user: int, items: list) -> pd.DataFrame:
    """Interactions of ``user`` with exactly ``items``, in this order (an hour apart)."""
    rows = pd.DataFrame({
        "user_id": np.full(len(items), user, dtype=np.int64),
        "item_id": np.asarray(items, dtype=np.int64),
        "datetime": pd.Timestamp("2022-01-01") + pd.to_timedelta(np.arange(len(items)), unit="h"),
        "weight": np.ones(len(items), dtype=np.float32),
    })
    return rows


def recommender(df: pd.DataFrame, model, user: int | None = None, items: list | None = None) -> Recommender:
    """A recommender over ``df``, plus ``user`` with exactly ``items`` when given."""
    data = df if user is None else pd.concat([df, user_rows(user, items)], ignore_index=True)
    return Recommender(model, UserHistories.from_interactions(data))


@pytest.mark.parametrize("session", [
    [300, 400, 500],
    [1200, 100, 1200, 700],  # a repeat, and order that is not the chain's
    [100, 200, 300, 400, 500, 600, 700, 800],  # longer than session_maxlen: the last 5 count
    [500],
])
@pytest.mark.parametrize("filter_viewed", [True, False])
def test_what_if_equals_recommending_for_a_user_with_that_history(trained, session, filter_viewed):
    df, model = trained
    rec = recommender(df, model, GHOST, session)
    as_user = rec.recommend([GHOST], k=7, filter_viewed=filter_viewed)
    what_if = recommender(df, model).recommend_session(session, k=7, filter_viewed=filter_viewed)
    assert (what_if["user_id"] == WHAT_IF_USER).all() and list(what_if.columns) == ["user_id", "item_id", "score", "rank"]
    assert what_if["rank"].tolist() == list(range(1, 8))
    pd.testing.assert_frame_equal(what_if.drop(columns="user_id"), as_user.drop(columns="user_id"), rtol=1e-6)
    if filter_viewed:
        assert not set(what_if["item_id"]) & set(session)
    assert what_if.attrs["unknown_items"] == []


def test_unknown_items_are_dropped_named_and_change_nothing(trained):
    df, model = trained
    rec = recommender(df, model)
    clean = rec.recommend_session([300, 400, 500], k=5)
    noisy = rec.recommend_session([31337, 300, 400, "not-an-int", 500], k=5)
    assert noisy.attrs["unknown_items"] == [31337, "not-an-int"]
    pd.testing.assert_frame_equal(noisy, clean)
    # a user whose history holds the same unknown item is scored the same way
    as_user = recommender(df, model, GHOST, [31337, 300, 400, 500]).recommend([GHOST], k=5)
    pd.testing.assert_frame_equal(noisy.drop(columns="user_id"), as_user.drop(columns="user_id"), rtol=1e-6)


def test_text_item_ids_are_read_in_the_models_kind(trained):
    df, model = trained
    rec = recommender(df, model)
    pd.testing.assert_frame_equal(rec.recommend_session(["300", "400"], k=4), rec.recommend_session([300, 400], k=4))


@pytest.mark.parametrize("session, message", [
    ([], "empty"),
    ([31337, 42], "None of the 2 item"),
])
def test_an_empty_or_all_unknown_session_is_refused(trained, session, message):
    df, model = trained
    rec = recommender(df, model)
    with pytest.raises(RecommendError, match=message):
        rec.recommend_session(session)
    with pytest.raises(RecommendError, match=message):
        session_attention_maps(rec, session)
    with pytest.raises(RecommendError, match=message):
        session_leave_one_out_contributions(rec, session, 300)


def test_k_larger_than_the_catalog_returns_every_unseen_item(trained):
    df, model = trained
    out = recommender(df, model).recommend_session([300, 400], k=10_000)
    assert len(out) == model.item_map.n_items - 2


def test_explanations_of_a_session_equal_those_of_a_user_with_that_history(trained):
    df, model = trained
    session = [31337, 700, 800, 900, 1000, 1100, 1200]  # unknown item first; longer than maxlen
    rec_user = recommender(df, model, GHOST, session)
    rec = recommender(df, model)
    maps_user, items_user = attention_maps(rec_user, GHOST)
    maps, items = session_attention_maps(rec, session)
    assert items.tolist() == items_user.tolist() == session[-5:]
    for a, b in zip(maps, maps_user):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    pd.testing.assert_frame_equal(session_attention_contributions(rec, session), attention_contributions(rec_user, GHOST))
    target = rec.recommend_session(session, k=1)["item_id"].iloc[0]
    pd.testing.assert_frame_equal(
        session_leave_one_out_contributions(rec, session, target), leave_one_out_contributions(rec_user, GHOST, target),
    )
    with pytest.raises(UnknownItemError, match="31337"):
        session_leave_one_out_contributions(rec, session, 31337)


# --------------------------------------------------------------------------- CLI




@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    folder = tmp_path_factory.mktemp("demo")
    from core.demo import write_demo

    write_demo(folder, n_users=300, n_items=60)
    model = folder / "model.pt"
    code, _, err = run("train", str(folder), "--out", str(model), "--epochs", "1", "--n-factors", "16", "--n-blocks", "1",
                       "--session-maxlen", "8", "--min-item-freq", "1", "--device", "cpu")
    assert code == 0, err
    yield folder, model
    mp.undo()


def test_cli_history_prints_the_sessions_top_k_and_names_unknown_items(cli_model):
    folder, model = cli_model
    items = pd.read_csv(folder / "interactions.csv")["item_id"].value_counts().index[:3].tolist()
    code, out, err = run("recommend", str(model), "--data", str(folder), "--history", str(items[0]), "31337", str(items[1]),
                         str(items[2]), "--k", "4")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["user_id", "item_id", "score", "rank", "title"]
    assert frame["user_id"].tolist() == ["what-if"] * 4 and frame["title"].notna().all()
    assert not set(frame["item_id"]) & set(items)
    assert "31337" in err and "skipped 1 item" in err


@pytest.mark.parametrize("argv, words", [
    (["--history", "31337", "424242"], ["31337", "424242", "catalog"]),
    (["--history", "abc"], ["abc"]),
    (["--history", "1", "--user", "1"], ["not allowed with"]),
    (["--history"], ["--history"]),
    (["--history", "1", "--skip-unknown"], ["--skip-unknown", "--history"]),
])
def test_cli_history_errors_are_one_line(cli_model, argv, words):
    folder, model = cli_model
    code, out, err = run("recommend", str(model), "--data", str(folder), *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err
