"""Validation during training, the run history and the Runs page (small demo data, tiny models)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.checkpoint import load_checkpoint
from core.config import SASRecConfig
from core.runs import RunStore, data_fingerprint
from core.train import fit
from tests.conftest import GUI_MIN_ITEM_FREQ, GUI_TINY_CONFIG

LAST_OUT = {"holdout": "last", "validate_every": 1, "k": 10}


@pytest.fixture
def run_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A run history of this test's own (``RunStore.default()`` follows $SASREC_STUDIO_HOME)."""
    home = tmp_path / "studio"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    return home


def _validate(window, **values) -> None:  # noqa: ANN001, ANN003
    window.train_page.validation.set_values({**LAST_OUT, **values})


def _wait_recorded(qtbot, n: int) -> list:  # noqa: ANN001
    qtbot.waitUntil(lambda: len(RunStore.default().runs()) == n, timeout=20_000)
    return RunStore.default().runs()


def _show_runs(window, qtbot, n: int):  # noqa: ANN001, ANN202
    page = window.runs_page
    window.show_page("runs")
    qtbot.waitUntil(lambda: page.table_model.rowCount() == n and not page.history.is_busy(), timeout=20_000)
    return page


def test_validated_run_plots_metrics_evaluates_and_is_recorded(window, open_demo, train, qtbot, run_home) -> None:  # noqa: ANN001
    open_demo(window)
    window.show_page("training")
    page = window.train_page
    qtbot.waitExposed(page.loss_plot.canvas)
    _validate(window)
    assert page.validation.holdout().scheme == "last"
    assert not page.validation.widgets["test_days"].isEnabled()  # only for the last-N-days hold-out
    page.form.set_config({**GUI_TINY_CONFIG, "epochs": 2})
    plot = page.loss_plot
    page.session.epoch_done.connect(lambda _report: plot.redraw())  # a plot tick right after each epoch's metrics
    with qtbot.waitSignal(page.session.ended, timeout=60_000) as ended:
        assert page.start_training()
        assert plot.live and plot.metrics_shown
        blits = plot.draw_count - plot.full_draws
    assert ended.args[0] == "finished"
    # the metrics arrived by blitting: no full draw (tens of ms, more under load) while the run was live
    assert plot.live_full_draws == 0 and plot.draw_count - plot.full_draws >= blits + 2

    # the live plot got HR@10 / NDCG@10 after each epoch, in its own labelled axes
    metrics = plot.metric_values()
    assert set(metrics) == {"HR@10", "NDCG@10"}
    for epochs, values in metrics.values():
        assert epochs == [1, 2] and all(0.0 <= v <= 1.0 for v in values)
    assert plot.metrics_shown and plot.metric_ax.get_visible()
    assert plot.metric_ax.get_xlabel() == "Epoch" and plot.metric_ax.get_ylabel()
    assert list(plot.metric_lines["NDCG"].get_xdata()) == [1, 2]
    model = window.state.model
    assert [m["NDCG@10"] for m in model.history.epoch_metrics] == metrics["NDCG@10"][1]

    # the final table: SASRec against Popular on the hold-out, computed in a worker
    qtbot.waitUntil(lambda: page.evaluation is not None, timeout=20_000)
    assert list(page.evaluation.index) == ["SASRec", "Popular"]
    assert {"HR@10", "NDCG@10", "Recall@10", "MAP@10", "MRR@10", "Coverage@10"} <= set(page.evaluation.columns)
    assert not page.eval_box.isHidden() and page.eval_model.rowCount() == 2
    assert page.eval_model.data(page.eval_model.index(0, 0)) == "SASRec"
    assert page.evaluation.loc["SASRec", "NDCG@10"] == pytest.approx(metrics["NDCG@10"][1][-1], abs=1e-6)

    # the run is recorded with its settings, histories, metrics and a checkpoint
    (run,) = _wait_recorded(qtbot, 1)
    assert run.status == "finished" and run.device == "cpu" and run.seconds > 0
    assert run.config == model.config.to_dict() and run.filter_config["min_item_freq"] == GUI_MIN_ITEM_FREQ
    assert run.data_source == window.state.loaded.folder
    assert run.data_fingerprint == data_fingerprint(window.state.filtered.result.interactions)
    assert run.history["step_losses"] == model.history.step_losses
    assert run.history["epoch_losses"] == model.history.epoch_losses
    assert run.history["validation"] == {"split": "last", "test_days": 7, "every": 1, "k": 10}
    assert run.history["steps_per_epoch"] * 2 == len(run.history["step_losses"])
    assert set(run.metrics) == {"HR@10", "NDCG@10"}
    path = Path(run.checkpoint_path)
    assert path.parent == run_home / "checkpoints" and path.name.startswith("run-") and path.suffix == ".pt"
    saved, extra = load_checkpoint(path)
    assert saved.history.epoch_metrics == model.history.epoch_metrics
    assert extra["holdout"]["split"] == "last" and extra["source"] == window.state.loaded.folder
    assert f"Recorded as run {run.run_id}" in window.statusBar().currentMessage()

    # the Runs page lists it
    runs_page = _show_runs(window, qtbot, 1)
    table = runs_page.table_model
    assert table.run_id(0) == run.run_id
    assert table.column_of("NDCG@10") >= 0 and table.column_of("HR@10") >= 0
    assert str(run_home) in runs_page.subtitle.text()


def test_runs_page_compares_reuses_opens_and_deletes(window, open_demo, train, qtbot, run_home, monkeypatch) -> None:  # noqa: ANN001
    open_demo(window)
    assert train(window, epochs=1, lr=0.003) == "finished"
    _validate(window)
    assert train(window, epochs=1, lr=0.01, n_factors=24) == "finished"
    runs = _wait_recorded(qtbot, 2)
    b, a = runs  # newest first
    page = _show_runs(window, qtbot, 2)
    assert [page.table_model.run_id(r) for r in range(2)] == [b.run_id, a.run_id]  # newest first by default

    # sorting (pandas) keeps the selection
    page.select_runs([a.run_id])
    page.table_view.sortByColumn(page.table_model.column_of("lr"), Qt.SortOrder.DescendingOrder)
    assert [page.table_model.run_id(r) for r in range(2)] == [b.run_id, a.run_id]
    page.table_view.sortByColumn(page.table_model.column_of("lr"), Qt.SortOrder.AscendingOrder)
    assert [page.table_model.run_id(r) for r in range(2)] == [a.run_id, b.run_id]
    assert page.selected_ids() == [a.run_id]
    page.plot.chart.flush()  # the curves are drawn on a worker: draw them here and now
    assert len(page.plot.loss_lines) == 1 and page.plot.metric_lines == []

    # two runs: two loss curves, B's validation curves, and the differing settings highlighted
    page.select_runs([a.run_id, b.run_id])
    page.plot.chart.flush()
    assert len(page.plot.loss_lines) == 2
    assert len(page.plot.metric_lines) == 2  # B's NDCG@10 and HR@10 (A did not validate)
    assert page.plot.loss_ax.get_xlabel() == "Epoch" and page.plot.loss_ax.get_ylabel() == "Loss"
    # the curves (drawn on a worker, no toolbar) zoom with the wheel and pan with a drag
    plot = page.plot
    (x0, x1), (y0, y1) = plot.loss_ax.get_xlim(), plot.loss_ax.get_ylim()
    px, py = plot.loss_ax.transAxes.transform((0.5, 0.5))
    plot.canvas.process_event("scroll_event", px, py, step=1)
    (zx0, zx1), (zy0, zy1) = plot.navigation.limits[0]
    assert zx1 - zx0 < x1 - x0 and zy1 - zy0 < y1 - y0 and plot.reset_view_button.isEnabled()
    plot.chart.flush()
    assert plot.loss_ax.get_xlim() == (zx0, zx1)  # a redraw keeps the zoom
    plot.canvas.process_event("button_press_event", px, py, button=1)
    plot.canvas.process_event("motion_notify_event", px + 40, py, button=1)
    plot.canvas.process_event("button_release_event", px + 40, py, button=1)
    assert plot.navigation.limits[0][0][0] < zx0  # dragged right: earlier epochs come into view
    plot.reset_view_button.click()
    plot.chart.flush()
    assert not plot.navigation.zoomed and not plot.reset_view_button.isEnabled()
    assert plot.loss_ax.get_xlim() == (x0, x1)
    compare = page.compare_model
    assert compare.differing_fields() == {"lr", "n_factors", "holdout", "validate_every", "k"}
    keys = compare.row_keys()
    row = keys.index("lr")
    assert compare.data(compare.index(row, 1), Qt.ItemDataRole.FontRole).bold()
    assert compare.data(compare.index(row, 1), Qt.ItemDataRole.BackgroundRole) is not None
    assert "seed" not in keys and "final_loss" in keys  # only differences by default; outcome always
    page.only_differences.setChecked(False)
    keys = compare.row_keys()
    assert len(keys) == len(set(keys)) and {"device", "trained_on"} <= set(keys)  # one row per name
    assert {"seed", "min_item_freq", "data"} <= set(keys)
    assert compare.data(compare.index(keys.index("seed"), 1), Qt.ItemDataRole.FontRole) is None
    assert "2 runs selected: 5 setting(s) differ" in page.selection_label.text()
    assert not page.use_button.isEnabled() and not page.open_button.isEnabled() and page.delete_button.isEnabled()

    # "Use these settings" fills the training form, the filters and the validation
    window.data_page.filters.widgets["min_item_freq"].setValue(9)
    page.select_runs([b.run_id])
    page.use_button.click()
    assert window.current_page() == "training"
    form = window.train_page.form.config()
    assert form.n_factors == 24 and form.lr == pytest.approx(0.01) and form == SASRecConfig.from_dict(b.config)
    assert window.data_page.filters.config().min_item_freq == GUI_MIN_ITEM_FREQ
    assert window.train_page.validation.holdout().scheme == "last"
    window.show_page("runs")
    page.select_runs([a.run_id])
    assert page.use_settings()
    assert window.train_page.form.config().n_factors == GUI_TINY_CONFIG["n_factors"]
    assert window.train_page.validation.holdout() is None

    # "Open model" loads run A's checkpoint for the recommendation pages
    window.show_page("runs")
    assert window.state.model.config.n_factors == 24  # B, trained last
    with qtbot.waitSignal(window.controller.checkpoint_opened, timeout=10_000):
        page.open_button.click()
    model = window.state.model
    assert model.config.n_factors == GUI_TINY_CONFIG["n_factors"] and model.history.step_losses == a.history["step_losses"]
    assert Path(a.checkpoint_path).name in window.state.model_origin
    qtbot.waitUntil(lambda: window.state.model_has_data, timeout=10_000)
    assert not window.recommend_page.placeholder.showing_placeholder
    assert window.recommend_page.show_user(int(window.state.users.ids[0]))
    assert window.recommend_page.recs_model.rowCount() == 10

    # "Delete": cancelling keeps the run, confirming removes it and its checkpoint
    asked: list[str] = []

    def answer(reply):  # noqa: ANN001, ANN202
        def question(_parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            asked.append(text)
            return reply

        return question

    window.show_page("runs")
    page.select_runs([a.run_id])
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    page.delete_button.click()
    assert asked and f"run {a.run_id}" in asked[-1]
    assert len(RunStore.default().runs()) == 2 and Path(a.checkpoint_path).is_file()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(page.history.deleted, timeout=10_000):
        page.delete_button.click()
    assert [r.run_id for r in RunStore.default().runs()] == [b.run_id]
    assert not Path(a.checkpoint_path).exists() and Path(b.checkpoint_path).is_file()
    qtbot.waitUntil(lambda: page.table_model.rowCount() == 1, timeout=10_000)
    assert page.table_model.run_id(0) == b.run_id and page.selected_ids() == []


def test_corrupt_run_history_shows_a_message_and_keeps_the_run(window, open_demo, train, dialogs, qtbot, run_home) -> None:  # noqa: ANN001
    run_home.mkdir()
    db = run_home / "runs.sqlite"
    db.write_bytes(b"this is not an SQLite database" * 100)
    open_demo(window)
    assert train(window, epochs=1) == "finished"
    qtbot.waitUntil(lambda: any(kind == "warning" for kind, *_ in dialogs), timeout=20_000)
    kind, title, text = next(d for d in dialogs if d[0] == "warning")
    assert title == "Run history unavailable" and str(db) in text and "kept" in text
    assert "could not be written to the run history" in window.statusBar().currentMessage()
    assert window.state.model is not None  # the model itself is in use as usual
    assert len(RunStore.default().pending_files()) == 1

    page = window.runs_page
    window.show_page("runs")
    qtbot.waitUntil(lambda: page.status.is_error, timeout=10_000)
    assert "cannot be read" in page.status.text()

    db.unlink()  # the user moved the broken file away: the kept run is written now
    page.refresh()
    qtbot.waitUntil(lambda: page.table_model.rowCount() == 1, timeout=10_000)
    assert page.snapshot.flushed == 1 and not page.status.is_error
    (run,) = RunStore.default().runs()
    assert run.status == "finished" and run.history["step_losses"] and Path(run.checkpoint_path).is_file()
    assert RunStore.default().pending_files() == []


def test_a_failed_run_is_recorded_with_its_status(make_window, open_demo, qtbot, run_home) -> None:  # noqa: ANN001
    def failing_fit(interactions, config, *, callback=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        fit(interactions, SASRecConfig(**{**config.to_dict(), "epochs": 1}), callback=callback, **kwargs)
        raise RuntimeError("broken after one epoch")

    window = open_demo(make_window(fit_fn=failing_fit))
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, "epochs": 3})
    with qtbot.waitSignal(page.session.ended, timeout=30_000):
        assert page.start_training()
    (run,) = _wait_recorded(qtbot, 1)
    assert run.status == "failed" and run.checkpoint_path == ""
    assert len(run.history["epoch_losses"]) == 1 and run.history["step_losses"]  # what was reported before it failed
    assert run.config["epochs"] == 3 and run.data_fingerprint

    runs_page = _show_runs(window, qtbot, 1)
    runs_page.select_runs([run.run_id])
    assert not runs_page.open_button.isEnabled() and runs_page.use_button.isEnabled()
    assert runs_page.table_model.value(0, "status") == "failed"


def test_a_run_stopped_before_its_first_epoch_is_recorded_as_stopped(window, open_demo, qtbot, run_home) -> None:  # noqa: ANN001
    open_demo(window)
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, "epochs": 3, "batch_size": 1})  # hundreds of steps in epoch 1
    with qtbot.waitSignal(page.session.progress, timeout=30_000):
        assert page.start_training()
    with qtbot.waitSignal(page.session.ended, timeout=10_000) as ended:
        page.stop_training()
    assert ended.args[1].result.model is None
    (run,) = _wait_recorded(qtbot, 1)
    assert run.status == "stopped" and run.checkpoint_path == "" and run.history["step_losses"]
    assert run.history["epoch_losses"] == [] and run.data_fingerprint
    assert _show_runs(window, qtbot, 1).table_model.value(0, "status") == "stopped"
