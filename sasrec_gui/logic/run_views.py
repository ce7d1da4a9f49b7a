"""What the Runs page's views of settings against results show (Qt-free): the metrics and
settings a run can be plotted by, the parallel-coordinates axes, the scatter's points, the
protocol the shown metric was measured under, the sweep filter and the tags typed by the user.

A metric is named as in ``core.runs.runs_table``: ``"NDCG@10"`` (the last validation),
``"best_NDCG@10"`` (the best epoch's), ``"val_loss"`` / ``"best_val_loss"`` (the held-out
loss, unweighted) and ``"final_loss"`` (the last epoch's mean training loss, weighted). A
setting is a ``SASRecConfig`` field (``"lr"``, ``"n_factors"`` …).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.config import SASRecConfig
from core.runs import TAG_SEPARATOR, normalise_tags
from core.schema import settings_of

from .run_records import RunView

#: Settings shown as parallel axes when the runs do not differ in any (one run, repeated runs).
KEY_SETTINGS = ("n_factors", "n_blocks", "n_heads", "session_maxlen", "dropout_rate", "lr", "batch_size")
#: At most this many settings get an axis (the metric is one more).
MAX_SETTING_AXES = 8
#: A positive numeric setting spanning this ratio or more gets a log axis (learning rates).
LOG_RATIO = 20.0
#: A numeric axis with at most this many distinct values labels each of them.
MAX_VALUE_TICKS = 6
#: The value of a run without the metric (drawn grey).
MISSING = float("nan")


# --------------------------------------------------------------------------- metrics


def metric_value(view: RunView, metric: str) -> float | None:
    """The run's value of ``metric`` (None when it has none)."""
    record = view.record
    value: Any
    if metric == "final_loss":
        losses = record.history.get("epoch_losses") or []
        value = losses[-1] if losses else None
    elif metric == "val_loss":
        value = record.last_val_loss
    elif metric.startswith("best_"):
        value = record.best_metrics.get(metric[len("best_"):])
    else:
        value = record.metrics.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return None
    return float(value)


def lower_is_better(metric: str) -> bool:
    """Losses are better low; every ranking metric is better high."""
    return metric.endswith("loss")


def metric_label(metric: str) -> str:
    """How the views name a metric: "NDCG@10 (best epoch)", "validation loss (last)" …"""
    if metric == "final_loss":
        return "training loss (last epoch, weighted)"
    best = metric.startswith("best_")
    base = metric[len("best_"):] if best else metric
    if base == "val_loss":
        base = "validation loss (unweighted)"
    return f"{base} ({'best epoch' if best else 'last validation'})"


def metric_choices(views: Sequence[RunView]) -> list[str]:
    """The metrics at least one of ``views`` has: the best epoch's ranking metrics first
    (NDCG, then HR, then others), then the last validation's, the losses last."""
    names: dict[str, None] = {}
    for view in views:
        for key in view.record.best_metrics:
            names.setdefault(f"best_{key}", None)
        for key, value in view.record.metrics.items():
            if isinstance(value, (int, float)):
                names.setdefault(key, None)
        if view.record.last_val_loss is not None:
            names.setdefault("val_loss", None)
        if view.record.history.get("epoch_losses"):
            names.setdefault("final_loss", None)
    order = {"NDCG": 0, "HR": 1}

    def rank(name: str) -> tuple:
        best = name.startswith("best_")
        base = name[len("best_"):] if best else name
        if base.endswith("loss"):
            return (2, 0 if base == "val_loss" else 1, not best, base)
        return (0 if best else 1, order.get(base.split("@")[0], 2), base)

    return sorted(names, key=rank)


def protocol_note(views: Sequence[RunView], metric: str) -> str:
    """How ``metric`` was measured for the runs that have it: the one protocol they share
    (``Protocol.describe()``), or how many differ."""
    if metric == "final_loss":
        return "Training loss: the last epoch's mean, weighted by the interaction weights."
    protocols = {p.describe() for v in views if metric_value(v, metric) is not None
                 for p in [v.record.protocol] if p is not None}
    prefix = "Held-out loss, unweighted; " if metric.endswith("val_loss") else ""
    if not protocols:
        return prefix + "measured under an unrecorded protocol (runs of an older version)."
    if len(protocols) == 1:
        return f"{prefix}measured on: {next(iter(protocols))}"
    return f"{prefix}measured under {len(protocols)} different protocols: compare with care (see the table's tooltips)."


def protocol_short(views: Sequence[RunView], metric: str) -> str:
    """A compact form of ``protocol_note`` for a chart title: the shared ``Protocol.short()``."""
    if metric == "final_loss":
        return "training loss, weighted"
    shorts = {p.short() for v in views if metric_value(v, metric) is not None for p in [v.record.protocol] if p is not None}
    if len(shorts) == 1:
        return next(iter(shorts))
    return f"{len(shorts)} protocols" if shorts else "protocol not recorded"


# --------------------------------------------------------------------------- settings


def _config_fields() -> list[str]:
    return list(SASRecConfig().to_dict())


def setting_value(view: RunView, name: str) -> Any:
    """The run's value of setting ``name`` (its default when the record predates it)."""
    config = view.record.config
    if name in config:
        return config[name]
    return SASRecConfig().to_dict().get(name)


def setting_label(name: str) -> str:
    """The setting's label from the schema ("Factors"), with its field name."""
    spec = settings_of(SASRecConfig).get(name)
    return f"{spec.label} ({name})" if spec is not None else name


def _distinct(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def setting_choices(views: Sequence[RunView]) -> list[str]:
    """Every setting, those whose value differs between ``views`` first (schema order)."""
    names = _config_fields()
    differing = [n for n in names if len(_distinct([setting_value(v, n) for v in views])) > 1]
    return differing + [n for n in names if n not in differing]


def parallel_settings(views: Sequence[RunView]) -> list[str]:
    """The settings the parallel-coordinates view gives an axis: those that differ between
    ``views`` (at most ``MAX_SETTING_AXES``), else the key settings."""
    names = _config_fields()
    differing = [n for n in names if len(_distinct([setting_value(v, n) for v in views])) > 1 and n != "device"]
    return differing[:MAX_SETTING_AXES] if differing else list(KEY_SETTINGS)


# --------------------------------------------------------------------------- axes


@dataclass
class Axis:
    """One axis of values mapped to 0..1: ``ticks`` are (position, label) pairs."""

    name: str
    label: str
    ticks: list[tuple[float, str]]
    log: bool = False
    categorical: bool = False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _whole(value: float) -> float | int:
    """``value`` as an int when it is a whole number (a setting like n_factors)."""
    return int(value) if float(value).is_integer() else value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def scale_values(name: str, label: str, values: Sequence[Any], each_value: bool = True) -> tuple[np.ndarray, Axis]:
    """``values`` (one per run, None for missing) mapped onto 0..1 and the axis that reads
    them back: numbers linearly (log10 when positive and spanning ``LOG_RATIO`` or more;
    ticks at each value when there are at most ``MAX_VALUE_TICKS`` and ``each_value``, else
    at the ends and the middle), anything else as categories in order of appearance. Missing values map to NaN;
    one distinct value maps to 0.5."""
    present = [v for v in values if v is not None]
    if present and all(_is_number(v) for v in present):
        numbers = np.array([float(v) if v is not None else np.nan for v in values], dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        low, high = float(finite.min()), float(finite.max())
        log = low > 0 and high / low >= LOG_RATIO
        mapped = np.log10(numbers) if log else numbers
        lo, hi = (math.log10(low), math.log10(high)) if log else (low, high)
        if hi > lo:
            positions = (mapped - lo) / (hi - lo)
            distinct = sorted(set(finite.tolist()))
            if each_value and len(distinct) <= MAX_VALUE_TICKS:  # a few values (a grid): each one labelled
                ticks = [(float(((math.log10(v) if log else v) - lo) / (hi - lo)), _text(_whole(v))) for v in distinct]
            else:
                middle = 10 ** ((lo + hi) / 2) if log else (lo + hi) / 2
                ticks = [(0.0, _text(_whole(low))), (0.5, _text(middle)), (1.0, _text(_whole(high)))]
        else:
            positions = np.where(np.isfinite(numbers), 0.5, np.nan)
            ticks = [(0.5, _text(low))]
        return positions, Axis(name, label, ticks, log=log)
    categories = _distinct([v for v in values if v is not None])
    n = len(categories)
    where = {i: (0.5 if n == 1 else i / (n - 1)) for i in range(n)}
    positions = np.array([where[categories.index(v)] if v is not None else np.nan for v in values], dtype=np.float64)
    return positions, Axis(name, label, [(where[i], _text(c)) for i, c in enumerate(categories)], categorical=True)


@dataclass
class ParallelData:
    """The parallel-coordinates view of runs: ``positions`` (runs, axes) in 0..1 (NaN where
    a run has no value), the metric's ``values`` (runs,) for the colour (NaN: none)."""

    run_ids: list[int]
    axes: list[Axis]
    positions: np.ndarray
    metric: str
    values: np.ndarray
    lower_is_better: bool

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)


def parallel_data(views: Sequence[RunView], metric: str, settings: Sequence[str] | None = None) -> ParallelData:
    """One line per run through ``settings`` (default ``parallel_settings``) and ``metric``
    (the last axis, also the colour)."""
    names = list(settings) if settings is not None else parallel_settings(views)
    columns, axes = [], []
    for name in names:
        positions, axis = scale_values(name, name, [setting_value(v, name) for v in views])
        columns.append(positions)
        axes.append(axis)
    values = [metric_value(v, metric) for v in views]
    positions, axis = scale_values(metric, metric_label(metric), values, each_value=False)
    columns.append(positions)
    axes.append(axis)
    matrix = np.column_stack(columns) if views else np.zeros((0, len(axes)))
    metric_values = np.array([MISSING if v is None else v for v in values], dtype=np.float64)
    return ParallelData([v.run_id for v in views], axes, matrix, metric, metric_values, lower_is_better(metric))


@dataclass
class ScatterData:
    """One point per run with both values: ``x`` (numbers, or category positions 0..n-1
    with ``x_ticks``), ``y`` the metric."""

    run_ids: list[int]
    x: np.ndarray
    y: np.ndarray
    setting: str
    metric: str
    x_ticks: list[tuple[float, str]]
    x_log: bool
    missing: int  # runs left out (no value of the metric)


def scatter_data(views: Sequence[RunView], setting: str, metric: str) -> ScatterData:
    """The runs that have ``metric``, at their value of ``setting``."""
    kept = [(v, metric_value(v, metric)) for v in views]
    kept = [(v, y) for v, y in kept if y is not None]
    xs = [setting_value(v, setting) for v, _ in kept]
    ids = [v.run_id for v, _ in kept]
    y = np.array([value for _, value in kept], dtype=np.float64)
    if xs and all(_is_number(x) for x in xs):
        x = np.array([float(value) for value in xs], dtype=np.float64)
        low, high = (float(x.min()), float(x.max())) if len(x) else (0.0, 0.0)
        return ScatterData(ids, x, y, setting, metric, [], low > 0 and high / low >= LOG_RATIO, len(views) - len(kept))
    categories = _distinct(xs)
    x = np.array([categories.index(value) for value in xs], dtype=np.float64)
    return ScatterData(ids, x, y, setting, metric, [(float(i), _text(c)) for i, c in enumerate(categories)], False,
                       len(views) - len(kept))


# --------------------------------------------------------------------------- sweeps and tags

ALL_RUNS = ""


def sweep_ids(views: Sequence[RunView]) -> list[str]:
    """The sweeps of ``views`` (in their order: newest first), each once."""
    return list(dict.fromkeys(v.record.sweep_id for v in views if v.record.sweep_id))


def in_sweep(views: Sequence[RunView], sweep_id: str) -> list[RunView]:
    """The runs of sweep ``sweep_id`` (all of them for ``ALL_RUNS``)."""
    return list(views) if sweep_id == ALL_RUNS else [v for v in views if v.record.sweep_id == sweep_id]


def parse_tags(text: str) -> list[str]:
    """Tags typed as "baseline, long run": split at commas, then ``core.runs.normalise_tags``."""
    return normalise_tags([part for part in str(text).split(",")])


def tags_text(tags: Sequence[str]) -> str:
    """Tags as the table and the tag editor show them."""
    return TAG_SEPARATOR.join(tags)


__all__ = [
    "ALL_RUNS", "Axis", "KEY_SETTINGS", "ParallelData", "ScatterData", "in_sweep", "lower_is_better", "metric_choices",
    "metric_label", "metric_value", "parallel_data", "parallel_settings", "parse_tags", "protocol_note", "protocol_short",
    "scale_values", "scatter_data", "setting_choices", "setting_label", "setting_value", "sweep_ids", "tags_text",
]
