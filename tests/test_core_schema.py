"""The settings schema (issue 12, point 2): every setting is declared once, and validation and
the CLI options come from the declaration (the forms: tests/test_gui_form_schema.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pytest

import core.__main__ as cli
from core.cli_settings import option_help, option_of_field, settings_from_args
from core.config import HoldoutConfig, SASRecConfig
from core.errors import ConfigError
from core.experiment import Holdout
from core.filters import FilterConfig
from core.schema import Setting, SettingGroup, setting, settings_of, validate_all

GROUPS = (SASRecConfig, FilterConfig, HoldoutConfig)
#: Every option ``train`` had before the schema: each must keep working.
OLD_TRAIN_OPTIONS = (
    "--epochs", "--batch-size", "--n-factors", "--n-blocks", "--n-heads", "--dropout", "--no-pos-emb",
    "--session-maxlen", "--lr", "--loss", "--n-negatives", "--device", "--seed", "--deterministic", "--precision",
    "--no-cuda-graph", "--min-total-dur", "--min-item-freq", "--min-user-interactions", "--holdout", "--test-days",
    "--validate-every",
)


def all_settings() -> list[tuple[type, str, Setting]]:
    return [(cls, name, spec) for cls in GROUPS for name, spec in settings_of(cls).items()]


def train_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no wrapping inside a help text
    assert cli.main(["train", "--help"]) == 0
    return capsys.readouterr().out


# --------------------------------------------------------------------------- declarations
@pytest.mark.parametrize("cls", GROUPS)
def test_every_field_is_declared_with_label_section_and_one_sentence_help(cls: type) -> None:
    specs = settings_of(cls)
    assert list(specs) == [f.name for f in fields(cls)]
    for f in fields(cls):
        spec = specs[f.name]
        assert spec.label and spec.section, f.name
        assert spec.help.endswith(".") and ". " not in spec.help, (f.name, spec.help)
        assert spec.default == f.default, f.name  # the dataclass default is the declared one
        assert spec.error(spec.default) is None, f.name  # defaults are valid
    assert cls().errors() == {}


def test_a_field_without_a_setting_is_refused_by_name() -> None:
    @dataclass
    class Partly(SettingGroup):
        declared: int = setting(1, label="Declared", help="A declared setting.", low=1)
        forgotten: int = 2

    with pytest.raises(TypeError, match=r"Partly\.forgotten has no Setting"):
        Partly().errors()


@pytest.mark.parametrize("bad", [
    {"kind": "complex"}, {"help": " "}, {"choices": ("a", "b"), "choice_labels": ("A",)}, {"low": 2, "high": 1},
])
def test_inconsistent_declarations_are_refused(bad: dict) -> None:
    declaration = {"kind": "int", "default": 1, "label": "X", "help": "An x.", **bad}
    with pytest.raises(ValueError):
        Setting(**declaration)


def test_a_none_default_needs_its_kind() -> None:
    with pytest.raises(ValueError, match="kind="):
        setting(None, label="Day", help="A day.")
    assert setting(None, kind="date", label="Day", help="A day.", optional=True).metadata["setting"].kind == "date"


# --------------------------------------------------------------------------- validation
def test_out_of_range_messages_come_from_the_declaration() -> None:
    @dataclass
    class Narrow(SASRecConfig):  # the same field, declared with another bound
        n_factors: int = setting(128, label="Factors", help="Size of the embeddings.", section="Model",
                                 low=1, high=256)

    assert SASRecConfig(n_factors=512).errors() == {}
    assert Narrow(n_factors=512).errors() == {"n_factors": "must be a whole number from 1 to 256, got 512"}
    assert Narrow(n_factors=256).errors() == {}


def out_of_range(spec: Setting) -> list[tuple[float, str]]:
    """Values just outside each declared bound, each with the bound as the message shows it."""
    out = []
    step = 1 if spec.kind == "int" else 1e-6
    for bound, is_open, sign in ((spec.low, spec.low_open, -1), (spec.high, spec.high_open, 1)):
        if bound is not None:
            value = bound if is_open else bound + sign * step
            out.append((value, str(int(bound)) if float(bound).is_integer() else f"{bound:g}"))
    return out


@pytest.mark.parametrize("cls, name, spec", [s for s in all_settings() if s[2].kind in ("int", "float")],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_each_numeric_bound_is_checked_and_named_in_the_message(cls: type, name: str, spec: Setting) -> None:
    for value, shown in out_of_range(spec):
        errors = cls(**{name: value}).errors()
        assert errors[name] == f"must be {spec.describe()}, got {value!r}", (name, value)
        assert shown in errors[name]
    for bound, is_open in ((spec.low, spec.low_open), (spec.high, spec.high_open)):
        if bound is not None and not is_open:  # a closed end is itself valid
            # n_heads and early_stopping have cross-field checks (divides n_factors; needs a hold-out)
            assert name not in cls(**{name: bound}).errors() or name in ("n_heads", "early_stopping"), (name, bound)
    kind_word = "whole number" if spec.kind == "int" else "number"
    for junk in ("12", None, True, [1]) + ((2.5,) if spec.kind == "int" else (math.nan, math.inf, -math.inf)):
        message = cls(**{name: junk}).errors()[name]
        assert message.startswith("must be ") and repr(junk) in message, (name, junk, message)
        assert kind_word in message or "[" in message or "(" in message, message


def test_huge_whole_numbers_are_refused_not_crashed_on() -> None:
    huge = 10**400  # beyond the largest float
    errors = SASRecConfig(lr=huge, dropout_rate=-huge, epochs=huge).errors()
    assert set(errors) == {"lr", "dropout_rate", "epochs"}
    assert "finite" in FilterConfig(weight_threshold=huge).errors()["weight_threshold"]  # no float can hold it
    assert FilterConfig(weight_threshold=10**300).errors() == {}


@pytest.mark.parametrize("cls, name, spec", [s for s in all_settings() if s[2].choices], ids=lambda x: x if isinstance(x, str) else "")
def test_choices_are_checked_from_the_declaration(cls: type, name: str, spec: Setting) -> None:
    message = cls(**{name: "nope"}).errors()[name]
    assert message == f"must be one of {', '.join(spec.choices)}, got 'nope'"
    for choice in spec.choices:
        assert name not in cls(**{name: choice}).errors()


def test_true_or_false_settings_refuse_other_values() -> None:
    errors = SASRecConfig(use_pos_emb=1, deterministic="yes", cuda_graph=None).errors()
    assert set(errors) == {"use_pos_emb", "deterministic", "cuda_graph"}
    assert all(m.startswith("must be true or false") for m in errors.values())
    assert SASRecConfig(deterministic=np.bool_(True)).errors() == {}


def test_the_checks_kept_by_hand_still_hold() -> None:
    assert SASRecConfig(n_factors=10, n_heads=3).errors() == {"n_heads": "n_factors (10) must be divisible by n_heads (3)"}
    assert SASRecConfig(n_factors=0, n_heads=3).errors().keys() == {"n_factors"}  # no divisibility on a bad value
    assert "device" in SASRecConfig(device="cuda:x").errors() and SASRecConfig(device="cuda:1").errors() == {}
    assert SASRecConfig(seed=(1 << 64) - 1).errors() == {} and "seed" in SASRecConfig(seed=1 << 64).errors()
    assert FilterConfig(date_from="2021-05-01", date_to="2021-04-01").errors() == {"date_to": "must not be before date_from"}
    assert "date_from" in FilterConfig(date_from="soon").errors()
    assert FilterConfig(weight_by=None).errors() == {} and FilterConfig(weight_by="").errors() == {}


def test_validate_all_lists_every_group_s_errors_in_one_error() -> None:
    with pytest.raises(ConfigError) as info:
        validate_all(SASRecConfig(epochs=0), FilterConfig(min_item_freq=0), HoldoutConfig(k=0))
    assert set(info.value.errors) == {"epochs", "min_item_freq", "k"}
    validate_all(SASRecConfig(), FilterConfig(), HoldoutConfig())


@pytest.mark.parametrize("cls", GROUPS)
def test_plain_dict_round_trip_ignores_unknown_keys(cls: type) -> None:
    data = cls().to_dict()
    assert cls.from_dict({**data, "future_option": 1}) == cls()


def test_to_dict_stores_numpy_numbers_as_python_numbers() -> None:
    data = FilterConfig(min_item_freq=np.int64(3), weight_above=np.float32(2.0)).to_dict()
    assert type(data["min_item_freq"]) is int and type(data["weight_above"]) is float


def test_holdout_settings_give_the_pipeline_s_holdout() -> None:
    assert HoldoutConfig().to_holdout() is None
    holdout = HoldoutConfig("time", test_days=3, validate_every=2, k=5).to_holdout()
    assert holdout == Holdout("time", 3, 2, 5)
    assert HoldoutConfig.from_holdout(holdout).to_holdout() == holdout
    assert HoldoutConfig.from_holdout(None) == HoldoutConfig()


# --------------------------------------------------------------------------- command line
def test_help_lists_every_field_s_option_with_its_help_and_default(monkeypatch, capsys) -> None:  # noqa: ANN001
    text = train_help(monkeypatch, capsys)
    for cls, name, spec in all_settings():
        option = spec.option(name)
        line = option_entry(text, option)
        expected = option_help(spec) % {"default": spec.default}
        assert expected in line, (option, expected, line)
        assert spec.help.rstrip(".").rstrip(")") in line  # the declared help, then the default
        default = "not set" if spec.default is None else "on" if spec.default is True else "off" if spec.default is False else str(spec.default)
        assert f"default: {default}" in line, (option, line)


def option_entry(help_text: str, option: str) -> str:
    """An option's entry in ``--help``: its line and the help text argparse puts below it."""
    lines = help_text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split() and ln.split()[0] == option)
    entry = [lines[start]]
    for ln in lines[start + 1:]:
        if not ln.startswith("      ") or ln.lstrip().startswith("-"):
            break
        entry.append(ln.strip())
    return " ".join(entry)


def test_every_old_train_option_still_works(monkeypatch, capsys) -> None:  # noqa: ANN001
    text = train_help(monkeypatch, capsys)
    for option in OLD_TRAIN_OPTIONS:
        assert f" {option}" in text, option


def parse_train(*options: str):  # noqa: ANN201
    args = cli.build_parser().parse_args(["train", "data", "--out", "m.pt", *options])
    return [settings_from_args(cls, args) for cls in GROUPS]


def test_no_options_give_the_defaults() -> None:
    assert parse_train() == [SASRecConfig(), FilterConfig(), HoldoutConfig()]


def test_options_set_their_fields() -> None:
    config, filters, holdout = parse_train(
        "--dropout", "0.3", "--no-pos-emb", "--no-cuda-graph", "--deterministic", "--lr", "1e-2", "--loss", "gbce",
        "--gbce-t", "0.4", "--n-heads", "2", "--seed", str((1 << 64) - 1), "--weight-by", "", "--weight-above", "2.5",
        "--min-total-dur", "0", "--date-from", "2021-01-01", "--date-to", "2021-02-01",
        "--holdout", "time", "--test-days", "3", "--validate-every", "2", "--k", "20",
    )
    assert config == SASRecConfig(dropout_rate=0.3, use_pos_emb=False, cuda_graph=False, deterministic=True, lr=1e-2,
                                  loss="gbce", gbce_t=0.4, n_heads=2, seed=(1 << 64) - 1)
    assert filters == FilterConfig(weight_by="", weight_above=2.5, min_total_dur=0.0, date_from="2021-01-01",
                                   date_to="2021-02-01")
    assert holdout.to_holdout() == Holdout("time", 3, 2, 20)


def test_an_error_names_the_option_that_sets_the_field() -> None:
    for cls, name, spec in all_settings():
        assert option_of_field(name) == spec.option(name)
    assert option_of_field("user") == "--user"  # not a setting: the plain option name
    message = cli._config_message(ConfigError({"dropout_rate": "bad", "use_pos_emb": "bad", "validate_every": "bad"}))
    assert message == "--dropout: bad; --no-pos-emb: bad; --validate-every: bad"


@pytest.mark.parametrize("options, fragments", [
    (["--weight-above", "0"], ["--weight-above", "positive"]),
    (["--weight-threshold", "inf"], ["--weight-threshold", "finite"]),
    (["--date-from", "2021-13-01"], ["--date-from", "2021-05-01"]),
    (["--date-from", "2021-05-02", "--date-to", "2021-05-01"], ["--date-to", "before"]),
    (["--gbce-t", "2"], ["--gbce-t", "[0, 1]"]),
    (["--k", "0"], ["--k", "from 1 to"]),
    (["--epochs", "0", "--n-factors", "5000"], ["--epochs", "--n-factors", "4096"]),
    (["--weight-below", "x"], ["--weight-below", "'x'"]),
])
def test_bad_values_of_generated_options_are_one_line_before_any_work(tmp_path, capsys, options, fragments) -> None:  # noqa: ANN001
    code = cli.main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.pt"), *options])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert "nowhere" not in err  # the options are checked before the data is looked for
    for fragment in fragments:
        assert fragment in err, (fragment, err)
