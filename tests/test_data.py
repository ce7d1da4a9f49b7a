"""core.data: KION / MovieLens / generic CSV loaders and their error messages."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import detect_format, load_csv, load_folder, load_kion, load_movielens
from core.dataset import InteractionData
from core.errors import DataError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

KION_HEADER = "user_id,item_id,last_watch_dt,total_dur,watched_pct\n"
KION_ROWS = "176549,9506,2021-05-11,4250,72.0\n699317,1659,2021-05-29,8317,100.0\n656683,7107,2021-05-09,10,0.0\n"
ITEMS_HEADER = (
    "item_id,content_type,title,title_orig,release_year,genres,countries,for_kids,age_rating,"
    "studios,directors,actors,description,keywords\n"
)
ITEMS_ROWS = (
    '10711,film,Talk to her,Hable con ella,2002.0,"dramas, foreign, detective, melodramas",Spain,,16.0,,'
    'Pedro Almodovar,"Adolfo Fernández, Ana Fernández",Marco is a journalist,"Talk, her"\n'
    "2508,film,Naked Peppers,Search Party,2014.0,"
    '"foreign, adventure, comedies",USA,,16.0,,Scot Armstrong,"Adam Palley, Brian Huskey",Description,"Naked"\n'
)
USERS_HEADER = "user_id,age,income,sex,kids_flg\n"
USERS_ROWS = "973171,age_25_34,income_60_90,M,1\n962099,age_18_24,income_20_40,M,0\n"


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def with_index(csv_text: str, header_cell: str = "") -> str:
    """Prefix every line with a pandas-style index column (header cell '' or 'Unnamed: 0')."""
    lines = csv_text.splitlines()
    out = [f"{header_cell},{lines[0]}"] + [f"{i},{line}" for i, line in enumerate(lines[1:])]
    return "\n".join(out) + "\n"


def assert_core_dtypes(data: InteractionData) -> None:
    df = data.interactions
    assert list(df.columns[:4]) == ["user_id", "item_id", "datetime", "weight"]
    assert df["user_id"].dtype == np.int64
    assert df["item_id"].dtype == np.int64
    assert df["datetime"].dtype == np.dtype("datetime64[ns]")
    assert df["weight"].dtype == np.float32
    for col in ("total_dur", "watched_pct", "rating"):
        if col in df:
            assert df[col].dtype == np.float64
    assert isinstance(df.index, pd.RangeIndex)


def raises_data_error(fn, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    return info.value


def check_message(err: DataError, file: str, column: str | None = None, lines: list[int] | None = None) -> str:
    msg = str(err)
    assert file in msg, msg
    if column is not None:
        assert f"'{column}'" in msg, msg
        assert err.column == column
    if lines is not None:
        assert err.rows == lines, msg
        word = "line " if len(lines) == 1 else "lines "
        assert word + ", ".join(map(str, lines)) in msg, msg
    return msg


# --------------------------------------------------------------------------- KION


@pytest.fixture
def kion_dir(tmp_path: Path) -> Path:
    write(tmp_path / "interactions.csv", KION_HEADER + KION_ROWS)
    return tmp_path


def test_kion_interactions_only(kion_dir: Path) -> None:
    data = load_kion(kion_dir)
    assert_core_dtypes(data)
    df = data.interactions
    assert list(df.columns) == ["user_id", "item_id", "datetime", "weight", "total_dur", "watched_pct"]
    assert df["user_id"].tolist() == [176549, 699317, 656683]
    assert df["item_id"].tolist() == [9506, 1659, 7107]
    assert df["datetime"].tolist() == [pd.Timestamp("2021-05-11"), pd.Timestamp("2021-05-29"), pd.Timestamp("2021-05-09")]
    assert df["weight"].tolist() == [1.0, 1.0, 1.0]
    assert df["total_dur"].tolist() == [4250.0, 8317.0, 10.0]
    assert df["watched_pct"].tolist() == [72.0, 100.0, 0.0]
    assert data.items is None and data.users is None
    assert data.format == "kion"
    assert data.n_interactions == 3
    assert data.notes == []


@pytest.mark.parametrize("header_cell", ["", "Unnamed: 0"])
def test_kion_with_unnamed_index_column(tmp_path: Path, header_cell: str) -> None:
    write(tmp_path / "interactions.csv", with_index(KION_HEADER + KION_ROWS, header_cell))
    write(tmp_path / "items_en.csv", with_index(ITEMS_HEADER + ITEMS_ROWS, header_cell))
    write(tmp_path / "users_en.csv", with_index(USERS_HEADER + USERS_ROWS, header_cell))
    data = load_kion(tmp_path)
    assert_core_dtypes(data)
    assert list(data.interactions.columns) == ["user_id", "item_id", "datetime", "weight", "total_dur", "watched_pct"]
    assert data.interactions["user_id"].tolist() == [176549, 699317, 656683]
    items = data.items
    assert list(items.columns) == ITEMS_HEADER.strip().split(",")
    assert items["item_id"].dtype == np.int64
    assert items["item_id"].tolist() == [10711, 2508]
    assert items["title"].tolist() == ["Talk to her", "Naked Peppers"]
    assert items["genres"].tolist() == ["dramas, foreign, detective, melodramas", "foreign, adventure, comedies"]
    assert str(items["release_year"].dtype) == "Int64"
    assert items["release_year"].tolist() == [2002, 2014]
    assert items["actors"].iloc[0] == "Adolfo Fernández, Ana Fernández"
    users = data.users
    assert list(users.columns) == USERS_HEADER.strip().split(",")
    assert users["user_id"].dtype == np.int64
    assert users["user_id"].tolist() == [973171, 962099]
    assert users["age"].tolist() == ["age_25_34", "age_18_24"]


def test_kion_index_without_header_cell(tmp_path: Path) -> None:
    """Rows with one more field than the header: the extra leading field is an index, not data."""

    def index_rows_only(text: str) -> str:
        lines = text.splitlines()
        return lines[0] + "\n" + "".join(f"{i},{line}\n" for i, line in enumerate(lines[1:]))

    write(tmp_path / "interactions.csv", index_rows_only(KION_HEADER + KION_ROWS))
    write(tmp_path / "users_en.csv", index_rows_only(USERS_HEADER + USERS_ROWS))
    data = load_kion(tmp_path)
    assert data.interactions["user_id"].tolist() == [176549, 699317, 656683]
    assert data.interactions["watched_pct"].tolist() == [72.0, 100.0, 0.0]
    assert list(data.users.columns) == USERS_HEADER.strip().split(",")
    assert data.users["user_id"].tolist() == [973171, 962099]
    assert data.users["kids_flg"].tolist() == [1, 0]


def test_kion_duplicate_items_keep_first_with_note(kion_dir: Path) -> None:
    dup = ITEMS_ROWS.splitlines()[0].replace("Talk to her", "Other title")
    write(kion_dir / "items_en.csv", ITEMS_HEADER + ITEMS_ROWS + dup + "\n")
    data = load_kion(kion_dir)
    assert data.items["item_id"].tolist() == [10711, 2508]
    assert data.items["title"].tolist()[0] == "Talk to her"
    assert any("items_en.csv" in n and "duplicate" in n and "line 4" in n for n in data.notes), data.notes


def test_kion_datetime_fallbacks_and_missing_pct(tmp_path: Path) -> None:
    write(
        tmp_path / "interactions.csv",
        KION_HEADER
        + "1,10,2021-05-11 10:30:00,100,\n"
        + "2,20,2021-05-12T08:00:00+03:00,200,50\n"
        + "3,30,2021-05-13,300,75.5\n",
    )
    data = load_kion(tmp_path)
    assert_core_dtypes(data)
    df = data.interactions
    assert df["datetime"].tolist() == [
        pd.Timestamp("2021-05-11 10:30:00"),
        pd.Timestamp("2021-05-12 05:00:00"),  # converted to UTC, tz dropped
        pd.Timestamp("2021-05-13"),
    ]
    assert np.isnan(df["watched_pct"].iloc[0])
    assert df["watched_pct"].iloc[1:].tolist() == [50.0, 75.5]
    assert any("watched_pct" in n and "1" in n for n in data.notes)


def test_kion_without_optional_numeric_columns_and_blank_lines(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", "user_id,item_id,last_watch_dt\n\n1,2,2021-03-13\n\n3,4,2021-08-22\n\n", newline="\r\n")
    df = load_kion(tmp_path).interactions
    assert list(df.columns) == ["user_id", "item_id", "datetime", "weight"]
    assert df["item_id"].tolist() == [2, 4]


# --------------------------------------------------------------------------- MovieLens


RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,11,0.5,1445714835\n"
MOVIES = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    '11,"American President, The (1995)",Comedy|Drama|Romance\n'
    "3,Grumpier Old Men (1995) ,Comedy|Romance\n"
    "143410,Hyena Road,(no genres listed)\n"
    '171749,Death Note: Desu nôto (2006–2007),(no genres listed)\n'
)


def test_movielens_ratings_csv_crlf(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", RATINGS, newline="\r\n")
    write(tmp_path / "movies.csv", MOVIES, newline="\r\n")
    data = load_movielens(tmp_path)
    assert_core_dtypes(data)
    df = data.interactions
    assert list(df.columns) == ["user_id", "item_id", "datetime", "weight", "rating"]
    assert df["user_id"].tolist() == [1, 1, 2]
    assert df["item_id"].tolist() == [1, 3, 11]
    assert df["rating"].tolist() == [4.0, 4.5, 0.5]
    assert df["weight"].tolist() == [1.0, 1.0, 1.0]
    assert df["datetime"].iloc[0] == pd.Timestamp(964982703, unit="s")
    assert df["datetime"].iloc[2] == pd.Timestamp("2015-10-24 19:27:15")
    assert data.format == "movielens"

    items = data.items.set_index("item_id")
    assert list(data.items.columns) == ["item_id", "title", "title_orig", "release_year", "genres"]
    assert data.items["item_id"].dtype == np.int64
    assert str(data.items["release_year"].dtype) == "Int64"
    assert items.loc[1, "title"] == "Toy Story"
    assert items.loc[1, "title_orig"] == "Toy Story (1995)"
    assert items.loc[1, "release_year"] == 1995
    assert items.loc[1, "genres"] == "Adventure, Animation, Children, Comedy, Fantasy"
    assert items.loc[11, "title"] == "American President, The"
    assert items.loc[11, "title_orig"] == "American President, The (1995)"
    assert items.loc[11, "genres"] == "Comedy, Drama, Romance"
    assert items.loc[3, "title"] == "Grumpier Old Men"
    assert items.loc[3, "release_year"] == 1995
    assert items.loc[143410, "title"] == "Hyena Road"
    assert pd.isna(items.loc[143410, "release_year"])
    assert items.loc[143410, "genres"] == ""
    assert items.loc[171749, "title"] == "Death Note: Desu nôto"
    assert items.loc[171749, "release_year"] == 2006


def test_movielens_ratings_without_movies(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", RATINGS)
    data = load_movielens(tmp_path)
    assert data.items is None
    assert data.n_interactions == 3


U_DATA = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t1\t1\t878887116\n"
U_ITEM = (
    "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
    "|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "267|unknown||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "302|L.A. Confidential (1997)|01-Jan-1997||http://x|0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0\n"
    "1412|Land Before Time III (1995) (V)|01-Jan-1995||http://x|0|0|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "1533|Café au lait (1993)|01-Jan-1993||http://x|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
)
U_GENRE = (
    "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\nCrime|6\nDocumentary|7\n"
    "Drama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\nRomance|14\nSci-Fi|15\n"
    "Thriller|16\nWar|17\nWestern|18\n\n"
)


@pytest.mark.parametrize("with_genre_file", [True, False])
def test_movielens_100k_format(tmp_path: Path, with_genre_file: bool) -> None:
    write(tmp_path / "u.data", U_DATA)
    write(tmp_path / "u.item", U_ITEM, encoding="latin-1")
    if with_genre_file:
        write(tmp_path / "u.genre", U_GENRE, encoding="latin-1")
    data = load_movielens(tmp_path)
    assert_core_dtypes(data)
    df = data.interactions
    assert list(df.columns) == ["user_id", "item_id", "datetime", "weight", "rating"]
    assert df["user_id"].tolist() == [196, 186, 22]
    assert df["item_id"].tolist() == [242, 302, 1]
    assert df["rating"].tolist() == [3.0, 3.0, 1.0]
    assert df["datetime"].iloc[0] == pd.Timestamp(881250949, unit="s")
    items = data.items.set_index("item_id")
    assert items.loc[1, "title"] == "Toy Story"
    assert items.loc[1, "genres"] == "Animation, Children's, Comedy"
    assert items.loc[302, "genres"] == "Crime, Film-Noir, Mystery, Thriller"
    assert items.loc[1533, "title"] == "Café au lait"  # latin-1 decoded
    assert items.loc[1533, "release_year"] == 1993
    assert items.loc[267, "title"] == "unknown"
    assert items.loc[267, "genres"] == ""
    assert pd.isna(items.loc[267, "release_year"])
    # Year not at the very end: title kept whole, year taken from the release date.
    assert items.loc[1412, "title"] == "Land Before Time III (1995) (V)"
    assert items.loc[1412, "release_year"] == 1995
    assert str(data.items["release_year"].dtype) == "Int64"


# --------------------------------------------------------------------------- generic CSV


def test_load_csv_unix_seconds_with_weight(tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", "uid,extra,iid,ts,w\n5,x,7,1600000000,2.5\n6,y,8,1600000060,1\n")
    data = load_csv(path, user_col="uid", item_col="iid", datetime_col="ts", weight_col="w")
    assert_core_dtypes(data)
    df = data.interactions
    assert list(df.columns) == ["user_id", "item_id", "datetime", "weight"]
    assert df["user_id"].tolist() == [5, 6]
    assert df["item_id"].tolist() == [7, 8]
    assert df["datetime"].tolist() == [pd.Timestamp(1600000000, unit="s"), pd.Timestamp(1600000060, unit="s")]
    assert df["weight"].tolist() == [2.5, 1.0]
    assert data.format == "csv"


def test_load_csv_date_text_semicolon(tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", "u;i;when\n1;2;2021-01-02\n3;4;2021-01-03 12:00:00\n")
    df = load_csv(path, user_col="u", item_col="i", datetime_col="when", sep=";").interactions
    assert df["datetime"].tolist() == [pd.Timestamp("2021-01-02"), pd.Timestamp("2021-01-03 12:00")]
    assert df["weight"].tolist() == [1.0, 1.0]


def test_load_csv_explicit_format_and_milliseconds(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "u,i,d\n1,2,03.01.2021\n")
    df = load_csv(path, user_col="u", item_col="i", datetime_col="d", datetime_format="%d.%m.%Y").interactions
    assert df["datetime"].tolist() == [pd.Timestamp("2021-01-03")]
    path = write(tmp_path / "b.csv", "u,i,d\n1,2,1600000000123\n")
    data = load_csv(path, user_col="u", item_col="i", datetime_col="d")
    assert data.interactions["datetime"].tolist() == [pd.Timestamp("2020-09-13 12:26:40.123")]
    assert any("milliseconds" in n for n in data.notes)


# --------------------------------------------------------------------------- folders


def test_detect_format_and_load_folder(tmp_path: Path) -> None:
    kion = write(tmp_path / "k" / "interactions.csv", KION_HEADER + KION_ROWS).parent
    ml = write(tmp_path / "m" / "ratings.csv", RATINGS).parent
    ml100 = write(tmp_path / "h" / "u.data", U_DATA).parent
    assert detect_format(kion) == "kion"
    assert detect_format(ml) == "movielens"
    assert detect_format(ml100) == "movielens"
    assert load_folder(kion).format == "kion"
    assert load_folder(str(ml)).format == "movielens"
    assert load_folder(ml100, fmt="movielens").n_interactions == 3
    (tmp_path / "empty").mkdir()
    msg = check_message(raises_data_error(detect_format, tmp_path / "empty"), "empty")
    assert "interactions.csv" in msg and "ratings.csv" in msg and "u.data" in msg
    msg = str(raises_data_error(load_folder, kion, fmt="parquet"))
    assert "parquet" in msg


# --------------------------------------------------------------------------- errors


def test_missing_folder_and_files(tmp_path: Path) -> None:
    check_message(raises_data_error(load_kion, tmp_path / "nope"), "nope")
    assert "not found" in str(raises_data_error(load_folder, tmp_path / "nope"))
    check_message(raises_data_error(load_kion, tmp_path), "interactions.csv")
    msg = check_message(raises_data_error(load_movielens, tmp_path), "ratings.csv")
    assert "u.data" in msg
    check_message(raises_data_error(load_csv, tmp_path / "x.csv", user_col="u", item_col="i", datetime_col="d"), "x.csv")


def test_missing_required_column_lists_found(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", "user_id,item,last_watch_dt\n1,2,2021-05-11\n")
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", "item_id")
    assert "columns found" in msg and "'user_id'" in msg and "'item'" in msg and "'last_watch_dt'" in msg


@pytest.mark.parametrize("content, needle", [("", "empty"), ("\n\n", "empty"), (KION_HEADER, "no data rows")])
def test_empty_files(tmp_path: Path, content: str, needle: str) -> None:
    write(tmp_path / "interactions.csv", content)
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv")
    assert needle in msg


def test_header_then_only_blank_lines(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", KION_HEADER + "\n\n")
    assert "no data rows" in str(raises_data_error(load_kion, tmp_path))


@pytest.mark.parametrize("sep, shown", [(";", "';'"), ("\t", "tabs")])
def test_wrong_delimiter(tmp_path: Path, sep: str, shown: str) -> None:
    write(tmp_path / "interactions.csv", (KION_HEADER + KION_ROWS).replace(",", sep))
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", "user_id", [1])
    assert f"looks like it is separated by {shown}" in msg


def test_wrong_delimiter_generic_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "e.csv", "u;i;t\n1;2;3\n")
    msg = check_message(raises_data_error(load_csv, path, user_col="u", item_col="i", datetime_col="t"), "e.csv", "u")
    assert "separated by ';'" in msg


def test_wrong_delimiter_u_data(tmp_path: Path) -> None:
    write(tmp_path / "u.data", U_DATA.replace("\t", ","))
    msg = check_message(raises_data_error(load_movielens, tmp_path), "u.data", lines=[1])
    assert "separated by ','" in msg


def test_unparsable_dates_name_rows(tmp_path: Path) -> None:
    rows = KION_ROWS.splitlines()
    text = KION_HEADER + rows[0] + "\n1,2,not a date,3,4\n" + rows[1] + "\n5,6,2021-13-45,7,8\n7,8,,9,10\n9,9,5,9,9\n"
    write(tmp_path / "interactions.csv", text)
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", "last_watch_dt", [3, 5, 6, 7])
    assert "'not a date'" in msg and "4 bad values" in msg


def test_missing_ids_name_rows(tmp_path: Path) -> None:
    # text ids are valid ids (kept as text, see tests/test_ids_text.py); blank ones are not
    write(tmp_path / "interactions.csv", KION_HEADER + KION_ROWS + "abc,1,2021-05-11,1,1\n,2,2021-05-11,1,1\n \t,2,2021-05-11,1,1\n")
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", "user_id", [6, 7])
    assert "must not be empty" in msg and "(empty)" in msg and "'abc'" not in msg


def test_fractional_item_id_is_text(tmp_path: Path) -> None:
    # "2.5" is no whole number, so the column's ids are text, kept exactly as written
    write(tmp_path / "interactions.csv", KION_HEADER + "1,2.5,2021-05-11,1,1\n1,3.0,2021-05-11,1,1\n")
    items = load_kion(tmp_path).interactions["item_id"]
    assert items.tolist() == ["2.5", "3.0"] and items.dtype == "str"
    write(tmp_path / "interactions.csv", KION_HEADER + "1,2.0,2021-05-11,1,1\n1,3,2021-05-11,1,1\n")
    items = load_kion(tmp_path).interactions["item_id"]
    assert items.tolist() == [2, 3] and items.dtype == np.int64


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", KION_HEADER + "\n1,2,2021-05-11,1,1\n\n  \n1,,2021-05-11,1,1\n")
    check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", "item_id", [6])
    write(tmp_path / "interactions.csv", KION_HEADER + "1,2,2021-05-11,1,1\n \n1,2,2021-05-11,1,1\n1,2,2021-05-11,x,1\n")
    check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", "total_dur", [5])


@pytest.mark.parametrize("column", ["total_dur", "watched_pct"])
def test_non_numeric_kion_numbers(tmp_path: Path, column: str) -> None:
    rows = KION_ROWS.splitlines()
    bad = "1,2,2021-05-11,12 min,50\n" if column == "total_dur" else "1,2,2021-05-11,12,fifty\n"
    write(tmp_path / "interactions.csv", KION_HEADER + rows[0] + "\n" + rows[1] + "\n" + bad)
    check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", column, [4])


def test_non_numeric_rating(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", RATINGS + "3,4,five,964982703\n", newline="\r\n")
    check_message(raises_data_error(load_movielens, tmp_path), "ratings.csv", "rating", [5])


def test_bad_timestamp_u_data(tmp_path: Path) -> None:
    write(tmp_path / "u.data", U_DATA + "1\t2\t3\tyesterday\n")
    check_message(raises_data_error(load_movielens, tmp_path), "u.data", "timestamp", [4])


def test_extra_field_in_u_data(tmp_path: Path) -> None:
    write(tmp_path / "u.data", U_DATA + "1\t2\t3\t4\t5\n")
    msg = check_message(raises_data_error(load_movielens, tmp_path), "u.data", lines=[4])
    assert "fields" in msg


def test_row_with_extra_field_and_unclosed_quote(tmp_path: Path) -> None:
    write(tmp_path / "interactions.csv", KION_HEADER + KION_ROWS + "1,2,2021-05-11,3,4,5\n")
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", lines=[5])
    assert "6 fields" in msg
    write(tmp_path / "interactions.csv", KION_HEADER + "1,2,2021-05-11,3,4\n\n" + '1,2,"2021-05-11,3,4\n1,2,2021-05-11,3,4\n')
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", lines=[4])
    assert "quoted" in msg


@pytest.mark.parametrize("value", ["heavy", "", "inf"])
def test_bad_weight(tmp_path: Path, value: str) -> None:
    path = write(tmp_path / "w.csv", f"u,i,t,w\n1,2,1600000000,1\n1,3,1600000000,{value}\n")
    err = raises_data_error(load_csv, path, user_col="u", item_col="i", datetime_col="t", weight_col="w")
    check_message(err, "w.csv", "w", [3])


def test_bad_generic_datetime(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "u,i,t\n1,2,1600000000\n1,3,1600000000\n1,4,soon\n")
    check_message(raises_data_error(load_csv, path, user_col="u", item_col="i", datetime_col="t"), "t.csv", "t", [4])
    path = write(tmp_path / "d.csv", "u,i,t\n1,2,2021-01-01\n1,3,someday\n")
    check_message(raises_data_error(load_csv, path, user_col="u", item_col="i", datetime_col="t"), "d.csv", "t", [3])


def test_missing_mapped_column_generic(tmp_path: Path) -> None:
    path = write(tmp_path / "g.csv", "u,i,t\n1,2,3\n")
    msg = check_message(raises_data_error(load_csv, path, user_col="user", item_col="i", datetime_col="t"), "g.csv", "user")
    assert "'u'" in msg


def test_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "interactions.csv"
    path.write_bytes((KION_HEADER + KION_ROWS).encode() + "1,2,2021-05-11,1,1\n1,2,dé,1,1\n".encode("latin-1"))
    msg = check_message(raises_data_error(load_kion, tmp_path), "interactions.csv", lines=[6])
    assert "UTF-8" in msg


def test_bad_encoding_movies(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", RATINGS)
    write(tmp_path / "movies.csv", MOVIES, encoding="cp1252", newline="\r\n")
    msg = check_message(raises_data_error(load_movielens, tmp_path), "movies.csv", lines=[6])
    assert "UTF-8" in msg


def test_items_table_errors_name_the_file(kion_dir: Path) -> None:
    write(kion_dir / "items_en.csv", ITEMS_HEADER + ITEMS_ROWS + ",film,T,T,2000,,,,,,,,,\n")
    check_message(raises_data_error(load_kion, kion_dir), "items_en.csv", "item_id", [4])
    write(kion_dir / "items_en.csv", ITEMS_HEADER)
    check_message(raises_data_error(load_kion, kion_dir), "items_en.csv")


def test_users_table_errors_name_the_file(kion_dir: Path) -> None:
    write(kion_dir / "users_en.csv", "id,age\n1,age_18_24\n")
    msg = check_message(raises_data_error(load_kion, kion_dir), "users_en.csv", "user_id", [1])
    assert "'id'" in msg


def test_movies_table_errors_name_the_file(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", RATINGS)
    write(tmp_path / "movies.csv", MOVIES + ",Nameless (2000),Drama\n")
    check_message(raises_data_error(load_movielens, tmp_path), "movies.csv", "movieId", [7])


def test_u_item_errors_name_the_file(tmp_path: Path) -> None:
    write(tmp_path / "u.data", U_DATA)
    write(tmp_path / "u.item", U_ITEM + "|Broken (1990)|||x|" + "|".join("0" * 19) + "\n", encoding="latin-1")
    check_message(raises_data_error(load_movielens, tmp_path), "u.item", "movie_id", [7])


# --------------------------------------------------------------------------- real data (research-only, not in the repo)


@pytest.mark.skipif(not (SHARED_DATA / "ml-latest-small" / "ratings.csv").is_file(), reason="shared data not present")
def test_real_ml_latest_small() -> None:
    data = load_folder(SHARED_DATA / "ml-latest-small")
    assert data.format == "movielens"
    assert_core_dtypes(data)
    df = data.interactions
    assert len(df) == 100_836
    assert df["user_id"].nunique() == 610
    assert df["item_id"].nunique() == 9_724
    assert df["datetime"].min() == pd.Timestamp("1996-03-29 18:36:55")
    assert df["datetime"].max() == pd.Timestamp("2018-09-24 14:27:30")
    assert df["rating"].between(0.5, 5.0).all()
    items = data.items
    assert len(items) == 9_742 and items["item_id"].is_unique
    titled = items.loc[items["title"].str.len() > 0, "item_id"]
    assert set(df["item_id"].unique()) <= set(titled)
    assert data.notes == []


@pytest.mark.skipif(not (SHARED_DATA / "ml-100k" / "u.data").is_file(), reason="shared data not present")
def test_real_ml_100k() -> None:
    data = load_folder(SHARED_DATA / "ml-100k")
    assert data.format == "movielens"
    assert_core_dtypes(data)
    df = data.interactions
    assert len(df) == 100_000
    assert df["user_id"].nunique() == 943
    assert df["item_id"].nunique() == 1_682
    assert df["datetime"].min() == pd.Timestamp("1997-09-20 03:05:10")
    assert df["datetime"].max() == pd.Timestamp("1998-04-22 23:10:38")
    items = data.items.set_index("item_id")
    assert len(items) == 1_682
    assert (items.loc[df["item_id"].unique(), "title"].str.len() > 0).all()
    assert items.loc[1, "title"] == "Toy Story" and items.loc[1, "genres"] == "Animation, Children's, Comedy"
    assert data.notes == []
