"""Start SASRec Studio: ``sasrec-gui`` or ``python -m sasrec_gui [--demo | --data DIR] [--screenshot PNG]``.

The Qt event loop runs under qasync (asyncio on Qt). Before the loop closes, any
training thread is stopped and waited for (qasync issue #115: exit can hang otherwise).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from . import APP_NAME, ORG_NAME, PAGES, __version__
from .logic.platform_check import platform_problem
from .logic.memory import configure_allocator
from .logic.threads import enable_freezing, favour_interface_thread
from .services.workers import wait_for_workers

if TYPE_CHECKING:
    from .app import MainWindow

SCREENSHOT_SETTLE_MS = 300


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sasrec-gui", description=f"{APP_NAME}: train and explore SASRec recommenders.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true", help="open the embedded demo dataset at start")
    source.add_argument("--data", metavar="DIR", help="open this KION or MovieLens folder at start")
    parser.add_argument("--checkpoint", metavar="FILE", help="open this model checkpoint at start")
    parser.add_argument("--page", choices=PAGES, help="page to show first")
    parser.add_argument(
        "--screenshot", metavar="PNG",
        help="save a PNG of the main window once its data is loaded, then exit (status 0; 1 when loading failed)",
    )
    parser.add_argument("--size", metavar="WxH", default="1360x860", help="window size for --screenshot (default 1360x860)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication with names (for QSettings) and the Fusion style. The style sheet is not
    set here: the main window puts it on its root widgets (``services.styling``), which keeps a
    theme toggle from re-polishing every widget at once."""
    configure_allocator()  # freed arrays go back to the system (logic.memory)
    favour_interface_thread()  # the interface gets the GIL back soon from a busy worker (logic.threads)
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    return app  # type: ignore[return-value]


def load_style_sheet() -> str:
    """resources/style.qss, or '' when it is missing."""
    try:
        from importlib.resources import files

        return (files("resources") / "style.qss").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return ""


async def run_app(args: argparse.Namespace) -> int:
    """Show the window, open what the arguments ask for, and wait until the window closes."""
    from .app import MainWindow

    app = QApplication.instance()
    assert app is not None
    app.setQuitOnLastWindowClosed(False)  # the coroutine below decides when to stop
    settings, scratch = None, None
    if args.screenshot:  # a screenshot run leaves the user's settings alone
        from .services.settings import Settings

        scratch = tempfile.TemporaryDirectory(prefix="sasrec-gui-")
        settings = Settings.from_file(Path(scratch.name) / "settings.ini")
    window = MainWindow(settings, interactive=args.screenshot is None)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()

    def finish(code: int) -> None:
        if not done.done():
            done.set_result(code)

    window.closed.connect(lambda: finish(0))
    if args.screenshot:
        width, _, height = args.size.partition("x")
        window.resize(int(width), int(height))
    if args.page:
        window.show_page(args.page)
    window.show()

    if args.screenshot:
        _arrange_screenshot(window, args, finish)
    if args.demo:
        window.open_demo()
    elif args.data:
        window.open_folder(args.data)
    if args.checkpoint:
        window.open_checkpoint(args.checkpoint)
    try:
        code = await done
    finally:
        window.shutdown()  # stop and wait() any training QThread before the loop closes
    if window.isVisible():
        window.close()
    if scratch is not None:
        scratch.cleanup()
    return code


def _arrange_screenshot(window: MainWindow, args: argparse.Namespace, finish: Callable[[int], None]) -> None:
    """Save the window once data is loaded and filtered (or at once without data), then finish."""
    path = Path(args.screenshot)

    def shoot() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(path))
        print(f"saved {path}" if ok else f"could not save {path}", file=sys.stderr)
        finish(0 if ok else 1)

    def later() -> None:
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, shoot_when_idle)

    def shoot_when_idle() -> None:
        if window.runner.is_busy():  # e.g. a checkpoint still opening
            later()
        else:
            shoot()

    def failed(_exc: BaseException, _action: str) -> None:
        finish(1)

    if args.demo or args.data:
        window.state.filter_changed.connect(later)
        window.controller.error.connect(failed)
    else:
        later()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sasrec-gui`` and ``python -m sasrec_gui``."""
    import qasync

    args = build_parser().parse_args(argv)
    problem = platform_problem()
    if problem is not None:  # Qt would abort with a misleading hint
        print(f"sasrec-gui: {problem}", file=sys.stderr)
        return 1
    create_application()
    enable_freezing()  # start-up objects out of the garbage collector's way (logic.threads)
    try:
        return int(qasync.run(run_app(args)) or 0)
    except asyncio.CancelledError:
        return 0
    finally:
        wait_for_workers()  # a chart still drawing: Qt aborts on a QThread destroyed while it runs


if __name__ == "__main__":
    sys.exit(main())
