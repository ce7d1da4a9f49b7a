"""Dates are never silently misread: one format per column, inferred from all its values or stated."""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import load_csv, load_folder, load_kion, load_movielens
from core.dates import check_date_format
from core.errors import DataError, DateFormatError
from core.load import CsvMapping, LoadOptions, load_data

HEADER = "user_id,item_id,last_watch_dt,total_dur,watched_pct\n"


def kion(folder: Path, dates: list[str]) -> Path:
    """A KION folder whose interactions have the given last_watch_dt texts (line i + 2 has dates[i])."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i + 1},{i + 10},{d},100,50\n" for i, d in enumerate(dates))
    (folder / "interactions.csv").write_text(HEADER + rows)
    return folder


def loaded_dates(folder: Path, **kwargs) -> list[pd.Timestamp]:
    return load_kion(folder, **kwargs).interactions["datetime"].tolist()


def data_error(fn, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    return info.value


def says_how_to_state_the_format(msg: str) -> None:
    assert "--date-format" in msg and "Date format" in msg and "date_format=" in msg, msg


# --------------------------------------------------------------------------- inferred formats


def test_day_first_dots_load_right(tmp_path: Path) -> None:
    data = load_kion(kion(tmp_path, ["13.03.2021", "02.04.2021", "13.04.2021"]))
    assert data.interactions["datetime"].tolist() == [
        pd.Timestamp("2021-03-13"), pd.Timestamp("2021-04-02"), pd.Timestamp("2021-04-13"),
    ]
    assert data.interactions["datetime"].dtype == np.dtype("datetime64[ns]")
    assert any("last_watch_dt" in n and "day-first" in n and "dd.mm.yyyy" in n for n in data.notes), data.notes


def test_dots_alone_are_day_first(tmp_path: Path) -> None:
    # month-first dates are not written with dots: 02.04.2021 is 2 April even with no day above 12
    assert loaded_dates(kion(tmp_path, ["02.04.2021", "01.04.2021"])) == [pd.Timestamp("2021-04-02"), pd.Timestamp("2021-04-01")]


@pytest.mark.parametrize("sep", ["/", "-"])
def test_day_first_decided_by_a_day_above_12(tmp_path: Path, sep: str) -> None:
    values = [f"02{sep}04{sep}2021", f"13{sep}04{sep}2021 10:30", f"01{sep}05{sep}2021 23:59:58"]
    assert loaded_dates(kion(tmp_path, values)) == [
        pd.Timestamp("2021-04-02"), pd.Timestamp("2021-04-13 10:30"), pd.Timestamp("2021-05-01 23:59:58"),
    ]


@pytest.mark.parametrize("sep", ["/", "-"])
def test_month_first_decided_by_a_day_above_12(tmp_path: Path, sep: str) -> None:
    values = [f"02{sep}04{sep}2021", f"04{sep}13{sep}2021", f"12{sep}31{sep}2020 08:00"]
    data = load_kion(kion(tmp_path, values))
    assert data.interactions["datetime"].tolist() == [
        pd.Timestamp("2021-02-04"), pd.Timestamp("2021-04-13"), pd.Timestamp("2020-12-31 08:00"),
    ]
    assert any(f"mm{sep}dd{sep}yyyy" in n for n in data.notes), data.notes


def test_iso_with_times_and_offsets(tmp_path: Path) -> None:
    values = ["2021-03-13", "2021-03-13 10:00:00", "2021-03-13T10:00", "2021-03-13T10:00:00+03:00", "2021-03-13T10:00:00Z"]
    data = load_kion(kion(tmp_path, values))
    assert data.interactions["datetime"].tolist() == [
        pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-13 10:00"), pd.Timestamp("2021-03-13 10:00"),
        pd.Timestamp("2021-03-13 07:00"), pd.Timestamp("2021-03-13 10:00"),
    ]
    assert data.notes == []  # ISO needs no note


def test_year_first_slashes_and_month_names(tmp_path: Path) -> None:
    assert loaded_dates(kion(tmp_path / "a", ["2021/03/13", "2021/04/02"])) == [
        pd.Timestamp("2021-03-13"), pd.Timestamp("2021-04-02"),
    ]
    assert loaded_dates(kion(tmp_path / "b", ["13 Mar 2021", "2 Apr 2021"])) == [
        pd.Timestamp("2021-03-13"), pd.Timestamp("2021-04-02"),
    ]


def test_many_rows_share_few_dates(tmp_path: Path) -> None:
    # parsed per distinct value, mapped back to every row
    values = ["13.03.2021", "02.04.2021"] * 500
    got = loaded_dates(kion(tmp_path, values))
    assert got[::2] == [pd.Timestamp("2021-03-13")] * 500
    assert got[1::2] == [pd.Timestamp("2021-04-02")] * 500


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("sep", ["/", "-"])
def test_ambiguous_day_month_is_refused(tmp_path: Path, sep: str) -> None:
    a, b = f"02{sep}04{sep}2021", f"03{sep}04{sep}2021"
    err = data_error(load_kion, kion(tmp_path, [a, b, a]))
    assert isinstance(err, DateFormatError)  # the app asks for the format on this error
    msg = str(err)
    assert "interactions.csv" in msg and err.column == "last_watch_dt"
    assert f"'{a}'" in msg and f"'{b}'" in msg, msg
    assert err.rows == [2, 3]
    says_how_to_state_the_format(msg)


def test_day_first_and_month_first_mixed_is_refused(tmp_path: Path) -> None:
    err = data_error(load_kion, kion(tmp_path, ["01/02/2021", "13/02/2021", "02/13/2021"]))
    msg = str(err)
    assert "'13/02/2021'" in msg and "'02/13/2021'" in msg and "day-first and month-first" in msg, msg
    assert err.column == "last_watch_dt" and err.rows == [3, 4]
    says_how_to_state_the_format(msg)


def test_mixed_formats_are_refused(tmp_path: Path) -> None:
    err = data_error(load_kion, kion(tmp_path, ["2021-03-13", "2021-03-14", "13.03.2021"]))
    msg = str(err)
    assert "'2021-03-13'" in msg and "'13.03.2021'" in msg and "mix" in msg, msg
    assert "interactions.csv" in msg and err.column == "last_watch_dt" and err.rows == [2, 4]
    says_how_to_state_the_format(msg)


def test_unreadable_dates_say_how_to_state_the_format(tmp_path: Path) -> None:
    err = data_error(load_kion, kion(tmp_path, ["last tuesday", "yesterday"]))
    assert err.rows == [2, 3]
    says_how_to_state_the_format(str(err))


def test_a_bad_value_among_day_first_dates_names_its_line(tmp_path: Path) -> None:
    err = data_error(load_kion, kion(tmp_path, ["13.03.2021", "31.02.2021", "01.04.2021", "soon"]))
    assert err.column == "last_watch_dt" and err.rows == [3, 5]
    assert "day-first" in str(err) and "'31.02.2021'" in str(err)


# --------------------------------------------------------------------------- stated formats


@pytest.mark.parametrize(
    "date_format, expected",
    [("dayfirst", ["2021-04-02", "2021-04-03"]), ("monthfirst", ["2021-02-04", "2021-03-04"]),
     ("%d/%m/%Y", ["2021-04-02", "2021-04-03"])],
)
def test_stated_format_settles_ambiguous_dates(tmp_path: Path, date_format: str, expected: list[str]) -> None:
    folder = kion(tmp_path, ["02/04/2021", "03/04/2021"])
    assert loaded_dates(folder, date_format=date_format) == [pd.Timestamp(e) for e in expected]
    got = load_folder(folder, date_format=date_format).interactions["datetime"].tolist()
    assert got == [pd.Timestamp(e) for e in expected]
    got = load_data(folder, LoadOptions(date_format=date_format)).interactions["datetime"].tolist()
    assert got == [pd.Timestamp(e) for e in expected]


def test_stated_format_reports_rows_that_do_not_match(tmp_path: Path) -> None:
    folder = kion(tmp_path, ["13.03.2021", "2021-03-14", "14.03.2021", "15/03/2021"])
    err = data_error(load_kion, folder, date_format="%d.%m.%Y")
    msg = str(err)
    assert "interactions.csv" in msg and err.column == "last_watch_dt" and err.rows == [3, 5]
    assert "'%d.%m.%Y'" in msg and "2 bad values" in msg, msg
    err = data_error(load_kion, folder, date_format="iso")
    assert err.rows == [2, 4, 5]


def test_stated_iso_and_unix_names(tmp_path: Path) -> None:
    folder = kion(tmp_path / "iso", ["2021-03-13", "2021/03/14 10:00"])
    assert loaded_dates(folder, date_format="iso") == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-14 10:00")]
    folder = kion(tmp_path / "unix", ["1615593600", "1615680000"])
    assert loaded_dates(folder, date_format="unix_s") == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-14")]
    folder = kion(tmp_path / "ms", ["1615593600000", "1615680000000"])
    assert loaded_dates(folder, date_format="unix_ms") == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-14")]


@pytest.mark.parametrize("bad", ["european", "%Q", "dd.mm.yyyy"])
def test_invalid_date_format_is_refused_before_reading(tmp_path: Path, bad: str) -> None:
    with pytest.raises(DataError) as info:
        check_date_format(bad)
    assert repr(bad) in str(info.value)
    missing = tmp_path / "not-there"  # the format is checked before the data is looked at
    assert repr(bad) in str(data_error(load_data, missing, LoadOptions(date_format=bad)))
    assert repr(bad) in str(data_error(load_folder, missing, date_format=bad))


def test_movielens_timestamps_as_stated_milliseconds(tmp_path: Path) -> None:
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,4.0,1615593600000\n")
    assert load_movielens(tmp_path, date_format="unix_ms").interactions["datetime"].tolist() == [pd.Timestamp("2021-03-13")]


# --------------------------------------------------------------------------- numbers: unix time


def test_unix_seconds_and_milliseconds_are_noted(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("u,i,t\n1,2,1615593600\n1,3,1615680000\n")
    data = load_csv(path, user_col="u", item_col="i", datetime_col="t")
    assert data.interactions["datetime"].tolist() == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-14")]
    assert any("'t'" in n and "seconds" in n for n in data.notes), data.notes
    path = tmp_path / "ms.csv"
    path.write_text("u,i,t\n1,2,1615593600000\n1,3,1615680000500\n")
    data = load_csv(path, user_col="u", item_col="i", datetime_col="t")
    assert data.interactions["datetime"].tolist() == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-03-14 00:00:00.5")]
    assert any("'t'" in n and "milliseconds" in n for n in data.notes), data.notes


def test_unix_seconds_mixed_with_milliseconds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mix.csv"
    path.write_text("u,i,t\n1,2,1615593600\n1,3,1615680000\n1,4,1615680000000\n")
    err = data_error(load_csv, path, user_col="u", item_col="i", datetime_col="t")
    msg = str(err)
    assert "mix.csv" in msg and err.column == "t" and err.rows == [2, 4]
    assert "1615593600" in msg and "1615680000000" in msg and "seconds and milliseconds" in msg
    says_how_to_state_the_format(msg)
    # stated, the same file loads
    data = load_data(path, LoadOptions(fmt="csv", date_format="unix_ms", mapping=CsvMapping("u", "i", "t")))
    assert data.interactions["datetime"].iloc[2] == pd.Timestamp("2021-03-14")


def test_generic_csv_text_dates_use_one_format(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("u;i;when\n1;2;13/03/2021 10:00\n1;3;02/04/2021\n")
    df = load_csv(path, user_col="u", item_col="i", datetime_col="when", sep=";").interactions
    assert df["datetime"].tolist() == [pd.Timestamp("2021-03-13 10:00"), pd.Timestamp("2021-04-02")]
    path.write_text("u;i;when\n1;2;03/01/2021\n1;3;02/04/2021\n")
    says_how_to_state_the_format(str(data_error(load_csv, path, user_col="u", item_col="i", datetime_col="when", sep=";")))


# --------------------------------------------------------------------------- CLI


def test_cli_refuses_ambiguous_dates_and_accepts_a_stated_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.__main__ import main

    monkeypatch.setenv("SASREC_STUDIO_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(0)
    days = [f"{d:02d}/{m:02d}/2021" for d in range(1, 13) for m in range(1, 13)]
    lines = [f"{u},{rng.integers(1, 30)},{days[(u * 7 + k) % len(days)]},1000,50" for u in range(1, 41) for k in range(6)]
    folder = tmp_path / "kion"
    folder.mkdir()
    (folder / "interactions.csv").write_text(HEADER + "\n".join(lines) + "\n")
    args = ["train", str(folder), "--out", str(tmp_path / "m.pt"), "--epochs", "1", "--n-factors", "8",
            "--n-blocks", "1", "--session-maxlen", "4", "--min-item-freq", "1", "--device", "cpu"]
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(args)
    assert code == 2 and "--date-format" in err.getvalue() and "Traceback" not in err.getvalue()
    assert not (tmp_path / "m.pt").exists()
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(args + ["--date-format", "dayfirst"])
    assert code == 0, err.getvalue()
    assert (tmp_path / "m.pt").is_file()
    err = io.StringIO()
    with redirect_stderr(err), redirect_stdout(io.StringIO()):
        code = main(args + ["--date-format", "sometimes"])
    assert code == 2 and "'sometimes'" in err.getvalue()


@pytest.mark.parametrize("scale, unit", [(1, "seconds"), (1000, "milliseconds")])
def test_kion_date_column_holding_unix_times_is_read_by_magnitude(tmp_path: Path, scale: int, unit: str) -> None:
    stamps = [int(pd.Timestamp(d).timestamp()) * scale for d in ("2021-03-13", "2021-04-02", "2021-08-22")]
    data = load_kion(kion(tmp_path, [str(v) for v in stamps]))
    got = data.interactions["datetime"].tolist()
    assert got == [pd.Timestamp("2021-03-13"), pd.Timestamp("2021-04-02"), pd.Timestamp("2021-08-22")]
    assert any(unit in n for n in data.notes), data.notes
