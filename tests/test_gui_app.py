"""Start-up: entry points, qasync run, --demo/--data/--screenshot (core staying Qt-free: test_import_contracts)."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

from tests.conftest import GUI_TINY_CONFIG

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def test_gui_script_entry_point_is_main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["gui-scripts"]["sasrec-gui"] == "sasrec_gui.__main__:main"
    from sasrec_gui.__main__ import build_parser, main

    assert callable(main)
    args = build_parser().parse_args(["--demo", "--screenshot", "x.png"])
    assert args.demo and args.screenshot == "x.png"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--demo", "--data", "somewhere"])  # one source at a time


@pytest.mark.slow
def test_demo_screenshot_run_exits_zero(tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    done = subprocess.run(
        [sys.executable, "-m", "sasrec_gui", "--demo", "--screenshot", str(shot)],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 1000 and image.height() >= 700
    # the demo was written into the app's data folder (here the temporary XDG_DATA_HOME)
    assert list((tmp_path / "data").rglob("demo-v1/interactions.csv"))


@pytest.mark.slow
def test_bad_data_screenshot_run_exits_one(tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    done = subprocess.run(
        [sys.executable, "-m", "sasrec_gui", "--data", str(tmp_path / "missing"), "--screenshot", str(shot)],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 1
    assert "folder or file not found" in done.stderr and not shot.exists()


def test_qasync_run_stops_training_before_the_loop_closes(qapp, gui_demo_dir, gui_settings, dialogs, monkeypatch) -> None:  # noqa: ANN001
    """The real start path: qasync loop, --data, training, window closed mid-run, clean exit."""
    import qasync

    import sasrec_gui.app as app_module
    from sasrec_gui.__main__ import build_parser, run_app

    windows, workers, ended = [], [], []
    real_window = app_module.MainWindow

    def make_window(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        window = real_window(gui_settings, interactive=True)
        window.data_page.filters.widgets["min_item_freq"].setValue(5)
        window.train_page.form.set_config({**GUI_TINY_CONFIG, "epochs": 500, "batch_size": 16})
        window.state.filter_changed.connect(window.train_page.start_training)
        window.train_page.session.started.connect(lambda: workers.append(window.train_page.session.worker.stop_requested))
        window.train_page.session.ended.connect(lambda kind, _payload: ended.append(kind))
        window.train_page.session.progress.connect(lambda _report: QTimer.singleShot(0, window.close))
        windows.append(window)
        return window

    monkeypatch.setattr(app_module, "MainWindow", make_window)
    args = build_parser().parse_args(["--data", str(gui_demo_dir)])
    assert qasync.run(run_app(args)) == 0
    window = windows[0]
    assert not window.isVisible()
    assert len(workers) == 1 and window.train_page.session.last_progress is not None
    assert workers == [False] and ended == ["cancelled"]  # stopped by closing, then joined
    assert window.train_page.session.worker is None
    assert not window.runner.is_busy()
    assert not dialogs
    qapp.setQuitOnLastWindowClosed(True)
