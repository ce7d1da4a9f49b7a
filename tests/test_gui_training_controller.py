"""The Training page's non-widget half: ``TrainingController`` trains, records and reports on
its own (no page, no window), and the Data page's filter state reaches the Training page
through ``AppState`` rather than through the other page's widgets."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from core.config import SASRecConfig
from core.filters import FilterConfig
from core.runs import RunStore
from sasrec_gui.logic.training import RunEnd, RunPlan
from sasrec_gui.services.controller import filter_data, load_data
from sasrec_gui.services.run_history import RunHistory
from sasrec_gui.services.state import AppState
from sasrec_gui.services.training_controller import TrainingController
from tests.conftest import GUI_MIN_ITEM_FREQ, GUI_TINY_CONFIG


def test_the_controller_trains_records_and_reports_without_a_page(qtbot, gui_demo_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    state = AppState()
    store = RunStore(tmp_path / "runs.sqlite")
    history = RunHistory(store_factory=lambda: store)
    training = TrainingController(state, history)
    assert not isinstance(training, QWidget)
    config = SASRecConfig(**GUI_TINY_CONFIG)

    # why it cannot start, in the order the user fixes things
    assert training.blocking_reason() == "Open a data folder (or the demo data) to train."
    assert not training.start(config)
    loaded = load_data(gui_demo_dir, "demo")
    state.set_data(loaded)
    assert training.blocking_reason() == "Applying the filters …"
    state.set_filtered(filter_data(loaded.data, FilterConfig(min_item_freq=GUI_MIN_ITEM_FREQ)))
    state.set_filters_pending("Applying the filters …")  # what the Data page says while its form differs
    assert training.blocking_reason() == "Applying the filters …" and not training.start(config)
    state.set_filters_pending("")
    assert training.blocking_reason({"lr": "must be positive"}) == "Fix the highlighted hyperparameters to train."
    assert not training.start(SASRecConfig(**{**GUI_TINY_CONFIG, "lr": -1.0}))
    assert training.blocking_reason() == ""

    plans: list[RunPlan] = []
    running: list[bool] = []
    messages: list[str] = []
    training.starting.connect(plans.append)
    training.running_changed.connect(running.append)
    training.message.connect(messages.append)
    with qtbot.waitSignal(training.ended, timeout=60_000) as ended:
        assert training.start(config)
        assert training.running and not training.start(config)  # one run at a time
    end: RunEnd = ended.args[0]
    assert end.kind == "finished" and end.error is None and end.evaluation is None
    assert end.outcome.result.model is state.model and state.model_origin == "trained"
    assert end.progress_text == "Done: 2 epoch(s)" and end.text.startswith("Training finished in")
    assert len(plans) == 1 and plans[0].config == config and plans[0].planned_steps > 0
    assert running == [True, False]
    with qtbot.waitSignal(history.recorded, timeout=20_000) as recorded:
        pass
    (run,) = store.runs()
    assert recorded.args[0].run_id == run.run_id and run.status == "finished"
    assert messages[-1] == f"{end.text} Recorded as run {run.run_id}."
    assert training.shutdown()


def test_the_data_pages_filter_state_reaches_training_through_app_state(window, open_demo, qtbot) -> None:  # noqa: ANN001
    open_demo(window)
    page, filters = window.train_page, window.data_page.filters
    assert page.train_button.isEnabled() and window.state.filters_pending == ""

    filters.widgets["weight_above"].setValue(0.0)  # invalid: no filtering, Train disabled with the reason
    reason = "Fix the highlighted filter settings on the Data page to train."
    assert window.state.filters_pending == reason
    assert not page.train_button.isEnabled() and page.reason.text() == reason
    assert not page.start_training()

    before = window.state.filtered
    filters.widgets["weight_above"].setValue(4.0)  # valid again (not the applied 3.0): filtering, then Train
    assert window.state.filters_pending == "Applying the filters …" and not page.train_button.isEnabled()
    qtbot.waitUntil(lambda: window.state.filtered is not before, timeout=10_000)
    assert window.state.filters_pending == "" and page.train_button.isEnabled() and page.reason.text() == ""
