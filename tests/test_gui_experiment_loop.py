"""The experiment loop in the app: early stopping keeps the best epoch and the live plot marks
it, the validation loss is plotted on its own labelled axis, every metric says how it was
measured, and "Continue training…" goes on from a run's checkpoint, linked to its parent
(small demo data, tiny models)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import load_checkpoint
from core.demo import write_demo
from core.runs import RunStore

#: Early stopping that must stop after the second epoch: the held-out loss never improves by 10.
STOPS_AFTER_TWO = {"holdout": "last", "validate_every": 1, "k": 10, "early_stopping": 1, "monitor": "loss", "min_delta": 10.0}


@pytest.fixture
def run_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "studio"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    return home


def _recorded(qtbot, n: int) -> list:  # noqa: ANN001
    qtbot.waitUntil(lambda: len(RunStore.default().runs()) == n, timeout=30_000)
    return RunStore.default().runs()


def test_early_stopping_keeps_the_best_epoch_and_the_plot_marks_it(window, open_demo, train, qtbot, run_home) -> None:  # noqa: ANN001
    open_demo(window)
    window.show_page("training")
    page = window.train_page
    qtbot.waitExposed(page.loss_plot.canvas)
    page.validation.set_values(STOPS_AFTER_TWO)
    assert page.validation.widgets["early_stopping"].isEnabled()
    assert train(window, epochs=5) == "finished"

    model = window.state.model
    history = model.history
    assert history.stopped_early and history.best_epoch == 1 and model.kept_epoch == 1 and model.epochs_done == 2
    assert history.monitor == "val_loss" and set(history.best_metrics) == {"HR@10", "NDCG@10", "val_loss"}
    # the kept weights are epoch 1's: the checkpoint the run history saved holds them too
    (run,) = _recorded(qtbot, 1)
    saved, _extra = load_checkpoint(run.checkpoint_path)
    assert saved.kept_epoch == 1
    for name, tensor in model.module.state_dict().items():
        assert torch.equal(tensor.cpu(), saved.module.state_dict()[name].cpu()), name
    assert page.progress.format() == "Stopped early — best epoch 1 of 2 kept"
    assert "2 epoch(s) (weights of epoch 1, the best)" in page.model_label.text()
    qtbot.waitUntil(lambda: "Recorded as run" in window.statusBar().currentMessage(), timeout=20_000)
    assert "Early stopping ended training after epoch 2" in window.statusBar().currentMessage()

    # what the session reported is the record's history, best fields and validation losses included
    session = page.session.history
    assert session.best_epoch == 1 and session.stopped_early and len(session.val_losses) == 2
    assert run.best_epoch == 1 and run.kept_epoch == 1 and run.history["stopped_early"] is True
    assert run.history["val_losses"] == pytest.approx(history.val_losses)
    assert run.best_metrics["val_loss"] == pytest.approx(history.val_losses[0])

    # the plot: validation loss on its own right-hand axis over the steps, the best epoch and the stop marked
    plot = page.loss_plot
    marks = plot.marks
    per_epoch = plot.steps_per_epoch
    assert marks.val_ax.get_visible() and "unweighted" in marks.val_ax.get_ylabel()
    assert list(marks.val_line.get_xdata()) == [per_epoch, 2 * per_epoch]
    np.testing.assert_allclose(marks.val_line.get_ydata(), history.val_losses)
    assert marks.best_line.get_visible() and list(marks.best_line.get_xdata()) == [per_epoch, per_epoch]
    assert marks.stop_line.get_visible() and list(marks.stop_line.get_xdata()) == [2 * per_epoch, 2 * per_epoch]
    assert list(marks.best_metric_line.get_xdata()) == [1, 1]
    assert "epoch 1 (kept)" in marks.best_text.get_text() and "early stop after epoch 2" in marks.best_text.get_text()
    labels = [t.get_text() for t in plot.ax.get_legend().get_texts()]
    assert "Validation loss (right axis)" in labels and "Best epoch" in labels

    # every metric says how it was measured: the plot, its tooltip, the evaluation box
    protocol = run.protocol
    assert protocol is not None and protocol.split == "last" and protocol.ks == (10,)
    assert "leave-last-out" in marks.protocol_text.get_text()
    assert protocol.describe() in plot.canvas.toolTip()
    qtbot.waitUntil(lambda: page.evaluation is not None, timeout=30_000)
    assert "Measured on: leave-last-out" in page.eval_box.message.text()


def test_a_checkpoint_shows_its_best_epoch_and_validation_loss(window, qtbot) -> None:  # noqa: ANN001
    from core.train import TrainingHistory

    history = TrainingHistory(
        step_losses=[5.0] * 30, epoch_losses=[5.0, 4.0, 3.5], epoch_metrics=[{"NDCG@10": 0.1}, {"NDCG@10": 0.2}, {"NDCG@10": 0.15}],
        val_losses=[6.0, 5.5, 5.8], best_epoch=2, best_metrics={"NDCG@10": 0.2, "val_loss": 5.5}, monitor="NDCG@10",
        kept_epoch=2, stopped_early=True, steps_per_epoch=10,
    )
    plot = window.train_page.loss_plot
    plot.set_history(history)
    marks = plot.marks
    assert list(marks.val_line.get_xdata()) == [10, 20, 30] and marks.best_epoch == 2 and marks.stopped_after == 3
    assert marks.best_text.get_text() == "best NDCG@10: epoch 2 (kept)\nearly stop after epoch 3"
    assert marks.val_ax.get_ylim()[1] >= 6.0
    plot.reset()
    assert not marks.best_line.get_visible() and len(marks.val_line.get_xdata()) == 0 and marks.best_text.get_text() == ""


def test_continue_training_links_the_parent_and_continues_the_curves(window, open_demo, train, qtbot, run_home) -> None:  # noqa: ANN001
    open_demo(window)
    window.train_page.validation.set_values({"holdout": "last", "validate_every": 1, "k": 10})
    assert train(window, epochs=2) == "finished"
    (parent,) = _recorded(qtbot, 1)

    runs = window.runs_page
    window.show_page("runs")
    qtbot.waitUntil(lambda: runs.table_model.rowCount() == 1 and not runs.history.is_busy(), timeout=20_000)
    runs.select_runs([parent.run_id])
    assert runs.continue_button.isEnabled()
    runs.continue_button.click()
    dialog = window.continue_dialog
    assert dialog is not None and dialog.heading.text() == f"<b>Continue run {parent.run_id}</b>"
    dialog.epochs.setValue(2)
    dialog.change_lr.setChecked(True)
    dialog.lr.setText("-1")  # refused in the dialog: not a positive number
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled() and dialog.error.text()
    dialog.lr.setText("0.001")
    with qtbot.waitSignal(window.train_page.session.ended, timeout=60_000) as ended:
        dialog.accept()
    assert ended.args[0] == "finished" and window.current_page() == "training"

    model = window.state.model
    assert model.epochs_done == 4 and model.history.resumed_after == 2 and model.config.lr == pytest.approx(0.001)
    child = next(r for r in _recorded(qtbot, 2) if r.run_id != parent.run_id)
    assert child.parent_run_id == parent.run_id
    assert child.config["lr"] == pytest.approx(0.001) and child.config["n_factors"] == parent.config["n_factors"]
    # the curves go on where the parent's stopped: its steps and epochs first, then the new ones
    per_epoch = parent.history["steps_per_epoch"]
    assert child.history["step_losses"][: 2 * per_epoch] == parent.history["step_losses"]
    assert child.history["epoch_losses"][:2] == parent.history["epoch_losses"] and len(child.history["epoch_losses"]) == 4
    plot = window.train_page.loss_plot
    assert plot.n_steps == 4 * per_epoch and list(plot.epoch_line.get_xdata()) == [per_epoch * e for e in (1, 2, 3, 4)]
    assert plot.metric_values()["NDCG@10"][0] == [1, 2, 3, 4]

    # the Runs page shows the parent of the continued run
    window.show_page("runs")
    qtbot.waitUntil(lambda: runs.table_model.rowCount() == 2 and not runs.history.is_busy(), timeout=20_000)
    row = runs.table_model.row_of(child.run_id)
    column = runs.table_model.column_of("parent")
    assert runs.table_model.data(runs.table_model.index(row, column)) == str(parent.run_id)

    # the Training menu continues the current model (the continued run's own checkpoint)
    assert window.continuation.current_checkpoint() == child.checkpoint_path
    menu_dialog = window.continue_current_model()
    assert menu_dialog is not None and Path(child.checkpoint_path).name in menu_dialog.heading.text()
    menu_dialog.reject()


def test_continuing_on_data_with_another_catalog_is_refused(window, open_demo, train, qtbot, run_home, dialogs,
                                                             tmp_path) -> None:  # noqa: ANN001
    open_demo(window)
    assert train(window, epochs=1) == "finished"
    (parent,) = _recorded(qtbot, 1)
    other = tmp_path / "other"
    write_demo(other, n_users=300, n_items=60, seed=3)
    window.open_folder(other)
    qtbot.waitUntil(lambda: window.state.loaded is not None and window.state.loaded.folder == str(other), timeout=20_000)
    assert window.continuation.start(parent.checkpoint_path, 1)
    qtbot.waitUntil(lambda: any(kind == "critical" for kind, *_ in dialogs), timeout=30_000)
    kind, title, text = next(d for d in dialogs if d[0] == "critical")
    assert title == "Training failed" and "Cannot continue" in text and Path(parent.checkpoint_path).name in text
    assert not window.training.running and len(RunStore.default().runs()) == 1


def test_continue_needs_data_and_a_saved_model(window, qtbot) -> None:  # noqa: ANN001
    assert window.continue_current_model() is None
    assert "Train a model or open a checkpoint first" in window.statusBar().currentMessage()
    assert not window.continuation.start("/nowhere.pt", 1)
    assert "Open the data" in window.statusBar().currentMessage()
