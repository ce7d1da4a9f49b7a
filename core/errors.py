"""Typed errors raised by ``core``. Every message is meant to be shown to a user as is."""
from __future__ import annotations

from collections.abc import Mapping, Sequence


class SasrecError(Exception):
    """Base class of every error ``core`` raises on purpose."""


class DataError(SasrecError):
    """Input data could not be read or validated.

    The message names the file, the column and the first offending rows (1-based line
    numbers of the file as a person would count them, header being line 1), when known.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        column: str | None = None,
        rows: Sequence[int] | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.column = column
        self.rows = list(rows)[:5] if rows is not None else None
        parts = []
        if file:
            parts.append(f"{file}")
        if column:
            parts.append(f"column '{column}'")
        if self.rows:
            parts.append("line" + ("s " if len(self.rows) > 1 else " ") + ", ".join(map(str, self.rows)))
        where = ", ".join(parts)
        super().__init__(f"{where}: {problem}" if where else problem)


class UnrecognisedDataError(DataError):
    """A folder, archive or file is not in a format recognised automatically (KION, MovieLens,
    SASRec). The user has to say which columns hold what (``core.load.CsvMapping``; the
    app opens its column-mapping dialog on this error)."""


class DateFormatError(DataError):
    """A time column's values do not settle on one date format (ambiguous day/month order,
    mixed formats, seconds mixed with milliseconds). The user has to state the format
    (``--date-format``, the app's "Date format" field, ``LoadOptions.date_format``)."""


class ConfigError(SasrecError):
    """One or more hyperparameters or filter settings are invalid (one message per field)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in self.errors.items()))


class TrainingError(SasrecError):
    """Training could not run or could not finish."""


class OutOfMemoryError(TrainingError):
    """The device ran out of memory during training or inference."""


class CheckpointError(SasrecError):
    """A checkpoint file could not be written or read."""


class RecommendError(SasrecError):
    """Recommendations could not be produced for the request (unknown user or item, ...)."""


class UnknownUserError(RecommendError):
    """A user has no interactions with items the model knows."""


class UnknownItemError(RecommendError):
    """An item is not in the model's catalog."""
