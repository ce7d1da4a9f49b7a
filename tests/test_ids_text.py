"""User and item ids of any kind: whole numbers (int64) or text, kept exactly as given.

The core of these tests: a dataset whose ids are text behaves exactly like the same dataset
with integer ids (same sequences, same model, same scores), and every place an id leaves
the core (frames, CSVs, checkpoints, the CLI) shows it as it was written.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core.checkpoint import load_checkpoint, save_checkpoint
from core.config import SASRecConfig
from core.data import load_csv, load_kion, load_movielens
from core.errors import DataError, UnknownItemError, UnknownUserError
from core.evaluate import leave_last_out, popular_recommendations
from core.evaluate_model import evaluate_split
from core.explain import attention_contributions, embedding_map, leave_one_out_contributions
from core.filters import FilterConfig, apply_filters
from core.ids import IdIndex, as_id_array, id_like, parse_id, to_kind, whole_number_ids
from core.recommend import Recommender, with_titles
from core.runs import data_fingerprint
from core.sequences import ItemIdMap, UserHistories, build_training_sequences
from core.train import fit
from tests.synthetic import chain_interactions
from tests.cli_runner import run_cli as run

CONFIG = dict(n_factors=16, n_blocks=1, session_maxlen=8, batch_size=64, epochs=1, device="cpu", seed=5)
TRAIN = ["--epochs", "1", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
         "--min-item-freq", "1", "--min-total-dur", "0", "--device", "cpu"]


def user_text(u: int) -> str:
    return f"u_{u:06d}"  # zero-padded: text order == numeric order


def item_text(i: int) -> str:
    return f"A2SUAM{i:06d}X"  # Amazon-style


def as_text_ids(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its ids rewritten as text, order preserved (a bijection)."""
    return df.assign(
        user_id=as_id_array([user_text(u) for u in df["user_id"]]),
        item_id=as_id_array([item_text(i) for i in df["item_id"]]),
    )




def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


# --------------------------------------------------------------------------- the id helpers


def test_id_arrays_keep_their_kind() -> None:
    assert as_id_array([3, 1]).dtype == np.int64
    text = as_id_array(["012", "u_1"])
    assert text.dtype == object and text.tolist() == ["012", "u_1"]
    assert as_id_array(np.array(["7", "8"])).tolist() == ["7", "8"]  # text that looks numeric stays text
    assert as_id_array(pd.Series(["a", "b"], dtype="str")).dtype == object
    assert as_id_array([1, "x"]).tolist() == ["1", "x"]  # a mix is text
    with pytest.raises(TypeError):
        as_id_array([True, False])


def test_parse_id_and_to_kind() -> None:
    assert parse_id(" 42 ", "int") == 42 and parse_id(" 42 ", "text") == " 42 "
    with pytest.raises(ValueError, match="whole number"):
        parse_id("4.5", "int")
    with pytest.raises(ValueError, match="64-bit"):
        parse_id("9" * 30, "int")
    assert parse_id(str(2**63 - 1), "int") == 2**63 - 1
    ids, valid = to_kind(["12", "x", "9" * 30], np.array([1], dtype=np.int64))
    assert ids.dtype == np.int64 and ids[0] == 12 and valid.tolist() == [True, False, False]
    ids, valid = to_kind([12, "x"], as_id_array(["a"]))
    assert ids.tolist() == ["12", "x"] and valid.all()
    assert id_like(np.int64(7), as_id_array(["7"])) == "7" and id_like("x", np.zeros(1, np.int64)) is None


def test_whole_number_ids_decide_the_kind() -> None:
    assert whole_number_ids(as_id_array(["1", " 2", "+3", "4.0", "-5"])).tolist() == [1, 2, 3, 4, -5]
    assert whole_number_ids(as_id_array(["1", "u2"])) is None
    assert whole_number_ids(as_id_array(["1", "2.5"])) is None
    assert whole_number_ids(as_id_array([str(2**63)])) is None  # beyond int64: text
    assert whole_number_ids(as_id_array([str(-(2**63))])).tolist() == [-(2**63)]


def test_id_index_looks_up_both_kinds() -> None:
    text = IdIndex(as_id_array(["b", "a", "c"]))
    assert text.positions(["c", "zz", 5, "a"]).tolist() == [2, -1, -1, 1]
    ints = IdIndex(np.array([50, 30, 90]))
    assert ints.positions([90, "30", "x", 40]).tolist() == [2, 1, -1, -1]


def test_item_id_map_with_text_ids() -> None:
    ids = as_id_array(["B", "A", "B", "012"])
    m = ItemIdMap.from_ids(ids)
    assert m.text_ids and m.n_items == 3 and m.external.tolist() == ["", "B", "A", "012"]
    assert m.to_internal(["A", "012", "12", "nope"]).tolist() == [2, 3, 0, 0]
    assert m.to_external(np.array([3, 1])).tolist() == ["012", "B"]
    assert not ItemIdMap.from_ids(np.array([5, 7])).text_ids


# --------------------------------------------------------------------------- loading


def test_generic_csv_keeps_text_ids_exactly(tmp_path: Path) -> None:
    uuid = "3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f"
    path = write(
        tmp_path / "log.csv",
        "user,item,ts\n"
        "u_148,A2SUAM1J3GNN3B,1600000000\n"
        f'"{uuid}",012,1600000060\n'
        '"u,149",  spaced ,1600000120\n'
        "u_148,12,1600000180\n",
    )
    df = load_csv(path, user_col="user", item_col="item", datetime_col="ts").interactions
    assert df["user_id"].dtype == "str" and df["item_id"].dtype == "str"
    assert df["user_id"].tolist() == ["u_148", uuid, "u,149", "u_148"]
    # kept exactly: leading zeros, inner and surrounding spaces, "12" distinct from "012"
    assert df["item_id"].tolist() == ["A2SUAM1J3GNN3B", "012", "  spaced ", "12"]


def test_users_and_items_are_independent(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "user,item,ts\n7,x1,1600000000\n8,0x2,1600000060\n")
    df = load_csv(path, user_col="user", item_col="item", datetime_col="ts").interactions
    assert df["user_id"].dtype == np.int64 and df["user_id"].tolist() == [7, 8]
    assert df["item_id"].tolist() == ["x1", "0x2"]


def test_integer_ids_stay_int64(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "user,item,ts\n7,12,1600000000\n8,+5,1600000060\n")
    df = load_csv(path, user_col="user", item_col="item", datetime_col="ts").interactions
    assert df["user_id"].dtype == np.int64 and df["item_id"].dtype == np.int64
    assert df["item_id"].tolist() == [12, 5]
    padded = write(tmp_path / "padded.csv", "user,item,ts\n7,012,1600000000\n8,+5,1600000060\n")
    df = load_csv(padded, user_col="user", item_col="item", datetime_col="ts").interactions
    assert df["user_id"].dtype == np.int64 and df["item_id"].tolist() == ["012", "+5"]  # a code: text as written
    big = write(tmp_path / "big.csv", f"user,item,ts\n{2**63},1,1600000000\n1,2,1600000060\n")
    df = load_csv(big, user_col="user", item_col="item", datetime_col="ts").interactions
    assert df["user_id"].tolist() == [str(2**63), "1"]  # too large for int64: text, not an error


def test_blank_text_ids_name_file_column_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "user,item,ts\nu1,i1,1600000000\n,i2,1600000060\nu3,i3,1600000120\n  ,i4,1\n")
    with pytest.raises(DataError) as info:
        load_csv(path, user_col="user", item_col="item", datetime_col="ts")
    msg = str(info.value)
    assert "log.csv" in msg and "'user'" in msg and "lines 3, 5" in msg and "must not be empty" in msg


KION_HEADER = "user_id,item_id,last_watch_dt,total_dur,watched_pct\n"


def test_kion_side_tables_get_the_interactions_id_kind(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", KION_HEADER + "u1,012,2021-05-01,100,50\nu2,A7,2021-05-02,100,50\n")
    # every items id is a whole number, but the interactions' ids are text: "012" must stay "012"
    write(tmp_path / "items_en.csv", "item_id,title\n012,Zero twelve\n12,Twelve\n")
    write(tmp_path / "users_en.csv", "user_id,age\nu1,age_25_34\n")
    data = load_kion(tmp_path)
    assert data.items["item_id"].tolist() == ["012", "12"] and data.items["item_id"].dtype == "str"
    titled = with_titles(data.interactions[["item_id"]], data.items, ["title"])
    assert titled["title"].tolist()[0] == "Zero twelve" and pd.isna(titled["title"].tolist()[1])
    assert data.users["user_id"].tolist() == ["u1"]


def test_kion_integer_interactions_with_text_item_ids(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", KION_HEADER + "1,12,2021-05-01,100,50\n2,13,2021-05-02,100,50\n")
    write(tmp_path / "items_en.csv", "item_id,title\n12,Twelve\nx9,Not an integer\n13.0,Thirteen\n012,Twelve again\n")
    data = load_kion(tmp_path)
    assert data.items["item_id"].dtype == np.int64 and data.items["item_id"].tolist() == [12, 13]
    assert with_titles(data.interactions[["item_id"]], data.items, ["title"])["title"].tolist() == ["Twelve", "Thirteen"]
    notes = " ".join(data.notes)
    assert "'x9'" in notes and "not a whole number" in notes and "'012'" in notes


def test_movielens_items_follow_the_ratings_kind(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n")
    write(tmp_path / "movies.csv", "movieId,title,genres\n1,Toy Story (1995),Comedy\nabc,Broken (1990),Drama\n3,Heat (1995),Action\n")
    data = load_movielens(tmp_path)
    assert data.items["item_id"].tolist() == [1, 3] and data.items["item_id"].dtype == np.int64
    assert any("'abc'" in n for n in data.notes)


# --------------------------------------------------------------------------- the engine


@pytest.fixture(scope="module")
def pair():
    """The same interactions with integer and with text ids, and a model fitted on each."""
    ints = chain_interactions(n_users=200, n_items=30, length=8)
    text = as_text_ids(ints)
    config = SASRecConfig(**CONFIG)
    m_int = fit(ints, config, filter_config={"min_item_freq": 1}).model
    m_text = fit(text, config, filter_config={"min_item_freq": 1}).model
    return ints, text, m_int, m_text


def test_filters_with_text_ids_report_the_same_counts(pair) -> None:
    ints, text, *_ = pair
    cfg = FilterConfig(min_item_freq=60, min_user_interactions=2)
    a, b = apply_filters(ints, cfg), apply_filters(text, cfg)
    assert a.report().equals(b.report())
    assert b.interactions["user_id"].tolist() == [user_text(u) for u in a.interactions["user_id"]]
    assert b.interactions["item_id"].dtype == "str"


def test_sequences_and_model_match_the_integer_twin(pair) -> None:
    ints, text, m_int, m_text = pair
    s_int, s_text = build_training_sequences(ints, 8), build_training_sequences(text, 8)
    assert torch.equal(s_int.x, s_text.x) and torch.equal(s_int.y, s_text.y)
    assert s_text.user_ids.tolist() == [user_text(u) for u in s_int.user_ids]
    assert m_text.item_map.external[1:].tolist() == [item_text(i) for i in m_int.item_map.external[1:]]
    assert m_int.history.step_losses == pytest.approx(m_text.history.step_losses)


def test_recommend_similar_explain_with_text_ids(pair) -> None:
    ints, text, m_int, m_text = pair
    r_int = Recommender(m_int, UserHistories.from_interactions(ints))
    r_text = Recommender(m_text, UserHistories.from_interactions(text))
    a = r_int.recommend([10, 20], k=5)
    b = r_text.recommend([user_text(10), user_text(20)], k=5)
    assert b["user_id"].tolist() == [user_text(u) for u in a["user_id"]]
    assert b["item_id"].tolist() == [item_text(i) for i in a["item_id"]]
    np.testing.assert_allclose(b["score"], a["score"], rtol=1e-5)

    s_a, s_b = r_int.similar([100], k=4), r_text.similar([item_text(100)], k=4)
    assert s_b["target_item_id"].tolist() == [item_text(100)] * 4
    assert s_b["item_id"].tolist() == [item_text(i) for i in s_a["item_id"]]

    loo_a = leave_one_out_contributions(r_int, 10, int(a["item_id"][0]))
    loo_b = leave_one_out_contributions(r_text, user_text(10), item_text(int(a["item_id"][0])))
    assert loo_b["item_id"].tolist() == [item_text(i) for i in loo_a["item_id"]]
    att = attention_contributions(r_text, user_text(10))
    assert set(att["item_id"]) <= set(text["item_id"])
    assert embedding_map(r_text)["item_id"].tolist() == m_text.item_map.external[1:].tolist()

    with pytest.raises(UnknownUserError, match="u_999999"):
        r_text.recommend(["u_999999"])
    with pytest.raises(UnknownUserError, match="10"):
        r_text.recommend([10])  # an int asks for the text id "10", which does not exist
    skipped = r_text.recommend([user_text(10), "nobody"], k=3, skip_unknown=True)
    assert skipped.attrs["skipped_users"] == ["nobody"] and set(skipped["user_id"]) == {user_text(10)}
    with pytest.raises(UnknownItemError, match="A2SUAM999999X"):
        r_text.similar(["A2SUAM999999X"])
    # integer models take typed text ids, and text that is no whole number is just unknown
    assert r_int.recommend(["10"], k=5)["item_id"].tolist() == a["item_id"][:5].tolist()
    with pytest.raises(UnknownUserError, match="u_10"):
        r_int.recommend(["u_10"])


def test_evaluate_with_text_ids_matches_the_integer_twin(pair) -> None:
    ints, text, m_int, m_text = pair
    split_int, split_text = leave_last_out(ints), leave_last_out(text)
    assert split_int.dropped == split_text.dropped and len(split_int.test) == len(split_text.test)
    table_int = evaluate_split(m_int, split_int, (5,))
    table_text = evaluate_split(m_text, split_text, (5,))
    pd.testing.assert_frame_equal(table_int, table_text, rtol=1e-5)
    pop = popular_recommendations(split_text.train, [user_text(10)], 3)
    assert pop["user_id"].tolist() == [user_text(10)] * 3 and pop["item_id"].dtype == "str"


def test_data_fingerprint_hashes_text_ids(pair) -> None:
    _, text, *_ = pair
    fp = data_fingerprint(text)
    assert fp == data_fingerprint(text.copy()) and len(fp) == 16
    other = text.assign(user_id=text["user_id"].str.replace("u_", "v_"))
    assert data_fingerprint(other) != fp


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_with_text_ids(pair, tmp_path: Path) -> None:
    _, text, _, m_text = pair
    path = save_checkpoint(m_text, tmp_path / "text.pt")
    payload = torch.load(path, map_location="cpu", weights_only=True)  # no pickle needed
    assert payload["version"] == 2
    assert payload["item_ids"] == [""] + m_text.item_map.external[1:].tolist()
    loaded, _ = load_checkpoint(path)
    assert loaded.item_map.text_ids and loaded.item_map.external.tolist() == m_text.item_map.external.tolist()
    hist = UserHistories.from_interactions(text)
    assert Recommender(loaded, hist).recommend([user_text(10)], k=5).equals(Recommender(m_text, hist).recommend([user_text(10)], k=5))


def test_integer_checkpoints_keep_the_version_1_format(pair, tmp_path: Path) -> None:
    ints, _, m_int, _ = pair
    path = save_checkpoint(m_int, tmp_path / "int.pt")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["version"] == 1 and payload["item_ids"].dtype == torch.int64
    # a file written the old way (version 1, an int64 tensor) still loads
    old = dict(payload, item_ids=torch.from_numpy(np.asarray(m_int.item_map.external, dtype=np.int64).copy()))
    torch.save(old, tmp_path / "old.pt")
    loaded, _ = load_checkpoint(tmp_path / "old.pt")
    assert not loaded.item_map.text_ids and loaded.item_map.external.tolist() == m_int.item_map.external.tolist()


def test_checkpoint_with_bad_item_ids_is_refused(pair, tmp_path: Path) -> None:
    from core.errors import CheckpointError

    _, _, m_int, m_text = pair
    payload = torch.load(save_checkpoint(m_text, tmp_path / "t.pt"), map_location="cpu", weights_only=True)
    torch.save(dict(payload, item_ids=[1, 2]), tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="item_ids"):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save(dict(payload, item_ids=torch.zeros(len(payload["item_ids"]), dtype=torch.float32)), tmp_path / "bad2.pt")
    with pytest.raises(CheckpointError, match="int64"):
        load_checkpoint(tmp_path / "bad2.pt")


# --------------------------------------------------------------------------- the CLI


def write_text_kion(folder: Path) -> pd.DataFrame:
    """A KION-shaped folder whose user and item ids are text."""
    folder.mkdir(parents=True, exist_ok=True)
    df = as_text_ids(chain_interactions(n_users=150, n_items=25, length=8))
    out = pd.DataFrame({
        "user_id": df["user_id"], "item_id": df["item_id"], "last_watch_dt": df["datetime"].dt.strftime("%Y-%m-%d"),
        "total_dur": 1000, "watched_pct": 50,
    })
    out.to_csv(folder / "interactions.csv", index=False)
    items = sorted(set(df["item_id"]))
    pd.DataFrame({"item_id": items, "title": [f"Film {i}" for i in items]}).to_csv(folder / "items_en.csv", index=False)
    return df


@pytest.fixture(scope="module")
def text_cli(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    folder = tmp_path_factory.mktemp("text-kion")
    df = write_text_kion(folder)
    model = folder / "model.pt"
    code, _, err = run("train", str(folder), "--out", str(model), *TRAIN)
    assert code == 0, err
    yield folder, model, df
    mp.undo()


def test_cli_recommend_with_text_ids(text_cli) -> None:
    folder, model, _ = text_cli
    users = [user_text(10), user_text(20)]
    code, out, err = run("recommend", str(model), "--data", str(folder), "--user", *users, "--k", "3")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), dtype=str)
    assert frame["user_id"].tolist() == [users[0]] * 3 + [users[1]] * 3
    assert all(i.startswith("A2SUAM") for i in frame["item_id"])
    assert (frame["title"] == "Film " + frame["item_id"]).all()
    ids = folder / "users.txt"
    ids.write_text("user_id\n" + "\n".join(users) + "\n\n")
    code, out2, err = run("recommend", str(model), "--data", str(folder), "--users-file", str(ids), "--k", "3")
    assert code == 0, err
    assert out2 == out


def test_cli_similar_with_text_ids_and_fed_back_output(text_cli, tmp_path: Path) -> None:
    folder, model, _ = text_cli
    code, out, err = run("similar", str(model), "--data", str(folder), "--item", item_text(100), "--k", "2")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), dtype=str)
    assert frame["target_item_id"].tolist() == [item_text(100)] * 2
    # the output CSV itself is a valid --items-file (first column, header skipped)
    feed = tmp_path / "similar.csv"
    feed.write_text(out)
    code, out2, err = run("similar", str(model), "--data", str(folder), "--items-file", str(feed), "--k", "2")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out2), dtype=str)["target_item_id"].tolist() == [item_text(100)] * 4


def test_cli_text_ids_that_look_numeric_stay_text(text_cli) -> None:
    folder, model, _ = text_cli
    code, _, err = run("recommend", str(model), "--data", str(folder), "--user", "10")
    assert code == 2 and err.count("\n") == 1 and "User 10 is not in the data" in err


@pytest.fixture(scope="module")
def int_cli(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SASREC_STUDIO_HOME", str(home))
    folder = tmp_path_factory.mktemp("int-kion")
    ints = chain_interactions(n_users=150, n_items=25, length=8)
    pd.DataFrame({
        "user_id": ints["user_id"], "item_id": ints["item_id"], "last_watch_dt": ints["datetime"].dt.strftime("%Y-%m-%d"),
        "total_dur": 1000, "watched_pct": 50,
    }).to_csv(folder / "interactions.csv", index=False)
    model = folder / "model.pt"
    code, _, err = run("train", str(folder), "--out", str(model), *TRAIN)
    assert code == 0, err
    yield folder, model
    mp.undo()


def test_cli_integer_dataset_still_writes_integers(int_cli) -> None:
    folder, model = int_cli
    code, out, err = run("recommend", str(model), "--data", str(folder), "--user", "10", "+20", "--k", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "user_id,item_id,score,rank,title"
    assert [line.split(",")[0] for line in lines[1:]] == ["10", "10", "20", "20"]
    assert all(line.split(",")[1].isdigit() for line in lines[1:])
    code, out, err = run("similar", str(model), "--data", str(folder), "--item", "100", "--k", "2")
    assert code == 0, err
    rows = [line.split(",") for line in out.splitlines()[1:]]
    assert len(rows) == 2 and all(r[0] == "100" and r[1].isdigit() for r in rows)


@pytest.mark.parametrize(
    ("command", "option", "value", "expected"),
    [
        ("recommend", "--user", "u_10", "is not a whole number"),
        ("recommend", "--user", "1" * 30, "too large for a 64-bit integer"),
        ("recommend", "--user", "-" + "9" * 25, "too large for a 64-bit integer"),
        ("similar", "--item", "12.5", "is not a whole number"),
        ("similar", "--item", "9" * 20, "too large for a 64-bit integer"),
    ],
)
def test_cli_integer_model_refuses_values_that_are_no_int64(int_cli, command, option, value, expected) -> None:
    folder, model = int_cli
    code, out, err = run(command, str(model), "--data", str(folder), option, value)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {option}: ") and expected in err and value in err
    assert "Traceback" not in err


def test_cli_integer_model_refuses_bad_lines_of_an_ids_file(int_cli, tmp_path: Path) -> None:
    folder, model = int_cli
    ids = tmp_path / "ids.txt"
    ids.write_text("user_id\n10\nu_10\n" + "9" * 30 + "\n")
    code, out, err = run("recommend", str(model), "--data", str(folder), "--users-file", str(ids))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "ids.txt" in err and "lines 3, 4" in err and "'u_10'" in err and "Traceback" not in err


def test_cli_huge_id_in_a_fresh_process_is_one_line(int_cli) -> None:
    folder, model = int_cli
    proc = subprocess.run(
        [sys.executable, "-m", "core", "recommend", str(model), "--data", str(folder), "--user", "1" * 30],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and "64-bit" in proc.stderr


def test_zero_padded_ids_are_kept_as_written_and_never_merged(tmp_path) -> None:
    from core.data import load_kion

    folder = tmp_path / "kion"
    folder.mkdir()
    (folder / "interactions.csv").write_text(
        "user_id,item_id,last_watch_dt,total_dur,watched_pct\n"
        "07,0042,2021-03-13,400,50\n7,42,2021-03-14,400,50\n001307,0042,2021-03-15,400,50\n"
    )
    df = load_kion(folder).interactions
    assert df["user_id"].tolist() == ["07", "7", "001307"] and df["item_id"].tolist() == ["0042", "42", "0042"]
    assert whole_number_ids(as_id_array(["07", "7"])) is None  # "07" is a code, not the number 7
