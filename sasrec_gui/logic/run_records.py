"""The run history's records as the interface shows them (Qt-free; called from worker threads).

Recording: ``PendingRun`` is what the UI thread hands over when a run ends; ``record_run``
fingerprints the data, saves the model as ``<db folder>/checkpoints/run-<timestamp>.pt`` and
adds the run with core's pipeline step (``core.experiment.record_run``). Reading: each stored
run becomes a ``RunView`` (the record without its long per-step losses, plus a smoothed,
thinned loss curve against epochs) and ``runs_table`` one row per run (core's
``runs_table``, which ``export_table`` writes as CSV, plus the app's columns). Tags and
notes: ``annotate_run``. Comparing: ``setting_values``, ``result_values`` and
``differing_fields`` of runs side by side.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import experiment
from core.config import SASRecConfig
from core.errors import SasrecError
from core.experiment import STEPS_PER_EPOCH_KEY, VALIDATION_KEY, Holdout, RecordResult
from core.filters import FilterConfig
from core.runs import RunRecord, RunStore, RunStoreError
from core.runs import runs_table as core_runs_table
from core.train import TrainedModel

from .smoothing import bias_corrected_ema, ema_alpha

CHECKPOINT_FOLDER = "checkpoints"
#: Points per smoothed loss curve kept for the comparison plot (the full history stays in the database).
CURVE_POINTS = 1500


# --------------------------------------------------------------------------- recording


@dataclass
class PendingRun:
    """What the UI thread hands over when a run ends; ``record_run`` completes it in a worker."""

    record: RunRecord
    interactions: pd.DataFrame | None = None  # fingerprinted in the worker
    model: TrainedModel | None = None  # saved as the run's checkpoint
    checkpoint_extra: dict = field(default_factory=dict)


def checkpoint_folder(store: RunStore) -> Path:
    return store.path.parent / CHECKPOINT_FOLDER


def new_checkpoint_path(folder: Path, now: float | None = None) -> Path:
    """``folder/run-YYYYmmdd-HHMMSS-mmm.pt``, never an existing file."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int((now % 1) * 1000):03d}"
    path = folder / f"run-{stamp}.pt"
    n = 2
    while path.exists():
        path = folder / f"run-{stamp}-{n}.pt"
        n += 1
    return path


def record_run(pending: PendingRun, store: RunStore) -> RecordResult:
    """Fingerprint the data, save the checkpoint into the history's folder and add the run to
    ``store`` with core's pipeline step (worker thread)."""
    path = new_checkpoint_path(checkpoint_folder(store)) if pending.model is not None else None
    return experiment.record_run(
        pending.record, store, model=pending.model, checkpoint_path=path, extra=pending.checkpoint_extra,
        interactions=pending.interactions,
    )


# --------------------------------------------------------------------------- reading


@dataclass
class RunView:
    """One stored run as the Runs page needs it: the record without its (long) per-step
    losses, plus a smoothed, thinned loss curve against epochs."""

    record: RunRecord
    curve_x: np.ndarray
    curve_y: np.ndarray

    @property
    def run_id(self) -> int:
        return int(self.record.run_id or 0)

    @property
    def holdout(self) -> Holdout | None:
        return Holdout.from_dict(self.record.history.get(VALIDATION_KEY))

    @property
    def epoch_metrics(self) -> list[dict]:
        return list(self.record.history.get("epoch_metrics") or [])

    @property
    def label(self) -> str:
        return f"Run {self.run_id}"


@dataclass
class RunsSnapshot:
    """The whole history at one moment: the table and each run by id."""

    table: pd.DataFrame
    runs: dict[int, RunView]
    db_path: str
    flushed: int = 0  # pending runs written while reading


def smoothed_curve(step_losses: list[float], steps_per_epoch: int, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected EMA of the per-step losses (the live plot's smoothing), x in epochs.

    Returns (x, y), at most about ``points`` of them (the last step always kept): x float64
    in epochs, y float32.
    """
    n = len(step_losses)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    ema = bias_corrected_ema(step_losses, ema_alpha(n))
    x = np.arange(1, n + 1, dtype=np.float64) / max(steps_per_epoch, 1)
    stride = max(1, math.ceil(n / points))
    keep = np.r_[np.arange(0, n, stride), n - 1] if (n - 1) % stride else np.arange(0, n, stride)
    return x[keep], ema[keep].astype(np.float32)


def steps_per_epoch_of(history: dict) -> int:
    """Recorded steps per epoch, or an estimate from the history's lengths (runs from the CLI)."""
    value = history.get(STEPS_PER_EPOCH_KEY)
    if isinstance(value, int) and value > 0:
        return value
    epochs = len(history.get("epoch_losses") or [])
    return max(1, round(len(history.get("step_losses") or []) / max(epochs, 1)))


def run_view(record: RunRecord) -> RunView:
    history = dict(record.history)
    steps = history.pop("step_losses", None) or []
    x, y = smoothed_curve(steps, steps_per_epoch_of({**history, "step_losses": steps}))
    history["n_steps"] = len(steps)
    return RunView(replace(record, history=history), x, y)


def source_name(source: str) -> str:
    return Path(source).name or source if source else ""


def runs_table(views: list[RunView]) -> pd.DataFrame:
    """One row per run: ``core.runs.runs_table`` (what ``python -m core runs`` prints: status,
    sweep, parent, epochs, best epoch, key settings, last and best-epoch metrics, protocol,
    tags, note), with the time as a local timestamp, and for the app's table the data
    source, the hold-out and, for tooltips, the full protocol (``protocol_text``)."""
    table = export_table(views)
    if table.empty:
        return table
    extra = pd.DataFrame({
        "data": [source_name(v.record.data_source) for v in views],
        "holdout": [v.holdout.describe() if v.holdout else "none" for v in views],
        "protocol_text": [p.describe() if p is not None else "" for p in (v.record.protocol for v in views)],
    })
    table = table.reset_index(drop=True)
    table["when"] = [pd.Timestamp.fromtimestamp(v.record.created_at).floor("s") for v in views]
    at = table.columns.get_loc("epochs")
    for offset, column in enumerate(("data", "holdout")):
        table.insert(at + offset, column, extra[column])
    table["protocol_text"] = extra["protocol_text"]
    return table


def export_table(views: list[RunView]) -> pd.DataFrame:
    """The table ``python -m core runs --csv`` writes for the same runs (``core.runs.runs_table``)."""
    return core_runs_table([v.record for v in views])


def annotate_run(store: RunStore, run_id: int, tags: list[str], note: str) -> tuple[int, list[str], str]:
    """Replace run ``run_id``'s tags and note (worker thread); returns them as stored.

    Raises ``ConfigError`` (a tag with a comma, not text) or ``RunStoreError``."""
    stored_tags = store.set_tags(run_id, tags)
    stored_note = store.set_note(run_id, note)
    return run_id, stored_tags, stored_note


def load_runs(store: RunStore) -> RunsSnapshot:
    """Write any pending runs, then read every run (worker thread)."""
    flushed = 0
    try:
        flushed = store.flush_pending()
    except RunStoreError:
        pass  # reading below raises the same problem with its message
    views = [run_view(r) for r in store.runs()]
    return RunsSnapshot(runs_table(views), {v.run_id: v for v in views}, str(store.path), flushed)


def delete_runs(store: RunStore, run_ids: list[int], checkpoints: list[str]) -> list[int]:
    """Delete runs and those of their checkpoints that live in the history's own folder."""
    store.delete(run_ids)
    folder = checkpoint_folder(store).resolve()
    for path in checkpoints:
        p = Path(path)
        try:
            if p.is_file() and p.resolve().parent == folder:
                p.unlink()
        except OSError:
            pass  # a checkpoint that cannot be removed is left behind, the run is gone
    return run_ids


# --------------------------------------------------------------------------- comparison

HOLDOUT_FIELDS = ("holdout", "validate_every", "k")
SOURCE_FIELDS = ("data", "fingerprint")
#: Result rows of the comparison; "trained_on" is where the run ran (the ``device`` setting may say "auto").
RESULT_FIELDS = ("status", "epochs_done", "final_loss", "seconds", "trained_on")


def _config_fields() -> list[str]:
    return list(SASRecConfig().to_dict())


def _filter_fields() -> list[str]:
    return list(FilterConfig().to_dict())


def setting_values(view: RunView) -> dict[str, Any]:
    """Every setting of a run that can differ between runs: hyperparameters, filters,
    hold-out and data (keys are the config/filter field names)."""
    r = view.record
    values: dict[str, Any] = {}
    config_defaults = SASRecConfig().to_dict()
    for name in _config_fields():
        values[name] = r.config.get(name, config_defaults[name])
    for name in r.config:
        values.setdefault(name, r.config[name])
    filter_defaults = FilterConfig().to_dict()
    for name in _filter_fields():
        values[name] = r.filter_config.get(name, filter_defaults[name])
    holdout = view.holdout
    values["holdout"] = holdout.describe() if holdout else "none"
    values["validate_every"] = holdout.every if holdout else None
    values["k"] = holdout.k if holdout else None
    values["data"] = r.data_source
    values["fingerprint"] = r.data_fingerprint
    return values


def result_values(view: RunView) -> dict[str, Any]:
    r = view.record
    epoch_losses = r.history.get("epoch_losses") or []
    values: dict[str, Any] = {
        "status": r.status,
        "epochs_done": len(epoch_losses),
        "final_loss": epoch_losses[-1] if epoch_losses else None,
    }
    values.update({k: v for k, v in sorted(r.metrics.items())})
    if r.best_epoch:
        values["best_epoch"] = r.best_epoch
        values["kept_epoch"] = r.kept_epoch
        values.update({f"best_{k}": v for k, v in sorted(r.best_metrics.items())})
    protocol = r.protocol
    if protocol is not None:
        values["protocol"] = protocol.short()
    if r.parent_run_id is not None:
        values["parent_run"] = r.parent_run_id
    if r.sweep_id:
        values["sweep"] = r.sweep_id
    values.update({"seconds": round(float(r.seconds), 1), "trained_on": r.device})
    return values


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    return a == b


def differing_fields(views: list[RunView]) -> set[str]:
    """Settings whose values are not the same in every run of ``views``."""
    if len(views) < 2:
        return set()
    values = [setting_values(v) for v in views]
    names = set().union(*values)
    return {n for n in names if any(not _same(values[0].get(n), v.get(n)) for v in values[1:])}


def error_message(exc: BaseException) -> str:
    """A run-history failure as one line: core's own message, else the exception's type and text."""
    return str(exc) if isinstance(exc, SasrecError) else f"{type(exc).__name__}: {exc}"
