"""Settings persist across restarts (QSettings with a layout version) and never touch the real store."""
from __future__ import annotations

import os

from PySide6.QtCore import QSettings

from sasrec_gui.services.settings import LAYOUT_VERSION, MAX_RECENT, Settings
from tests.conftest import _QT_HOME, GUI_TINY_CONFIG


def test_tests_never_use_the_real_settings_store(window) -> None:  # noqa: ANN001
    default = QSettings()
    assert default.fileName().startswith(_QT_HOME)
    assert window.settings.store.fileName() != default.fileName()
    assert os.environ["XDG_CONFIG_HOME"].startswith(_QT_HOME)


def test_hyperparameters_filters_folders_and_layout_survive_a_restart(make_window, open_demo, gui_demo_dir, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "persist.ini"
    first = open_demo(make_window(Settings.from_file(path)))
    first.train_page.form.set_config({**GUI_TINY_CONFIG, "loss": "gbce", "n_negatives": 7, "gbce_t": 0.5})
    first.data_page.filters.widgets["min_user_interactions"].setValue(2)
    first.resize(1000, 700)
    first.show_page("similar")
    first.recommend_page.splitter.setSizes([300, 700])
    expected_split = first.recommend_page.splitter.sizes()
    first.close()

    second = make_window(Settings.from_file(path))
    config = second.train_page.form.config()
    assert (config.loss, config.n_negatives, config.gbce_t, config.n_factors) == ("gbce", 7, 0.5, GUI_TINY_CONFIG["n_factors"])
    assert second.data_page.filters.config().min_user_interactions == 2
    assert second.data_page.filters.config().min_item_freq == 5
    assert [a.text() for a in second.recent_menu.actions()][0] == str(gui_demo_dir)
    # restored, not the 1360x860 default (the offscreen screen is 800 px wide: Qt keeps the
    # window's left part on screen and its minimum width, so only the height is exact)
    assert second.height() == 700 and second.width() < 1360
    assert second.current_page() == "similar"
    assert second.recommend_page.splitter.sizes() == expected_split


def test_layout_from_another_version_is_ignored(make_window, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "old.ini"
    first = make_window(Settings.from_file(path))
    first.resize(1000, 700)
    first.show_page("training")
    first.close()
    store = QSettings(str(path), QSettings.Format.IniFormat)
    store.setValue("window/layout_version", LAYOUT_VERSION + 1)
    store.sync()
    second = make_window(Settings.from_file(path))
    assert second.current_page() == "data"
    assert (second.width(), second.height()) == (1360, 860)


def test_recent_folders_are_deduplicated_and_bounded(tmp_path) -> None:  # noqa: ANN001
    settings = Settings.from_file(tmp_path / "s.ini")
    for i in range(MAX_RECENT + 3):
        settings.add_recent_folder(str(tmp_path / f"d{i}"))
    settings.add_recent_folder(str(tmp_path / "d5"))
    recent = settings.recent_folders()
    assert len(recent) == MAX_RECENT and recent[0] == str(tmp_path / "d5")
    assert len(set(recent)) == len(recent)


def test_corrupt_values_fall_back_to_defaults(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "bad.ini"
    store = QSettings(str(path), QSettings.Format.IniFormat)
    store.setValue("training/hyperparameters", "{not json")
    store.setValue("data/recent_folders", "42")
    store.sync()
    settings = Settings.from_file(path)
    assert settings.hyperparameters() is None
    assert settings.recent_folders() == []
