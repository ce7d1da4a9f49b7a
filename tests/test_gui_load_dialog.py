"""Opening what people have in the app: unrecognised logs get a column-mapping dialog,
ambiguous dates a date-format field, and zip archives open directly (dialog or drop)."""
from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
from PySide6.QtWidgets import QDialogButtonBox

from core.demo import write_demo
from sasrec_gui.widgets.load_dialog import LoadDialog


def _text_log(path, n_users=60, n_items=25):
    rng = np.random.default_rng(0)
    rows = []
    for u in range(n_users):
        for step, i in enumerate(rng.choice(n_items, 6, replace=False)):
            rows.append((f"A{u:04d}XK", f"sku-{i}", 1_600_000_000 + 3600 * (u * 10 + step)))
    pd.DataFrame(rows, columns=["customer", "sku", "ts"]).to_csv(path, index=False)
    return path


def _open_button(dialog: LoadDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Open)


def test_unrecognised_log_opens_the_mapping_dialog_and_loads_text_ids(window, qtbot, tmp_path, dialogs):
    path = _text_log(tmp_path / "events.csv")
    window.open_folder(path)
    qtbot.waitUntil(lambda: window.load_dialog is not None and window.load_dialog.isVisible(), timeout=20_000)
    dialog = window.load_dialog
    assert "not" in dialog.problem.text() and dialog.problem.isVisible()  # core's message, as it is
    assert dialog.format_box.currentData() == "csv" and dialog.header_box.isChecked()
    assert [dialog.role_boxes[r].currentData() for r in ("user", "item", "time")] == ["customer", "sku", "ts"]
    assert dialog.role_boxes["weight"].currentData() is None and dialog.table.rowCount() == 20
    assert _open_button(dialog).isEnabled()
    _open_button(dialog).click()
    qtbot.waitUntil(lambda: window.state.loaded is not None, timeout=20_000)
    ids = window.state.data.interactions["user_id"]
    assert set(ids) >= {"A0000XK", "A0059XK"} and len(set(ids)) == 60
    assert not dialogs  # no error dialog on the way


def test_the_same_column_twice_disables_open(window, qtbot, tmp_path):
    dialog = window.ask_load_options(str(_text_log(tmp_path / "events.csv")))
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("csv"))
    dialog.role_boxes["item"].setCurrentIndex(dialog.role_boxes["item"].findData("customer"))
    assert not _open_button(dialog).isEnabled() and "same column" in dialog.error.text()


def test_ambiguous_dates_ask_for_the_date_format(window, qtbot, tmp_path, dialogs):
    folder = tmp_path / "kion"
    write_demo(folder, n_users=300, n_items=40, seed=3)
    inter = pd.read_csv(folder / "interactions.csv")
    days = pd.to_datetime(inter["last_watch_dt"])
    inter["last_watch_dt"] = days.dt.strftime("%m/%d/%Y").where(days.dt.day <= 12, "01/02/2021")  # no day > 12
    inter.to_csv(folder / "interactions.csv", index=False)
    window.open_folder(folder)
    qtbot.waitUntil(lambda: window.load_dialog is not None and window.load_dialog.isVisible(), timeout=20_000)
    dialog = window.load_dialog
    assert "last_watch_dt" in dialog.problem.text() and "Date format" in dialog.problem.text()
    assert dialog.format_box.currentData() == "auto"
    dialog.date_box.setCurrentIndex(dialog.date_box.findData("monthfirst"))
    _open_button(dialog).click()
    qtbot.waitUntil(lambda: window.state.loaded is not None, timeout=20_000)
    got = window.state.data.interactions["datetime"]
    assert (got.dt.day <= 12).all() and got.min() >= pd.Timestamp("2021-01-01")
    assert not dialogs


def test_a_dropped_zip_archive_opens(window, qtbot, tmp_path, gui_demo_dir):
    archive = tmp_path / "data_en.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("interactions.csv", "items_en.csv", "users_en.csv"):
            zf.write(gui_demo_dir / name, f"data_en/{name}")
        zf.writestr("__MACOSX/data_en/._interactions.csv", b"\x00\x05resource fork")
    window.open_dropped(str(archive))
    qtbot.waitUntil(lambda: window.state.loaded is not None, timeout=30_000)
    assert window.state.loaded.folder == str(archive) and window.state.data.format == "kion"
    assert window.state.data.items is not None and "title" in window.state.data.items.columns
