"""Shared test set-up.

GUI tests run headless (QT_QPA_PLATFORM=offscreen unless the caller chose a platform, e.g.
``QT_QPA_PLATFORM=xcb pytest`` for a headed run), and never touch the real user's
settings or data folders: XDG config/data homes point at a throw-away folder before Qt
is imported (so does the run history's $SASREC_STUDIO_HOME), and every test window gets
its own INI settings file. Qt itself is only imported by the GUI fixtures, so core tests
stay Qt-free.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_QT_HOME = tempfile.mkdtemp(prefix="sasrec-gui-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_QT_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_QT_HOME, "data")
os.environ["SASREC_STUDIO_HOME"] = os.path.join(_QT_HOME, "studio")  # the run history (core.runs), never the user's
atexit.register(shutil.rmtree, _QT_HOME, ignore_errors=True)

import pytest  # noqa: E402

#: Small demo data and a tiny model: a whole training run takes about a second on CPU.
GUI_DEMO_SIZES = {"n_users": 400, "n_items": 120, "seed": 7}
GUI_MIN_ITEM_FREQ = 5
GUI_TINY_CONFIG = {
    "n_factors": 16,
    "n_blocks": 1,
    "n_heads": 1,
    "dropout_rate": 0.1,
    "session_maxlen": 16,
    "batch_size": 64,
    "epochs": 2,
    "lr": 0.003,
    "device": "cpu",
}


@pytest.fixture(scope="session")
def gui_demo_dir(tmp_path_factory: pytest.TempPathFactory):
    """A folder with small KION-shaped demo CSVs (written once per session)."""
    from core.demo import write_demo

    folder = tmp_path_factory.mktemp("gui-demo")
    write_demo(folder, **GUI_DEMO_SIZES)
    return folder


@pytest.fixture(scope="session")
def cli_demo_dir(tmp_path_factory: pytest.TempPathFactory):
    """A folder with small demo CSVs written by ``python -m core demo-data`` (once per session)."""
    from tests.cli_runner import run_cli

    folder = tmp_path_factory.mktemp("cli-demo")
    assert run_cli("demo-data", str(folder), "--users", "400", "--items", "120", "--seed", "3")[0] == 0
    return folder


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Replace QMessageBox's static dialogs so nothing blocks; records (kind, title, text)."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[tuple[str, str, str]] = []

    def recorder(kind: str, answer):  # noqa: ANN001, ANN202
        def show(_parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            shown.append((kind, str(title), str(text)))
            return answer

        return staticmethod(show)

    for kind, answer in (
        ("critical", QMessageBox.StandardButton.Ok),
        ("warning", QMessageBox.StandardButton.Ok),
        ("information", QMessageBox.StandardButton.Ok),
        ("question", QMessageBox.StandardButton.Yes),
        ("about", None),
    ):
        monkeypatch.setattr(QMessageBox, kind, recorder(kind, answer))
    return shown


@pytest.fixture
def gui_settings(tmp_path):  # noqa: ANN001, ANN201
    """Settings in a temporary INI file (never the user's real QSettings)."""
    from sasrec_gui.services.settings import Settings

    return Settings.from_file(tmp_path / "settings.ini")


@pytest.fixture
def make_window(qtbot, gui_settings, dialogs):  # noqa: ANN001, ANN201
    """Factory for main windows that are shut down (worker threads joined) after the test."""
    from PySide6.QtWidgets import QApplication

    from sasrec_gui import ORG_NAME
    from sasrec_gui.app import MainWindow

    app = QApplication.instance()
    app.setOrganizationName(f"{ORG_NAME}Tests")
    app.setApplicationName("SASRec Studio Tests")
    if app.style().name().lower() != "fusion":  # the window styles its own roots (services.styling)
        app.setStyle("Fusion")
    windows = []

    def make(settings=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        window = MainWindow(settings or gui_settings, **kwargs)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()


@pytest.fixture
def window(make_window):  # noqa: ANN001, ANN201
    return make_window()


@pytest.fixture
def open_demo(qtbot, gui_demo_dir):  # noqa: ANN001, ANN201
    """``open_demo(window)``: load the small demo folder with min_item_freq=5 and wait for the filters."""

    def open_(window):  # noqa: ANN001, ANN202
        window.data_page.filters.widgets["min_item_freq"].setValue(GUI_MIN_ITEM_FREQ)
        window.open_folder(gui_demo_dir)
        qtbot.waitUntil(
            lambda: window.state.filtered is not None and window.state.filtered.config.min_item_freq == GUI_MIN_ITEM_FREQ,
            timeout=20_000,
        )
        return window

    return open_


@pytest.fixture
def train(qtbot):  # noqa: ANN001, ANN201
    """``train(window, **overrides)``: a tiny training run to its end; returns how it ended."""

    def train_(window, **overrides) -> str:  # noqa: ANN001, ANN003
        window.train_page.form.set_config({**GUI_TINY_CONFIG, **overrides})
        with qtbot.waitSignal(window.train_page.session.ended, timeout=60_000) as blocker:
            assert window.train_page.start_training(), window.train_page.blocking_reason()
        return blocker.args[0]

    return train_


def train_demo_model(folder, config: dict):  # noqa: ANN001, ANN201
    """(loaded data, filtered data, trained model, user histories) of the GUI demo folder with
    ``config`` (SASRecConfig fields) and the GUI tests' filters; module-scoped fixtures share it."""
    from core.config import SASRecConfig
    from core.filters import FilterConfig
    from core.sequences import UserHistories
    from core.train import fit
    from sasrec_gui.services.controller import filter_data, load_data

    loaded = load_data(folder, "Demo data")
    filters = FilterConfig(min_item_freq=GUI_MIN_ITEM_FREQ)
    filtered = filter_data(loaded.data, filters)
    interactions = filtered.result.interactions
    model = fit(interactions, SASRecConfig(**config), filter_config=filters.to_dict()).model
    return loaded, filtered, model, UserHistories.from_interactions(interactions)


def window_with_model(make_window, demo_model):  # noqa: ANN001, ANN201
    """A non-interactive window holding ``train_demo_model``'s data, filters and model."""
    loaded, filtered, model, histories = demo_model
    window = make_window(interactive=False)
    window.state.set_data(loaded)
    window.state.set_filtered(filtered)
    window.state.set_model(model, histories, origin="test model")
    return window
