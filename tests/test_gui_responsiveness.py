"""Issue 11 in the app, offscreen: restyling without freezing (style roots, one chart redraw per
turn, hidden charts when shown), the data page's cheap summaries and charts, an honest ETA,
readable title columns, an empty loss plot, and users the filters removed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sasrec_gui.logic.summary import DataSummary
from sasrec_gui.logic.training import MIN_ETA_SECONDS, MIN_ETA_STEPS, Progress, RunStatus, format_seconds

# --------------------------------------------------------------------------- ETA and durations


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "–"), (float("nan"), "–"), (-3, "0 s"), (0, "0 s"), (42.4, "42 s"), (59.6, "1 min"), (60, "1 min"),
    (190, "3 min 10 s"), (3599, "59 min 59 s"), (3600, "1 h"), (5400, "1 h 30 min"),
    (24 * 3600 + 45 * 60 + 20, "24 h 45 min"), (24 * 3600 + 45 * 60 + 40, "24 h 46 min"),
])
def test_format_seconds_reads_like_people_say_it(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def _progress(run_steps: int, elapsed: float, epoch: int = 1, step: int | None = None) -> Progress:
    return Progress(epoch=epoch, epochs=3, step=run_steps if step is None else step, steps_per_epoch=100,
                    elapsed=elapsed, sequences_per_sec=500.0, batch_size=128, run_steps=run_steps)


def test_eta_waits_until_it_rests_on_enough_steps_and_seconds() -> None:
    assert _progress(MIN_ETA_STEPS - 1, 60.0).eta is None  # too few steps, however long
    assert _progress(500, MIN_ETA_SECONDS * 0.9).eta is None  # too short, however many steps
    p = _progress(MIN_ETA_STEPS, 4.0)
    assert p.eta == pytest.approx((300 - MIN_ETA_STEPS) * 4.0 / MIN_ETA_STEPS)
    # a continued run: epochs before this run are done, the pace is this run's own
    resumed = _progress(40, 8.0, epoch=3, step=40)
    assert resumed.done_steps == 240 and resumed.eta == pytest.approx(60 * 8.0 / 40)
    assert _progress(300, 50.0, epoch=3, step=100).eta == 0.0


def test_progress_box_shows_the_eta_late_and_clears_it_on_stop_and_end(qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.widgets.training_progress import TrainingProgress

    box = TrainingProgress()
    qtbot.addWidget(box)
    eta = box.stats["ETA"]
    box.reset("Preparing sequences …")
    box.show_status(RunStatus(1.0, _progress(5, 1.0), stopping=False))
    assert eta.text() == "–"  # 5 steps: not yet
    box.show_status(RunStatus(30.0, _progress(60, 30.0), stopping=False))
    assert eta.text() == format_seconds(240 * 30.0 / 60) == "2 min"
    box.show_stopping()
    assert eta.text() == "–"
    box.show_status(RunStatus(31.0, _progress(61, 31.0), stopping=True))
    assert eta.text() == "–"  # stopping: no ETA, even with a fresh report
    box.show_end("Stopped — no model", False, 31.5)
    assert eta.text() == "–" and box.stats["Elapsed"].text() == "32 s"


# --------------------------------------------------------------------------- restyling


def test_style_roots_restyle_the_visible_root_now_and_hidden_ones_later(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    from sasrec_gui.services.styling import StyleRoots

    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    shown, small, hidden, later = QLabel("page"), QLabel("bar"), QLabel("other page"), QLabel("shown first")
    for widget in (shown, small, hidden, later):
        layout.addWidget(widget)
    shown.setMinimumSize(300, 200)
    hidden.hide()
    later.hide()
    window.show()
    roots = StyleRoots()
    for widget in (small, shown, hidden, later):
        roots.add(widget)
    sheet = "QLabel { color: #123456; }"
    roots.set_sheet(sheet)
    assert shown.styleSheet() == sheet  # the largest root on screen: at once
    assert small.styleSheet() == "" and hidden.styleSheet() == ""  # the rest: later
    assert roots.pending == [small] and roots.hidden == [hidden, later]
    later.show()  # a hidden root is restyled as it shows
    assert later.styleSheet() == sheet and later not in roots.waiting
    qtbot.waitUntil(lambda: not roots.pending)  # the visible one: a turn later
    assert small.styleSheet() == sheet and hidden.styleSheet() == "" and roots.waiting == [hidden]
    roots.flush()
    assert hidden.styleSheet() == sheet and not roots.waiting
    roots.add(QLabel("added later"))
    assert roots.roots[-1].styleSheet() == sheet  # a new root gets the current sheet


def test_redraw_queue_draws_one_canvas_per_turn_and_hidden_ones_when_shown(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from sasrec_gui.services.styling import RedrawQueue

    window = QWidget()
    qtbot.addWidget(window)
    layout = QHBoxLayout(window)
    widgets = [QWidget() for _ in range(3)]
    for widget in widgets:
        layout.addWidget(widget)
    widgets[2].hide()
    window.show()
    calls: list[int] = []
    queue = RedrawQueue()
    for i, widget in enumerate(widgets):
        queue.request(widget, lambda i=i: calls.append(i))
    queue.request(widgets[0], lambda: calls.append(10))  # merged with the earlier request
    assert calls == [] and queue.busy  # nothing drawn inside the toggle itself
    qtbot.waitUntil(lambda: not queue.busy)
    assert calls == [1, 10]  # the hidden one waits
    widgets[2].show()
    qtbot.waitUntil(lambda: 2 in calls)
    assert calls == [1, 10, 2]


def test_theme_toggles_recolour_plain_charts_in_their_turn_hidden_ones_when_shown(qtbot) -> None:  # noqa: ANN001
    import matplotlib as mpl
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from sasrec_gui.services import theme
    from sasrec_gui.services.styling import redraw_queue

    window = QWidget()
    qtbot.addWidget(window)
    layout = QHBoxLayout(window)
    shown, hidden = FigureCanvasQTAgg(Figure()), FigureCanvasQTAgg(Figure())
    for canvas in (shown, hidden):
        theme.register_chart_canvas(canvas)  # as the app's charts do when made
        canvas.figure.add_subplot().set_xlabel("x")
        layout.addWidget(canvas)
    hidden.hide()
    window.show()

    def dark(canvas: FigureCanvasQTAgg) -> bool:
        return mpl.colors.same_color(canvas.figure.get_facecolor(), theme.DARK.figure)

    try:
        theme.apply_theme("dark")
        assert not dark(shown)  # not inside the toggle: one chart per event-loop turn after it
        qtbot.waitUntil(lambda: not redraw_queue().busy)
        assert dark(shown) and mpl.colors.same_color(shown.figure.axes[0].xaxis.label.get_color(), theme.DARK.text)
        assert not dark(hidden)
        theme.apply_theme("light")
        theme.apply_theme("dark")  # toggled twice while hidden: recoloured once, from what it was drawn in
        hidden.show()
        qtbot.waitUntil(lambda: dark(hidden))
        assert mpl.colors.same_color(hidden.figure.axes[0].xaxis.label.get_color(), theme.DARK.text)
        qtbot.waitUntil(lambda: not redraw_queue().busy)
        assert dark(shown)
    finally:
        theme.apply_theme("light")
        redraw_queue().flush()
    assert not dark(shown) and mpl.colors.same_color(shown.figure.get_facecolor(), theme.LIGHT.figure)
    import shiboken6

    assert shown in theme._canvases()  # noqa: SLF001 - registered charts, not a scan of every widget
    shiboken6.delete(hidden)
    assert all(shiboken6.isValid(c) for c in theme._canvases())  # noqa: SLF001 - deleted ones are dropped


def test_restyle_figure_recolours_ticks_and_grids_made_later_without_making_ticks_now() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import same_color
    from matplotlib.figure import Figure

    from sasrec_gui.services import theme

    figure = Figure()
    FigureCanvasAgg(figure)
    gridded, plain = figure.subplots(1, 2)
    for ax in (gridded, plain):
        ax.plot(range(100))
    gridded.grid(True)
    made = len(gridded.xaxis.majorTicks)
    theme.restyle_figure(figure, theme.LIGHT, theme.DARK)
    assert len(gridded.xaxis.majorTicks) == made  # the locator's ticks are made at the next draw, not here
    gridded.set_xlim(0, 5000)  # new ticks after the toggle
    figure.canvas.draw()
    lines = [*gridded.xaxis.get_gridlines(), *gridded.yaxis.get_gridlines()]
    assert len(lines) > made and all(same_color(line.get_color(), theme.DARK.grid) for line in lines)
    assert all(line.get_visible() for line in gridded.xaxis.get_gridlines())
    assert not any(line.get_visible() for line in plain.xaxis.get_gridlines())  # no grid where there was none
    assert all(same_color(label.get_color(), theme.DARK.text) for label in gridded.get_xticklabels())


def test_theme_toggle_styles_the_window_roots_never_the_application(window, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QApplication

    from sasrec_gui.services import theme

    modes = window.view_modes
    window.show_page("data")
    modes.set_theme("dark")
    try:
        assert QApplication.instance().styleSheet() == ""
        assert window.data_page.styleSheet() == theme.style_sheet("dark")
        qtbot.waitUntil(lambda: not modes.roots.pending)
        assert all(root.styleSheet() == theme.style_sheet("dark") for root in modes.roots.roots if root.isVisible())
        window.show_page("similar")  # a hidden page gets it as it shows
        assert window.similar_page.styleSheet() == theme.style_sheet("dark")
        assert window.statusBar() in modes.roots.roots and window.menuBar() in modes.roots.roots
    finally:
        modes.set_theme("light")
        modes.roots.flush()


# --------------------------------------------------------------------------- data page


def _reference_counts(ids: np.ndarray) -> np.ndarray:
    return np.sort(np.unique(ids, return_counts=True)[1]) if ids.dtype != object else np.sort(pd.Series(ids).value_counts().to_numpy())


@pytest.mark.parametrize("kind", ["small", "large", "negative", "text"])
def test_data_summary_counts_do_not_depend_on_the_counting_method(kind: str) -> None:
    rng = np.random.default_rng(4)
    users = rng.integers(0, 300, 2000)
    if kind == "large":
        users = users * 10**10
    elif kind == "negative":
        users = users - 150
    frame = pd.DataFrame({"user_id": users if kind != "text" else np.array([f"u{u}" for u in users], dtype=object),
                          "item_id": rng.integers(0, 40, 2000), "weight": np.ones(2000, np.float32),
                          "datetime": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 9, 2000), unit="D")})
    s = DataSummary.of(frame)
    lengths = _reference_counts(frame["user_id"].to_numpy())
    assert s.n_users == len(lengths) and s.n_items == len(np.unique(frame["item_id"]))
    assert s.mean_length == pytest.approx(lengths.mean()) and s.median_length == np.median(lengths)
    assert s.n_sequences == int((lengths >= 2).sum()) and int(s.length_counts.sum()) == len(lengths)
    np.testing.assert_array_equal(s.popularity, np.sort(_reference_counts(frame["item_id"].to_numpy()))[::-1])


def test_fit_columns_reads_a_few_rows_only(qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.widgets.common import fit_columns, make_table
    from sasrec_gui.widgets.frame_model import FrameModel

    class Counting(FrameModel):
        reads = 0

        def data(self, index, role=0):  # noqa: ANN001, ANN201
            Counting.reads += 1
            return super().data(index, role)

    frame = pd.DataFrame({"user_id": np.arange(200_000), "title": ["a rather long title"] * 200_000})
    view = make_table(Counting(frame))
    qtbot.addWidget(view)
    fit_columns(view, rows=20)
    assert Counting.reads <= 2 * 20
    assert view.columnWidth(1) > view.fontMetrics().horizontalAdvance("a rather long title")


def test_data_charts_are_drawn_on_a_worker_from_the_summaries(qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.widgets.data_charts import DataCharts, short_count

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"user_id": rng.integers(0, 500, 5000), "item_id": rng.integers(0, 90, 5000),
                          "weight": np.ones(5000, np.float32), "datetime": pd.Timestamp("2021-01-01")})
    loaded, filtered = DataSummary.of(frame), DataSummary.of(frame.iloc[:3000])
    charts = DataCharts()
    qtbot.addWidget(charts)
    assert charts.chart.threaded
    assert all(t.get_visible() for t in charts.empty_texts) and not charts.loaded_line.get_visible()
    charts.show_summaries(loaded, None)
    assert not any(t.get_visible() for t in charts.empty_texts)
    assert charts.loaded_line.get_visible() and not charts.filtered_line.get_visible()
    charts.show_summaries(loaded, filtered)
    np.testing.assert_array_equal(charts.filtered_line.get_ydata(), filtered.popularity)
    assert [t.get_text() for t in charts.pop_ax.get_legend().get_texts()] == ["Loaded", "Filtered"]
    assert charts.pop_ax.get_xlim()[1] >= len(loaded.popularity)
    assert [short_count(v) for v in (1, 10, 1000, 25_000, 3_000_000, 0)] == ["1", "10", "1k", "25k", "3M", ""]

    # on screen, a new summary is drawn by the chart's worker and the interface shows the image
    charts.show()
    settled = lambda: (not charts.chart.rendering and not charts.chart.dirty and charts.chart.canvas.image is not None  # noqa: E731
                       and not charts.chart._resize_timer.isActive())  # noqa: SLF001 - the first show's resize redraw too
    qtbot.waitUntil(settled, timeout=10_000)
    count = charts.chart.render_count
    charts.show_summaries(filtered, None)
    assert charts.chart.rendering and charts.chart.render_count == count  # nothing drawn on this thread
    qtbot.waitUntil(lambda: charts.chart.render_count == count + 1 and not charts.chart.rendering, timeout=10_000)
    np.testing.assert_array_equal(charts.artists.loaded_line.get_ydata(), filtered.popularity)


# --------------------------------------------------------------------------- loss plot, title columns


def test_loss_plot_before_a_run_is_an_empty_state_without_axes(qtbot) -> None:  # noqa: ANN001
    from core.train import StepReport
    from sasrec_gui.widgets.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    assert plot.empty and not plot.ax.axison  # no -0.04..0.04 ticks
    assert plot.ax.get_legend() is None or not plot.ax.get_legend().get_visible()
    plot.start_live(planned_steps=40, expected_loss=5.0)
    assert not plot.empty and plot.ax.axison
    plot.add_steps(StepReport(1, 1, [5.0, 4.9, 4.8], 20, 2, 1000.0, 1.0))
    plot.stop_live()
    assert not plot.empty and plot.ax.axison and plot.ax.get_legend().get_visible()
    plot.reset()
    assert plot.empty and not plot.ax.axison


def test_title_columns_stretch_carry_the_title_and_drop_optional_columns_when_narrow(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    from sasrec_gui.widgets.common import make_table
    from sasrec_gui.widgets.frame_model import FrameModel
    from sasrec_gui.widgets.item_columns import SIMILAR_COLUMNS, configure_item_table

    title = "The Extraordinarily Long Title of a Film About Nothing in Particular"
    frame = pd.DataFrame({"rank": [1, 2], "item_id": [7, 8], "title": [title, "Short"],
                          "title_orig": ["Original", "Orig"], "release_year": [2001.0, 2002.0],
                          "genres": ["drama, comedy", "horror"], "score": [0.9, 0.8]})
    model = FrameModel(frame, columns=SIMILAR_COLUMNS)
    view = make_table(model)
    qtbot.addWidget(view)
    configure_item_table(view, SIMILAR_COLUMNS)
    keys = [c.key for c in SIMILAR_COLUMNS]
    col = {k: keys.index(k) for k in keys}
    assert model.data(model.index(0, col["title"]), Qt.ItemDataRole.ToolTipRole) == title
    view.resize(1100, 300)
    view.show()
    qtbot.waitUntil(lambda: view.columnWidth(col["title"]) > view.columnWidth(col["genres"]))
    assert view.columnWidth(col["title"]) > view.columnWidth(col["title_orig"])
    assert not view.isColumnHidden(col["title_orig"])
    view.resize(330, 300)  # narrow: the original title goes first, the title stays readable
    qtbot.waitUntil(lambda: view.isColumnHidden(col["title_orig"]))
    assert not view.isColumnHidden(col["title"])
    header = view.horizontalHeader()
    assert view.columnWidth(col["title"]) >= header.sectionSizeFromContents(col["title"]).width()
    view.resize(1100, 300)
    qtbot.waitUntil(lambda: not view.isColumnHidden(col["title_orig"]))


# --------------------------------------------------------------------------- users the filters removed


def test_missing_user_text_names_the_filter_or_says_not_in_the_data() -> None:
    from core.dataset import InteractionData
    from core.filters import FilterConfig, apply_filters
    from sasrec_gui.logic.missing_user import missing_user_text

    class Model:
        filter_config = FilterConfig(min_total_dur=300.0, min_item_freq=1).to_dict()

    frame = pd.DataFrame({"user_id": [1, 1, 2, 3], "item_id": [10, 11, 10, 12], "weight": np.ones(4, np.float32),
                          "datetime": pd.Timestamp("2021-01-01"), "total_dur": [50.0, 20.0, 900.0, 1000.0],
                          "watched_pct": [5.0, 5.0, 50.0, 60.0]})
    data = InteractionData(frame, None, None)
    text = missing_user_text(1, Model(), data)  # type: ignore[arg-type]
    assert "User 1 has 2 interaction(s)" in text and "min_total_dur" in text and "Loosen" in text
    assert missing_user_text(99, Model(), data) == "User 99 is not in the data."  # type: ignore[arg-type]
    config = FilterConfig.from_dict(Model.filter_config)
    reused = missing_user_text(1, Model(), data, apply_filters(frame, config), config)  # type: ignore[arg-type]
    assert reused == text
    assert "no data is loaded" in missing_user_text(1, Model(), None)  # type: ignore[arg-type]


def test_recommend_page_explains_a_removed_user_and_shows_no_header_for_an_unknown_one(
    window, open_demo, train, qtbot,  # noqa: ANN001
) -> None:
    open_demo(window)
    assert train(window) == "finished"
    state, page = window.state, window.recommend_page
    raw = state.data.interactions
    shown_users = set(state.recommender.histories.user_ids.tolist())
    removed = [u for u in pd.unique(raw["user_id"]) if u not in shown_users]
    assert removed, "the demo data should have a user every interaction of whom the filters removed"
    window.show_page("recommendations")
    known = int(state.recommender.histories.user_ids[0])
    assert page.show_user(known) and f"History of user {known}" in page.history_box.title()

    assert not page.show_user(int(removed[0]))
    assert "History of user" not in page.history_box.title() and page.history_model.rowCount() == 0
    assert page.recs_model.rowCount() == 0 and page.recommendations() is None
    qtbot.waitUntil(lambda: "checking why" not in page.message.text(), timeout=20_000)
    assert "removed by the filters" in page.message.text() and page.message.is_error
    assert any(name in page.message.text() for name in ("min_total_dur", "min_item_freq", "min_user_interactions"))

    assert not page.show_user(987_654_321)
    assert "History of user" not in page.history_box.title()
    qtbot.waitUntil(lambda: "checking why" not in page.message.text(), timeout=20_000)
    assert page.message.text() == "User 987654321 is not in the data."


# --------------------------------------------------------------------------- the popularity baseline


@pytest.mark.parametrize("text_ids", [False, True])
def test_popular_for_user_equals_core_popular_recommendations(text_ids: bool) -> None:
    from core.evaluate import popular_recommendations, popularity
    from core.sequences import UserHistories
    from sasrec_gui.logic.explanations import interactions_of
    from sasrec_gui.logic.popular import popular_for_user, viewer_counts

    rng = np.random.default_rng(8)
    n = 4000
    frame = pd.DataFrame({"user_id": rng.integers(0, 400, n), "item_id": rng.integers(0, 70, n),
                          "weight": np.ones(n, np.float32),
                          "datetime": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 50, n), unit="D")})
    if text_ids:
        frame["user_id"] = np.array([f"u{u}" for u in frame["user_id"]], dtype=object)
        frame["item_id"] = np.array([f"i{i:03d}" for i in frame["item_id"]], dtype=object)
    histories = UserHistories.from_interactions(frame)
    train = interactions_of(histories)
    expected = popularity(train)
    counts = viewer_counts(histories)
    assert counts.index.tolist() == expected.index.tolist()  # ties too: in order of first appearance
    assert counts.tolist() == expected.tolist()

    class Rec:  # what popular_for_user needs of a Recommender
        pass

    rec = Rec()
    rec.histories = histories
    cache = None
    for user in [*histories.user_ids[:5].tolist(), "nobody" if text_ids else 10**9]:
        for k, filter_viewed in ((10, True), (3, False), (80, True)):
            got, cache = popular_for_user(rec, cache, user, k, filter_viewed)  # type: ignore[arg-type]
            want = popular_recommendations(train, [user], k, filter_viewed=filter_viewed)
            pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    assert cache[0] is histories and cache[1] is not None


# --------------------------------------------------------------------------- charts drawn on a worker


def test_threaded_chart_draws_on_a_worker_and_shows_only_the_latest_render(qtbot, tmp_path) -> None:  # noqa: ANN001
    import itertools
    import threading

    from sasrec_gui.widgets.chart_export import ChartView, save_chart_png

    count = itertools.count(1)

    def render(figure) -> None:  # noqa: ANN001 - the title says which render and which thread
        figure.add_subplot().set_title(f"{next(count)} {threading.current_thread().name}")

    chart = ChartView(figsize=(4.0, 3.0), threaded=True)
    qtbot.addWidget(chart)
    chart.resize(400, 300)
    chart.show()
    chart.set_renderer(render)  # visible: drawn in the background
    assert chart.rendering and chart.figure.axes == []  # the interface did not wait for it
    chart.invalidate()  # a second request while the first waits to start: drawn once
    qtbot.waitUntil(lambda: not chart.rendering and bool(chart.figure.axes), timeout=10_000)
    number, thread = chart.figure.axes[0].get_title().split(" ", 1)
    assert number == "1" and thread != threading.main_thread().name and chart.canvas.image is not None
    chart.invalidate()
    qtbot.waitUntil(lambda: not chart.rendering and chart.figure.axes[0].get_title().startswith("2 "), timeout=10_000)
    chart.invalidate()
    chart.flush()  # export and tests: drawn at once, here; the render in flight is dropped
    assert not chart.rendering and chart.figure.axes[0].get_title().endswith(threading.main_thread().name)
    qtbot.waitUntil(lambda: not chart.runner.is_busy(), timeout=10_000)
    assert chart.figure.axes[0].get_title().endswith(threading.main_thread().name)
    assert save_chart_png(chart, tmp_path / "chart").read_bytes()[:4] == b"\x89PNG"


def test_a_threaded_charts_render_superseded_while_drawing_stops_and_the_newest_is_shown(qtbot, monkeypatch) -> None:  # noqa: ANN001
    import threading

    from sasrec_gui.widgets import chart_export
    from sasrec_gui.widgets.chart_export import ChartView

    started, release = threading.Event(), threading.Event()
    calls: list[int] = []
    asked: list = []  # each render's cancelled(), as the worker got it
    real_render = chart_export.render_image

    def render(figure) -> None:  # noqa: ANN001 - the first render is held until the second is asked for
        calls.append(1)
        figure.add_subplot().set_title(f"render {len(calls)}")
        if len(calls) == 1:
            started.set()
            release.wait(10)

    def recording_render(renderer, width, height, ratio, cancelled=None):  # noqa: ANN001, ANN202
        asked.append(cancelled)
        return real_render(renderer, width, height, ratio, cancelled)

    monkeypatch.setattr(chart_export, "render_image", recording_render)
    chart = ChartView(figsize=(4.0, 3.0), threaded=True)
    qtbot.addWidget(chart)
    chart.resize(400, 300)
    chart.show()
    chart.set_renderer(render)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    assert not asked[0]()
    generation = chart._generation  # noqa: SLF001 - the render under way
    chart.invalidate()  # superseded while it draws
    qtbot.waitUntil(lambda: chart._generation > generation, timeout=10_000)  # noqa: SLF001 - the newer one was asked for
    assert asked[0]()  # the one under way is told to stop at its next artist
    release.set()
    qtbot.waitUntil(lambda: not chart.rendering and len(asked) == 2, timeout=10_000)
    assert not asked[1]() and chart.figure.axes[0].get_title() == "render 2"
    assert chart.render_count == 1 and chart.canvas.image is not None  # the stopped one was never shown, nor an error


# --------------------------------------------------------------------------- cancelling a load


def test_cancel_a_load_keeps_the_data_open_before_and_drops_the_result(window, open_demo, qtbot, monkeypatch) -> None:  # noqa: ANN001
    import threading

    from sasrec_gui.services import controller as controller_module

    open_demo(window)
    before = window.state.loaded
    release = threading.Event()
    real_load = controller_module.load_data

    def slow_load(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a load that waits to be released
        release.wait(30)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(controller_module, "load_data", slow_load)
    page = window.data_page
    window.open_folder(before.folder)
    assert page.cancel_button.isVisible() and page.busy.isVisible() and window.controller.loading_now
    page.cancel_button.click()
    assert not page.cancel_button.isVisible() and not page.busy.isVisible() and not window.controller.loading_now
    assert "Loading cancelled" in window.statusBar().currentMessage()
    assert not window.controller.cancel_load()  # nothing left to cancel
    release.set()
    qtbot.waitUntil(lambda: not window.runner.is_busy("load"), timeout=20_000)
    assert window.state.loaded is before  # the cancelled load's result was dropped


def test_a_threaded_chart_closed_while_drawing_is_never_reached(qtbot) -> None:  # noqa: ANN001
    import threading

    from PySide6.QtWidgets import QApplication

    from sasrec_gui.widgets.chart_export import ChartView

    started, release = threading.Event(), threading.Event()

    def render(figure) -> None:  # noqa: ANN001 - waits until the chart is gone
        started.set()
        release.wait(10)
        figure.add_subplot()

    chart = ChartView(threaded=True)
    chart.resize(300, 200)
    chart.show()
    chart.set_renderer(render)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    chart.deleteLater()
    QApplication.processEvents()
    release.set()  # the render ends after its chart: pytest-qt fails the test on any error in a slot
    from sasrec_gui.services.workers import _keeper

    qtbot.waitUntil(lambda: not _keeper().workers, timeout=10_000)


def test_after_paint_calls_back_once_the_widgets_paint_pass_is_over_or_after_its_timeout(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QLabel

    from sasrec_gui.services.idle import AfterPaint

    log: list[str] = []

    class Label(QLabel):
        def paintEvent(self, event) -> None:  # noqa: ANN001, N802
            log.append("paint")
            super().paintEvent(event)

    label = Label("chart")
    qtbot.addWidget(label)
    label.show()
    qtbot.waitExposed(label)
    qtbot.waitUntil(lambda: "paint" in log, timeout=5_000)
    log.clear()
    after = AfterPaint(label, lambda: log.append("draw"))
    after.arm()
    after.arm()  # armed twice: one call
    assert after.armed and log == []
    qtbot.waitUntil(lambda: "draw" in log, timeout=5_000)
    qtbot.wait(50)
    assert log == ["paint", "draw"] and not after.armed  # the paint first, then the draw
    after.arm()
    after.cancel()
    qtbot.wait(50)
    assert log == ["paint", "draw", "paint"]  # cancelled: painted, no draw

    hidden = QLabel("hidden")
    qtbot.addWidget(hidden)
    late = AfterPaint(hidden, lambda: log.append("late"), timeout_ms=30)
    late.arm()  # never painted: called after its timeout
    qtbot.waitUntil(lambda: "late" in log, timeout=5_000)


def test_replaced_chart_figures_are_collected_after_a_burst_not_left_for_a_random_full_collection(qtbot, monkeypatch) -> None:  # noqa: ANN001
    import gc
    import weakref

    from sasrec_gui.logic import threads
    from sasrec_gui.widgets import chart_export
    from sasrec_gui.widgets.chart_export import ChartView

    chart = ChartView(figsize=(3.0, 2.0), threaded=True)
    qtbot.addWidget(chart)
    chart.show()
    chart.set_renderer(lambda figure: figure.add_subplot().plot([0, 1], [1, 0]))
    chart.flush()
    first = weakref.ref(chart.figure)
    before = chart_export._collection["count"]
    gc.disable()  # only the chart's own collection may free the cycles of the replaced figure
    try:
        monkeypatch.setitem(threads._freezing, "enabled", False)
        chart.invalidate()
        chart.flush()
        qtbot.wait(chart_export.COLLECT_QUIET_MS + 100)
        assert first() is not None and chart_export._collection["count"] == before  # tests: never (unfrozen heap)
        monkeypatch.setitem(threads._freezing, "enabled", True)  # the app: start-up objects frozen
        second = weakref.ref(chart.figure)
        for _ in range(3):  # a burst of redraws (a theme toggle, a page switch): one collection after it
            chart.invalidate()
            chart.flush()
        assert second() is not None and chart.figure is not second()
        qtbot.waitUntil(lambda: second() is None, timeout=5_000)
        assert chart_export._collection["count"] == before + 1
        qtbot.wait(chart_export.COLLECT_QUIET_MS + 100)
        assert chart_export._collection["count"] == before + 1
    finally:
        gc.enable()


def test_a_threaded_chart_draws_again_after_a_resize_only_at_a_new_size(qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.widgets.chart_export import RESIZE_RENDER_MS, ChartView

    chart = ChartView(figsize=(3.0, 2.0), threaded=True)
    qtbot.addWidget(chart)
    chart.resize(400, 300)
    chart.set_renderer(lambda figure: figure.add_subplot().plot([0, 1], [1, 0]))
    chart.show()
    qtbot.waitExposed(chart)
    settled = lambda: not chart.rendering and not chart.dirty and not chart._resize_timer.isActive()  # noqa: E731, SLF001
    qtbot.waitUntil(settled, timeout=10_000)
    count = chart.render_count
    chart.resize(400, 260)  # a layout shrinks it and gives the room back before resizing settles
    chart.resize(400, 300)
    qtbot.wait(RESIZE_RENDER_MS + 100)
    qtbot.waitUntil(settled, timeout=10_000)
    assert chart.render_count == count  # the image on screen is already of this size
    chart.resize(500, 300)
    qtbot.waitUntil(lambda: chart.render_count == count + 1 and settled(), timeout=10_000)
    assert chart.canvas.image.width() == round(chart.canvas.width() * chart.canvas.devicePixelRatioF())


def test_a_threaded_chart_answers_mouse_events_against_the_figure_on_screen(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPoint, Qt

    from sasrec_gui.widgets.chart_export import ChartView

    def render(figure) -> None:  # noqa: ANN001
        ax = figure.add_subplot()
        ax.set_xlim(0.0, 10.0)
        ax.set_ylim(0.0, 100.0)

    chart = ChartView(figsize=(4.0, 3.0), threaded=True)
    qtbot.addWidget(chart)
    chart.resize(400, 300)
    chart.set_renderer(render)
    chart.show()
    qtbot.waitUntil(lambda: chart.canvas.image is not None and not chart.rendering, timeout=10_000)
    seen: dict[str, list] = {"motion_notify_event": [], "button_press_event": [], "button_release_event": [],
                             "scroll_event": [], "axes_leave_event": []}
    for name, events in seen.items():
        chart.canvas.mpl_connect(name, events.append)
    with pytest.raises(ValueError, match="draw_event"):
        chart.canvas.mpl_connect("draw_event", print)
    ax = chart.figure.axes[0]
    x, y = ax.transData.transform((5.0, 50.0))  # the middle of the axes, in display pixels
    point = chart.canvas.widget_point(x, y).toPoint()
    qtbot.mouseMove(chart.canvas, point)
    qtbot.waitUntil(lambda: bool(seen["motion_notify_event"]), timeout=2000)
    event = seen["motion_notify_event"][-1]
    assert event.inaxes is ax and event.xdata == pytest.approx(5.0, abs=0.2) and event.ydata == pytest.approx(50.0, abs=2.0)
    qtbot.mouseClick(chart.canvas, Qt.MouseButton.LeftButton, pos=point)
    assert [e.button for e in seen["button_press_event"]] == [1] and [e.button for e in seen["button_release_event"]] == [1]
    outside = chart.canvas.process_event("motion_notify_event", 1.0, 1.0)  # the figure's corner: no axes there
    assert outside.inaxes is None and outside.xdata is None
    chart.canvas.set_ring(x, y)
    assert chart.canvas._ring is not None  # noqa: SLF001
    chart.canvas.set_ring(None)
    assert chart.canvas._ring is None  # noqa: SLF001
    assert QPoint(point) == chart.canvas.widget_point(*chart.canvas.display_point(point.toPointF())).toPoint()
