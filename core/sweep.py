"""Hyperparameter sweeps: configurations trained one after another on the same data and split.

Each trial is a run in the history (``core.runs``) under one ``sweep_id``, with its
checkpoint in the sweep's folder; it validates on the shared hold-out, stops early by the
hold-out's rule, and is pruned when it falls behind: Optuna's median rule (its best value
so far is worse than the median of finished trials at the same validation), once
``prune_startup_trials`` trials have finished and after ``prune_warmup`` validations.

The search is Optuna's: ``grid`` runs every combination of the value lists in the order
given; ``random`` draws each parameter uniformly (log-uniformly for ``LOW:HIGH:log``);
``tpe`` is Optuna's Tree-structured Parzen Estimator. The study lives in memory: every
trial's settings, curves and result are in our run history already, and a sweep runs in one
process, so a second database (Optuna's SQLAlchemy schema, with its own migrations) would
only duplicate them.

``run_sweep`` is the one entry point for the CLI (``python -m core sweep``) and the app's
sweep dialog (from a worker thread): it reports ``TrialStarted`` / ``TrialProgress`` /
``TrialEnded`` events, and a stop request ends the current trial (recorded as stopped,
its model kept) and the sweep; finished trials stay recorded.
"""
from __future__ import annotations

import itertools
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .config import SASRecConfig
from .errors import ConfigError, DataError, SasrecError
from .schema import Setting, settings_of
from .train import EpochReport, StepReport

SAMPLERS = ("grid", "random", "tpe")
#: Settings a sweep cannot vary: where it trains is not a hyperparameter.
NOT_SWEPT = ("device",)
#: Most trials one sweep runs.
MAX_TRIALS = 10_000
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


# --------------------------------------------------------------------------- what to search


@dataclass(frozen=True)
class ParamSpec:
    """One swept setting (a ``SASRecConfig`` field): a list of ``values``, or a range
    ``low``..``high`` (whole or real numbers; ``log``: drawn log-uniformly)."""

    name: str
    values: tuple[Any, ...] = ()
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def describe(self) -> str:
        """As given on the command line: ``lr=0.001:0.01:log``, ``n_factors=32,64``."""
        if self.is_range:
            return f"{self.name}={_text(self.low)}:{_text(self.high)}{':log' if self.log else ''}"
        return f"{self.name}=" + ",".join(_text(v) for v in self.values)


def sweepable_settings() -> dict[str, Setting]:
    """The settings a sweep can vary: every hyperparameter but ``NOT_SWEPT``."""
    return {name: spec for name, spec in settings_of(SASRecConfig).items() if name not in NOT_SWEPT}


def _setting_named(name: str, text: str) -> tuple[str, Setting]:
    """The field a ``--param`` name means: the field name or its option (``dropout``,
    ``n-factors``, ``--lr``). Raises ``ConfigError`` naming the parameter."""
    options = sweepable_settings()
    key = name.strip().lstrip("-")
    for field_name, spec in options.items():
        base = spec.flag or field_name.replace("_", "-")
        if key in (field_name, base, field_name.replace("_", "-"), f"no-{base}"):
            return field_name, spec
    from .config import HoldoutConfig
    from .filters import FilterConfig

    if key.replace("-", "_") in settings_of(FilterConfig) or key.replace("-", "_") in settings_of(HoldoutConfig):
        raise ConfigError({"param": f"{text!r}: the filters and the hold-out are the same for every trial; "
                                    "set them with their own options"})
    names = ", ".join(sorted(options))
    raise ConfigError({"param": f"{text!r}: {name.strip() or '(empty)'} is not a hyperparameter; use one of {names}"})


def _parse_value(raw: str, name: str, spec: Setting, text: str) -> Any:
    """One value of a setting, parsed by its kind and checked against its range."""
    value: Any
    word = raw.strip()
    try:
        if spec.kind == "int":
            value = int(word)
        elif spec.kind == "float":
            value = float(word)
        elif spec.kind == "bool":
            if word.lower() not in _TRUE + _FALSE:
                raise ValueError
            value = word.lower() in _TRUE
        else:
            value = word
    except ValueError:
        kind = {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(spec.kind, "text")
        raise ConfigError({"param": f"{text!r}: {name} must be {kind}, got {word!r}"}) from None
    problem = spec.error(value)
    if problem:
        raise ConfigError({"param": f"{text!r}: {name} {problem}"})
    return value


def parse_param(text: str) -> ParamSpec:
    """A ``--param`` value: ``NAME=V1,V2,...`` (values) or ``NAME=LOW:HIGH[:log]`` (a range
    of a numeric setting). Raises ``ConfigError`` (shown as ``--param``) naming the text and
    what is wrong: no ``=``, an unknown or unsweepable name, a value of the wrong kind or
    out of the setting's range, a repeated value, an empty range, ``log`` below or at 0."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError({"param": f"{text!r}: write NAME=V1,V2,... or NAME=LOW:HIGH[:log]"})
    name, _, body = text.partition("=")
    field_name, spec = _setting_named(name, text)
    body = body.strip()
    if not body:
        raise ConfigError({"param": f"{text!r}: no values after '='"})
    if ":" in body and "," not in body:
        parts = body.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].strip().lower() not in ("log", "linear")):
            raise ConfigError({"param": f"{text!r}: a range is LOW:HIGH or LOW:HIGH:log"})
        if spec.kind not in ("int", "float"):
            raise ConfigError({"param": f"{text!r}: {field_name} is not a number; list its values (NAME=V1,V2)"})
        low = _parse_value(parts[0], field_name, spec, text)
        high = _parse_value(parts[1], field_name, spec, text)
        log = len(parts) == 3 and parts[2].strip().lower() == "log"
        if not low < high:
            raise ConfigError({"param": f"{text!r}: LOW ({_text(low)}) must be below HIGH ({_text(high)})"})
        if log and low <= 0:
            raise ConfigError({"param": f"{text!r}: a log range needs LOW above 0"})
        return ParamSpec(field_name, (), low, high, log)
    words = body.split(",")
    if any(not w.strip() for w in words):
        raise ConfigError({"param": f"{text!r}: an empty value in the list"})
    values = tuple(_parse_value(w, field_name, spec, text) for w in words)
    repeated = [v for i, v in enumerate(values) if v in values[:i]]
    if repeated:
        raise ConfigError({"param": f"{text!r}: {_text(repeated[0])} is listed twice"})
    return ParamSpec(field_name, values)


@dataclass
class SweepSpec:
    """What a sweep searches: ``params``, how many ``trials`` (None: the whole grid), the
    ``sampler`` (None: grid when every parameter is a list of values, else tpe; ``seed``
    seeds it), and the pruning rule (``prune``; none before ``prune_startup_trials`` trials
    have finished, none before a trial's ``prune_warmup``-th validation)."""

    params: list[ParamSpec]
    trials: int | None = None
    sampler: str | None = None
    seed: int = 0
    prune: bool = True
    prune_startup_trials: int = 2
    prune_warmup: int = 2

    @property
    def resolved_sampler(self) -> str:
        if self.sampler:
            return self.sampler
        return "grid" if all(not p.is_range for p in self.params) else "tpe"

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the value lists, in the order given (grid search)."""
        names = [p.name for p in self.params]
        return [dict(zip(names, combo)) for combo in itertools.product(*(p.values for p in self.params))]

    @property
    def n_trials(self) -> int:
        """The trials the sweep runs (the grid's size when ``trials`` is None)."""
        return self.trials if self.trials is not None else len(self.grid())

    def errors(self) -> dict[str, str]:
        """``{field: message}`` (fields shown as the CLI options ``--param``, ``--trials``,
        ``--sampler``), empty when the spec is valid."""
        errs: dict[str, str] = {}
        names = [p.name for p in self.params]
        if not self.params:
            errs["param"] = "give at least one: NAME=V1,V2,... or NAME=LOW:HIGH[:log]"
        elif len(set(names)) < len(names):
            twice = next(n for i, n in enumerate(names) if n in names[:i])
            errs["param"] = f"{twice} is given twice; give each parameter once"
        if self.sampler is not None and self.sampler not in SAMPLERS:
            errs["sampler"] = f"must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}"
        if self.trials is not None and (isinstance(self.trials, bool) or not isinstance(self.trials, int)
                                        or not 1 <= self.trials <= MAX_TRIALS):
            errs["trials"] = f"must be a whole number from 1 to {MAX_TRIALS}, got {self.trials!r}"
        if errs:
            return errs
        if self.resolved_sampler == "grid":
            ranges = [p.name for p in self.params if p.is_range]
            if ranges:
                errs["sampler"] = f"grid search needs value lists, but {ranges[0]} is a range; use random or tpe"
            elif self.trials is not None and self.trials > len(self.grid()):
                errs["trials"] = f"the grid has {len(self.grid())} combination(s); give at most that many trials"
        elif self.trials is None:
            errs["trials"] = f"say how many trials the {self.resolved_sampler} search runs"
        for name, low in (("prune_startup_trials", 1), ("prune_warmup", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                errs[name] = f"must be a whole number >= {low}, got {value!r}"
        return errs

    def validate(self) -> None:
        """Raise ``ConfigError`` listing every problem."""
        errs = self.errors()
        if errs:
            raise ConfigError(errs)


# --------------------------------------------------------------------------- what a sweep reports


@dataclass
class TrialResult:
    """How one trial ended. ``number`` is 1-based; ``state``: finished, pruned, stopped (by
    the user) or failed (``error`` says why); ``value``: its best monitored value (None when
    it never validated); ``run_id`` None when the run history could not be written."""

    number: int
    params: dict[str, Any]
    state: str
    value: float | None = None
    best_epoch: int = 0
    epochs: int = 0
    run_id: int | None = None
    checkpoint_path: str = ""
    error: str = ""


@dataclass
class TrialStarted:
    number: int
    n_trials: int
    params: dict[str, Any]


@dataclass
class TrialProgress:
    """A training report of trial ``number`` (its ``StepReport`` or ``EpochReport``)."""

    number: int
    report: StepReport | EpochReport
    #: whether this epoch's validation got the trial pruned
    pruned: bool = False


@dataclass
class TrialEnded:
    result: TrialResult
    #: a problem recording it (checkpoint or run history), "" when none
    warning: str = ""


SweepEvent = TrialStarted | TrialProgress | TrialEnded


@dataclass
class SweepResult:
    """A finished or stopped sweep: its id, every trial run, the monitored value and whether
    higher is better, and whether the user stopped it."""

    sweep_id: str
    trials: list[TrialResult]
    monitor: str
    maximize: bool
    stopped: bool = False
    store_errors: list[str] = field(default_factory=list)

    @property
    def best(self) -> TrialResult | None:
        """The finished or pruned trial with the best value (None when none has one)."""
        scored = [t for t in self.trials if t.value is not None and math.isfinite(t.value) and t.state in ("finished", "pruned")]
        if not scored:
            return None
        return (max if self.maximize else min)(scored, key=lambda t: t.value)

    def table(self) -> pd.DataFrame:
        """One row per trial: number, state, value, best epoch, epochs, run id, each
        parameter, checkpoint; best value first."""
        rows = [{"trial": t.number, "state": t.state, self.monitor: t.value, "best_epoch": t.best_epoch or None,
                 "epochs": t.epochs, "run": t.run_id, **t.params, "checkpoint": t.checkpoint_path, "error": t.error}
                for t in self.trials]
        table = pd.DataFrame(rows)
        if table.empty:
            return table
        return table.sort_values(self.monitor, ascending=not self.maximize, na_position="last", kind="stable")


def new_sweep_id(now: float | None = None) -> str:
    """``sweep-YYYYmmdd-HHMMSS-xxxx``: sortable by time, unique."""
    now = time.time() if now is None else now
    return f"sweep-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{uuid.uuid4().hex[:4]}"


def check_fresh_out_dir(out_dir: str | Path, n_trials: int) -> None:
    """Refuse an ``out_dir`` that already holds trial checkpoints (of an earlier sweep): they
    would be replaced while the run history still points at them for the earlier runs.
    Raises ``DataError`` naming the folder and the first such file."""
    taken = [trial_checkpoint(out_dir, n) for n in range(1, n_trials + 1) if trial_checkpoint(out_dir, n).exists()]
    if taken:
        raise DataError(
            f"already holds {taken[0].name} of an earlier sweep, which its runs still point at; "
            "choose an empty --out-dir (or move the old trials away)",
            file=str(out_dir),
        )


def trial_checkpoint(out_dir: str | Path, number: int) -> Path:
    """Where trial ``number`` (1-based) saves its model: ``out_dir/trial-001.pt``."""
    return Path(out_dir) / f"trial-{number:03d}.pt"


# --------------------------------------------------------------------------- running one


def run_sweep(
    interactions: pd.DataFrame,
    spec: SweepSpec,
    base: Any,
    *,
    out_dir: str | Path,
    store: Any,
    callback: Callable[[SweepEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    report_every: float = 0.1,
    sweep_id: str | None = None,
    app: str = "",
) -> SweepResult:
    """Run the sweep ``spec`` on the filtered ``interactions``.

    ``base``: a ``core.experiment.Experiment`` whose settings every trial starts from and
    whose hold-out (required) every trial validates on; its ``holdout.patience`` stops each
    trial early. ``store``: the ``core.runs.RunStore`` each trial is recorded in;
    ``out_dir``: the folder (created) for the trials' checkpoints (``trial_checkpoint``).
    ``callback`` gets ``SweepEvent``s (on the calling thread); ``should_stop`` is checked
    every training step: the current trial stops (recorded as stopped) and no other starts.

    A trial that fails (invalid combination, loss became NaN, out of memory) is recorded
    as failed and the sweep goes on. Raises ``ConfigError`` for an invalid ``spec`` or a
    base without a hold-out, and ``TrainingError`` when the hold-out leaves nothing to
    validate on, all before any trial; unexpected errors propagate after the trial is
    recorded.
    """
    optuna = _optuna()
    from . import experiment as pipeline

    spec.validate()
    if base.holdout is None:
        raise ConfigError({"holdout": "a sweep compares its trials on a hold-out: choose last or time"})
    out = Path(out_dir)
    check_fresh_out_dir(out, spec.n_trials)
    split, _ = pipeline.prepare_holdout(interactions, base.holdout)
    out.mkdir(parents=True, exist_ok=True)
    sweep_id = sweep_id or new_sweep_id()
    rule = base.holdout.early_stopping()
    previous_verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = _study(spec, rule.maximize)
        result = SweepResult(sweep_id, [], rule.monitor, rule.maximize)
        for number in range(1, spec.n_trials + 1):
            if should_stop is not None and should_stop():
                result.stopped = True
                break
            trial = study.ask()
            params = {p.name: _suggest(trial, p) for p in spec.params}
            if callback is not None:
                callback(TrialStarted(number, spec.n_trials, dict(params)))
            ended, stopped = _run_trial(
                pipeline, interactions, split, base, replace(base.config, **params), params, number, trial, rule, out,
                store, callback, should_stop, report_every, sweep_id, app, study,
            )
            result.trials.append(ended.result)
            if ended.warning:
                result.store_errors.append(ended.warning)
            if callback is not None:
                callback(ended)
            if stopped:
                result.stopped = True
                break
        return result
    finally:
        optuna.logging.set_verbosity(previous_verbosity)


def _optuna():  # noqa: ANN202 - the optuna module
    """Optuna, or a ``TrainingError`` saying how to install it."""
    try:
        import optuna
    except ImportError as exc:
        from .errors import TrainingError

        raise TrainingError(f"Sweeps need the optuna package ({exc}); install it with: pip install optuna") from exc
    return optuna


def _study(spec: SweepSpec, maximize: bool):  # noqa: ANN202 - optuna.Study
    optuna = _optuna()

    sampler_name = spec.resolved_sampler
    if sampler_name == "tpe":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(seed=spec.seed % (2**32))
    else:
        sampler = optuna.samplers.RandomSampler(seed=spec.seed % (2**32))
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if spec.prune:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=spec.prune_startup_trials, n_warmup_steps=spec.prune_warmup)
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler, pruner=pruner)
    if sampler_name == "grid":  # every combination, in the order given
        for params in spec.grid()[: spec.n_trials]:
            study.enqueue_trial(params)
    return study


def _suggest(trial: Any, param: ParamSpec) -> Any:
    if not param.is_range:
        return trial.suggest_categorical(param.name, list(param.values))
    if isinstance(param.low, int) and isinstance(param.high, int):
        return int(trial.suggest_int(param.name, param.low, param.high, log=param.log))
    return float(trial.suggest_float(param.name, float(param.low), float(param.high), log=param.log))


def _run_trial(pipeline, interactions, split, base, config, params, number, trial, rule, out, store, callback,  # noqa: ANN001, PLR0913
               should_stop, report_every, sweep_id, app, study) -> tuple[TrialEnded, bool]:
    """Train, record and tell Optuna one trial; returns its end and whether the user stopped it."""
    from .train import FitResult

    TrialState = _optuna().trial.TrialState
    flags = {"pruned": False, "stopped": False, "validations": 0}
    exp = pipeline.Experiment(config, base.filter_config, base.holdout, base.source, base.source_format,
                              items=getattr(base, "items", None))

    def on_report(report: StepReport | EpochReport) -> None:
        pruned_now = False
        if isinstance(report, EpochReport) and (report.metrics or report.val_loss is not None):
            flags["validations"] += 1
            value = rule.value(report.metrics, report.val_loss)
            if value is not None and math.isfinite(value):
                trial.report(value, flags["validations"])
                if not report.stopping and report.epoch < report.epochs and trial.should_prune():
                    flags["pruned"] = pruned_now = True
        if callback is not None:
            callback(TrialProgress(number, report, pruned_now))

    def stop() -> bool:
        if flags["pruned"]:
            return True
        if should_stop is not None and should_stop():
            flags["stopped"] = True
        return flags["stopped"]

    reported = pipeline.ReportedHistory(on_report)
    path = trial_checkpoint(out, number)
    trial_info = {"number": number, "params": dict(params), "state": "", "value": None}
    started = time.perf_counter()
    outcome, error, unexpected = None, "", None
    problems = config.errors()
    if problems:
        error = "; ".join(f"{k}: {v}" for k, v in problems.items())
    else:
        try:
            outcome = pipeline.train(interactions, exp, callback=reported, should_stop=stop, report_every=report_every, split=split)
        except SasrecError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded as failed, then raised again below
            error, unexpected = f"{type(exc).__name__}: {exc}", exc
    result: FitResult | None = outcome.result if outcome is not None else None
    model = result.model if result is not None else None
    history = model.history if model is not None else reported.history
    value = history.best_metrics.get(rule.monitor) if history.best_epoch else None
    if error:
        state = "failed"
    elif flags["pruned"]:
        state = "pruned"
    elif flags["stopped"]:
        state = "stopped"
    else:
        state = "finished"
    trial_info.update({"state": state, "value": value})
    if problems:  # never trained: an empty history
        record = _invalid_record(pipeline, exp, sweep_id, trial_info)
    else:
        record = pipeline.run_record(
            exp, status=state, history=history,
            seconds=result.seconds if result is not None else time.perf_counter() - started,
            device=model.device if model is not None else config.device, steps_per_epoch=reported.steps_per_epoch,
            data_fingerprint=outcome.data_fingerprint if outcome is not None else "",
            protocol=outcome.protocol if outcome is not None else None, sweep_id=sweep_id, sweep_trial=trial_info,
        )
    if error:
        record.note = f"failed: {error}"
    extra = {**pipeline.checkpoint_extra(exp, app=app), "sweep_id": sweep_id, "trial": number}
    recorded = pipeline.record_run(record, store, model=model, checkpoint_path=path if model is not None else None,
                                   extra=extra, interactions=interactions)
    if state == "finished" and value is not None:
        study.tell(trial, float(value))
    elif state == "pruned":
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)
    warning = " ".join(p for p in (recorded.checkpoint_error, recorded.store_error) if p)
    ended = TrialEnded(TrialResult(number, dict(params), state, value, history.best_epoch, len(history.epoch_losses),
                                   recorded.run_id, record.checkpoint_path, error), warning)
    if unexpected is not None:
        raise unexpected
    return ended, flags["stopped"]


def _invalid_record(pipeline, exp, sweep_id: str, trial_info: dict):  # noqa: ANN001, ANN202 - RunRecord
    """The record of a trial whose combination of settings is invalid (never trained)."""
    from .train import TrainingHistory

    trial_info["state"] = "failed"
    return pipeline.run_record(exp, status="failed", history=TrainingHistory(), seconds=0.0, device=exp.config.device,
                               steps_per_epoch=0, sweep_id=sweep_id, sweep_trial=trial_info)


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


__all__ = [
    "MAX_TRIALS", "NOT_SWEPT", "ParamSpec", "SAMPLERS", "SweepEvent", "SweepResult", "SweepSpec", "TrialEnded",
    "TrialProgress", "TrialResult", "TrialStarted", "new_sweep_id", "parse_param", "run_sweep", "sweepable_settings",
    "trial_checkpoint",
]
