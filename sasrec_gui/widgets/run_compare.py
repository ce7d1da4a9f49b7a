"""The Runs page's views of the run history: the sortable run table, the side-by-side comparison
of the selected runs' outcome and settings (differences highlighted), and their curves."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.config import SASRecConfig

from ..logic.run_records import HOLDOUT_FIELDS, SOURCE_FIELDS, RunView, differing_fields, result_values, setting_values
from ..services import theme
from .chart_export import ChartView
from .chart_navigation import ZoomPan
from .frame_model import Column, FrameModel, fixed, format_value

Index = QModelIndex | QPersistentModelIndex

#: One colour per compared run (matplotlib's tab10 without its greys), reused in the table headers.
RUN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
DIFF_BACKGROUND = QColor("#fff1c2")
DIFF_TEXT = QColor("#1f2933")
_CONFIG_KEYS = set(SASRecConfig().to_dict())
METRIC_STYLES = (("NDCG", "-", "o"), ("HR", "--", "s"))

_HEAD_COLUMNS = [
    Column("id", "Run", numeric=True),
    Column("when", "When"),
    Column("status", "Status"),
    Column("epochs", "Epochs", numeric=True),
    Column("best_epoch", "Best epoch", numeric=True),
]
#: After the metrics and the settings: where the run came from.
_ORIGIN_COLUMNS = [
    Column("parent", "Parent", numeric=True),
    Column("sweep", "Sweep"),
    Column("data", "Data", tooltip=True),
    Column("holdout", "Hold-out", tooltip=True),
]
_SETTING_COLUMNS = [
    Column("n_factors", "Factors", numeric=True),
    Column("n_blocks", "Blocks", numeric=True),
    Column("n_heads", "Heads", numeric=True),
    Column("maxlen", "Max len", numeric=True),
    Column("dropout", "Dropout", numeric=True),
    Column("lr", "LR", numeric=True),
    Column("batch", "Batch", numeric=True),
    Column("loss", "Loss"),
]
_TAIL_COLUMNS = [
    Column("protocol", "Protocol"),
    Column("tags", "Tags", tooltip=True),
    Column("note", "Note", tooltip=True),
    Column("device", "Device"),
    Column("seconds", "Seconds", fixed(1), numeric=True),
]
#: Columns whose tooltip is how the run's metrics were measured (``Protocol.describe()``).
PROTOCOL_TIP_KEY = "protocol_text"
STATUS_TIPS = {
    "finished": "Trained every epoch, or stopped early by early stopping.",
    "stopped": "Stopped by the user; the last completed (or best) epoch's model is kept.",
    "failed": "Training failed; the note says why when known.",
    "pruned": "A sweep trial stopped for falling behind the median of the finished trials.",
}


def _is_metric(key: str) -> bool:
    return "@" in key or key.endswith("val_loss")


def table_columns(frame: pd.DataFrame) -> list[Column]:
    """The run table's columns: run, status, epochs and best epoch; per metric its last
    validation's value and its best epoch's beside it, the validation loss (last, best), the
    final training loss; key settings and any setting a sweep varied; parent run, sweep, data,
    hold-out; protocol, tags, note, device, duration."""
    names = [str(c) for c in frame.columns]
    metrics = [c for c in names if "@" in c and not c.startswith("best_")]
    best_only = [c[len("best_"):] for c in names if c.startswith("best_") and "@" in c and c[len("best_"):] not in metrics]
    columns: list[Column] = []
    for name in [*metrics, *best_only]:
        if name in names:
            columns.append(Column(name, f"{name} (last)", fixed(4), numeric=True))
        if f"best_{name}" in names:
            columns.append(Column(f"best_{name}", f"{name} (best)", fixed(4), numeric=True))
    for key, header in (("val_loss", "Val loss (last)"), ("best_val_loss", "Val loss (best)")):
        if key in names:
            columns.append(Column(key, header, fixed(4), numeric=True))
    columns.append(Column("final_loss", "Final loss", fixed(4), numeric=True))
    known = {c.key for c in (*_HEAD_COLUMNS, *_ORIGIN_COLUMNS, *_SETTING_COLUMNS, *_TAIL_COLUMNS)}
    swept = [Column(c, c, numeric=pd.api.types.is_numeric_dtype(frame[c].dtype)) for c in names if c in _CONFIG_KEYS and c not in known]
    return [*_HEAD_COLUMNS, *columns, *_SETTING_COLUMNS, *swept, *_ORIGIN_COLUMNS, *_TAIL_COLUMNS]


class RunsTableModel(FrameModel):
    """The run table; ``sort`` reorders the frame with pandas (stable, missing values last)
    and keeps the selection (persistent indexes follow their rows)."""

    def set_runs(self, frame: pd.DataFrame) -> None:
        self._fixed_columns = table_columns(frame)
        self.set_frame(frame.reset_index(drop=True))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns) or self._positions[column] < 0 or self._frame.empty:
            return
        key = self._columns[column].key
        self.layoutAboutToBeChanged.emit()
        frame = self._frame
        ordered = frame.sort_values(key, ascending=order == Qt.SortOrder.AscendingOrder, kind="stable", na_position="last")
        new_row = np.empty(len(frame), dtype=np.int64)
        new_row[ordered.index.to_numpy()] = np.arange(len(frame))
        self._frame = ordered.reset_index(drop=True)
        old = self.persistentIndexList()
        self.changePersistentIndexList(old, [self.index(int(new_row[i.row()]), i.column()) for i in old])
        self.layoutChanged.emit()

    def run_id(self, row: int) -> int:
        return int(self.value(row, "id"))

    def _tooltip(self, row: int, col: int) -> str | None:
        """Metrics and the protocol: how the run's metrics were measured; status: what it means."""
        key = self._columns[col].key
        if _is_metric(key) or key == "protocol" or key == "best_epoch":
            text = self.value(row, PROTOCOL_TIP_KEY) if PROTOCOL_TIP_KEY in self._frame.columns else ""
            text = text or "The protocol was not recorded (a run of an older version)."
            return f"Measured on: {text}" if key != "best_epoch" else f"The best validation's epoch. Measured on: {text}"
        if key == "status":
            return STATUS_TIPS.get(str(self.value(row, "status")))
        return super()._tooltip(row, col)

    def row_of(self, run_id: int) -> int:
        ids = self._frame["id"].to_numpy() if "id" in self._frame.columns else np.zeros(0)
        rows = np.flatnonzero(ids == run_id)
        return int(rows[0]) if len(rows) else -1


def _format_setting(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "data":
        return Path(str(value)).name or str(value)
    if isinstance(value, float):
        return f"{value:.4f}" if 0 < abs(value) < 1 and "@" in key else format_value(value)
    return format_value(value)


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class CompareModel(QAbstractTableModel):
    """Rows: the selected runs' outcome, then their settings; one column per run.

    Settings that differ between the runs are bold on a tinted background; with
    ``only_differences`` the equal settings are hidden (when two or more runs are shown).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._views: list[RunView] = []
        self._rows: list[tuple[str, str, list[Any], bool]] = []  # key, group, values, differs
        self._differing: set[str] = set()
        self.only_differences = True
        self._bold = QFont()
        self._bold.setBold(True)

    def set_runs(self, views: list[RunView]) -> None:
        self.beginResetModel()
        self._views = list(views)
        self._differing = differing_fields(self._views)
        self._rows = self._build_rows()
        self.endResetModel()

    def set_only_differences(self, only: bool) -> None:
        self.only_differences = only
        self.set_runs(self._views)

    def differing_fields(self) -> set[str]:
        """Settings whose value is not the same in every shown run."""
        return set(self._differing)

    def row_keys(self) -> list[str]:
        return [key for key, *_ in self._rows]

    def _build_rows(self) -> list[tuple[str, str, list[Any], bool]]:
        if not self._views:
            return []
        results = [result_values(v) for v in self._views]
        settings = [setting_values(v) for v in self._views]
        rows: list[tuple[str, str, list[Any], bool]] = []
        result_keys = list(dict.fromkeys(k for r in results for k in r))
        for key in result_keys:
            rows.append((key, "result", [r.get(key) for r in results], False))
        hide_equal = self.only_differences and len(self._views) > 1
        setting_keys = list(dict.fromkeys(k for s in settings for k in s))
        for key in setting_keys:
            differs = key in self._differing
            if hide_equal and not differs:
                continue
            group = "validation" if key in HOLDOUT_FIELDS else "data" if key in SOURCE_FIELDS else (
                "hyperparameter" if key in self._views[0].record.config or key in _CONFIG_KEYS else "filter")
            rows.append((key, group, [s.get(key) for s in settings], differs))
        return rows

    # -- Qt interface -----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 1 + len(self._views)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        key, group, values, differs = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return key if col == 0 else _format_setting(key, values[col - 1])
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return f"{group}{' — differs between the runs' if differs else ''}"
            value = values[col - 1]
            return str(value) if value is not None else None
        if role == Qt.ItemDataRole.FontRole and differs:
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole and differs:
            return QBrush(DIFF_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole and differs:
            return QBrush(DIFF_TEXT)  # readable on the tint in the dark theme too
        if role == Qt.ItemDataRole.ForegroundRole and group == "result" and col == 0:
            return QBrush(QColor("#52606d"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            value = values[col - 1]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            return int((Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft) | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return differs
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return "Setting" if section == 0 else self._views[section - 1].label
        if role == Qt.ItemDataRole.DecorationRole and section > 0:
            return _swatch(RUN_COLORS[(section - 1) % len(RUN_COLORS)])
        return None


class RunsPlot(QWidget):
    """The selected runs' smoothed training loss (x: epochs) and validation metrics per epoch.

    Drawn on a worker (``ChartView(threaded=True)``): a constrained-layout draw of the two axes
    takes 0.2 s, a freeze of the interface when it ran there on every page switch. The wheel
    zooms the axes under the mouse, a drag pans it, "Reset view" shows every point again.
    ``loss_ax``, ``metric_ax``, ``loss_lines`` and ``metric_lines`` are the shown figure's.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = ChartView(figsize=(6.0, 3.2), threaded=True)
        self.navigation = ZoomPan(self.chart, lambda: self.chart.figure.axes[:2])
        self.reset_view_button = QPushButton("Reset view")
        self.reset_view_button.setToolTip("Show every point again after zooming (wheel) or panning (drag).")
        self.reset_view_button.setEnabled(False)
        self.reset_view_button.clicked.connect(lambda _checked=False: self.navigation.reset())
        self.navigation.changed.connect(lambda: self.reset_view_button.setEnabled(self.navigation.zoomed))
        hint = QLabel("Wheel: zoom, drag: pan, right-click: save as PNG.")
        hint.setObjectName("muted")
        controls = QHBoxLayout()
        controls.setContentsMargins(4, 0, 4, 0)
        controls.addWidget(hint, 1)
        controls.addWidget(self.reset_view_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chart, 1)
        layout.addLayout(controls)
        self.views: list[RunView] = []
        self.loss_ax: Axes | None = None
        self.metric_ax: Axes | None = None
        self.loss_lines: list[Line2D] = []
        self.metric_lines: list[Line2D] = []
        self.chart.set_renderer(self._render)

    @property
    def canvas(self) -> QWidget:
        return self.chart.canvas

    @property
    def figure(self) -> Figure:
        """The shown figure."""
        return self.chart.figure

    def show_runs(self, views: list[RunView]) -> None:
        """Draw ``views``' curves (on the chart's worker) at their full ranges."""
        self.views = list(views)
        self.navigation.reset(draw=False)
        self.chart.invalidate()

    def _render(self, figure: Figure) -> None:  # the chart's worker: reads only ``views`` and the view ranges
        views, scale = self.views, theme.font_scale()
        loss_ax, metric_ax = figure.subplots(1, 2, width_ratios=(3, 2))
        loss_lines: list[Line2D] = []
        metric_lines: list[Line2D] = []
        metric_names: dict[str, str] = {}
        for i, view in enumerate(views):
            color = RUN_COLORS[i % len(RUN_COLORS)]
            if len(view.curve_x):
                (line,) = loss_ax.plot(view.curve_x, view.curve_y, color=color, lw=1.6, label=view.label)
                loss_lines.append(line)
            for prefix, style, marker in METRIC_STYLES:
                key = next((k for m in view.epoch_metrics for k in m if k.split("@")[0] == prefix), None)
                if key is None:
                    continue
                points = [(e + 1, m[key]) for e, m in enumerate(view.epoch_metrics) if m.get(key) is not None]
                if points:
                    xs, ys = zip(*points)
                    (line,) = metric_ax.plot(xs, ys, linestyle=style, marker=marker, ms=4, lw=1.4, color=color,
                                             label=f"{view.label} {key}")
                    metric_lines.append(line)
                    metric_names.setdefault(prefix, key)
        loss_ax.set_title("Training loss (per step, smoothed)", fontsize=10 * scale)
        loss_ax.set_xlabel("Epoch")
        loss_ax.set_ylabel("Loss")
        metric_ax.set_title("Validation on the hold-out", fontsize=10 * scale)
        metric_ax.set_xlabel("Epoch")
        metric_ax.set_ylabel("Metric value")
        metric_ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
        for ax in (loss_ax, metric_ax):
            ax.grid(True, alpha=0.3)
        if loss_lines:
            loss_ax.legend(loc="upper right", fontsize=8 * scale)
        else:
            text = "Select runs above to compare their curves" if not views else "These runs have no loss history"
            loss_ax.text(0.5, 0.5, text, transform=loss_ax.transAxes, ha="center", va="center", color="#7b8794",
                         fontsize=10 * scale)
        if metric_lines:
            handles = [Line2D([], [], color="#52606d", linestyle=style, marker=marker, ms=4, label=metric_names[prefix])
                       for prefix, style, marker in METRIC_STYLES if prefix in metric_names]
            metric_ax.legend(handles=handles, loc="lower right", fontsize=8 * scale)
            metric_ax.set_ylim(bottom=0)
        else:
            text = "No validation metrics:\ntrain with a hold-out" if views else ""
            metric_ax.text(0.5, 0.5, text, transform=metric_ax.transAxes, ha="center", va="center", color="#7b8794",
                           fontsize=9 * scale)
        self.navigation.apply([loss_ax, metric_ax])
        self.loss_ax, self.metric_ax = loss_ax, metric_ax
        self.loss_lines, self.metric_lines = loss_lines, metric_lines
