"""Before Qt starts: can its platform plugin open a window here? (No Qt import.)

On a minimal Debian/Ubuntu the pip wheel of PySide6 brings Qt but not the X11 client
libraries its ``xcb`` platform plugin links to, and Qt then aborts with a hint that names
the wrong package. ``platform_problem()`` runs ``ldd`` on the plugin first and returns one
line naming the missing libraries and the ``apt-get`` command that installs them.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: Debian/Ubuntu packages that the xcb platform plugin of the PySide6 wheel needs on a
#: minimal system (from ``ldd`` of ``Qt/plugins/platforms/libqxcb.so``), by shared library.
XCB_LIBRARY_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def xcb_plugin_path() -> Path | None:
    """``.../PySide6/Qt/plugins/platforms/libqxcb.so`` when it exists (found without importing Qt)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_libraries(ldd_output: str) -> list[str]:
    """Shared libraries that ``ldd`` reports as ``not found`` (each once, in order)."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def _run_ldd(path: Path) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        done = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def uses_xcb(env: Mapping[str, str]) -> bool:
    """Whether Qt will pick its xcb (X11) plugin: on Linux, unless another platform is asked
    for with QT_QPA_PLATFORM or the session is a Wayland one."""
    if not sys.platform.startswith("linux"):
        return False
    asked = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if asked:
        return asked == "xcb"
    return env.get("XDG_SESSION_TYPE", "") != "wayland" or not env.get("WAYLAND_DISPLAY")


def install_hint(libraries: list[str]) -> str:
    """``sudo apt-get install ...`` for ``libraries`` (unknown ones are named as they are)."""
    packages = list(dict.fromkeys(XCB_LIBRARY_PACKAGES.get(lib, lib) for lib in libraries))
    return "sudo apt-get install " + " ".join(packages)


def platform_problem(env: Mapping[str, str] | None = None, ldd_output: str | None = None) -> str | None:
    """One line saying why Qt cannot open a window here, or None when nothing is known wrong.

    ``ldd_output`` replaces running ``ldd`` on the plugin (for tests).
    """
    env = os.environ if env is None else env
    if not uses_xcb(env):
        return None
    if ldd_output is None:
        plugin = xcb_plugin_path()
        if plugin is None:
            return None
        ldd_output = _run_ldd(plugin)
    missing = missing_libraries(ldd_output)
    if missing:
        return (
            f"Qt cannot open a window: its X11 (xcb) platform plugin needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed. Install with: {install_hint(missing)}"
        )
    if not env.get("DISPLAY"):
        return (
            "Qt cannot open a window: no X display (DISPLAY is not set). Run it in a desktop session or under "
            "Xvfb (xvfb-run sasrec-gui --demo), or set QT_QPA_PLATFORM=offscreen for --screenshot runs."
        )
    return None
