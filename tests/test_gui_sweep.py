"""The sweep dialog (Training → Sweep…): validated by core, runs trials in the background,
shows their progress, records every trial under one sweep id, and can be stopped keeping
the finished trials (small demo data, tiny models)."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.runs import RunStore
from core.sweep import TrialEnded
from sasrec_gui.logic.sweep_job import ParamRow, SweepProgress, build_spec
from tests.conftest import GUI_TINY_CONFIG


@pytest.fixture
def run_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "studio"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    return home


def _sweep_dialog(window, rows: list[ParamRow]):  # noqa: ANN001, ANN202
    window.train_page.form.set_config({**GUI_TINY_CONFIG, "epochs": 2})
    dialog = window.open_sweep_dialog()
    dialog.set_rows(rows)
    return dialog


def test_a_three_trial_sweep_records_three_runs_under_one_sweep_id(window, open_demo, qtbot, run_home) -> None:  # noqa: ANN001
    open_demo(window)
    dialog = _sweep_dialog(window, [ParamRow("lr", "values", "0.001,0.003,0.01")])
    dialog.patience.setValue(1)
    events: list[object] = []
    window.sweeps.event.connect(events.append)
    with qtbot.waitSignal(window.sweeps.finished, timeout=120_000) as finished:
        assert dialog.start()
        assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
        # no training run (or continued run) starts while the sweep trains
        page = window.train_page
        assert not page.train_button.isEnabled() and page.reason.text().startswith("A sweep is running")
        assert not page.start_training() and not window.continuation.start("/any.pt", 1)
    result = finished.args[0]
    assert not result.stopped and len(result.trials) == 3
    assert sorted(t.params["lr"] for t in result.trials) == [0.001, 0.003, 0.01]

    runs = RunStore.default().runs()
    assert len(runs) == 3 and {r.sweep_id for r in runs} == {result.sweep_id}
    assert {r.status for r in runs} <= {"finished", "pruned"}
    assert all(r.history["validation"]["patience"] == 1 and r.protocol is not None for r in runs)
    assert sorted(r.config["lr"] for r in runs) == [0.001, 0.003, 0.01]
    assert all(Path(r.checkpoint_path).parent == run_home / "sweeps" / result.sweep_id for r in runs)

    # the dialog followed it trial by trial
    assert any(isinstance(e, TrialEnded) for e in events)
    assert dialog.table.rowCount() == 3 and dialog.best_label.text().startswith("Best so far: trial ")
    assert dialog.progress.number == 3 and "3 trial(s) recorded" in dialog.trial_label.text()
    assert dialog.start_button.isEnabled() and not dialog.stop_button.isEnabled()
    assert window.train_page.train_button.isEnabled()

    # the Runs page lists the trials and filters by the sweep
    page = window.runs_page
    window.show_page("runs")
    qtbot.waitUntil(lambda: page.table_model.rowCount() == 3 and not page.history.is_busy(), timeout=20_000)
    assert page.set_sweep_filter(result.sweep_id) and page.table_model.rowCount() == 3


def test_a_sweep_can_be_stopped_and_keeps_its_finished_trials(window, open_demo, qtbot, run_home) -> None:  # noqa: ANN001
    open_demo(window)
    dialog = _sweep_dialog(window, [ParamRow("n_factors", "values", "8,16,24,32,40")])

    def stop_after_first(event: object) -> None:
        if isinstance(event, TrialEnded) and window.sweeps.running and dialog.stop_button.isEnabled():
            dialog.stop()

    window.sweeps.event.connect(stop_after_first)
    with qtbot.waitSignal(window.sweeps.finished, timeout=120_000) as finished:
        assert dialog.start()
    result = finished.args[0]
    assert result.stopped and 1 <= len(result.trials) < 5
    assert result.trials[0].state in ("finished", "pruned")
    runs = RunStore.default().runs()
    assert len(runs) == len(result.trials) and {r.sweep_id for r in runs} == {result.sweep_id}
    assert "stopped" in dialog.trial_label.text() and dialog.bar.format() == "Stopped"


def test_the_dialog_refuses_what_core_refuses(window, qtbot, run_home) -> None:  # noqa: ANN001
    dialog = _sweep_dialog(window, [ParamRow("n_factors", "values", "32,abc")])
    assert not dialog.start()
    assert "row 1" in dialog.error.text() and "n_factors must be a whole number" in dialog.error.text()
    dialog.set_rows([ParamRow("lr", "log range", "", "0.0001", "0.01")])
    dialog.sampler.setCurrentIndex(dialog.sampler.findData("grid"))
    assert not dialog.start() and "grid search needs value lists" in dialog.error.text()
    dialog.sampler.setCurrentIndex(dialog.sampler.findData("random"))
    assert not dialog.start() and "say how many trials" in dialog.error.text()
    dialog.trials.setValue(2)
    assert not dialog.start() and dialog.error.text() == "Open a data folder (or the demo data) to train."
    assert not window.sweeps.running and RunStore.default().runs() == []


def test_sweep_progress_figures() -> None:
    from core.sweep import TrialProgress, TrialResult, TrialStarted
    from core.train import EpochReport, StepReport

    spec, errors = build_spec([ParamRow("lr", "range", "", "0.001", "0.01")], 4, "random")
    assert errors == {} and spec is not None and spec.params[0].low == 0.001
    progress = SweepProgress(4, "NDCG@10")
    assert progress.trial_text() == "" and progress.best_text() == "Best so far: –"
    progress.apply(TrialStarted(1, 4, {"lr": 0.002}))
    assert progress.trial_text() == "Trial 1/4: lr=0.002" and progress.step_text() == "Preparing …"
    progress.apply(TrialProgress(1, StepReport(2, 3, [1.0], 5, 2, 10.0, 1.0)))
    assert progress.step_text() == "Epoch 2/2 · step 3/5" and progress.fraction == pytest.approx(0.8)
    progress.apply(TrialProgress(1, EpochReport(2, 2, 1.0, 1.0), pruned=True))
    assert progress.step_text().endswith("— pruned")
    progress.apply(TrialEnded(TrialResult(1, {"lr": 0.002}, "pruned", 0.12, 2, 2, 7)))
    progress.apply(TrialEnded(TrialResult(2, {"lr": 0.005}, "finished", 0.15, 1, 2, 8)))
    progress.apply(TrialEnded(TrialResult(3, {"lr": 0.009}, "stopped", 0.5, 1, 1, 9)))  # stopped: not a candidate
    assert progress.best_text() == "Best so far: trial 2, NDCG@10 0.1500 (epoch 1), run 8"
