"""Data page: loading off the UI thread, bad folders, filters and their report, drag and drop, recent folders."""
from __future__ import annotations

import shutil
import threading
import time

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

import sasrec_gui.services.controller as controller_module
from core.filters import FilterConfig


def _write_bad_kion(folder):  # noqa: ANN001, ANN202
    folder.mkdir()
    (folder / "interactions.csv").write_text(
        "user_id,item_id,last_watch_dt,total_dur,watched_pct\n1,2,2021-05-01,400,50\n,3,2021-05-02,500,60\n"  # a blank user id
    )
    return folder


def test_load_runs_off_the_ui_thread_with_a_busy_bar(window, gui_demo_dir, monkeypatch, qtbot) -> None:  # noqa: ANN001
    threads: list[threading.Thread] = []
    real_load = controller_module.load_data

    def slow_load(folder, label="", options=None):  # noqa: ANN001, ANN202
        threads.append(threading.current_thread())
        time.sleep(0.6)
        return real_load(folder, label, options)

    monkeypatch.setattr(controller_module, "load_data", slow_load)
    page = window.data_page
    window.open_folder(gui_demo_dir)
    qtbot.waitUntil(lambda: bool(threads), timeout=5000)
    assert threads[0] is not threading.main_thread()
    assert page.busy.isVisible() and page.busy.maximum() == 0  # indeterminate busy bar
    assert window.busy.isVisible()
    assert not page.open_button.isEnabled()
    assert window.state.loaded is None
    qtbot.waitUntil(lambda: window.state.filtered is not None, timeout=20_000)
    assert not page.busy.isVisible() and page.open_button.isEnabled()


@pytest.mark.perf
def test_the_event_loop_keeps_ticking_while_loading(window, gui_demo_dir, monkeypatch, qtbot) -> None:  # noqa: ANN001
    real_load = controller_module.load_data

    def slow_load(folder, label="", options=None):  # noqa: ANN001, ANN202
        time.sleep(0.6)
        return real_load(folder, label, options)

    monkeypatch.setattr(controller_module, "load_data", slow_load)
    window.open_folder(gui_demo_dir)
    ticks = []
    for _ in range(5):  # the event loop keeps running while loading
        qtbot.wait(20)
        ticks.append(time.perf_counter())
    assert window.state.loaded is None
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.2


@pytest.mark.parametrize("kind", ["bad_file", "no_files", "missing"])
def test_bad_folder_shows_core_message_and_keeps_loaded_data(window, open_demo, dialogs, qtbot, tmp_path, kind) -> None:  # noqa: ANN001
    open_demo(window)
    loaded = window.state.loaded
    if kind == "bad_file":
        folder, named = _write_bad_kion(tmp_path / "broken"), "interactions.csv"
    elif kind == "no_files":
        folder = tmp_path / "empty"
        folder.mkdir()
        named = "no known data files"
    else:
        folder, named = tmp_path / "nowhere", "folder or file not found"
    window.open_folder(folder)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=10_000)
    kind_, title, text = dialogs[-1]
    assert kind_ == "critical" and title == "Cannot read the data"
    assert named in text and str(folder) in text
    if kind == "bad_file":
        assert "user_id" in text and "line 3" in text
    assert "still open" in text
    # the previously loaded data stays usable
    assert window.state.loaded is loaded
    assert window.data_page.summary.text("Interactions") == f"{loaded.summary.n_interactions:,}"
    assert window.train_page.train_button.isEnabled()
    assert str(folder) not in window.settings.recent_folders()


def test_bad_folder_without_previous_data(window, dialogs, qtbot, tmp_path) -> None:  # noqa: ANN001
    window.open_folder(_write_bad_kion(tmp_path / "broken"))
    qtbot.waitUntil(lambda: bool(dialogs), timeout=10_000)
    assert "interactions.csv" in dialogs[-1][2]
    assert window.state.loaded is None
    assert window.data_page.open_button.isEnabled()


def test_filters_show_the_per_step_report_and_validate(window, open_demo, qtbot) -> None:  # noqa: ANN001
    open_demo(window)
    window.show_page("data")
    form = window.data_page.filters
    first = window.state.filtered

    form.widgets["min_user_interactions"].setValue(3)
    qtbot.waitUntil(lambda: window.state.filtered is not first, timeout=10_000)
    report = window.data_page.report_model.frame
    assert list(report["name"])[-1] == "min user interactions"
    assert (report["rows"].diff().dropna() <= 0).all()
    assert window.state.filtered.config.min_user_interactions == 3
    users_col = window.data_page.report_model.column_of("users")
    shown = window.data_page.report_model.data(window.data_page.report_model.index(len(report) - 1, users_col))
    assert shown == f"{report['users'].iloc[-1]:,}"

    # date range: a step of its own; and both weights are used
    summary = window.state.loaded.summary
    middle = summary.date_min + (summary.date_max - summary.date_min) / 2
    values = {**form.values(), "date_from": f"{middle:%Y-%m-%d}", "weight_above": 5.0, "weight_below": 2.0}
    before = window.state.filtered
    form.set_values(values)
    qtbot.waitUntil(lambda: window.state.filtered is not before, timeout=10_000)
    result = window.state.filtered.result
    assert "date range" in [s.name for s in result.steps]
    assert result.interactions["datetime"].min() >= middle.normalize()
    assert set(result.interactions["weight"].unique()) <= {5.0, 2.0}

    # invalid settings: a message by the field, no filtering, Train disabled
    current = window.state.filtered
    form.widgets["weight_above"].setValue(0.0)
    assert form.error_labels["weight_above"].isVisible()
    assert "positive" in form.error_labels["weight_above"].text()
    assert "Fix" in window.data_page.filter_status.text()
    assert not window.data_page.apply_filters()
    qtbot.wait(400)
    assert window.state.filtered is current
    form.set_values(FilterConfig(min_item_freq=5).to_dict())
    assert not form.visible_errors()


def test_filters_that_leave_nothing_disable_training(window, open_demo, qtbot) -> None:  # noqa: ANN001
    open_demo(window)
    before = window.state.filtered
    window.data_page.filters.widgets["min_item_freq"].setValue(10_000_000)
    qtbot.waitUntil(lambda: window.state.filtered is not before, timeout=10_000)
    assert window.state.filtered.summary.n_interactions == 0
    assert not window.train_page.train_button.isEnabled()
    assert "loosen" in window.train_page.reason.text()


def test_drop_a_folder_or_a_file_opens_its_folder(window, gui_demo_dir, qtbot, tmp_path) -> None:  # noqa: ANN001
    copy = tmp_path / "dropped"
    shutil.copytree(gui_demo_dir, copy)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy / "interactions.csv"))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.state.loaded is not None, timeout=20_000)
    assert window.state.loaded.folder == str(copy)


def test_recent_folders_menu(window, gui_demo_dir, qtbot, tmp_path) -> None:  # noqa: ANN001
    menu = window.recent_menu
    assert [a.text() for a in menu.actions()] == ["No recent folders"]
    window.open_folder(gui_demo_dir)
    qtbot.waitUntil(lambda: window.state.loaded is not None, timeout=20_000)
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts[0] == str(gui_demo_dir) and "Clear list" in texts
    # choosing a recent entry opens it again
    loaded = window.state.loaded
    menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: window.state.loaded is not loaded, timeout=20_000)
    assert window.state.loaded.folder == str(gui_demo_dir)
    next(a for a in menu.actions() if a.text() == "Clear list").trigger()
    assert window.settings.recent_folders() == []


def test_open_demo_writes_and_loads_the_demo_once(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    window.controller.demo_dir = tmp_path / "demo"
    window.controller.demo_sizes = {"n_users": 300, "n_items": 80}
    window.data_page.demo_button.click()
    qtbot.waitUntil(lambda: window.state.loaded is not None, timeout=20_000)
    assert (tmp_path / "demo" / "interactions.csv").is_file()
    assert window.state.loaded.label == "Demo data"
    assert window.state.catalog.has_titles
    assert window.settings.recent_folders() == []  # the demo is not a "recent folder"


def test_train_waits_for_edited_filters(window, open_demo, qtbot) -> None:  # noqa: ANN001
    open_demo(window)
    page = window.train_page
    assert page.train_button.isEnabled()
    before = window.state.filtered
    window.data_page.filters.widgets["min_item_freq"].setValue(6)
    assert not page.train_button.isEnabled() and "Applying" in page.reason.text()
    qtbot.waitUntil(lambda: window.state.filtered is not before, timeout=10_000)
    assert page.train_button.isEnabled()
    window.data_page.filters.widgets["weight_below"].setValue(0.0)
    assert not page.train_button.isEnabled() and "filter settings" in page.reason.text()
