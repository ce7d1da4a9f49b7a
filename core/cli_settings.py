"""Command-line options generated from the settings schema (``core.schema``).

``add_setting_options`` adds one option per field of a settings dataclass, with its help and
default in ``--help``; ``settings_from_args`` builds the dataclass back from the parsed
arguments. Option values are parsed here (a whole number, a finite number, one of the
choices: anything else is a one-line usage error); ranges are checked by the dataclass's
``errors()``, so the CLI and the app give the same messages.
"""
from __future__ import annotations

import argparse
from typing import Any, TypeVar

from .schema import Setting, settings_of

G = TypeVar("G")


def parse_whole_number(text: str) -> int:
    """An argparse type: a whole number (the range is the setting's check)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


parse_whole_number.__name__ = "whole number"


def parse_finite_number(text: str) -> float:
    """An argparse type: a number that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


parse_finite_number.__name__ = "number"


def option_help(setting: Setting) -> str:
    """The ``--help`` text of a setting: its help sentence and its default (``%(default)s``)."""
    text = setting.help.rstrip(".").replace("%", "%%")
    if setting.kind == "bool":
        default = "default: on; this option turns it off" if setting.default is True else "default: off"
    elif setting.default is None or setting.default == "":
        default = "default: not set"
    else:
        default = f"default: %(default)s{' ' + setting.unit if setting.unit else ''}"
    if text.endswith(")"):  # "... (the notebook uses 128; default: 128)"
        return f"{text[:-1]}; {default})"
    return f"{text} ({default})"


def add_setting_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add an option for every field of the settings dataclass ``cls`` to ``parser``, in one
    argument group per section; each option's ``dest`` is the field name."""
    groups: dict[str, Any] = {}
    for name, spec in settings_of(cls).items():
        section = spec.section or cls.__name__
        if section not in groups:
            groups[section] = parser.add_argument_group(section.lower())
        group = groups[section]
        option = spec.option(name)
        if spec.kind == "bool":
            action = "store_false" if spec.default is True else "store_true"
            group.add_argument(option, dest=name, action=action, default=spec.default, help=option_help(spec))
            continue
        kwargs: dict[str, Any] = {"dest": name, "default": spec.default, "help": option_help(spec)}
        if spec.choices:
            kwargs["choices"] = list(spec.choices)
        elif spec.kind == "int":
            kwargs["type"] = parse_whole_number
        elif spec.kind == "float":
            kwargs["type"] = parse_finite_number
        if not spec.choices:
            kwargs["metavar"] = "YYYY-MM-DD" if spec.kind == "date" else (spec.flag or name).upper().replace("-", "_")
        group.add_argument(option, **kwargs)


def settings_from_args(cls: type[G], args: argparse.Namespace) -> G:
    """The settings dataclass ``cls`` with the values of ``args`` (parsed with the options of
    ``add_setting_options``); not validated yet."""
    return cls(**{name: getattr(args, name) for name in settings_of(cls)})


def option_of_field(name: str, classes: tuple[type, ...] = ()) -> str:
    """The CLI option that sets field ``name`` of ``classes`` (default: the hyperparameters,
    filters and hold-out settings): ``--dropout`` for ``dropout_rate``; ``--field-name`` for
    a name none of them declares."""
    if not classes:
        from .config import HoldoutConfig, SASRecConfig
        from .filters import FilterConfig

        classes = (SASRecConfig, FilterConfig, HoldoutConfig)
    for cls in classes:
        spec = settings_of(cls).get(name)
        if spec is not None:
            return spec.option(name)
    return "--" + name.replace("_", "-")
