"""The settings schema: each setting of a settings dataclass is declared once, with its label,
one-line help, section, CLI flag, valid range, step, unit and choices, in the field's metadata.

Validation (``field_errors``), the command-line options (``core.cli_settings``) and the app's
forms (``sasrec_gui.widgets.form``) are generated from these declarations, so adding a setting is one
``setting(...)`` line in the dataclass::

    @dataclass
    class SASRecConfig(SettingGroup):
        n_factors: int = setting(128, label="Factors", help="Size of the item embeddings.",
                                 section="Model", low=1, high=4096, step=16)

Qt-free and argparse-free.
"""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar, cast

import numpy as np

from .errors import ConfigError

#: What a setting holds: a whole number, a real number, true/false, text, or an optional date.
KINDS = ("int", "float", "bool", "text", "date")
#: The key of the ``Setting`` in a dataclass field's metadata.
METADATA_KEY = "setting"

T = TypeVar("T")
G = TypeVar("G", bound="SettingGroup")


@dataclass(frozen=True)
class Setting:
    """How one setting is shown, checked and offered on the command line.

    ``low``/``high`` bound the valid values (``None``: unbounded), each end closed unless
    ``low_open``/``high_open``. ``ui_low``/``ui_high`` override the form's range where a spin
    box must not follow the valid range exactly. ``flag`` is the option's base name
    (``"dropout"`` for ``--dropout``; default: the field name with dashes); a true/false
    setting that defaults to true is offered as ``--no-<flag>``. ``free_text``: a number
    typed as text (``1e-3``) rather than a spin box. ``optional``: ``None`` (or ``""``) is
    allowed. ``check_text``: the text beside a check box (a bool's, or an optional date's).
    """

    kind: str
    default: Any
    label: str
    help: str
    section: str = ""
    flag: str = ""
    low: int | float | None = None
    high: int | float | None = None
    low_open: bool = False
    high_open: bool = False
    step: int | float = 1
    unit: str = ""
    choices: tuple[str, ...] = ()
    choice_labels: tuple[str, ...] = ()
    decimals: int = 2
    free_text: bool = False
    optional: bool = False
    check_text: str = ""
    ui_low: int | float | None = None
    ui_high: int | float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.label!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.label or not self.help.strip():
            raise ValueError(f"setting {self.label!r}: a label and a one-line help are required")
        if self.choice_labels and len(self.choice_labels) != len(self.choices):
            raise ValueError(f"setting {self.label!r}: one choice label per choice")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"setting {self.label!r}: low {self.low} is above high {self.high}")

    # -- command line -----------------------------------------------------------------------
    def option(self, name: str) -> str:
        """The CLI option of field ``name``: ``--n-factors``, ``--dropout``, ``--no-pos-emb``."""
        base = self.flag or name.replace("_", "-")
        return f"--no-{base}" if self.kind == "bool" and self.default is True else f"--{base}"

    # -- validation -------------------------------------------------------------------------
    def describe(self) -> str:
        """The valid values in words, as error messages say them after "must be"."""
        low, high = self.low, self.high
        if self.kind == "int":
            if low is not None and high is not None:
                return f"a whole number from {_num(low)} to {_num(high)}"
            if low is not None:
                return f"a whole number {'>' if self.low_open else '>='} {_num(low)}"
            if high is not None:
                return f"a whole number {'<' if self.high_open else '<='} {_num(high)}"
            return "a whole number"
        if self.kind == "float":
            if low == 0 and self.low_open:
                if high is None:
                    return "a positive number"
                return f"a positive number ({'below' if self.high_open else 'at most'} {_num(high)})"
            if low is not None and high is not None:
                return f"in {'(' if self.low_open else '['}{_num(low)}, {_num(high)}{')' if self.high_open else ']'}"
            if low is not None:
                return f"a finite number {'>' if self.low_open else '>='} {_num(low)}"
            if high is not None:
                return f"a finite number {'<' if self.high_open else '<='} {_num(high)}"
            return "a finite number"
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.kind == "bool":
            return "true or false"
        return "text"

    def error(self, value: Any) -> str | None:
        """The message for an invalid ``value`` (type, finiteness, range, choices), else None.

        Dates are checked by their class (parsing and order); only their optional-ness here."""
        if self.optional and (value is None or (isinstance(value, str) and not value)):
            return None
        if self.kind == "date":
            return None
        if self.kind == "int":
            ok = _is_whole(value) and self._in_range(value)
        elif self.kind == "float":
            ok = _is_finite(value) and self._in_range(value)
        elif self.kind == "bool":
            ok = isinstance(value, (bool, np.bool_))
        else:
            ok = isinstance(value, str) and (not self.choices or value in self.choices)
        return None if ok else f"must be {self.describe()}, got {value!r}"

    def _in_range(self, value: int | float) -> bool:
        low, high = self.low, self.high
        if low is not None and (value <= low if self.low_open else value < low):
            return False
        if high is not None and (value >= high if self.high_open else value > high):
            return False
        return True

    # -- forms ------------------------------------------------------------------------------
    def form_range(self) -> tuple[int | float | None, int | float | None]:
        """The form's (low, high): ``ui_low``/``ui_high`` when declared, else the valid range
        with an open end moved one ``step`` inside (so both ends of a spin box are valid);
        ``None`` where unbounded."""
        low = self.ui_low if self.ui_low is not None else _inside(self.low, self.low_open, self.step)
        high = self.ui_high if self.ui_high is not None else _inside(self.high, self.high_open, -self.step)
        return low, high


def setting(default: T, *, kind: str | None = None, **declaration: Any) -> T:
    """A dataclass field with ``default`` whose metadata holds a ``Setting``.

    ``kind`` follows from the default (bool, int, float, str -> "text"); give it for a
    ``None`` default ("date", or "text" with ``optional=True``). The other keywords are
    ``Setting``'s. Raises ``ValueError`` for an inconsistent declaration."""
    if kind is None:
        kinds = ((bool, "bool"), (int, "int"), (float, "float"), (str, "text"))
        kind = next((k for t, k in kinds if isinstance(default, t)), None)
        if kind is None:
            raise ValueError(f"setting {declaration.get('label')!r}: give kind= for a default of {default!r}")
    spec = Setting(kind=kind, default=default, **declaration)
    return cast(T, field(default=default, metadata={METADATA_KEY: spec}))


def settings_of(cls: type | object) -> dict[str, Setting]:
    """``{field name: Setting}`` of a settings dataclass (class or instance), in field order.

    Raises ``TypeError`` naming a field declared without ``setting(...)``."""
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    out: dict[str, Setting] = {}
    for f in fields(cls):
        spec = f.metadata.get(METADATA_KEY)
        if not isinstance(spec, Setting):
            owner = cls.__name__ if isinstance(cls, type) else type(cls).__name__
            raise TypeError(f"{owner}.{f.name} has no Setting: declare it with core.schema.setting(...)")
        out[f.name] = spec
    return out


def field_errors(obj: object) -> dict[str, str]:
    """``{field: message}`` of the generic checks (type, finite, range, choices) of every
    field of the settings dataclass instance ``obj``, in field order."""
    errs: dict[str, str] = {}
    for name, spec in settings_of(obj).items():
        message = spec.error(getattr(obj, name))
        if message:
            errs[name] = message
    return errs


def validate_all(*groups: "SettingGroup") -> None:
    """Raise one ``ConfigError`` listing every invalid field of all ``groups``."""
    errs: dict[str, str] = {}
    for group in groups:
        errs.update(group.errors())
    if errs:
        raise ConfigError(errs)


class SettingGroup:
    """Base of the settings dataclasses: validation from the schema, plain-dict round trips.

    Subclasses declare every field with ``setting(...)`` and add their cross-field checks in
    ``check`` (called with the generic errors, to add to)."""

    def errors(self) -> dict[str, str]:
        """Return ``{field: message}`` for every invalid field (empty when all are valid)."""
        errs = field_errors(self)
        self.check(errs)
        return errs

    def check(self, errs: dict[str, str]) -> None:
        """Add the checks the schema cannot express (cross-field, special formats) to ``errs``."""

    def validate(self) -> None:
        """Raise ``ConfigError`` listing every invalid field."""
        errs = self.errors()
        if errs:
            raise ConfigError(errs)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (numpy scalars as Python numbers), as stored with runs
        and checkpoints."""
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[G], data: dict[str, Any]) -> G:
        """Build from a dict, ignoring unknown keys (older/newer checkpoints and run records)."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


def _num(value: int | float) -> str:
    """A bound as messages show it: whole numbers exactly, others short (0.5, 1e-06)."""
    if isinstance(value, (int, np.integer)) or float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def _inside(bound: int | float | None, is_open: bool, step: int | float) -> int | float | None:
    if bound is None or not is_open:
        return bound
    return bound + step


def _is_whole(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_finite(value: object) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite (nor a whole number too
    large to be one: beyond the largest float)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    if isinstance(value, (int, np.integer)):
        return abs(int(value)) <= sys.float_info.max
    return math.isfinite(float(value))
