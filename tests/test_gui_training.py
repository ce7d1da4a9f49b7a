"""Training page: validation, Stop, closing during training, errors, and UI responsiveness."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox

from core.config import SASRecConfig
from core.errors import ConfigError, DataError, OutOfMemoryError, TrainingError
from core.train import available_devices, fit
from tests.conftest import GUI_TINY_CONFIG

#: A run long enough to act on while it trains (small batches, many epochs).
LONG_RUN = {"epochs": 500, "batch_size": 16}


class StopProbe:
    """Wraps core's fit to count the batches started after Stop was requested."""

    def __init__(self) -> None:
        self.checks_after_stop = 0
        self.stopped = False

    def __call__(self, *args, should_stop, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN204
        def probe() -> bool:
            if should_stop():
                self.stopped = True
                self.checks_after_stop += 1
                return True
            return False

        return fit(*args, should_stop=probe, **kwargs)


def test_every_hyperparameter_has_a_field_tooltip_and_valid_default(window) -> None:  # noqa: ANN001
    form = window.train_page.form
    fields = set(SASRecConfig().to_dict())
    assert set(form.widgets) == fields
    for name, widget in form.widgets.items():
        tip = widget.toolTip()
        assert tip and tip.endswith(".") and tip.count(". ") == 0, (name, tip)
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):  # both ends of every range are valid for core
            for value in (widget.minimum(), widget.maximum()):
                cfg = SASRecConfig(**{**SASRecConfig().to_dict(), name: type(getattr(SASRecConfig(), name))(value)})
                errors = cfg.errors()
                assert name not in errors or name == "n_heads", (name, value, errors)
    assert form.config() == SASRecConfig()
    device = form.widgets["device"]
    assert isinstance(device, QComboBox)
    values = [device.itemData(i) for i in range(device.count())]
    assert values == ["auto", *available_devices()]


def test_invalid_fields_show_messages_and_disable_train(window, open_demo) -> None:  # noqa: ANN001
    open_demo(window)
    window.show_page("training")
    page = window.train_page
    page.form.set_config(GUI_TINY_CONFIG)
    assert page.train_button.isEnabled()

    page.form.widgets["n_heads"].setValue(3)  # 16 factors are not divisible by 3 heads
    assert not page.train_button.isEnabled()
    label = page.form.error_labels["n_heads"]
    assert label.isVisible() and "divisible" in label.text()
    assert "hyperparameters" in page.reason.text()
    assert not page.start_training()

    page.form.widgets["lr"].setText("fast")
    assert "lr" in page.form.visible_errors()
    assert not page.train_button.isEnabled()
    page.form.widgets["n_heads"].setValue(2)
    page.form.widgets["lr"].setText("3e-3")
    assert page.form.visible_errors() == {}
    assert not page.form.error_labels["n_heads"].isVisible()
    assert page.train_button.isEnabled() and page.reason.text() == ""


def test_train_needs_data(window) -> None:  # noqa: ANN001
    page = window.train_page
    assert not page.train_button.isEnabled()
    assert "Open a data folder" in page.reason.text()
    assert not page.start_training()


def test_loss_options_enable_their_fields(window) -> None:  # noqa: ANN001
    form = window.train_page.form
    loss = form.widgets["loss"]
    for name, negatives, t in (("softmax", False, False), ("bce", True, False), ("gbce", True, True)):
        loss.setCurrentIndex(loss.findData(name))
        assert form.widgets["n_negatives"].isEnabled() is negatives
        assert form.widgets["gbce_t"].isEnabled() is t


def test_stop_after_an_epoch_keeps_that_model(make_window, open_demo, qtbot) -> None:  # noqa: ANN001
    probe = StopProbe()
    window = open_demo(make_window(fit_fn=probe))
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, **LONG_RUN})
    with qtbot.waitSignal(page.session.epoch_done, timeout=30_000):
        assert page.start_training()
    assert page.stop_button.isEnabled() and not page.train_button.isEnabled()
    assert not page.form.isEnabled()
    with qtbot.waitSignal(page.session.ended, timeout=10_000) as ended:
        page.stop_button.click()
    assert probe.stopped and probe.checks_after_stop == 1  # no batch started after the request
    kind, outcome = ended.args
    assert kind == "cancelled" and outcome.result.cancelled
    model = window.state.model
    assert model is outcome.result.model and model.epochs_done >= 1
    assert f"model from epoch {model.epochs_done}" in page.model_label.text()
    assert "Stopped" in page.progress.format()
    assert page.train_button.isEnabled() and not page.stop_button.isEnabled()
    user = int(window.state.users.ids[0])
    assert window.recommend_page.show_user(user)  # the kept model is usable
    assert window.recommend_page.recs_model.rowCount() == 10


def test_stop_in_the_first_epoch_says_there_is_no_model(make_window, open_demo, qtbot) -> None:  # noqa: ANN001
    probe = StopProbe()
    window = open_demo(make_window(fit_fn=probe))
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, "epochs": 3, "batch_size": 1})  # ~400 steps in epoch 1
    with qtbot.waitSignal(page.session.progress, timeout=30_000):
        assert page.start_training()
    with qtbot.waitSignal(page.session.ended, timeout=10_000) as ended:
        page.stop_training()
    assert ended.args[0] == "cancelled" and ended.args[1].result.model is None
    assert probe.checks_after_stop == 1
    assert window.state.model is None
    assert "no model" in page.model_label.text()
    assert window.recommend_page.placeholder.showing_placeholder
    assert page.train_button.isEnabled()


def test_closing_during_training_stops_the_worker(make_window, open_demo, qtbot) -> None:  # noqa: ANN001
    window = open_demo(make_window())
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, **LONG_RUN})
    with qtbot.waitSignal(page.session.progress, timeout=30_000):
        assert page.start_training()
    worker = page.session.worker
    assert worker is not None and worker.isRunning()
    with qtbot.waitSignal(page.session.ended, timeout=10_000) as ended:  # delivered without errors
        assert window.close()
    assert worker.isFinished() and worker.stop_requested
    assert not window.runner.is_busy()
    assert ended.args[0] == "cancelled"


@pytest.mark.perf
def test_stop_and_close_take_effect_within_seconds(make_window, open_demo, qtbot) -> None:  # noqa: ANN001
    window = open_demo(make_window())
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, **LONG_RUN})
    with qtbot.waitSignal(page.session.epoch_done, timeout=30_000):
        assert page.start_training()
    with qtbot.waitSignal(page.session.ended, timeout=10_000):
        t0 = time.perf_counter()
        page.stop_button.click()
    assert time.perf_counter() - t0 < 5.0
    with qtbot.waitSignal(page.session.progress, timeout=30_000):
        assert page.start_training()
    t0 = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.parametrize(
    ("error", "title"),
    [
        (OutOfMemoryError("Out of memory on cuda:0. Lower batch_size (now 4096)."), "Out of memory"),
        (TrainingError("No user has at least 2 interactions after filtering."), "Training failed"),
        (DataError("bad values", file="interactions.csv", column="user_id", rows=[3]), "Cannot read the data"),
        (ConfigError({"lr": "must be a positive number"}), "Invalid settings"),
        (RuntimeError("something unexpected"), "Unexpected error"),
    ],
)
def test_training_errors_end_in_a_dialog(make_window, open_demo, dialogs, qtbot, error, title) -> None:  # noqa: ANN001
    def failing_fit(interactions, config, *, callback=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        result = fit(interactions, SASRecConfig(**{**config.to_dict(), "epochs": 1}), callback=callback, **kwargs)
        assert result.model is not None
        raise error  # after an epoch: progress was shown, then it fails

    window = open_demo(make_window(fit_fn=failing_fit))
    page = window.train_page
    page.form.set_config(GUI_TINY_CONFIG)
    with qtbot.waitSignal(page.session.ended, timeout=30_000) as ended:
        assert page.start_training()
    assert ended.args[0] == "failed"
    kind, shown_title, text = dialogs[-1]
    assert kind == "critical" and shown_title == title
    assert str(error) in text
    assert window.state.model is None  # nothing half-made is kept
    assert page.train_button.isEnabled() and not page.session.running
    if not isinstance(error, OutOfMemoryError):
        return
    # the app stays usable: a normal run works afterwards
    page.session.fit_fn = fit
    with qtbot.waitSignal(page.session.ended, timeout=30_000) as ended:
        assert page.start_training()
    assert ended.args[0] == "finished" and window.state.model is not None


@pytest.mark.perf
def test_ui_stays_responsive_and_plot_redraws_at_a_bounded_rate(make_window, open_demo, qtbot) -> None:  # noqa: ANN001
    window = open_demo(make_window())
    window.show_page("training")
    page = window.train_page
    page.form.set_config({**GUI_TINY_CONFIG, **LONG_RUN})
    qtbot.waitUntil(lambda: not window.runner.is_busy("warmup"), timeout=30_000)  # start-up work is done
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(15)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    qtbot.wait(200)

    assert page.start_training()  # plans the plot axes (one full draw) before the worker starts
    t_start = time.perf_counter()
    with qtbot.waitSignal(page.session.progress, timeout=30_000):
        pass
    draws_before = page.loss_plot.draw_count
    t0 = time.perf_counter()
    qtbot.wait(2500)  # training runs; the event loop keeps ticking
    live_seconds = time.perf_counter() - t0
    draws = page.loss_plot.draw_count - draws_before
    assert page.session.running, "the run should outlast the measurement"
    with qtbot.waitSignal(page.session.ended, timeout=10_000):
        page.stop_training()
    t_end = time.perf_counter()
    timer.stop()

    during = [t for t in ticks if t_start <= t <= t_end]
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(gaps) > 50
    print(f"max gap {max(gaps) * 1000:.0f} ms, {draws / live_seconds:.1f} frames/s")
    assert max(gaps) < 0.100, f"the UI stalled for {max(gaps) * 1000:.0f} ms"
    rate = draws / live_seconds
    assert 2.0 <= rate <= 10.0, f"{draws} redraws in {live_seconds:.1f} s"
    assert page.loss_plot.n_steps > 0


def test_model_info_says_when_the_step_ran_as_a_cuda_graph(window) -> None:  # noqa: ANN001
    import dataclasses

    from tests.synthetic import chain_interactions

    model = fit(chain_interactions(n_users=60, n_items=10), SASRecConfig(**{**GUI_TINY_CONFIG, "epochs": 1, "device": "cpu"})).model
    page = window.train_page
    window.state.set_model(model, None, origin="trained")
    assert "trained on cpu." in page._model_text() and "CUDA graph" not in page._model_text()
    window.state.set_model(dataclasses.replace(model, step_mode="cuda graph", device="cuda:0"), None, origin="trained")
    assert "trained on cuda:0 (step replayed as a CUDA graph)." in page._model_text()


def test_cuda_graph_box_is_enabled_only_where_it_applies(window) -> None:  # noqa: ANN001
    form = window.train_page.form
    box, loss, deterministic = form.widgets["cuda_graph"], form.widgets["loss"], form.widgets["deterministic"]
    assert box.isEnabled()
    loss.setCurrentIndex(loss.findData("bce"))
    assert not box.isEnabled()
    loss.setCurrentIndex(loss.findData("softmax"))
    assert box.isEnabled()
    deterministic.setChecked(True)
    assert not box.isEnabled()
    deterministic.setChecked(False)
    assert box.isEnabled() and form.config().cuda_graph
