"""The installed Qt binding survives a long session: PySide6 6.12.0 under CPython 3.11 loses a
reference to None on every Qt call that returns nothing and aborts the process after a few
thousand of them (pyproject pins it out)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

CALLS = 30_000


@pytest.mark.slow
def test_many_void_qt_calls_do_not_abort_the_process():
    code = (
        "from PySide6.QtWidgets import QApplication, QWidget\n"
        "app = QApplication([]); w = QWidget()\n"
        f"for _ in range({CALLS}): w.resize(10, 10)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-500:]
