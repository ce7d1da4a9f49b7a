"""A read-only ``QAbstractTableModel`` over a pandas DataFrame (cells read lazily with ``iat``),
and one that shows marked rows in bold."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

Index = QModelIndex | QPersistentModelIndex
Formatter = Callable[[Any], str]

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(value: Any) -> str:
    """A short, human-readable text for one cell."""
    if _is_missing(value):
        return ""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
            return f"{int(value):d}"
        return f"{value:.4g}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def fixed(decimals: int) -> Formatter:
    """Formatter with a fixed number of decimals (blank for missing values)."""
    return lambda v: "" if _is_missing(v) else f"{float(v):.{decimals}f}"


def year(value: Any) -> str:
    """Release year without a trailing '.0'."""
    return "" if _is_missing(value) else format_value(value)


@dataclass(frozen=True)
class Column:
    """One shown column: frame column ``key``, header text, formatter, alignment."""

    key: str
    header: str
    fmt: Formatter = format_value
    numeric: bool = False
    tooltip: bool = False  # show the full text as a tooltip (long titles, genres)


class FrameModel(QAbstractTableModel):
    """Shows ``frame`` through ``columns`` (all of the frame's columns when none are given).

    Missing columns are shown empty. Roles are dispatched through a small table; cells are
    formatted only when a view asks for them, so a 5M-row frame costs nothing up front.
    """

    def __init__(self, frame: pd.DataFrame | None = None, columns: Sequence[Column] | None = None, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._fixed_columns = list(columns) if columns is not None else None
        self._frame = pd.DataFrame()
        self._columns: list[Column] = []
        self._positions: list[int] = []  # position of each shown column in the frame, -1 when absent
        self._roles: dict[int, Callable[[int, int], Any]] = {
            int(Qt.ItemDataRole.DisplayRole): self._display,
            int(Qt.ItemDataRole.ToolTipRole): self._tooltip,
            int(Qt.ItemDataRole.TextAlignmentRole): self._alignment,
            int(Qt.ItemDataRole.UserRole): self._raw,
        }
        self.set_frame(frame if frame is not None else pd.DataFrame())

    # -- data -------------------------------------------------------------------------------
    @property
    def frame(self) -> pd.DataFrame:
        return self._frame

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Replace the shown frame (resets views)."""
        self.beginResetModel()
        self._frame = frame
        if self._fixed_columns is not None:
            self._columns = self._fixed_columns
        else:
            self._columns = [
                Column(str(c), str(c), numeric=pd.api.types.is_numeric_dtype(frame[c].dtype)) for c in frame.columns
            ]
        names = list(frame.columns)
        self._positions = [names.index(c.key) if c.key in names else -1 for c in self._columns]
        self.endResetModel()

    def clear(self) -> None:
        self.set_frame(self._frame.iloc[0:0])

    def value(self, row: int, key: str) -> Any:
        """Raw value of frame column ``key`` at ``row``."""
        return self._frame.iat[row, self._frame.columns.get_loc(key)]

    def column_of(self, key: str) -> int:
        """Shown column index of ``key`` or -1."""
        return next((i for i, c in enumerate(self._columns) if c.key == key), -1)

    # -- Qt model interface -----------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._frame)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        handler = self._roles.get(int(role))
        return handler(index.row(), index.column()) if handler else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._columns[section].header if 0 <= section < len(self._columns) else None
        return str(section + 1)

    # -- role handlers ----------------------------------------------------------------------
    def _raw(self, row: int, col: int) -> Any:
        pos = self._positions[col]
        return None if pos < 0 else self._frame.iat[row, pos]

    def _display(self, row: int, col: int) -> str:
        value = self._raw(row, col)
        return "" if value is None else self._columns[col].fmt(value)

    def _tooltip(self, row: int, col: int) -> str | None:
        return self._display(row, col) if self._columns[col].tooltip else None

    def _alignment(self, row: int, col: int) -> int:
        return _RIGHT if self._columns[col].numeric else _LEFT


class MarkedFrameModel(FrameModel):
    """A ``FrameModel`` that shows rows whose ``in_both`` column is set in bold."""

    def __init__(self, columns: list[Column]) -> None:
        self._in_both: np.ndarray | None = None
        super().__init__(columns=columns)
        self._bold = QFont()
        self._bold.setBold(True)
        self._roles[int(Qt.ItemDataRole.FontRole)] = self._font

    def set_frame(self, frame: pd.DataFrame) -> None:
        # read once here: a view asks every cell's font on each paint (a pandas lookup per cell
        # took 80 us, a fifth of showing the SASRec vs popular page)
        self._in_both = frame["in_both"].fillna(False).to_numpy(dtype=bool) if "in_both" in frame.columns else None
        super().set_frame(frame)

    def _font(self, row: int, _col: int) -> QFont | None:
        return self._bold if self._in_both is not None and self._in_both[row] else None
