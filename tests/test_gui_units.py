"""Building blocks: the DataFrame table model, user-id lookup, item search, summaries, progress, loss plot."""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QModelIndex, Qt

from core.train import EpochReport, StepReport, TrainingHistory
from sasrec_gui.logic.catalog import ItemCatalog
from sasrec_gui.logic.summary import DataSummary
from sasrec_gui.logic.training import Progress, format_seconds
from sasrec_gui.logic.user_index import UserIndex
from sasrec_gui.widgets.frame_model import Column, FrameModel, fixed
from sasrec_gui.widgets.loss_plot import LossPlot


def test_frame_model_reads_cells_lazily_by_role(qtbot) -> None:  # noqa: ANN001
    frame = pd.DataFrame(
        {
            "item_id": np.array([10, 20], dtype=np.int64),
            "title": ["A long title", None],
            "score": [0.123456, np.nan],
            "datetime": pd.to_datetime(["2021-05-01 00:00", "2021-05-02 13:45"]),
        }
    )
    model = FrameModel(frame, [
        Column("title", "Title", tooltip=True), Column("score", "Score", fixed(2), numeric=True),
        Column("datetime", "Date"), Column("missing", "Not there"),
    ])
    assert (model.rowCount(), model.columnCount()) == (2, 4)
    assert model.rowCount(model.index(0, 0)) == 0  # a table, not a tree
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Score"
    assert model.headerData(1, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) is None
    display = Qt.ItemDataRole.DisplayRole
    assert model.data(model.index(0, 0), display) == "A long title"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) == "A long title"
    assert model.data(model.index(0, 1), display) == "0.12"
    assert model.data(model.index(1, 1), display) == "" and model.data(model.index(1, 0), display) == ""
    assert model.data(model.index(0, 2), display) == "2021-05-01"
    assert model.data(model.index(1, 2), display) == "2021-05-02 13:45"
    assert model.data(model.index(0, 3), display) == ""
    assert model.data(model.index(0, 1), Qt.ItemDataRole.TextAlignmentRole) & int(Qt.AlignmentFlag.AlignRight)
    assert model.data(model.index(0, 1), Qt.ItemDataRole.UserRole) == pytest.approx(0.123456)
    assert model.data(model.index(0, 1), Qt.ItemDataRole.DecorationRole) is None
    assert model.data(QModelIndex()) is None
    assert model.value(1, "item_id") == 20
    with qtbot.waitSignal(model.modelReset):
        model.set_frame(frame.iloc[:1])
    assert model.rowCount() == 1


def test_marked_frame_model_bolds_the_rows_in_both_lists(qtbot) -> None:  # noqa: ANN001
    from sasrec_gui.widgets.frame_model import Column, MarkedFrameModel

    model = MarkedFrameModel([Column("item_id", "Item"), Column("title", "Title")])
    model.set_frame(pd.DataFrame({"item_id": [1, 2, 3], "title": ["a", "b", "c"],
                                  "in_both": pd.array([True, False, None], dtype="boolean")}))

    def bold(row: int) -> bool:
        font = model.data(model.index(row, 1), Qt.ItemDataRole.FontRole)
        return font is not None and font.bold()

    assert [bold(r) for r in range(3)] == [True, False, False]  # a missing flag is not bold
    model.set_frame(pd.DataFrame({"item_id": [4], "title": ["d"]}))  # no such column: nothing bold
    assert not bold(0)


def test_frame_model_over_a_big_frame() -> None:
    n = 2_000_000
    frame = pd.DataFrame({"user_id": np.arange(n), "weight": np.ones(n, dtype=np.float32)})
    model = FrameModel(frame)
    assert model.rowCount() == n and model.data(model.index(n - 1, 0)) == str(n - 1)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "user_id"


@pytest.mark.perf
def test_frame_model_over_a_big_frame_is_instant() -> None:
    n = 2_000_000
    frame = pd.DataFrame({"user_id": np.arange(n), "weight": np.ones(n, dtype=np.float32)})
    t = time.perf_counter()
    model = FrameModel(frame)
    assert model.rowCount() == n and model.data(model.index(n - 1, 0)) == str(n - 1)
    assert time.perf_counter() - t < 0.5


@pytest.mark.perf
def test_user_index_prefix_search_over_a_million_ids_is_instant() -> None:
    ids = np.unique(np.random.default_rng(0).integers(0, 1_100_000, 1_200_000))
    index = UserIndex(ids)
    t = time.perf_counter()
    for prefix in ("1", "12", "123", "1234", "99999", "0", "7"):
        index.complete(prefix, 15), index.count_prefix(prefix)
    assert time.perf_counter() - t < 0.05  # searchsorted, no scan


def test_user_index_with_a_million_ids() -> None:
    rng = np.random.default_rng(0)
    ids = np.unique(rng.integers(0, 1_100_000, 1_200_000))
    index = UserIndex(ids)
    prefixes = ("1", "12", "123", "1234", "99999", "0", "7")
    results = {p: (index.complete(p, 15), index.count_prefix(p)) for p in prefixes}
    text = ids.astype(str)
    for prefix, (got, count) in results.items():
        assert count == int(np.char.startswith(text, prefix).sum())
        assert len(got) == min(15, count) and all(str(v).startswith(prefix) for v in got)
    assert 12 in index and results["12"][0][0] == 12  # the exact id comes first
    assert int(ids[5]) in index and -1 not in index
    assert index.complete("x") == [] and index.complete("007") == []
    assert index.random(np.random.default_rng(1)) in index


def test_catalog_search_is_case_insensitive_and_finds_ids() -> None:
    items = pd.DataFrame({
        "item_id": [1, 2, 3], "title": ["The Matrix", "Matrix Reloaded", "Amelie"],
        "title_orig": ["The Matrix", "The Matrix Reloaded", "Le Fabuleux Destin"], "release_year": [1999.0, 2003.0, 2001.0],
        "genres": ["sci-fi", "sci-fi", "comedy"],
    })
    catalog = ItemCatalog(items)
    assert list(catalog.search("mATRix")["item_id"]) == [1, 2]
    assert list(catalog.search("destin")["item_id"]) == [3]  # original titles too
    assert list(catalog.search("3")["item_id"])[0] == 3
    assert list(catalog.search("matrix", among=np.array([2]))["item_id"]) == [2]
    assert catalog.describe(1) == "The Matrix (1999) · sci-fi" and catalog.describe(99) == "Item 99"
    titled = catalog.titled(pd.DataFrame({"item_id": [3, 42]}))
    assert list(titled["title"]) == ["Amelie", "Item 42"]
    bare = ItemCatalog(None)
    assert list(bare.search("", among=np.array([5, 15]))["item_id"]) == [5, 15]
    assert list(bare.search("15", among=np.array([5, 15]))["item_id"]) == [15]


@pytest.mark.parametrize("text", [False, True])
def test_catalog_titles_by_lookup_equal_the_left_join(text: bool) -> None:
    from core.recommend import with_titles
    from sasrec_gui.logic.catalog import ItemCatalog

    ids = [f"i{i}" for i in (1, 2, 3, 4)] if text else [1, 2, 3, 4]
    items = pd.DataFrame({"item_id": ids + [ids[0]], "title": ["A", "B", None, "D", "dup"],
                          "release_year": [1999.0, None, 2001.0, 2002.0, 1.0], "genres": ["x", "y", "x, y", None, "z"]})
    catalog = ItemCatalog(items)
    wanted = [ids[2], ids[0], "nope" if text else 99, ids[0], ids[3]]  # repeats, an unknown id, catalog order ignored
    frame = pd.DataFrame({"item_id": np.array(wanted, dtype=object if text else np.int64), "score": np.arange(5.0)},
                         index=[10, 11, 12, 13, 14])
    looked_up = catalog._looked_up(frame)  # noqa: SLF001 - the fast path against the join it replaces
    assert looked_up is not None
    pd.testing.assert_frame_equal(looked_up, with_titles(frame, catalog.items))
    assert list(catalog.titled(frame)["title"]) == [f"Item {wanted[0]}", "A", f"Item {wanted[2]}", "A", "D"]
    # where a join is needed (ids of the other kind, a frame that has a title already) it still joins
    assert catalog._looked_up(frame.assign(title="t")) is None  # noqa: SLF001
    other = pd.DataFrame({"item_id": np.array([1, 2]) if text else np.array(["1", "2"], dtype=object)})
    assert catalog._looked_up(other) is None  # noqa: SLF001
    assert len(catalog.titled(other)) == 2


def test_data_summary() -> None:
    frame = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 3, 3], "item_id": [1, 2, 3, 1, 1, 2],
        "datetime": pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-05", "2021-01-03", "2021-01-04", "2021-01-04"]),
        "weight": np.array([1, 3, 3, 1, 1, 1], dtype=np.float32),
    })
    s = DataSummary.of(frame)
    assert (s.n_interactions, s.n_users, s.n_items, s.n_sequences) == (6, 3, 3, 2)
    assert s.mean_length == 2.0 and s.median_length == 2.0
    assert s.sparsity == pytest.approx(1 - 6 / 9)
    assert s.length_counts.sum() == 3 and list(s.popularity) == [3, 2, 1]
    rows = dict(s.rows())
    assert rows["First day"] == "2021-01-01" and rows["Last day"] == "2021-01-05"
    assert DataSummary.of(frame.iloc[:0]).n_users == 0


def test_progress_eta_and_time_format() -> None:
    p = Progress(epoch=2, epochs=4, step=5, steps_per_epoch=10, elapsed=30.0, sequences_per_sec=100.0, batch_size=20,
                 run_steps=15)
    assert p.done_steps == 15 and p.total_steps == 40 and p.fraction == pytest.approx(15 / 40)
    assert p.eta is None  # 15 steps are too few to say
    p.step, p.run_steps = 15, 25
    assert p.eta == pytest.approx(15 * 30.0 / 25)  # the run's own pace: 1.2 s a step, 15 steps left
    assert format_seconds(5) == "5 s" and format_seconds(3725) == "1 h 2 min" and format_seconds(None) == "–"


def _report(epoch: int, first: int, n: int, spe: int = 50, epochs: int = 4) -> StepReport:
    return StepReport(epoch, first, [5.0 - 0.01 * i for i in range(n)], spe, epochs, 1000.0, 1.0)


def test_loss_plot_buffers_reports_and_redraws_on_its_timer(qtbot) -> None:  # noqa: ANN001
    plot = LossPlot(redraw_hz=4.0)
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    qtbot.waitExposed(plot)
    plot.start_live(planned_steps=200, expected_loss=5.0)
    before = plot.draw_count
    for block in range(40):  # far more reports than redraws
        plot.add_steps(_report(1, 1 + block, 1))
    assert plot.draw_count == before  # nothing drawn per report
    qtbot.wait(600)
    drawn = plot.draw_count - before
    assert 1 <= drawn <= 4
    assert len(plot.step_line.get_xdata()) == 40 and plot.ax.get_xlim()[1] >= 200
    plot.add_epoch(EpochReport(1, 4, 4.8, 1.0))
    plot.add_steps(StepReport(1, 41, [50.0], 50, 4, 1000.0, 1.0))  # above the planned top: the axes grow
    plot.redraw()
    assert plot.ax.get_ylim()[1] >= 50.0
    plot.stop_live()
    assert not plot.live
    losses, ema, epochs = plot.values()
    assert len(losses) == len(ema) == 41 and list(epochs) == [4.8]
    assert plot.ax.get_xlabel().startswith("Training step") and plot.ax.get_ylabel() == "Loss"


def test_loss_plot_shows_a_saved_history(qtbot) -> None:  # noqa: ANN001
    plot = LossPlot()
    qtbot.addWidget(plot)
    history = TrainingHistory(step_losses=list(np.linspace(9, 5, 30)), epoch_losses=[8.0, 6.5, 5.5], epoch_seconds=[1, 1, 1])
    plot.set_history(history)
    assert plot.steps_per_epoch == 10
    assert list(plot.epoch_line.get_xdata()) == [10, 20, 30]
    assert plot.ax.get_ylim()[0] < 5.0 < 9.0 < plot.ax.get_ylim()[1]


def test_the_expected_first_loss_follows_the_loss_function():
    """The live plot's y axis is planned from the loss: log(catalog) for the full softmax,
    log(1 + negatives) for the sampled softmax, about log 2 for bce."""
    import math
    from types import SimpleNamespace

    from core.config import SASRecConfig
    from sasrec_gui.logic.training import expected_initial_loss

    summary = SimpleNamespace(mean_weight=2.0, n_items=5000)
    full = expected_initial_loss(SASRecConfig(), summary)
    sampled = expected_initial_loss(SASRecConfig(loss="sampled_softmax", n_negatives=63), summary)
    bce = expected_initial_loss(SASRecConfig(loss="bce"), summary)
    assert full == pytest.approx(2.0 * math.log(5000) * 1.05)
    assert sampled == pytest.approx(2.0 * math.log(64) * 1.05)
    assert bce < sampled < full


def test_the_application_favours_the_interface_thread_at_the_gil(qapp) -> None:  # noqa: ANN001
    import sys

    from sasrec_gui.__main__ import create_application
    from sasrec_gui.logic.threads import GIL_SWITCH_INTERVAL_S, favour_interface_thread

    previous = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        assert create_application() is qapp
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_INTERVAL_S)
        assert favour_interface_thread(0.002) == pytest.approx(GIL_SWITCH_INTERVAL_S)
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(previous)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_worker_threads_are_scheduled_below_the_interface_thread() -> None:
    import os
    import threading

    from sasrec_gui.logic.threads import WORKER_NICENESS, lower_worker_priority, setup_worker_thread, worker_threads

    seen: dict[str, object] = {}

    def job() -> None:
        seen["value"] = lower_worker_priority()
        seen["now"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["again"] = lower_worker_priority()  # idempotent: never lower and lower
        seen["threads"] = setup_worker_thread()

    base = os.getpriority(os.PRIO_PROCESS, os.getpid())
    thread = threading.Thread(target=job)
    thread.start()
    thread.join(10)
    assert seen["value"] == seen["now"] == seen["again"] == min(19, base + WORKER_NICENESS)
    assert seen["threads"] == worker_threads()
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # this (interface) thread as it was
