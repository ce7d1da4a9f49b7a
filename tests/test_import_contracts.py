"""Import rules: the import-linter contracts in pyproject.toml are kept (core and the app's
Qt-free logic import no Qt, the app's layers only import downwards), the checker does report a
contract that the code breaks, and core and logic import no matplotlib Qt backend (a rule
import-linter cannot express: it forbids whole external packages only)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the test extra: pip install -e .[test]")

ROOT = Path(__file__).resolve().parents[1]
QT = {"PySide6", "shiboken6", "qasync"}
#: matplotlib modules that bring Qt in: its Qt backends, and pyplot (which picks a backend, Qt when it can).
QT_MATPLOTLIB = ("matplotlib.backends.backend_qt", "matplotlib.backends.qt_compat", "matplotlib.pyplot")


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``config`` from the repository root (its own process: the checker
    configures logging and sys.path process-wide)."""
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True, no_logo=True))\n"
    )
    env = {**os.environ, "COLUMNS": "200"}  # one line per contract in the report
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_declared_contracts_say_what_the_layout_promises() -> None:
    by_id = {c["id"]: c for c in _contracts()}
    core = by_id["core-qt-free"]
    assert core["type"] == "forbidden" and core["source_modules"] == ["core"]
    assert QT | {"sasrec_gui"} <= set(core["forbidden_modules"])
    logic = by_id["logic-qt-free"]
    assert logic["type"] == "forbidden" and logic["source_modules"] == ["sasrec_gui.logic"]
    assert QT | {"sasrec_gui.services", "sasrec_gui.widgets", "sasrec_gui.pages"} <= set(logic["forbidden_modules"])
    layers = by_id["gui-layers"]["layers"]
    assert layers.index("sasrec_gui.pages") < layers.index("sasrec_gui.widgets") < layers.index("sasrec_gui.services")
    assert layers[-1] == "sasrec_gui.logic"


def test_the_code_keeps_every_contract() -> None:
    done = _lint(ROOT / "pyproject.toml")
    n = len(_contracts())
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {n} kept, 0 broken." in done.stdout, done.stdout


def test_a_broken_contract_is_reported(tmp_path: Path) -> None:
    """The same checker on contracts the code breaks: widgets do import Qt, and services import
    logic (so logic cannot be the higher layer); the Qt-free logic contract stays kept."""
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\n'
        'root_packages = ["core", "sasrec_gui"]\n'
        'include_external_packages = true\n\n'
        '[[tool.importlinter.contracts]]\n'
        'name = "widgets without Qt"\n'
        'type = "forbidden"\n'
        'source_modules = ["sasrec_gui.widgets"]\n'
        'forbidden_modules = ["PySide6"]\n\n'
        '[[tool.importlinter.contracts]]\n'
        'name = "logic above services"\n'
        'type = "layers"\n'
        'layers = ["sasrec_gui.logic", "sasrec_gui.services"]\n\n'
        '[[tool.importlinter.contracts]]\n'
        'name = "logic without Qt"\n'
        'type = "forbidden"\n'
        'source_modules = ["sasrec_gui.logic"]\n'
        'forbidden_modules = ["PySide6"]\n'
    )
    done = _lint(config)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "Contracts: 1 kept, 2 broken." in out, out
    assert "widgets without Qt BROKEN" in out and "logic above services BROKEN" in out and "logic without Qt KEPT" in out
    assert "sasrec_gui.widgets." in out and "-> PySide6" in out  # it names an offending import
    assert "sasrec_gui.services." in out and "sasrec_gui.logic." in out


def qt_matplotlib_imports(source: str) -> list[str]:
    """The modules of ``QT_MATPLOTLIB`` that ``source`` imports, at any depth (functions too), sorted."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(QT_MATPLOTLIB))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith(QT_MATPLOTLIB):
                found.add(node.module)
            else:  # "from matplotlib import pyplot", "from matplotlib.backends import backend_qtagg"
                names = (f"{node.module}.{alias.name}" for alias in node.names)
                found.update(name for name in names if name.startswith(QT_MATPLOTLIB))
    return sorted(found)


def test_the_qt_backend_check_finds_every_spelling() -> None:
    source = (
        "import matplotlib\nfrom matplotlib.figure import Figure\nfrom matplotlib.backends.backend_agg import FigureCanvasAgg\n"
        "def f():\n    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg\n"
        "import matplotlib.pyplot as plt\nfrom matplotlib.backends import backend_qt\n"
    )
    assert qt_matplotlib_imports(source) == [
        "matplotlib.backends.backend_qt", "matplotlib.backends.backend_qtagg", "matplotlib.pyplot",
    ]
    assert qt_matplotlib_imports("from matplotlib import pyplot, rc_context\n") == ["matplotlib.pyplot"]


@pytest.mark.parametrize("package", ["core", "sasrec_gui/logic"])
def test_core_and_logic_import_no_matplotlib_qt_backend(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert len(files) >= 5
    offenders = {str(f.relative_to(ROOT)): found for f in files if (found := qt_matplotlib_imports(f.read_text(encoding="utf-8")))}
    assert offenders == {}
