"""Opening what people download: the KION zip, .csv.gz, MovieLens-1M/10M .dat, the SASRec
paper format, any log through a column mapping, and the one entry point ``load_data``."""
from __future__ import annotations

import gzip
import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import load_folder, load_movielens, load_sasrec
from core.errors import DataError, UnrecognisedDataError
from core.load import CsvMapping, LoadOptions, detect_file_format, load_data
from core.preview import WHITESPACE, preview_file
from tests.cli_runner import run_cli as run

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

INTERACTIONS = (
    "user_id,item_id,last_watch_dt,total_dur,watched_pct\n"
    "176549,9506,2021-05-11,4250,72.0\n699317,1659,2021-05-29,8317,100.0\n656683,7107,2021-05-09,10,0.0\n"
)
ITEMS = "item_id,content_type,title,release_year\n9506,film,Talk to her,2002.0\n1659,series,Naked Peppers,2014.0\n"
USERS = "user_id,age,sex\n176549,age_25_34,M\n699317,age_18_24,F\n"


def data_error(fn, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    return info.value


def assert_integer_kion(data) -> None:
    df = data.interactions
    assert df["user_id"].dtype == np.int64 and df["item_id"].dtype == np.int64
    assert df["datetime"].dtype == np.dtype("datetime64[ns]")
    assert df["user_id"].tolist() == [176549, 699317, 656683]
    assert df["datetime"].tolist() == [pd.Timestamp("2021-05-11"), pd.Timestamp("2021-05-29"), pd.Timestamp("2021-05-09")]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``tempfile`` at an empty folder, to see what a load leaves behind."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


def kion_zip(path: Path, files: dict[str, str] | None = None, folder: str = "data_en") -> Path:
    """A zip laid out like KION's data_en.zip: data_en/*.csv plus __MACOSX resource forks."""
    files = files if files is not None else {"interactions.csv": INTERACTIONS, "items_en.csv": ITEMS, "users_en.csv": USERS}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{folder}/", b"")
        for name, text in files.items():
            zf.writestr(f"{folder}/{name}", text)
            zf.writestr(f"__MACOSX/{folder}/._{name}", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
        zf.writestr(f"__MACOSX/._{folder}", b"\x00\x05\x16\x07")
    return path


# --------------------------------------------------------------------------- zip


def test_kion_zip_opens_directly_and_leaves_nothing(tmp_path: Path, private_tmp: Path) -> None:
    archive = kion_zip(tmp_path / "data_en.zip")
    for data in (load_data(archive), load_folder(archive), load_data(archive, LoadOptions(fmt="kion"))):
        assert data.format == "kion" and data.source == str(archive)
        assert_integer_kion(data)
        assert data.items["title"].tolist() == ["Talk to her", "Naked Peppers"]
        assert data.users["age"].tolist() == ["age_25_34", "age_18_24"]
    assert list(private_tmp.iterdir()) == []


def test_zip_errors_name_archive_and_member(tmp_path: Path, private_tmp: Path) -> None:
    bad = INTERACTIONS + "1,2,not a date,3,4\n"
    archive = kion_zip(tmp_path / "data_en.zip", {"interactions.csv": bad})
    err = data_error(load_data, archive)
    msg = str(err)
    assert str(archive) in msg and "data_en/interactions.csv" in msg, msg
    assert err.column == "last_watch_dt" and err.rows == [5]
    assert "sasrec-studio-zip" not in msg
    assert list(private_tmp.iterdir()) == []


def test_zip_without_interactions_is_unrecognised(tmp_path: Path, private_tmp: Path) -> None:
    archive = kion_zip(tmp_path / "data_en.zip", {"items_en.csv": ITEMS, "users_en.csv": USERS})
    err = data_error(load_data, archive)
    assert isinstance(err, UnrecognisedDataError)
    msg = str(err)
    assert str(archive) in msg and "interactions.csv" in msg and "data_en/items_en.csv" in msg, msg
    assert "__MACOSX" not in msg
    err = data_error(load_data, archive, LoadOptions(fmt="kion"))
    assert str(archive) in str(err)
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 this is not really a zip", None])
def test_corrupt_zip(tmp_path: Path, content: bytes | None, private_tmp: Path) -> None:
    archive = tmp_path / "data_en.zip"
    if content is None:  # a download cut in half
        whole = kion_zip(tmp_path / "whole.zip").read_bytes()
        content = whole[: len(whole) // 2]
    archive.write_bytes(content)
    err = data_error(load_data, archive)
    assert str(archive) in str(err) and "zip" in str(err)
    assert list(private_tmp.iterdir()) == []


def test_damaged_zip_member_names_the_member(tmp_path: Path, private_tmp: Path) -> None:
    archive = tmp_path / "data_en.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("data_en/interactions.csv", INTERACTIONS)
    raw = bytearray(archive.read_bytes())
    at = raw.index(b"176549")
    raw[at : at + 6] = b"999999"  # the stored CRC no longer matches
    archive.write_bytes(bytes(raw))
    err = data_error(load_data, archive)
    assert str(archive) in str(err) and "data_en/interactions.csv" in str(err)
    assert list(private_tmp.iterdir()) == []


def test_zip_with_two_datasets_and_zip_of_one_log(tmp_path: Path, private_tmp: Path) -> None:
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/interactions.csv", INTERACTIONS)
        zf.writestr("b/ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n")
    msg = str(data_error(load_data, archive))
    assert "a/" in msg and "b/" in msg and "several" in msg
    # the shallowest dataset wins over one in a subfolder
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("interactions.csv", INTERACTIONS)
        zf.writestr("old/ratings.csv", "userId,movieId,rating,timestamp\n1,2,3,4\n")
    assert load_data(archive).format == "kion"
    one = tmp_path / "log.zip"
    with zipfile.ZipFile(one, "w") as zf:
        zf.writestr("events.tsv", "u\ti\tts\n1\t2\t1600000000\n3\t4\t1600000100\n")
    assert isinstance(data_error(load_data, one), UnrecognisedDataError)
    data = load_data(one, LoadOptions(mapping=CsvMapping("u", "i", "ts")))
    assert data.interactions["item_id"].tolist() == [2, 4] and data.source == str(one)
    msg = str(data_error(load_data, archive, LoadOptions(fmt="sasrec")))
    assert "exactly one file" in msg
    assert list(private_tmp.iterdir()) == []


# --------------------------------------------------------------------------- gzip


def test_gzipped_kion_interactions(tmp_path: Path) -> None:
    (tmp_path / "interactions.csv.gz").write_bytes(gzip.compress(INTERACTIONS.encode()))
    (tmp_path / "items_en.csv").write_text(ITEMS)
    for data in (load_data(tmp_path), load_folder(tmp_path), load_data(tmp_path / "interactions.csv.gz")):
        assert data.format == "kion"
        assert_integer_kion(data)
        assert data.items is not None and len(data.items) == 2


def test_gzipped_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "interactions.csv.gz"
    path.write_bytes(gzip.compress((INTERACTIONS + "\n1,2,2021-05-11,x,1\n").encode()))
    err = data_error(load_data, tmp_path)
    assert "interactions.csv.gz" in str(err) and err.column == "total_dur" and err.rows == [6]
    path.write_bytes(gzip.compress(INTERACTIONS.encode())[:40])  # cut short
    err = data_error(load_data, tmp_path)
    assert "interactions.csv.gz" in str(err) and "damaged" in str(err)
    path.write_bytes(b"plain text, not gzip\n")
    assert "interactions.csv.gz" in str(data_error(load_data, tmp_path))


def test_gzipped_generic_csv(tmp_path: Path) -> None:
    path = tmp_path / "events.csv.gz"
    path.write_bytes(gzip.compress(b"who;what;when;w\n5;7;2021-03-13;2.5\n6;8;2021-03-14;1\n"))
    data = load_data(path, LoadOptions(fmt="csv", mapping=CsvMapping("who", "what", "when", weight="w")))
    df = data.interactions
    assert df["user_id"].tolist() == [5, 6] and df["weight"].tolist() == [2.5, 1.0]
    assert df["datetime"].tolist() == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-14")]


# --------------------------------------------------------------------------- MovieLens-1M/10M


ML1M_RATINGS = "1::1193::5::978300760\n1::661::3::978302109\n2::3068::4.5::978299000\n"
ML1M_MOVIES = (
    "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
    "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
    "260::Star Wars: Episode IV - A New Hope (1977)::Action|Adventure|Fantasy|Sci-Fi\n"
    "3068::Verdict, The (1982)::Drama\n"
    "1533::Caf\u00e9 au lait (1993)::Comedy\n"
)


def test_movielens_1m_dat(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text(ML1M_RATINGS)
    (tmp_path / "movies.dat").write_bytes(ML1M_MOVIES.encode("latin-1"))
    data = load_data(tmp_path)
    assert data.format == "movielens" and data.notes == []
    df = data.interactions
    assert df["user_id"].tolist() == [1, 1, 2] and df["item_id"].tolist() == [1193, 661, 3068]
    assert df["user_id"].dtype == np.int64 and df["datetime"].dtype == np.dtype("datetime64[ns]")
    assert df["rating"].tolist() == [5.0, 3.0, 4.5]
    assert df["datetime"].iloc[0] == pd.Timestamp(978300760, unit="s")
    items = data.items.set_index("item_id")
    assert items.loc[260, "title"] == "Star Wars: Episode IV - A New Hope" and items.loc[260, "release_year"] == 1977
    assert items.loc[661, "genres"] == "Animation, Children's, Musical"
    assert items.loc[1533, "title"] == "Caf\u00e9 au lait"  # Latin-1 decoded
    assert load_data(tmp_path / "ratings.dat").n_interactions == 3  # the file alone
    assert load_movielens(tmp_path).n_interactions == 3


@pytest.mark.parametrize(
    "line, column, needle",
    [("3:1193::4::978300000", None, "single ':'"),  # a lone ':' (one field short)
     ("3::1193::4::978300000::7", None, "'::'"),  # a fifth field
     ("3::1193::five::978300000", "rating", "number"),
     ("3::1193::4::", "timestamp", "unix")],
)
def test_movielens_dat_bad_lines(tmp_path: Path, line: str, column: str | None, needle: str) -> None:
    (tmp_path / "ratings.dat").write_text(ML1M_RATINGS + line + "\n")
    err = data_error(load_data, tmp_path)
    assert "ratings.dat" in str(err) and err.rows == [4], str(err)
    assert needle in str(err)
    if column:
        assert err.column == column


def test_movielens_dat_lone_colon_inside_a_line(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text(ML1M_RATINGS + "3:x:1193::4::978300000\n")
    err = data_error(load_data, tmp_path)
    assert err.rows == [4] and "single ':'" in str(err)


def test_movies_dat_bad_line(tmp_path: Path) -> None:
    (tmp_path / "ratings.dat").write_text(ML1M_RATINGS)
    (tmp_path / "movies.dat").write_text(ML1M_MOVIES + "x12::Broken (1990)::Drama\n42::No genres field\n")
    err = data_error(load_data, tmp_path)
    assert "movies.dat" in str(err) and err.rows == [6, 7]


# --------------------------------------------------------------------------- SASRec format


def test_sasrec_format_keeps_line_order(tmp_path: Path) -> None:
    path = tmp_path / "Beauty.txt"
    path.write_text("1 5\n1 3\n1 9\n2 3\n2  1\n\n3\t7\n")
    for data in (load_sasrec(path), load_data(path), load_data(path, LoadOptions(fmt="sasrec"))):
        df = data.interactions
        assert data.format == "sasrec"
        assert df["user_id"].tolist() == [1, 1, 1, 2, 2, 3] and df["item_id"].tolist() == [5, 3, 9, 3, 1, 7]
        assert df["user_id"].dtype == np.int64 and df["datetime"].dtype == np.dtype("datetime64[ns]")
        assert df["datetime"].is_monotonic_increasing and df["datetime"].is_unique
        assert any("synthesized" in n and "line order" in n for n in data.notes), data.notes
    assert detect_file_format(path) == "sasrec"


def test_sasrec_format_takes_text_ids_as_given(tmp_path: Path) -> None:
    path = tmp_path / "seq.txt"
    path.write_text("u_1 B00X\nu_1 2.5\nu_2 B00X\n")
    df = load_data(path, LoadOptions(fmt="sasrec")).interactions
    assert df["user_id"].tolist() == ["u_1", "u_1", "u_2"] and df["item_id"].tolist() == ["B00X", "2.5", "B00X"]


@pytest.mark.parametrize(
    "text, rows, needle",
    [("1 5\n1 5 7\n", [2], "fields"), ("1 5 7\n1 5 7\n", [1], "2 fields")],
)
def test_sasrec_format_errors(tmp_path: Path, text: str, rows: list[int], needle: str) -> None:
    path = tmp_path / "seq.txt"
    path.write_text(text)
    err = data_error(load_data, path, LoadOptions(fmt="sasrec"))
    assert "seq.txt" in str(err) and needle in str(err), str(err)
    assert err.rows == rows  # no header: the first line is line 1


@pytest.mark.skipif(not (SHARED_DATA / "sasrec-format" / "Video.txt").is_file(), reason="shared data not present")
def test_real_sasrec_files() -> None:
    data = load_data(SHARED_DATA / "sasrec-format" / "Video.txt")
    assert data.format == "sasrec" and data.n_interactions == 287_107
    assert data.interactions["user_id"].nunique() == 31_013 and data.interactions["item_id"].nunique() == 23_715
    beauty = load_data(SHARED_DATA / "sasrec-format" / "Beauty.txt", LoadOptions(fmt="sasrec"))
    assert beauty.n_interactions == 198_502 and beauty.interactions["item_id"].nunique() == 12_101
    # one sequence per line is not the SASRec format: refused with a hint
    err = data_error(load_data, SHARED_DATA / "sasrec-format" / "Beauty_iclrec_sequences.txt", LoadOptions(fmt="sasrec"))
    assert "2 fields" in str(err) and err.rows == [1]


@pytest.mark.skipif(not (SHARED_DATA / "ml-100k" / "u.data").is_file(), reason="shared data not present")
def test_real_movielens_through_load_data() -> None:
    assert load_data(SHARED_DATA / "ml-100k").n_interactions == 100_000
    assert load_data(SHARED_DATA / "ml-100k" / "u.data").n_interactions == 100_000
    data = load_data(SHARED_DATA / "ml-latest-small")
    assert data.n_interactions == 100_836 and data.notes == []


# --------------------------------------------------------------------------- column mapping


def test_mapping_by_name_and_position(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("ts,who,what,score\n1600000000,5,7,4\n1600000060,6,8,2\n")
    by_name = load_data(path, LoadOptions(mapping=CsvMapping("who", "what", "ts", weight="score")))
    by_pos = load_data(path, LoadOptions(fmt="csv", mapping=CsvMapping(1, 2, 0, weight=3)))
    for data in (by_name, by_pos):
        df = data.interactions
        assert data.format == "csv"
        assert df["user_id"].tolist() == [5, 6] and df["item_id"].tolist() == [7, 8]
        assert df["weight"].tolist() == [4.0, 2.0]
        assert df["datetime"].tolist() == [pd.Timestamp(1600000000, unit="s"), pd.Timestamp(1600000060, unit="s")]


def test_mapping_without_header_amazon_style(tmp_path: Path) -> None:
    path = tmp_path / "ratings_Beauty.csv"
    path.write_text("A39HTATAQ9V7YF,0205616461,5.0,1369699200\nA3JM6GV9MNOF9X,B00004TMFE,3.0,1355443200\n")
    with pytest.raises(UnrecognisedDataError):
        load_data(path)
    data = load_data(path, LoadOptions(fmt="csv", mapping=CsvMapping("0", "1", "3", weight="2", header=False)))
    df = data.interactions
    assert df["user_id"].tolist() == ["A39HTATAQ9V7YF", "A3JM6GV9MNOF9X"]
    assert df["item_id"].tolist() == ["0205616461", "B00004TMFE"]  # kept as written
    assert df["weight"].tolist() == [5.0, 3.0]
    assert df["datetime"].tolist() == [pd.Timestamp("2013-05-28"), pd.Timestamp("2012-12-14")]


def test_mapping_sniffs_whitespace_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text("1 10 1600000000\n2  20 1600000001\n")
    data = load_data(path, LoadOptions(mapping=CsvMapping(0, 1, 2, header=False)))
    assert data.interactions["item_id"].tolist() == [10, 20]
    path.write_text("u\ti\tt\n1\t10\t2021-01-02\n")
    data = load_data(path, LoadOptions(mapping=CsvMapping("u", "i", "t")))
    assert data.interactions["datetime"].tolist() == [pd.Timestamp("2021-01-02")]


def test_mapping_naming_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("who,what,ts\n5,7,1600000000\n")
    err = data_error(load_data, path, LoadOptions(mapping=CsvMapping("user", "what", "ts")))
    msg = str(err)
    assert "log.csv" in msg and err.column == "user" and "'who'" in msg and "'ts'" in msg, msg


def test_mapping_position_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("5,7,1600000000\n6,8,1600000001\n")
    err = data_error(load_data, path, LoadOptions(mapping=CsvMapping(0, 1, 5, header=False)))
    msg = str(err)
    assert "log.csv" in msg and "position 5" in msg and "3 field" in msg and err.rows == [1], msg
    path.write_text("who,what,ts\n5,7,1600000000\n")
    err = data_error(load_data, path, LoadOptions(mapping=CsvMapping(0, 1, 3)))
    assert "position 3" in str(err) and "3 column" in str(err)


@pytest.mark.parametrize(
    "options, needle",
    [(LoadOptions(fmt="csv"), "column mapping"),
     (LoadOptions(fmt="parquet"), "'parquet'"),
     (LoadOptions(fmt="kion", mapping=CsvMapping("u", "i", "t")), "format 'csv'"),
     (LoadOptions(mapping=CsvMapping("u", "i", "t", header=False)), "position"),
     (LoadOptions(mapping=CsvMapping("u", "u", "t")), "two roles"),
     (LoadOptions(mapping=CsvMapping(0, 1, -1, header=False)), "0 or more"),
     (LoadOptions(mapping=CsvMapping("u", "i", "t", sep="::")), "separator"),
     (LoadOptions(mapping=CsvMapping("u", "i", "")), "time column")],
)
def test_invalid_options_are_refused_before_reading(tmp_path: Path, options: LoadOptions, needle: str) -> None:
    err = data_error(load_data, tmp_path / "does-not-exist.csv", options)
    assert needle in str(err) and "not found" not in str(err), str(err)


def test_unrecognised_sources(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("customer,product,time\nA,B,2021-01-01\n")
    err = data_error(load_data, path)
    assert isinstance(err, UnrecognisedDataError) and "export.csv" in str(err) and "--user-col" in str(err)
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n")
    (folder / "b.csv").write_text("y\n")
    assert isinstance(data_error(load_data, folder), UnrecognisedDataError)
    assert "not found" in str(data_error(load_data, tmp_path / "nothing-here"))
    # a folder holding one log: the mapping applies to that file
    one = tmp_path / "one"
    one.mkdir()
    (one / "export.csv").write_text("customer,product,time\n1,2,2021-01-01\n")
    data = load_data(one, LoadOptions(mapping=CsvMapping("customer", "product", "time")))
    assert data.interactions["item_id"].tolist() == [2]


# --------------------------------------------------------------------------- preview


@pytest.mark.parametrize(
    "text, sep, header, columns",
    [("user_id,item_id,ts\n1,2,3\n4,5,6\n", ",", True, ["user_id", "item_id", "ts"]),
     ("u;i;when\n1;2;2021-01-01\n", ";", True, ["u", "i", "when"]),
     ("A2SUAM1J3GNN3B\t0000013714\t4.0\t1357603200\nA3\t0000031\t5.0\t1357603201\n", "\t", False, ["0", "1", "2", "3"]),
     ("1 5\n1 7\n2 3\n", WHITESPACE, False, ["0", "1"]),
     ('"a,b",x\n"c,d",y\n', ",", False, ["0", "1"])],
)
def test_preview_sniffs_separator_and_header(tmp_path: Path, text: str, sep: str, header: bool, columns: list[str]) -> None:
    path = tmp_path / "f.txt"
    path.write_text(text)
    preview = preview_file(path)
    assert preview.sep == sep and preview.has_header is header and preview.columns == columns
    lines = text.strip().split("\n")
    assert len(preview.rows) == len(lines) - header
    assert all(len(r) == len(columns) for r in preview.rows)


def test_preview_rows_gz_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(("u,i,t\n" + "".join(f"{k},{k + 1},{k + 2}\n" for k in range(100))).encode()))
    preview = preview_file(path, n_rows=5)
    assert preview.rows == [[str(k), str(k + 1), str(k + 2)] for k in range(5)]
    assert preview_file(path, n_rows=5, sep=";").columns == ["0"]  # the stated separator is used
    (tmp_path / "empty.csv").write_text("")
    assert "empty" in str(data_error(preview_file, tmp_path / "empty.csv"))
    assert "not found" in str(data_error(preview_file, tmp_path / "missing.csv"))
    assert "folder" in str(data_error(preview_file, tmp_path))


# --------------------------------------------------------------------------- CLI




def test_cli_trains_on_the_kion_zip_and_queries_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.demo import write_demo

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    folder = write_demo(tmp_path / "data_en", n_users=300, n_items=60, seed=5)
    files = {p.name: p.read_text() for p in Path(folder).glob("*.csv")}
    archive = kion_zip(tmp_path / "data_en.zip", files)
    model = tmp_path / "m.pt"
    code, _, err = run("train", str(archive), "--out", str(model), "--epochs", "1", "--n-factors", "8", "--n-blocks",
                       "1", "--session-maxlen", "8", "--min-item-freq", "1", "--device", "cpu")
    assert code == 0, err
    user = pd.read_csv(io.StringIO(files["interactions.csv"]))["user_id"].iloc[0]
    code, out, err = run("recommend", str(model), "--data", str(archive), "--user", str(user), "--k", "3")
    assert code == 0, err
    assert len(pd.read_csv(io.StringIO(out))) == 3


@pytest.mark.parametrize(
    "extra, needle",
    [(["--format", "csv"], "column mapping"),
     (["--user-col", "u", "--item-col", "i"], "--time-col"),
     (["--no-header", "--user-col", "u", "--item-col", "1", "--time-col", "2"], "position"),
     (["--sep", "::", "--user-col", "0", "--item-col", "1", "--time-col", "2"], "separator"),
     (["--date-format", "whenever"], "'whenever'")],
)
def test_cli_data_options_fail_in_one_line(tmp_path: Path, extra: list[str], needle: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text("u,i,t\n1,2,1600000000\n")
    for argv in (["train", str(path), "--out", str(tmp_path / "m.pt")],
                 ["evaluate", str(tmp_path / "m.pt"), "--data", str(path)],
                 ["similar", str(tmp_path / "m.pt"), "--data", str(path), "--item", "2"]):
        code, _, err = run(*argv, *extra)
        assert code == 2 and needle in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
