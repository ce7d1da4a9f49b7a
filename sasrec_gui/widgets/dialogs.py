"""Error dialogs: one place maps core's typed errors to a title and a readable message."""
from __future__ import annotations

import sys
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    OutOfMemoryError,
    RecommendError,
    SasrecError,
    TrainingError,
)
from core.report import ReportError
from core.runs import RunStoreError

_TITLES: list[tuple[type[BaseException], str]] = [
    (OutOfMemoryError, "Out of memory"),
    (TrainingError, "Training failed"),
    (DataError, "Cannot read the data"),
    (ConfigError, "Invalid settings"),
    (CheckpointError, "Checkpoint problem"),
    (RecommendError, "Cannot recommend"),
    (RunStoreError, "Run history unavailable"),
    (ReportError, "Cannot write the report"),
    (MemoryError, "Out of memory"),
]


def describe_error(exc: BaseException, action: str = "") -> tuple[str, str]:
    """(title, message) for ``exc``; core's messages are shown as they are."""
    title = next((t for cls, t in _TITLES if isinstance(exc, cls)), "Unexpected error")
    if isinstance(exc, SasrecError):
        message = str(exc)
    elif isinstance(exc, MemoryError):
        message = "The computer ran out of memory. Try smaller data, a smaller batch_size or a smaller model."
    else:
        message = f"{type(exc).__name__}: {exc}"
    if action:
        message = f"{action}\n\n{message}"
    return title, message


def show_error(parent: QWidget | None, exc: BaseException, action: str = "", *, interactive: bool = True) -> str:
    """Show ``exc`` in a modal dialog (or on stderr when not ``interactive``); returns the message."""
    title, message = describe_error(exc, action)
    if not isinstance(exc, (SasrecError, MemoryError)):
        traceback.print_exception(exc, file=sys.stderr)
    if interactive:
        QMessageBox.critical(parent, title, message)
    else:
        print(f"{title}: {message}", file=sys.stderr)
    return message
