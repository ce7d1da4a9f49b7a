"""sasrec-gui names the missing X11 libraries (and the apt-get line) instead of Qt's abort."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sasrec_gui.logic.platform_check import (
    install_hint,
    missing_libraries,
    platform_problem,
    uses_xcb,
    xcb_plugin_path,
)

ROOT = Path(__file__).resolve().parents[1]
LDD_TWO_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb1.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


def test_missing_libraries_are_read_from_ldd_once_each():
    assert missing_libraries(LDD_TWO_MISSING) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert missing_libraries("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_install_hint_names_debian_packages():
    assert install_hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]) == "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    assert install_hint(["libweird.so.9"]) == "sudo apt-get install libweird.so.9"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_problem_line_on_xcb_with_missing_libraries():
    line = platform_problem({"DISPLAY": ":0"}, LDD_TWO_MISSING)
    assert "\n" not in line
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in line
    assert line.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_no_display_and_other_platforms():
    assert "DISPLAY is not set" in platform_problem({}, "")
    assert platform_problem({"DISPLAY": ":0"}, "") is None
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}, LDD_TWO_MISSING) is None
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}) and not uses_xcb({"QT_QPA_PLATFORM": "wayland"})
    assert not uses_xcb({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"})


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux-only")
def test_real_start_on_xcb_exits_with_one_line(tmp_path):
    """On this machine, whatever it has installed: one line and a non-zero exit, never Qt's abort."""
    if xcb_plugin_path() is None:
        pytest.skip("this PySide6 has no xcb plugin")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "sasrec_gui", "--demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sasrec-gui: Qt cannot open a window"), done.stderr
