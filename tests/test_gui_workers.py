"""Background work: the one ``Worker`` (progress, result, error, stop, warnings), ``TaskRunner``
on it, job warnings in the status bar, the idle-draw canvas, chart file names, and the loss EMA
computed by pandas (equal to the former Python loop)."""
from __future__ import annotations

import gc
import math
import threading
import warnings
import weakref

import numpy as np
import pytest
from matplotlib.figure import Figure
from PySide6.QtCore import QCoreApplication

from core.errors import DataError
from core.train import StepReport, fit
from sasrec_gui.logic.run_records import CURVE_POINTS, smoothed_curve
from sasrec_gui.logic.smoothing import bias_corrected_ema, ema_alpha
from sasrec_gui.services.workers import QUEUED, TaskRunner, Worker, current_task, worker_warnings
from sasrec_gui.widgets import loss_plot
from sasrec_gui.widgets.chart_export import default_file_name
from sasrec_gui.widgets.loss_plot import IdleDrawCanvas, LossPlot
from tests.conftest import GUI_TINY_CONFIG

GATE_TIMEOUT = 20.0  # seconds a gated job waits at most (the test releases it long before)


def _record(worker: Worker) -> list[tuple[str, object]]:
    """Every signal of ``worker`` as (name, payload), in the order the UI thread gets them."""
    events: list[tuple[str, object]] = []
    worker.progress.connect(lambda p: events.append(("progress", p)), QUEUED)
    worker.result.connect(lambda r: events.append(("result", r)), QUEUED)
    worker.error.connect(lambda e: events.append(("error", e)), QUEUED)
    worker.warning.connect(lambda w: events.append(("warning", w)), QUEUED)
    worker.finished.connect(lambda: events.append(("finished", None)), QUEUED)
    return events


def _run(qtbot, worker: Worker) -> list[tuple[str, object]]:  # noqa: ANN001
    events = _record(worker)
    worker.start()
    qtbot.waitUntil(lambda: ("finished", None) in events, timeout=20_000)
    assert worker.wait(5_000) and worker.isFinished()
    return events


# --------------------------------------------------------------------------- Worker


def test_worker_reports_progress_then_its_result_then_finished(qtbot) -> None:  # noqa: ANN001
    def job(task) -> str:  # noqa: ANN001
        assert current_task() is task  # the job's thread knows its task
        for i in range(3):
            task.report(i)
        return "done"

    events = _run(qtbot, Worker(job, "demo"))
    assert events == [("progress", 0), ("progress", 1), ("progress", 2), ("result", "done"), ("finished", None)]
    assert current_task() is None  # the UI thread runs no job


def test_worker_hands_the_jobs_exception_over(qtbot) -> None:  # noqa: ANN001
    error = DataError("bad values", file="interactions.csv", column="user_id", rows=[3])

    def job(_task) -> None:  # noqa: ANN001
        raise error

    events = _run(qtbot, Worker(job))
    assert events == [("error", error), ("finished", None)]


def test_worker_stop_is_cooperative(qtbot) -> None:  # noqa: ANN001
    started, gate = threading.Event(), threading.Event()

    def job(task) -> str:  # noqa: ANN001
        started.set()
        gate.wait(GATE_TIMEOUT)
        return "stopped" if task.should_stop() else "ran to the end"

    worker = Worker(job)
    events = _record(worker)
    assert not worker.stop_requested
    worker.start()
    assert started.wait(GATE_TIMEOUT)
    worker.request_stop()
    gate.set()
    qtbot.waitUntil(lambda: ("finished", None) in events, timeout=20_000)
    assert worker.stop_requested and ("result", "stopped") in events


def test_a_dropped_worker_lives_until_its_thread_ends_then_is_freed(qtbot) -> None:  # noqa: ANN001
    """Nobody need hold a running worker (a QThread destroyed while it runs aborts the app), and
    once it has finished it is freed by reference counting alone, on the UI thread."""
    gate, ended = threading.Event(), []
    worker = Worker(lambda _task: gate.wait(GATE_TIMEOUT))
    worker.finished.connect(lambda: ended.append(True), QUEUED)
    ref = weakref.ref(worker)
    gc.disable()
    try:
        worker.start()
        del worker
        assert ref() is not None and ref().isRunning()
        gate.set()
        qtbot.waitUntil(lambda: bool(ended) and ref() is None, timeout=20_000)
    finally:
        gc.enable()


# --------------------------------------------------------------------------- warnings


def test_warnings_go_to_the_worker_whose_job_raised_them(qtbot, recwarn) -> None:  # noqa: ANN001
    gate, alpha_warned = threading.Event(), threading.Event()

    def alpha_job(_task) -> str:  # noqa: ANN001
        gate.wait(GATE_TIMEOUT)
        # like core.data: a catch_warnings block on a worker thread first (it swaps the
        # process-wide filters, which is why beta waits for alpha here)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.warn("never shown", UserWarning, stacklevel=1)
        warnings.warn("alpha warning", UserWarning, stacklevel=1)  # the hook survived the block
        alpha_warned.set()
        return "alpha"

    def beta_job(_task) -> str:  # noqa: ANN001
        alpha_warned.wait(GATE_TIMEOUT)
        warnings.warn("beta warning", UserWarning, stacklevel=1)
        return "beta"

    hub: list[tuple[str, str]] = []
    alpha, beta = Worker(alpha_job, "alpha"), Worker(beta_job, "beta")
    worker_warnings().raised.connect(lambda name, text: hub.append((name, text)), QUEUED)
    alpha_events, beta_events = _record(alpha), _record(beta)
    alpha.start()
    beta.start()
    warnings.warn("main-thread warning", UserWarning, stacklevel=1)  # not any job's
    gate.set()
    qtbot.waitUntil(lambda: ("finished", None) in alpha_events and ("finished", None) in beta_events, timeout=20_000)
    assert [e for e in alpha_events if e[0] == "warning"] == [("warning", "alpha warning")]
    assert [e for e in beta_events if e[0] == "warning"] == [("warning", "beta warning")]
    assert sorted(hub) == [("alpha", "alpha warning"), ("beta", "beta warning")]
    # the previous hook still gets every shown warning (stderr in the app, recwarn here)
    assert {str(w.message) for w in recwarn} == {"alpha warning", "beta warning", "main-thread warning"}


def test_a_job_warning_appears_in_the_status_bar(window, qtbot) -> None:  # noqa: ANN001
    text = "CUDA graph capture failed, training steps run eagerly: test capture error"

    def job() -> int:
        warnings.warn(text, UserWarning, stacklevel=1)
        return 1

    done: list[int] = []
    with pytest.warns(UserWarning, match="test capture error"):
        window.runner.submit("checkpoint", job, done.append, pytest.fail)
        qtbot.waitUntil(lambda: bool(done) and not window.runner.is_busy("checkpoint"), timeout=20_000)
        qtbot.waitUntil(lambda: text in window.statusBar().currentMessage(), timeout=20_000)
    assert window.warning_status.isVisible() and window.warning_status.text() == "⚠ 1 warning"
    assert f"checkpoint: {text}" in window.warning_status.toolTip()
    assert window.warning_log == [f"checkpoint: {text}"]


def test_a_training_warning_reaches_the_window(make_window, open_demo, qtbot) -> None:  # noqa: ANN001
    text = "CUDA graph capture failed, training steps run eagerly: fake capture error"

    def warning_fit(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        warnings.warn(text, UserWarning, stacklevel=1)  # what core.train does after a failed capture
        return fit(*args, **kwargs)

    window = open_demo(make_window(fit_fn=warning_fit))
    page = window.train_page
    page.form.set_config(GUI_TINY_CONFIG)
    session_warnings: list[str] = []
    page.session.warning.connect(session_warnings.append)
    with pytest.warns(UserWarning, match="fake capture error"):
        with qtbot.waitSignal(page.session.ended, timeout=60_000) as ended:
            assert page.start_training()
    assert ended.args[0] == "finished"
    qtbot.waitUntil(lambda: bool(window.warning_log), timeout=20_000)
    assert session_warnings == [text]
    assert window.warning_log == [f"training: {text}"] and text in window.warning_status.toolTip()


# --------------------------------------------------------------------------- TaskRunner


def test_task_runner_keeps_only_the_latest_waiting_job(qtbot) -> None:  # noqa: ANN001
    runner = TaskRunner()
    gate = threading.Event()
    done, errors, busy = [], [], []
    runner.busy_changed.connect(busy.append)
    runner.submit("load", lambda: gate.wait(GATE_TIMEOUT) and "first", done.append, errors.append)
    runner.submit("load", lambda: "second", done.append, errors.append)
    runner.submit("load", lambda: "third", done.append, errors.append)
    assert runner.is_busy() and runner.is_busy("load") and not runner.is_busy("filter")
    gate.set()
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=20_000)
    assert done == ["third"] and errors == []  # the first's result was superseded, the second never ran
    assert busy == [True, False]


def test_task_runner_cancel_pending_keeps_the_running_result(qtbot) -> None:  # noqa: ANN001
    runner = TaskRunner()
    gate = threading.Event()
    done, errors = [], []
    runner.submit("filter", lambda: gate.wait(GATE_TIMEOUT) and "running", done.append, errors.append)
    runner.submit("filter", lambda: "waiting", done.append, errors.append)
    runner.cancel_pending("filter")
    gate.set()
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=20_000)
    assert done == ["running"] and errors == []


def test_task_runner_reports_errors_and_wait_all_asks_jobs_to_stop(qtbot) -> None:  # noqa: ANN001
    runner = TaskRunner()
    done, errors = [], []
    runner.submit("save", lambda: 1 / 0, done.append, errors.append)
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=20_000)
    assert done == [] and len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)

    started, stops = threading.Event(), []

    def long_job() -> str:
        task = current_task()
        started.set()
        while not task.should_stop():  # returns once wait_all asks it to
            threading.Event().wait(0.005)
        stops.append(True)
        return "stopped"

    runner.submit("evaluate", long_job, done.append, errors.append)
    assert started.wait(GATE_TIMEOUT)
    runner.wait_all(20_000)
    assert stops == [True]


def test_wait_for_workers_waits_for_every_running_worker_whoever_started_it(qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.services.workers import wait_for_workers

    started, results = threading.Event(), []

    def slow() -> str:
        started.set()
        threading.Event().wait(0.3)
        return "done"

    runner = TaskRunner()  # e.g. a chart's own runner, which the window's shutdown does not know
    runner.submit("draw", slow, results.append, results.append)
    assert started.wait(10)
    worker = runner._running["draw"][0]  # noqa: SLF001 - the thread under test
    assert wait_for_workers() == 1
    assert not worker.isRunning()  # no thread outlives the window (Qt aborts on a running QThread)
    assert wait_for_workers() == 0


# --------------------------------------------------------------------------- plots


def test_idle_draw_canvas_coalesces_and_a_draw_settles_a_queued_idle_draw(qtbot) -> None:  # noqa: ANN001
    canvas = IdleDrawCanvas(Figure(figsize=(3, 2)))
    qtbot.addWidget(canvas)
    canvas.resize(300, 200)
    draws: list[object] = []
    canvas.mpl_connect("draw_event", draws.append)
    canvas.draw_idle()
    assert canvas.idle_draw_pending
    canvas.draw()  # e.g. LossPlot.start_live's planning draw
    assert len(draws) == 1 and not canvas.idle_draw_pending
    QCoreApplication.processEvents()
    assert len(draws) == 1  # the queued idle draw did not repeat it
    for _ in range(3):
        canvas.draw_idle()
    qtbot.waitUntil(lambda: not canvas.idle_draw_pending, timeout=5_000)
    assert len(draws) == 2  # three requests, one draw


def test_idle_draws_of_an_offloading_canvas_are_drawn_on_a_worker_and_shown_as_an_image(qtbot, monkeypatch) -> None:  # noqa: ANN001
    from matplotlib.ticker import FuncFormatter

    canvas = IdleDrawCanvas(Figure(figsize=(3, 2)))
    qtbot.addWidget(canvas)
    canvas.resize(300, 200)
    canvas.show()
    qtbot.waitExposed(canvas)
    ax = canvas.figure.add_subplot()
    ax.plot([0, 1, 2], [2, 0, 1])
    canvas.draw()
    draws: list[object] = []
    canvas.mpl_connect("draw_event", draws.append)
    canvas.offload = lambda: True
    canvas.draw_idle()
    qtbot.waitUntil(lambda: canvas.image is not None and not canvas.idle_draw_pending, timeout=10_000)
    assert draws == []  # nothing drawn on this thread
    ratio = canvas.device_pixel_ratio
    assert (canvas.image.width(), canvas.image.height()) == (round(300 * ratio), round(200 * ratio))
    canvas.grab()  # painting shows the image (no draw here either)
    assert draws == []
    # a burst of requests (a relayout's resizes) is one worker draw; requests while the worker
    # draws give exactly one more, of the newest state
    elsewhere: list[int] = []
    canvas.drawn_elsewhere = lambda: elsewhere.append(1)
    for _ in range(5):
        canvas.draw_idle()
    qtbot.waitUntil(lambda: not canvas.idle_draw_pending, timeout=10_000)
    assert len(elsewhere) == 1
    canvas.draw_idle()
    qtbot.waitUntil(lambda: canvas._offloading, timeout=5_000)  # noqa: SLF001 - the worker draws now
    for _ in range(3):
        canvas.draw_idle()
    qtbot.waitUntil(lambda: not canvas.idle_draw_pending, timeout=10_000)
    assert len(elsewhere) == 3 and draws == []
    canvas.hide()  # hidden: no draw on the worker (nor here) until it is shown again
    canvas.draw_idle()
    qtbot.wait(400)
    assert len(elsewhere) == 3 and draws == [] and not canvas.idle_draw_pending
    canvas.show()
    qtbot.waitUntil(lambda: len(elsewhere) == 4, timeout=10_000)
    assert draws == []
    canvas.draw()  # a synchronous draw (e.g. planning a live run) replaces the image
    assert len(draws) == 1 and canvas.image is None
    # ... and stops a worker draw under way at its next artist
    asked: list = []
    real_render = loss_plot.render_snapshot
    monkeypatch.setattr(loss_plot, "render_snapshot", lambda *args: (asked.append(args[-1]), real_render(*args))[1])
    canvas.draw_idle()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert not asked[0]()
    canvas.draw()
    assert asked[0]() and len(draws) == 2
    qtbot.waitUntil(lambda: not canvas.runner.is_busy(), timeout=10_000)
    assert canvas.image is None and len(draws) == 2  # the stopped draw is not shown, nor drawn again here
    draws.pop()

    # a figure that cannot be copied (a lambda formatter) is drawn here instead, never lost
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:.0f}"))
    canvas.draw_idle()
    qtbot.waitUntil(lambda: len(draws) == 2, timeout=5_000)
    assert canvas.image is None and not canvas.idle_draw_pending


def test_a_finished_runs_loss_plot_is_drawn_on_a_worker_a_live_one_here(qtbot) -> None:  # noqa: ANN001
    from core.train import TrainingHistory

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 420)
    plot.show()
    qtbot.waitExposed(plot)
    qtbot.waitUntil(lambda: not plot.canvas.idle_draw_pending, timeout=10_000)
    draws: list[object] = []
    plot.canvas.mpl_connect("draw_event", draws.append)
    full = plot.full_draws
    history = TrainingHistory(step_losses=[5.0 - 0.01 * i for i in range(40)], epoch_losses=[4.9, 4.7],
                              steps_per_epoch=20, epoch_metrics=[{"NDCG@10": 0.1, "HR@10": 0.2}] * 2)
    plot.set_history(history)
    qtbot.waitUntil(lambda: plot.full_draws == full + 1 and plot.canvas.image is not None, timeout=10_000)
    assert draws == []  # the finished run's draw was the worker's
    plot.start_live(planned_steps=100, expected_loss=5.0)  # live: drawn here, then blitted
    assert len(draws) == 1 and plot.canvas.image is None
    plot.add_steps(StepReport(1, 1, [5.0, 4.9, 4.8], 50, 2, 1000.0, 1.0))
    plot.redraw()
    assert len(draws) == 1 and plot.draw_count > plot.full_draws  # a blit, no full draw
    plot.stop_live()
    qtbot.waitUntil(lambda: plot.canvas.image is not None, timeout=10_000)
    assert len(draws) == 1  # the fitted view of the ended run: the worker's again


def test_chart_file_name_comes_from_the_suptitle_or_an_axes_title() -> None:
    figure = Figure()
    assert default_file_name(figure) == "chart.png"
    figure.add_subplot().set_title("Loss per step")
    assert default_file_name(figure) == "loss-per-step.png"
    figure.suptitle("Genre mix: watched vs. recommended")
    assert default_file_name(figure) == "genre-mix-watched-vs-recommended.png"


# --------------------------------------------------------------------------- the loss EMA


def _loop_ema(values: list[float], beta: float) -> np.ndarray:
    """The former implementation: a Python loop, bias-corrected like TensorBoard's smoothing."""
    out, state = [], 0.0
    for t, value in enumerate(values, start=1):
        state = beta * state + (1.0 - beta) * value
        out.append(state / (1.0 - beta**t))
    return np.asarray(out)


def _loop_smoothed_curve(step_losses: list[float], steps_per_epoch: int, points: int = CURVE_POINTS):  # noqa: ANN202
    """``run_history.smoothed_curve`` before pandas (the loop and the same down-sampling)."""
    n = len(step_losses)
    window = min(max(n / 40.0, 3.0), 200.0)
    ema = _loop_ema(step_losses, 1.0 - 1.0 / window)
    x = np.arange(1, n + 1, dtype=np.float64) / max(steps_per_epoch, 1)
    stride = max(1, math.ceil(n / points))
    keep = np.r_[np.arange(0, n, stride), n - 1] if (n - 1) % stride else np.arange(0, n, stride)
    return x[keep], ema[keep].astype(np.float32)


def _losses(n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(9.0 * np.exp(-np.arange(n) / max(n / 3, 1)) + 0.5 + rng.normal(0, 0.3, n))


@pytest.mark.parametrize("n", [1, 2, 7, 120, 5_000, 40_000])
def test_pandas_ema_equals_the_bias_corrected_loop(n: int) -> None:
    losses = _losses(n, seed=n)
    for alpha in (ema_alpha(n), 0.5, 1.0):
        np.testing.assert_allclose(bias_corrected_ema(losses, alpha), _loop_ema(losses, 1.0 - alpha), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("n", "steps_per_epoch"), [(1, 1), (90, 30), (4_001, 50), (40_000, 400)])
def test_smoothed_curve_equals_the_former_loop(n: int, steps_per_epoch: int) -> None:
    losses = _losses(n, seed=n + 1)
    x, y = smoothed_curve(losses, steps_per_epoch)
    x_old, y_old = _loop_smoothed_curve(losses, steps_per_epoch)
    np.testing.assert_array_equal(x, x_old)
    assert y.dtype == np.float32 and len(y) <= CURVE_POINTS + 1
    np.testing.assert_allclose(y, y_old, rtol=0, atol=1e-6)
    assert smoothed_curve([], steps_per_epoch)[0].size == 0


def test_live_plot_ema_equals_the_former_loop(qtbot) -> None:  # noqa: ANN001
    plot = LossPlot()
    qtbot.addWidget(plot)
    losses = _losses(600, seed=3)
    steps_per_epoch, epochs = 200, 3
    for first in range(0, 600, 37):  # reports of uneven sizes, as the worker sends them
        block = losses[first:first + 37]
        plot.add_steps(StepReport(1 + first // steps_per_epoch, first + 1, block, steps_per_epoch, epochs, 1000.0, 1.0))
    window = min(max(steps_per_epoch * epochs / 40.0, 3.0), 200.0)
    values, ema, _ = plot.values()
    np.testing.assert_array_equal(values, losses)
    np.testing.assert_allclose(ema, _loop_ema(losses, 1.0 - 1.0 / window), rtol=0, atol=1e-6)
    plot.redraw()
    np.testing.assert_allclose(plot.ema_line.get_ydata(), ema, rtol=0, atol=0)


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.5, float("nan")])
def test_ema_rejects_a_smoothing_factor_outside_0_1(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha must be in"):
        bias_corrected_ema([1.0, 2.0], alpha)
