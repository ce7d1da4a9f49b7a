"""Run the command line in-process for tests: ``run_cli("train", ...) -> (exit status, stdout, stderr)``."""
from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``python -m core ARGV`` in this process, with stdout and stderr captured."""
    from core.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()
