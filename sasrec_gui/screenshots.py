"""Drive the real app on the demo data and save a screenshot of every page.

``python -m sasrec_gui.screenshots [--out docs]`` opens the embedded demo dataset, trains a
small model, shows a user's recommendations and an item's neighbours, and saves
``screenshot-{data,training,recommendations,similar}.png``. It uses throw-away settings and
a temporary demo folder, never the user's own.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication

PAGES = ("data", "training", "recommendations", "similar")
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


def take_screenshots(out: Path, epochs: int = 3, size: tuple[int, int] = (1360, 860)) -> list[Path]:
    """Run the workflow and save one PNG per page into ``out``; returns the paths."""
    from .__main__ import create_application
    from .app import MainWindow
    from .settings import Settings

    create_application()
    work = Path(tempfile.mkdtemp(prefix="sasrec-screenshots-"))
    window = MainWindow(Settings.from_file(work / "settings.ini"), interactive=False)
    window.controller.demo_dir = work / "demo"
    window.resize(*size)
    window.show()
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def shot(page: str) -> None:
        window.show_page(page)
        settle()
        path = out / f"screenshot-{page}.png"
        if not window.grab().save(str(path)):
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
    user = int(candidates[len(candidates) // 2]) if len(candidates) else int(histories.user_ids[0])
    window.show_page("recommendations")
    window.recommend_page.show_user(user)
    shot("recommendations")

    item = int(window.recommend_page.recommendations()["item_id"].iloc[0])
    window.show_similar(item)
    window.similar_page.search_edit.setText(window.state.catalog.describe(item).split(" (")[0].split()[0])
    settle(0.5)
    shot("similar")
    window.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sasrec_gui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the PNGs (default: docs)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", default="1360x860", help="window size WxH")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    width, _, height = args.size.partition("x")
    take_screenshots(Path(args.out), args.epochs, (int(width), int(height)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
