"""Named presets (``core.presets``) and the CLI's ``--preset``: explicit options win, feature
columns the data lacks are left out with a note, a continued run refuses a preset."""
from __future__ import annotations

import pandas as pd
import pytest

from core.checkpoint import load_checkpoint
from core.config import SASRecConfig
from core.errors import ConfigError
from core.presets import PRESETS, RUN_SETTINGS, describe, fit_to_items, preset_config, preset_names, preset_values
from tests.cli_runner import TINY_TRAIN as TINY
from tests.cli_runner import run_cli


def test_notebook_is_the_defaults_and_studio_changes_model_settings_only():
    assert preset_config("notebook") == SASRecConfig()
    studio = preset_values("studio")
    assert studio and not set(studio) & set(RUN_SETTINGS)
    config = preset_config("studio")
    assert config.errors() == {}
    for name, value in studio.items():
        assert getattr(config, name) == value
    assert config.epochs == SASRecConfig().epochs  # same epochs as the notebook


def test_every_preset_is_valid_and_described():
    assert preset_names() == list(PRESETS)
    for name in preset_names():
        assert preset_config(name).errors() == {}
        assert describe(name).startswith(f"{name}: ")


def test_explicit_settings_override_the_preset():
    config = preset_config("studio", {"lr": 0.0005, "epochs": 7, "holdout": "last"})
    assert config.lr == 0.0005 and config.epochs == 7
    assert config.weight_decay == preset_values("studio")["weight_decay"]


def test_an_unknown_preset_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError) as err:
        preset_values("fast")
    assert err.value.errors == {"preset": "unknown preset 'fast'; choose one of notebook, studio"}


def test_feature_columns_are_fitted_to_the_items_table():
    config = SASRecConfig(item_features="genres,content_type,age_rating")
    kept, note = fit_to_items(config, ["title", "genres"])
    assert kept.item_features == "genres"
    assert note == "preset item features content_type, age_rating left out: the items table has no such column"
    none, note = fit_to_items(config, None)
    assert none.item_features == "" and "no items table" in note
    same, note = fit_to_items(config, ["genres", "content_type", "age_rating"])
    assert same is config and note == ""
    explicit, note = fit_to_items(config, ["genres"], explicit=["item_features"])
    assert explicit.item_features == config.item_features and note == ""


def test_cli_preset_studio_with_an_explicit_override(cli_demo_dir, tmp_path):
    model = tmp_path / "m.pt"
    code, _, err = run_cli("train", str(cli_demo_dir), "--out", str(model), "--preset", "studio", "--lr", "0.002", *TINY)
    assert code == 0, err
    loaded, _ = load_checkpoint(model)
    studio = preset_values("studio")
    assert loaded.config.lr == 0.002  # the explicit option wins
    assert loaded.config.n_factors == 16 and loaded.config.epochs == 1
    for name in ("use_key_padding_mask", "weight_decay", "warmup_steps", "lr_schedule", "item_features"):
        assert getattr(loaded.config, name) == studio[name], name
    assert loaded.module.item_features is not None


def test_cli_preset_leaves_out_columns_the_data_lacks(tmp_path):
    data = tmp_path / "log.csv"
    pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3] * 5, "item_id": [1, 2, 2, 3, 1, 3] * 5,
                  "datetime": pd.date_range("2024-01-01", periods=30, freq="D").strftime("%Y-%m-%d")}).to_csv(data, index=False)
    model = tmp_path / "m.pt"
    code, _, err = run_cli("train", str(data), "--out", str(model), "--format", "csv", "--user-col", "user_id",
                           "--item-col", "item_id", "--time-col", "datetime", "--preset", "studio",
                           "--epochs", "1", "--n-factors", "8", "--n-blocks", "1", "--min-item-freq", "1",
                           "--min-total-dur", "0", "--device", "cpu")
    assert code == 0, err
    assert "note: preset item features genres, content_type, age_rating left out: the data has no items table" in err
    assert load_checkpoint(model)[0].config.item_features == ""


def test_cli_explicit_item_features_are_never_dropped(cli_demo_dir, tmp_path):
    code, _, err = run_cli("train", str(cli_demo_dir), "--out", str(tmp_path / "m.pt"), "--preset", "studio",
                           "--item-features", "genres,colour", *TINY)
    assert code == 2 and err.startswith("error: --item-features: no column 'colour'")


def test_cli_a_continued_run_refuses_a_preset(cli_demo_dir, tmp_path):
    first = tmp_path / "a.pt"
    assert run_cli("train", str(cli_demo_dir), "--out", str(first), *TINY)[0] == 0
    code, _, err = run_cli("train", str(cli_demo_dir), "--resume", str(first), "--out", str(tmp_path / "b.pt"), "--preset", "studio")
    assert code == 2 and "--preset" in err and "continued run" in err
    code, _, err = run_cli("train", str(cli_demo_dir), "--out", str(tmp_path / "c.pt"), "--preset", "fast")
    assert code == 2 and "--preset" in err and "studio" in err
