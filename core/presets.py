"""Named presets of hyperparameters: a starting point chosen in one step (CLI ``--preset``, the
Training form's preset menu), after which single settings can still be changed.

``notebook`` is the RecTools tutorial's configuration (``SASRecConfig``'s defaults). ``studio``
adds what measurably helps on top of it at the same number of epochs (item features, the key
padding mask, AdamW weight decay and a warm-up with cosine decay; measured with
``benchmarks/presets.py``, figures in ``benchmarks/README.md``). A preset never changes the
number of epochs, the device, the seed or the precision: those belong to the run, not the model.

Item features depend on the data: ``fit_to_items`` keeps the preset's feature columns the
loaded items table has (and says which it dropped), so ``--preset studio`` works on data
without genres; features given explicitly are never dropped (a missing column is then an error).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .config import SASRecConfig
from .errors import ConfigError
from .item_features import parse_feature_columns

#: The notebook's configuration: every setting at its default.
NOTEBOOK: dict[str, object] = {}
#: Item features plus the training options that help, at the notebook's size and epochs.
STUDIO: dict[str, object] = {
    "item_features": "genres,content_type,age_rating",
    "feature_init_scale": 0.1,
    "use_key_padding_mask": True,
    "weight_decay": 0.01,
    "warmup_steps": 100,
    "lr_schedule": "cosine",
    "lr": 3e-3,
}
#: Every preset by name, in menu order, with a one-line description.
PRESETS: dict[str, tuple[dict[str, object], str]] = {
    "notebook": (NOTEBOOK, "RecTools' tutorial configuration (the defaults)"),
    "studio": (STUDIO, "item features (small initial feature embeddings), key padding mask, AdamW weight decay, "
                       "warm-up and cosine decay, a higher learning rate"),
}
#: Settings a preset may not set: they describe the run, not the model.
RUN_SETTINGS = ("epochs", "device", "seed", "precision", "deterministic", "cuda_graph")


def preset_names() -> list[str]:
    """The presets' names, in menu order."""
    return list(PRESETS)


def preset_values(name: str) -> dict[str, object]:
    """The settings preset ``name`` changes from the defaults (``{field: value}``).

    Raises ``ConfigError`` on the ``preset`` option for an unknown name, listing the known ones."""
    if name not in PRESETS:
        raise ConfigError({"preset": f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}"})
    return dict(PRESETS[name][0])


def preset_config(name: str, explicit: dict[str, object] | None = None) -> SASRecConfig:
    """The defaults, with preset ``name`` applied, then the ``explicit`` settings on top (the
    options given on the command line: they always win over the preset)."""
    values = {**SASRecConfig().to_dict(), **preset_values(name)}
    values.update({k: v for k, v in (explicit or {}).items() if k in values})
    return SASRecConfig(**values)


def describe(name: str) -> str:
    """One line: the preset's name, what it is for and the settings it changes."""
    values, text = PRESETS[name] if name in PRESETS else ({}, "")
    changes = ", ".join(f"{k}={v}" for k, v in values.items()) or "no changes from the defaults"
    return f"{name}: {text} ({changes})"


def fit_to_items(config: SASRecConfig, columns: Iterable[str] | None, explicit: Iterable[str] = ()) -> tuple[SASRecConfig, str]:
    """Keep only the item-feature columns the items table has (``columns``; None: no items
    table), unless ``item_features`` was given explicitly (in ``explicit``), then nothing is
    dropped and training reports a missing column. Returns the config and a note saying what
    was dropped ("" when nothing was). Raises ``ConfigError`` for a malformed column list."""
    wanted = parse_feature_columns(config.item_features)
    if not wanted or "item_features" in set(explicit):
        return config, ""
    have = set(columns or ())
    kept = [c for c in wanted if c in have]
    if kept == wanted:
        return config, ""
    dropped = [c for c in wanted if c not in have]
    where = "the data has no items table" if columns is None else "the items table has no such column"
    note = f"preset item features {', '.join(dropped)} left out: {where}"
    return replace(config, item_features=",".join(kept)), note
