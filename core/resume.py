"""Continuing a run from its checkpoint: the settings it continues with, its parent run, and
the check that the data has the checkpoint's catalog.

A checkpoint holds the weights, Adam's state and the random state as of its kept epoch
(``TrainedModel.training_state``), its curves, settings, filters and hold-out. A continued
run (``core.experiment.Experiment.resume``) trains ``config.epochs`` more epochs from there:
its curves go on from the kept epoch, its record links the parent run
(``RunRecord.parent_run_id``), and its settings are the checkpoint's except those the user
changes (``resumed_settings``): the architecture, the filters and the seed cannot change.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .checkpoint import load_checkpoint
from .config import HoldoutConfig, SASRecConfig
from .errors import ConfigError, TrainingError
from .filters import FilterConfig
from .runs import RunStore, RunStoreError
from .train import ARCHITECTURE_FIELDS, TrainedModel

#: Settings a continued run takes from its checkpoint and never changes: the shapes of the
#: weights, and the seed (the random state goes on from the checkpoint's).
FIXED_FIELDS = (*ARCHITECTURE_FIELDS, "seed")


@dataclass
class Resume:
    """A checkpoint to continue: its model, where it was read from, its ``extra`` and the
    id of the run that wrote it (None when that run is not in the history)."""

    model: TrainedModel
    checkpoint: str
    extra: dict[str, Any] = field(default_factory=dict)
    parent_run_id: int | None = None

    @property
    def epoch(self) -> int:
        """The epoch the continued run starts after (the checkpoint's kept epoch)."""
        return self.model.kept_epoch

    @property
    def has_optimizer_state(self) -> bool:
        """Whether the checkpoint holds Adam's state (older ones do not: Adam then starts anew)."""
        return bool(self.model.training_state)


def load_resume(path: str | os.PathLike, store: RunStore | None = None) -> Resume:
    """Read checkpoint ``path`` to continue it; the parent run is looked up in ``store``
    (by the run key saved in the checkpoint, else by its path). Raises ``CheckpointError``."""
    from .experiment import RUN_UID_KEY

    model, extra = load_checkpoint(path)
    resolved = str(Path(path).resolve())
    parent = None
    if store is not None:
        parent = find_parent_run(store, str(extra.get(RUN_UID_KEY, "")), resolved)
    return Resume(model, resolved, extra, parent)


def find_parent_run(store: RunStore, run_uid: str, checkpoint: str) -> int | None:
    """The id of the run that wrote ``checkpoint``: by its run key, else the newest run
    recorded with that checkpoint path; None when neither is found or the history cannot be
    read (the link is then missing, the continued run is still recorded)."""
    try:
        found = store.run_id_of_uid(run_uid)
        if found is not None:
            return found
        return next((r.run_id for r in store.runs() if r.checkpoint_path and r.checkpoint_path == checkpoint), None)
    except (RunStoreError, OSError):
        return None


def resumed_settings(
    resume: Resume, overrides: dict[str, Any] | None = None
) -> tuple[SASRecConfig, FilterConfig, HoldoutConfig]:
    """The checkpoint's hyperparameters, filters and hold-out with ``overrides`` (field name
    -> value: ``epochs``, the number of further epochs, ``lr``, any training or hold-out
    setting) applied; not validated yet.

    Raises ``ConfigError`` naming each override that cannot change on a continued run: the
    architecture (``ARCHITECTURE_FIELDS``), the seed, any filter (the catalog would change);
    and each name that is no setting.
    """
    overrides = dict(overrides or {})
    model = resume.model
    config_fields = set(SASRecConfig().to_dict())
    holdout_fields = set(HoldoutConfig().to_dict())
    filter_fields = set(FilterConfig().to_dict())
    errors: dict[str, str] = {}
    for name, value in overrides.items():
        if name in FIXED_FIELDS and value != getattr(model.config, name):
            what = "the random state goes on from the checkpoint" if name == "seed" else "a continued run keeps the model's architecture"
            errors[name] = f"cannot change when continuing a checkpoint ({what}; it is {getattr(model.config, name)!r})"
        elif name in filter_fields:
            errors[name] = "cannot change when continuing a checkpoint: the filters are the checkpoint's"
        elif name not in config_fields and name not in holdout_fields:
            errors[name] = "is not a setting"
    if errors:
        raise ConfigError(errors)
    config = replace(model.config, **{k: v for k, v in overrides.items() if k in config_fields})
    filters = FilterConfig.from_dict(model.filter_config) if model.filter_config else FilterConfig()
    from .experiment import Holdout

    holdout = HoldoutConfig.from_holdout(Holdout.from_dict(resume.extra.get("holdout")))
    holdout = replace(holdout, **{k: v for k, v in overrides.items() if k in holdout_fields})
    return config, filters, holdout


def check_resume_data(resume: Resume, filtered: pd.DataFrame) -> str:
    """Check ``filtered`` (the data through the checkpoint's filters) before continuing:
    refuse data lacking some of the checkpoint's items (``TrainingError``, naming the
    checkpoint and the counts of ``core.model_data.check_data_match``); return the warning
    for data with the same catalog but other interactions ("" when it is the model's data).

    The exact check (the training sequences' items are the checkpoint's catalog) runs when
    training starts (``core.train.align_catalog``).
    """
    from .model_data import check_data_match

    match = check_data_match(resume.model, filtered)
    if match.fingerprint_matches:
        return ""  # the very data the checkpoint was trained from
    if match.model_items_in_data < match.model_items:
        raise TrainingError(f"Cannot continue '{resume.checkpoint}': {match.warning()}")
    return match.warning()


__all__ = ["FIXED_FIELDS", "Resume", "check_resume_data", "find_parent_run", "load_resume", "resumed_settings"]
