"""A report to send, from the app (Qt-free): which runs it covers, its default file name, and
the call of ``core.report.write_report`` that ``services.report_writer`` runs in a worker."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.report import ReportError, write_report
from core.runs import RunStore

REPORT_FILTER = "HTML reports (*.html *.htm);;All files (*)"


def report_file_name(run_ids: Sequence[int]) -> str:
    """'report-run-3.html', 'report-runs-3-4.html' or 'sasrec-report.html' (no run named yet)."""
    ids = [int(i) for i in run_ids]
    if not ids:
        return "sasrec-report.html"
    if len(ids) == 1:
        return f"report-run-{ids[0]}.html"
    shown = "-".join(str(i) for i in ids[:6])
    return f"report-runs-{shown}{'-etc' if len(ids) > 6 else ''}.html"


def with_html_suffix(path: str) -> str:
    """``path`` with '.html' appended when it has no suffix (a name typed in the save dialog)."""
    return path if Path(path).suffix else path + ".html"


def report_run_ids(run_ids: Sequence[int], store: RunStore) -> list[int]:
    """``run_ids`` as given; when none are given, the latest recorded run. Raises
    ``ReportError`` when the history holds no run, ``RunStoreError`` when it cannot be read."""
    if run_ids:
        return [int(i) for i in run_ids]
    records = store.runs()
    if not records:
        raise ReportError("The run history holds no run yet: train a model (every run is recorded), then save its report.")
    return [max(r.run_id for r in records)]


@dataclass
class ReportWritten:
    """A report written to ``path`` about ``run_ids``; ``notes``: what it had to leave out."""

    path: str
    run_ids: list[int]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def message(self) -> str:
        """The status-bar line."""
        runs = f"run {self.run_ids[0]}" if len(self.run_ids) == 1 else f"runs {', '.join(map(str, self.run_ids))}"
        text = f"Saved the report of {runs} to {self.path} ({self.seconds:.1f} s)."
        if self.notes:
            text += f" Left out: {self.notes[0]}" + (f" (and {len(self.notes) - 1} more)" if len(self.notes) > 1 else "")
        return text


def write_app_report(
    run_ids: Sequence[int], out: str | os.PathLike, store: RunStore, progress: Callable[[str], None] | None = None,
) -> ReportWritten:
    """Write the HTML report of ``run_ids`` (none: the latest run) to ``out`` with
    ``core.report.write_report``; ``progress`` is told each step. Errors: ``ReportError`` (no
    run, unknown ids, an output that cannot be written), ``RunStoreError``."""
    start = time.perf_counter()
    ids = report_run_ids(run_ids, store)
    report = write_report(ids, out, store, progress=progress)
    return ReportWritten(str(out), ids, report.notes, time.perf_counter() - start)
