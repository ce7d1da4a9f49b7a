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


#: Options of a train run that takes about a second on the small demo data (``cli_demo_dir``).
TINY_TRAIN = ["--epochs", "1", "--n-factors", "16", "--n-blocks", "1", "--session-maxlen", "8", "--batch-size", "64",
              "--min-item-freq", "5", "--device", "cpu"]
