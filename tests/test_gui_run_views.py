"""The Runs page's views of settings against results, tags and notes, the sweep filter and the
CSV export (runs written straight into a throw-away run history: no training)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from core.config import SASRecConfig
from core.protocol import Protocol
from core.runs import RunRecord, RunStore
from sasrec_gui.logic.run_records import run_view
from sasrec_gui.logic.run_views import metric_choices, parallel_data, parse_tags, scatter_data
from sasrec_gui.widgets.parallel_coordinates import ParallelCoordinates
from sasrec_gui.widgets.settings_scatter import SettingsScatter

PROTOCOL = Protocol("last", (10,), 120, True, 300, 300, 300)


@pytest.fixture
def run_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "studio"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    return home


def make_record(i: int, sweep: str = "", protocol: Protocol | None = PROTOCOL) -> RunRecord:
    """Run ``i``: its own lr, factors and loss, NDCG rising with i (every value distinct)."""
    config = SASRecConfig(n_factors=(16, 32, 64)[i % 3], lr=0.0005 * (1 + i), loss=("softmax", "bce")[i % 2], epochs=3)
    ndcg = [0.05 + 0.002 * i, 0.08 + 0.003 * i, 0.07 + 0.003 * i]
    history = {
        "step_losses": list(np.linspace(6.0, 4.0, 15)), "epoch_losses": [5.5, 4.8, 4.5], "epoch_seconds": [1.0] * 3,
        "epoch_metrics": [{"HR@10": 2 * v, "NDCG@10": v} for v in ndcg], "val_losses": [6.1, 5.9, 6.0],
        "best_epoch": 2, "best_metrics": {"HR@10": 2 * ndcg[1], "NDCG@10": ndcg[1], "val_loss": 5.9}, "monitor": "NDCG@10",
        "kept_epoch": 2, "stopped_early": False, "steps_per_epoch": 5,
        "validation": {"split": "last", "test_days": 7, "every": 1, "k": 10}, "protocol": protocol.to_dict() if protocol else {},
    }
    return RunRecord(config.to_dict(), {}, "f" * 16, "/data/demo", history, {"HR@10": 2 * ndcg[-1], "NDCG@10": ndcg[-1]},
                     created_at=1_700_000_000.0 + i, sweep_id=sweep, status="pruned" if sweep and i % 4 == 0 else "finished")


def store_runs(n: int, sweep_every: int = 0) -> list[RunRecord]:
    store = RunStore.default()
    records = [make_record(i, sweep="sweep-test-a" if sweep_every and i % sweep_every == 0 else "") for i in range(n)]
    for record in records:
        store.add(record)
    return store.runs()


def _show_runs(window, qtbot, n: int):  # noqa: ANN001, ANN202
    page = window.runs_page
    window.show_page("runs")
    qtbot.waitUntil(lambda: page.table_model.rowCount() == n and not page.history.is_busy(), timeout=20_000)
    return page


def _click(qtbot, chart, x: float, y: float) -> None:  # noqa: ANN001
    """A real left click at display pixel (x, y) of ``chart``'s canvas (matplotlib's y points up)."""
    canvas = chart.chart.canvas
    ratio = canvas.device_pixel_ratio or 1.0
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(round(x / ratio)), int(round(canvas.height() - y / ratio))))


@pytest.mark.parametrize("n", [1, 2, 50])
def test_the_views_render_any_number_of_runs_and_a_click_names_the_run(qtbot, n: int) -> None:  # noqa: ANN001
    views = [run_view(r) for r in [make_record(i) for i in range(n)]]
    for i, view in enumerate(views):
        view.record.run_id = i + 1
    parallel, scatter = ParallelCoordinates(), SettingsScatter()
    for chart in (parallel, scatter):
        qtbot.addWidget(chart)
        chart.resize(760, 420)
        chart.show()
        qtbot.waitExposed(chart)
        chart.set_runs(views, [])
        chart.chart.flush()
    assert parallel.current_metric() == "best_NDCG@10" and len(parallel.lines) == n
    axes = [a.name for a in parallel.data.axes]
    assert axes[-1] == "best_NDCG@10"
    if n == 1:  # nothing differs: the key settings
        assert axes[:-1] == ["n_factors", "n_blocks", "n_heads", "session_maxlen", "dropout_rate", "lr", "batch_size"]
    else:
        assert {"lr", "n_factors", "loss"} <= set(axes[:-1]) and "n_blocks" not in axes
    if n == 50:
        lr_axis = next(a for a in parallel.data.axes if a.name == "lr")
        assert lr_axis.log  # 0.0005 .. 0.025 spans 50x
    assert "measured on: last k=10 120 items seen-filtered 300 users" in parallel.axes.get_title(loc="left")
    assert len(scatter.data.run_ids) == n and scatter.axes.get_xlabel() == "Factors (n_factors)"  # differing first
    assert scatter.set_setting("lr")
    scatter.chart.flush()
    assert scatter.data.setting == "lr" and scatter.axes.get_xlabel() == "Learning rate (lr)"
    assert (scatter.axes.get_xscale() == "log") == (n == 50)

    target = views[-1].run_id
    for chart in (parallel, scatter):
        with qtbot.waitSignal(chart.run_clicked, timeout=5_000) as clicked:
            _click(qtbot, chart, *chart.point_of(target))
        assert clicked.args == [target, False]
    # a click far from every line and point picks nothing
    assert parallel.hit(1.0, 1.0) is None and scatter.hit(1.0, 1.0) is None


def test_views_logic_places_runs_and_their_metrics() -> None:
    views = [run_view(make_record(i)) for i in range(3)]
    assert metric_choices(views) == ["best_NDCG@10", "best_HR@10", "NDCG@10", "HR@10", "best_val_loss", "val_loss", "final_loss"]
    data = parallel_data(views, "val_loss")
    assert data.lower_is_better and np.all(data.values == 6.0)
    lr = [a.name for a in data.axes].index("lr")
    np.testing.assert_allclose(data.positions[:, lr], [0.0, 0.5, 1.0])
    loss = next(a for a in data.axes if a.name == "loss")
    assert loss.categorical and [label for _, label in loss.ticks] == ["softmax", "bce"]
    points = scatter_data(views, "loss", "best_NDCG@10")
    assert list(points.x) == [0.0, 1.0, 0.0] and [label for _, label in points.x_ticks] == ["softmax", "bce"]
    older = run_view(make_record(3, protocol=None))
    older.record.metrics = {}
    older.record.history["best_metrics"] = {}
    assert scatter_data([*views, older], "lr", "NDCG@10").missing == 1
    assert parse_tags(" baseline,long  run,, baseline ") == ["baseline", "long run"]


def test_runs_page_views_select_filter_by_sweep_and_export(window, qtbot, run_home, tmp_path) -> None:  # noqa: ANN001
    runs = store_runs(50, sweep_every=5)
    page = _show_runs(window, qtbot, 50)
    assert page.insights.count() == 3

    # clicking a run in the parallel coordinates selects it in the table
    page.insights.setCurrentWidget(page.insights.parallel)
    parallel = page.insights.parallel
    qtbot.waitUntil(lambda: parallel.data is not None and parallel.data.n_runs == 50, timeout=10_000)
    parallel.chart.flush()
    target = runs[7].run_id
    _click(qtbot, parallel, *parallel.point_of(target))
    assert page.selected_ids() == [target] and parallel.selected == {target}
    page.insights.setCurrentWidget(page.insights.scatter)
    scatter = page.insights.scatter
    scatter.chart.flush()
    other = runs[12].run_id
    _click(qtbot, scatter, *scatter.point_of(other))
    assert page.selected_ids() == [other]

    # the table: best epoch and best-epoch metrics beside the last ones, pruned trials, sweep, protocol tooltips
    table = page.table_model
    headers = [table.headerData(c, Qt.Orientation.Horizontal) for c in range(table.columnCount())]
    at = headers.index("NDCG@10 (last)")
    assert headers[at + 1] == "NDCG@10 (best)" and {"Best epoch", "Sweep", "Parent", "Protocol", "Tags", "Note"} <= set(headers)
    row = table.row_of(runs[0].run_id)
    assert table.data(table.index(row, table.column_of("best_epoch"))) == "2"
    tip = table.data(table.index(row, table.column_of("NDCG@10")), Qt.ItemDataRole.ToolTipRole)
    assert tip == f"Measured on: {PROTOCOL.describe()}"
    assert "pruned" in {table.value(r, "status") for r in range(table.rowCount())}

    # the sweep filter: the table and the views show that sweep's runs only
    assert page.set_sweep_filter("sweep-test-a")
    assert table.rowCount() == 10 and len(page.shown_views()) == 10
    assert len(page.insights.scatter.views) == 10 and len(page.insights.parallel.views) == 10
    assert {table.value(r, "sweep") for r in range(table.rowCount())} == {"sweep-test-a"}

    # "Export table as CSV…" writes what `python -m core runs --sweep ID --csv` prints
    path = tmp_path / "sweep.csv"
    assert page.export_csv(path)
    expected = RunStore.default().table("sweep-test-a").to_csv(index=False, lineterminator="\n")
    assert path.read_text(encoding="utf-8") == expected
    assert page.set_sweep_filter("")
    assert page.export_csv(path)
    assert path.read_text(encoding="utf-8") == RunStore.default().table().to_csv(index=False, lineterminator="\n")
    assert not page.export_csv(tmp_path)  # a folder: said on the page, nothing raised
    assert "Could not write" in page.status.text()


def test_tags_and_note_round_trip(window, qtbot, run_home) -> None:  # noqa: ANN001
    runs = store_runs(2)
    page = _show_runs(window, qtbot, 2)
    target = runs[0].run_id
    page.select_runs([target])
    notes = page.notes
    assert notes.save_button.isEnabled()
    notes.tags.setText("baseline,  long run , baseline")
    notes.note.setPlainText("  try a lower learning rate  ")
    with qtbot.waitSignal(page.history.annotated, timeout=10_000):
        notes.save_button.click()
    stored = RunStore.default().get(target)
    assert stored.tags == ["baseline", "long run"] and stored.note == "try a lower learning rate"
    assert notes.tags.text() == "baseline, long run" and notes.status.text() == "Saved."
    qtbot.waitUntil(lambda: not page.history.is_busy() and page.table_model.rowCount() == 2, timeout=10_000)
    qtbot.waitUntil(lambda: page.table_model.value(page.table_model.row_of(target), "tags") == "baseline, long run",
                    timeout=10_000)
    assert page.selected_ids() == [target]  # the reload kept the selection

    # several runs selected: nothing to edit
    page.select_runs([r.run_id for r in runs])
    assert not notes.save_button.isEnabled() and not notes.save()

    # a run deleted meanwhile: the failure is said, nothing raised
    page.select_runs([target])
    RunStore.default().delete([target])
    with qtbot.waitSignal(page.history.annotate_failed, timeout=10_000):
        notes.save_button.click()
    assert notes.status.text().startswith("Not saved:") and f"Run {target} is not in the run history" in notes.status.text()
