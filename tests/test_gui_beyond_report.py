"""The "SASRec vs popular" beyond-accuracy box on the SASRec vs popular page (table and chart,
measured in a worker on a hold-out of the model's data) and "Save report…" (File menu and the
Runs page's button: a file dialog, ``core.report.write_report`` in a worker with progress,
errors in the error dialog)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QFileDialog

from core.errors import RecommendError
from core.evaluate import leave_last_out
from core.evaluate_model import evaluate_split
from core.experiment import Holdout
from core.report import REPORT_SECTIONS
from core.report_charts import BEYOND_CHART_METRICS
from core.runs import RunStore
from core.sequences import UserHistories
from tests.conftest import GUI_TINY_CONFIG, train_demo_model, window_with_model

BEYOND = ("Coverage", "MeanPop", "Novelty", "ILD_genre", "ILD_emb", "Serendipity", "PopShare")


@pytest.fixture(scope="module")
def demo_model(gui_demo_dir):  # noqa: ANN001, ANN201
    return train_demo_model(gui_demo_dir, {**GUI_TINY_CONFIG, "seed": 9})


@pytest.fixture
def demo_window(make_window, demo_model):  # noqa: ANN001, ANN201
    window = window_with_model(make_window, demo_model)
    return window


@pytest.fixture
def run_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A run history of this test's own (``RunStore.default()`` follows $SASREC_STUDIO_HOME)."""
    home = tmp_path / "studio"
    monkeypatch.setenv("SASREC_STUDIO_HOME", str(home))
    return home


def _save_dialog(monkeypatch: pytest.MonkeyPatch, answer: str) -> list[str]:
    """Answer QFileDialog.getSaveFileName with ``answer`` ('' = cancel); records the proposed names."""
    asked: list[str] = []

    def fake(_parent, _title, start, _filter, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        asked.append(start)
        return answer, ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    return asked


# --------------------------------------------------------------------------- beyond accuracy


def test_beyond_accuracy_table_and_chart(demo_window, qtbot) -> None:  # noqa: ANN001
    window = demo_window
    box = window.compare_page.beyond
    model, histories = window.state.model, window.state.recommender.histories
    window.show_page("compare")  # shown: measured in the window's runner
    assert window.runner.is_busy("beyond")
    qtbot.waitUntil(lambda: box.result is not None, timeout=60_000)

    # the numbers are evaluate_split's on each user's last interaction of the model's own data
    interactions = pd.DataFrame({"user_id": np.repeat(histories.user_ids, histories.lengths), "item_id": histories.item_ids,
                                 "datetime": histories.datetimes, "weight": histories.weights})
    expected = evaluate_split(model, leave_last_out(interactions), (10,), items=window.state.data.items)
    table = box.table()
    assert list(table.index) == ["SASRec", "Popular"]
    for name in BEYOND:
        column = f"{name}@10"
        np.testing.assert_allclose(table[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-6, err_msg=column)
    assert table.loc["Popular", "PopShare@10"] > table.loc["SASRec", "PopShare@10"]  # the point of the chart

    # the table: one row per beyond-accuracy metric, both models, what each one says
    shown = box.model.frame
    assert [m.split("@")[0] for m in shown["metric"]] == list(BEYOND)
    novelty = shown.set_index("metric").loc["Novelty@10"]
    assert novelty["sasrec_text"] == f"{table.loc['SASRec', 'Novelty@10']:.2f}" and "bits" in novelty["meaning"]
    assert box.model.rowCount() == len(BEYOND)
    # the model saw every interaction: the caption says which numbers that flatters
    assert "optimistic" in box.protocol.text() and "Accuracy" not in box.message.text()

    # the chart: the report's "SASRec vs popular" panels, one bar per model with its value
    box.chart.flush()
    axes = [ax for ax in box.chart.figure.axes if ax.get_visible()]
    titles = [ax.get_title(loc="left") for ax in axes]  # the report's style: titles on the left
    assert titles == [f"{m}@10" for m in BEYOND_CHART_METRICS]
    for ax, name in zip(axes, titles):
        widths = sorted(round(p.get_width(), 9) for p in ax.patches)
        assert widths == sorted(round(float(v), 9) for v in table[name].to_numpy(float))
        assert len(ax.texts) == 2
    assert box.chart.figure.get_suptitle().startswith("SASRec vs popular, top 10")

    # told the model's hold-out (a run with one, or its checkpoint), it measures honestly on it
    box.set_model_holdout(model, Holdout(scheme="last", k=10))
    qtbot.waitUntil(lambda: box.result is not None and box.result.honest, timeout=60_000)
    assert "honest" in box.protocol.text() and "HR@10" in box.message.text()
    # k follows the page's list length
    window.compare_page.k_spin.setValue(5)
    qtbot.waitUntil(lambda: box.result is not None and box.result.k == 5, timeout=60_000)
    assert all(m.endswith("@5") for m in box.model.frame["metric"])


def test_beyond_accuracy_refuses_a_split_without_test_users() -> None:
    from sasrec_gui.logic.beyond import measure_beyond

    one_each = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [10, 11, 12],
                             "datetime": pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-03"]), "weight": 1.0})
    with pytest.raises(RecommendError, match="no test user"):
        measure_beyond(object(), UserHistories.from_interactions(one_each), None, 10)  # type: ignore[arg-type]


def test_beyond_accuracy_failure_is_shown(demo_window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    import sasrec_gui.widgets.beyond_accuracy as module

    def broken(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RecommendError("The hold-out leaves no test user.")

    monkeypatch.setattr(module, "measure_beyond", broken)
    box = demo_window.compare_page.beyond
    demo_window.show_page("compare")
    qtbot.waitUntil(lambda: box.message.is_error, timeout=20_000)
    assert "no test user" in box.message.text() and box.result is None and box.measure_button.isEnabled()


# --------------------------------------------------------------------------- reports


def test_save_report_from_the_runs_page_and_the_file_menu(window, open_demo, train, qtbot, run_home, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    open_demo(window)
    assert train(window) == "finished"
    qtbot.waitUntil(lambda: len(RunStore.default().runs()) == 1, timeout=20_000)
    run_id = RunStore.default().runs()[0].run_id
    page = window.runs_page
    window.show_page("runs")
    qtbot.waitUntil(lambda: page.table_model.rowCount() == 1 and not page.history.is_busy(), timeout=20_000)
    assert not page.report_button.isEnabled()
    page.select_runs([run_id])
    assert page.report_button.isEnabled()

    # the Runs page's button: a file name without suffix gets .html; progress reaches the status bar
    asked = _save_dialog(monkeypatch, str(tmp_path / "for-the-team"))
    steps: list[str] = []
    window.report_writer.progress.connect(steps.append)
    with qtbot.waitSignal(window.report_writer.written, timeout=120_000) as done:
        page.report_button.click()
        assert window.report_writer.busy and window.busy.isVisible()
    assert Path(asked[0]).name == f"report-run-{run_id}.html"
    out = tmp_path / "for-the-team.html"
    html = out.read_text(encoding="utf-8")
    for section in REPORT_SECTIONS:
        assert f">{section}<" in html, section
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    assert steps and any("evaluating" in s for s in steps)
    assert done.args[0].run_ids == [run_id]
    qtbot.waitUntil(lambda: not window.report_writer.busy, timeout=10_000)
    assert window.statusBar().currentMessage().startswith(f"Saved the report of run {run_id} to {out}")

    # File → Save report… with no run selected: the latest run
    page.select_runs([])
    _save_dialog(monkeypatch, str(tmp_path / "latest.html"))
    with qtbot.waitSignal(window.report_writer.written, timeout=120_000) as done:
        window.report_action.trigger()
    assert done.args[0].run_ids == [run_id] and (tmp_path / "latest.html").is_file()

    # cancelling the dialog writes nothing
    qtbot.waitUntil(lambda: not window.report_writer.busy, timeout=10_000)
    _save_dialog(monkeypatch, "")
    assert window.choose_report([run_id]) is False and not window.report_writer.busy


def test_report_errors_reach_the_error_dialog(window, qtbot, run_home, monkeypatch, tmp_path, dialogs) -> None:  # noqa: ANN001
    # an empty run history: nothing to report
    _save_dialog(monkeypatch, str(tmp_path / "report.html"))
    with qtbot.waitSignal(window.report_writer.failed, timeout=20_000):
        assert window.choose_report()
    qtbot.waitUntil(lambda: bool(dialogs), timeout=10_000)
    kind, title, text = dialogs[-1]
    assert (kind, title) == ("critical", "Cannot write the report")
    assert "report.html" in text and "holds no run yet" in text
    assert not (tmp_path / "report.html").exists()

    # a run id the history does not hold, written to a folder: named in the dialog
    qtbot.waitUntil(lambda: not window.report_writer.busy, timeout=10_000)
    with qtbot.waitSignal(window.report_writer.failed, timeout=20_000):
        assert window.save_report([424242], tmp_path)
    qtbot.waitUntil(lambda: len(dialogs) == 2, timeout=10_000)
    assert "424242" in dialogs[-1][2]
