"""Drive the real app on the demo data and save a screenshot of every page.

``python -m sasrec_gui.screenshots [--out docs] [--only NAME,…]`` opens the embedded demo
dataset, trains a small model, shows a user's recommendations and an item's neighbours, and
saves ``screenshot-{data,training,recommendations,similar}.png`` plus the stakeholder views:
``screenshot-{profile,why,item-card,what-if,side-by-side,beyond,attention,embedding,dark,runs}.png``
and the experiment loop: ``screenshot-{early-stopping,sweep,parallel-coordinates,settings-scatter}.png``.
It uses throw-away settings and a temporary demo folder, never the user's own.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from core.ids import id_value

from .logic.sweep_job import ParamRow as SweepRow

PAGES = ("data", "training", "recommendations", "similar")
#: Every screenshot, in the order they are taken.
#: The experiment loop's shots: an early-stopped run, a sweep and the Runs page's views of it.
EXPERIMENT_SHOTS = ("early-stopping", "sweep", "parallel-coordinates", "settings-scatter")
SHOTS = (*PAGES, "profile", "why", "item-card", "what-if", "side-by-side", "beyond", "attention", "embedding", "dark", "runs",
         *EXPERIMENT_SHOTS)
#: Words of demo titles the what-if shot searches for, adding the first match of each.
WHAT_IF_SEARCHES = ("Island", "Vienna")
SCREENSHOT_CONFIG = {
    "n_factors": 64,
    "n_blocks": 2,
    "n_heads": 2,
    "dropout_rate": 0.2,
    "session_maxlen": 32,
    "batch_size": 128,
    "lr": 0.002,
    "device": "auto",
}


def wait_until(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    """Process events until ``condition()`` holds; raise TimeoutError after ``timeout`` seconds."""
    app = QApplication.instance()
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def settle(seconds: float = 0.4) -> None:
    """Let pending paints and timers run for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.instance().processEvents()
        time.sleep(0.01)


def take_screenshots(
    out: Path,
    epochs: int = 3,
    size: tuple[int, int] = (1360, 860),
    only: Sequence[str] | None = None,
    demo_sizes: dict[str, int] | None = None,
) -> list[Path]:
    """Run the workflow and save one PNG per shot into ``out`` (those in ``only``, default
    all of ``SHOTS``); returns the paths. ``demo_sizes`` (n_users, n_items) shrink the demo."""
    from .__main__ import create_application
    from .app import MainWindow
    from .widgets.chart_export import ChartView
    from .services.settings import Settings

    create_application()
    work = Path(tempfile.mkdtemp(prefix="sasrec-screenshots-"))
    os.environ["SASREC_STUDIO_HOME"] = str(work / "studio")  # the run history is throw-away too
    window = MainWindow(Settings.from_file(work / "settings.ini"), interactive=False)
    window.controller.demo_dir = work / "demo"
    window.controller.demo_sizes = dict(demo_sizes or {})
    wanted = set(SHOTS if only is None else only)
    window.resize(*size)
    window.show()
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def shot(page: str, name: str | None = None, overlay: QWidget | None = None) -> None:
        name = name or page
        if name not in wanted:
            return
        window.show_page(page)
        settle()
        wait_until(lambda: not window.runner.is_busy())
        wait_until(lambda: not any(view.isVisible() and (view.rendering or view.dirty) for view in window.findChildren(ChartView)))
        settle(0.2)
        path = out / f"screenshot-{name}.png"
        image = window.grab()
        if overlay is not None:  # a dialog over the window, centred, as it shows on screen
            painter = QPainter(image)
            top = overlay.grab()
            x, y = (image.width() - top.width()) // 2, (image.height() - top.height()) // 2
            painter.fillRect(x + 6, y + 6, top.width(), top.height(), QColor(0, 0, 0, 60))  # a shadow
            painter.drawPixmap(x, y, top)
            painter.setPen(QColor("#7b8794"))
            painter.drawRect(x, y, top.width() - 1, top.height() - 1)
            painter.end()
        if not image.save(str(path)):
            raise OSError(f"could not save {path}")
        saved.append(path)
        print(f"saved {path}", file=sys.stderr)

    window.open_demo()
    wait_until(lambda: window.state.filtered is not None)
    wait_until(lambda: not window.runner.is_busy())
    shot("data")

    window.show_page("training")
    window.train_page.form.set_config({**SCREENSHOT_CONFIG, "epochs": epochs})
    ended: list[str] = []
    window.train_page.session.ended.connect(lambda kind, _payload: ended.append(kind))
    if not window.train_page.start_training():
        raise RuntimeError(window.train_page.blocking_reason())
    wait_until(lambda: bool(ended), timeout=1800)
    if ended[0] != "finished":
        raise RuntimeError(f"training {ended[0]}: {window.last_error}")
    shot("training")

    histories = window.state.recommender.histories
    lengths = histories.lengths
    # a user with a history long enough to fill the table but not the longest one
    candidates = histories.user_ids[(lengths >= 12) & (lengths <= 25)]
    user = id_value(candidates[len(candidates) // 2] if len(candidates) else histories.user_ids[0])
    window.show_page("recommendations")
    window.recommend_page.show_user(user)
    shot("recommendations")

    item = id_value(window.recommend_page.recommendations()["item_id"].iloc[0])
    window.show_similar(item)
    window.similar_page.search_edit.setText(window.state.catalog.describe(item).split(" (")[0].split()[0])
    settle(0.5)
    shot("similar")
    _stakeholder_shots(window, user, shot)
    if "runs" in wanted:
        _runs_shot(window, epochs, shot)
    if wanted & set(EXPERIMENT_SHOTS):
        _experiment_shots(window, shot)
    window.close()
    return saved


def _stakeholder_shots(window, user: int, shot: Callable[..., None]) -> None:  # noqa: ANN001 - MainWindow
    """Profile, why, item card, side by side, attention, item map and the dark theme."""
    page = window.recommend_page
    window.show_page("recommendations")
    page.show_user(user)
    page.body_splitter.setSizes([300, 420])
    page.details.setCurrentWidget(page.profile)
    shot("recommendations", "profile")

    page.details.setCurrentWidget(page.why)
    page.select_recommendation(0)
    wait_until(lambda: page.why.explanation is not None and not window.runner.is_busy("why"))
    shot("recommendations", "why")

    # the card of a history item, given more room
    page.details.setCurrentWidget(page.profile)
    page.details_splitter.setSizes([440, 720])
    page.body_splitter.setSizes([230, 490])
    page.history_view.selectRow(0)
    shot("recommendations", "item-card")
    page.details_splitter.setSizes([330, 830])
    page.body_splitter.setSizes([300, 420])
    page.details.setCurrentWidget(page.why)

    # a what-if session: the user's last three items plus two found by title, the top one explained
    recommender = window.state.recommender
    page.show_what_if([id_value(i) for i in recommender.known_items(user)[-3:]])
    editor = page.session_editor
    for word in WHAT_IF_SEARCHES:
        if len(editor.search(word)):
            editor.add_match(0)
    page.recommend_session_now()
    wait_until(lambda: page.what_if is not None and page.what_if.items == editor.items())
    wait_until(lambda: page.why.explanation is not None and not window.runner.is_busy("why"))
    page.body_splitter.setSizes([390, 330])
    shot("recommendations", "what-if")
    page.body_splitter.setSizes([300, 420])
    page.show_user(user)

    compare = window.compare_page
    window.show_page("compare")
    compare.show_user(user)
    wait_until(lambda: compare.popular is not None)
    compare.sasrec_view.selectRow(0)
    shot("compare", "side-by-side")
    sizes = compare.body_splitter.sizes()
    compare.body_splitter.setSizes([250, sum(sizes) - 250])
    wait_until(lambda: compare.beyond.result is not None, timeout=600)
    shot("compare", "beyond")
    compare.body_splitter.setSizes(sizes)

    window.show_page("attention")
    window.attention_page.show_user(user)
    shot("attention")

    embedding = window.embedding_page
    window.show_page("embedding")
    wait_until(lambda: embedding.scatter is not None)
    settle(0.6)
    ax = embedding.axes
    frame = embedding.frame
    # hover over the item nearest the middle of the cloud so the caption shows a title
    cx, cy = float(frame["x"].median()), float(frame["y"].median())
    nearest = int(((frame["x"] - cx) ** 2 + (frame["y"] - cy) ** 2).to_numpy().argmin())
    px, py = ax.transData.transform((frame["x"].iat[nearest], frame["y"].iat[nearest]))
    embedding.hover_at(px, py)
    shot("embedding")

    window.view_modes.set_theme("dark")
    window.show_page("recommendations")
    page.details.setCurrentWidget(page.why)
    settle(0.6)
    shot("recommendations", "dark")
    window.view_modes.set_theme("light")


def _runs_shot(window, epochs: int, shot: Callable[..., None]) -> None:  # noqa: ANN001 - MainWindow
    """Train a second, validated run with other settings and compare both on the Runs page."""
    page = window.train_page
    window.show_page("training")
    page.form.set_config({**SCREENSHOT_CONFIG, "epochs": epochs + 1, "n_factors": 32, "lr": 0.004})
    page.validation.set_values({"holdout": "last", "validate_every": 1, "k": 10})
    ended: list[str] = []
    page.session.ended.connect(lambda kind, _payload: ended.append(kind))
    if not page.start_training():
        raise RuntimeError(page.blocking_reason())
    wait_until(lambda: bool(ended), timeout=1800)
    wait_until(lambda: not page.run_history.is_busy() and not page.tasks.is_busy())
    runs = window.runs_page
    window.show_page("runs")
    wait_until(lambda: runs.table_model.rowCount() >= 2 and not runs.history.is_busy())
    runs.select_runs([runs.table_model.run_id(r) for r in range(runs.table_model.rowCount())][:2])
    settle(0.8)
    shot("runs")


def _experiment_shots(window, shot: Callable[..., None]) -> None:  # noqa: ANN001 - MainWindow
    """A run stopped early (its best epoch kept and marked, the validation loss beside the
    training loss), a sweep in its dialog, and the sweep's runs as parallel coordinates and
    as a scatter of the learning rate against NDCG@10."""
    page = window.train_page
    window.show_page("training")
    page.form.set_config({**SCREENSHOT_CONFIG, "epochs": 40, "lr": 0.004})
    page.validation.set_values({"holdout": "last", "validate_every": 1, "k": 10, "early_stopping": 2, "monitor": "loss"})
    ended: list[str] = []
    page.session.ended.connect(lambda kind, _payload: ended.append(kind))
    if not page.start_training():
        raise RuntimeError(page.blocking_reason())
    wait_until(lambda: bool(ended), timeout=3600)
    wait_until(lambda: page.evaluation is not None and not page.run_history.is_busy())
    settle(0.8)
    shot("training", "early-stopping")

    page.form.set_config({**SCREENSHOT_CONFIG, "epochs": 8, "n_blocks": 1})
    dialog = window.open_sweep_dialog()
    dialog.set_rows([SweepRow("lr", "values", "0.001,0.003,0.01"), SweepRow("n_factors", "values", "32,64")])
    dialog.patience.setValue(2)
    dialog.monitor.setCurrentIndex(dialog.monitor.findData("ndcg"))
    finished: list[object] = []
    window.sweeps.finished.connect(finished.append)
    window.sweeps.failed.connect(finished.append)
    if not dialog.start():
        raise RuntimeError(dialog.error.text())
    wait_until(lambda: bool(finished), timeout=3600)
    runs = window.runs_page
    sweep_id = window.sweeps.sweep_id
    window.show_page("runs")
    wait_until(lambda: not runs.history.is_busy() and runs.set_sweep_filter(sweep_id))
    settle(0.6)
    shot("runs", "sweep", overlay=dialog)
    dialog.hide()
    best = finished[0].best if hasattr(finished[0], "best") else None
    if best is not None and best.run_id is not None:
        runs.select_runs([best.run_id])
    runs.insights.setCurrentWidget(runs.insights.parallel)
    settle(0.8)
    shot("runs", "parallel-coordinates")
    runs.insights.setCurrentWidget(runs.insights.scatter)
    runs.insights.scatter.set_setting("lr")
    settle(0.8)
    shot("runs", "settings-scatter")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sasrec_gui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the PNGs (default: docs)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", default="1360x860", help="window size WxH")
    parser.add_argument("--only", default="", help=f"comma-separated shots to save (default all: {','.join(SHOTS)})")
    parser.add_argument("--demo-users", type=int, default=0, help="smaller demo data for a quick look (default: the embedded size)")
    parser.add_argument("--demo-items", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    width, _, height = args.size.partition("x")
    only = [s.strip() for s in args.only.split(",") if s.strip()] or None
    if only and not set(only) <= set(SHOTS):
        parser.error(f"unknown shot(s): {', '.join(sorted(set(only) - set(SHOTS)))}")
    sizes = {k: v for k, v in (("n_users", args.demo_users), ("n_items", args.demo_items)) if v}
    take_screenshots(Path(args.out), args.epochs, (int(width), int(height)), only, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
