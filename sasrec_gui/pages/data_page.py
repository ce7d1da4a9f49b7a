"""Data page: open a folder, see its summary and charts, preview the table, set the filters."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.filters import FilterConfig

from ..services.controller import Controller
from ..services.state import AppState
from ..widgets.common import FitWidthScrollArea, fit_columns, make_table, page_header, single_shot_timer
from ..widgets.data_charts import DataCharts
from ..widgets.frame_model import Column, FrameModel
from ..widgets.settings_forms import FilterForm
from ..widgets.summary_grid import SummaryGrid

FILTER_DEBOUNCE_MS = 300
#: Rows the table preview reads to size its columns.
PREVIEW_SIZING_ROWS = 50


def _count(value: object) -> str:
    return f"{int(value):,}"  # type: ignore[arg-type]


REPORT_COLUMNS = [
    Column("name", "Step"),
    Column("rows", "Rows", _count, numeric=True),
    Column("users", "Users", _count, numeric=True),
    Column("items", "Items", _count, numeric=True),
    Column("note", "Note", tooltip=True),
]


class DataPage(QWidget):
    """Open data, inspect it, and choose the preprocessing applied before training.

    Whether the filtered data is what the filter form asks for is published as
    ``AppState.filters_pending`` (the Training page reads it there).
    """

    open_folder_requested = Signal()
    open_demo_requested = Signal()

    def __init__(self, state: AppState, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.controller = controller

        header, self.subtitle = page_header("Data", "Open a KION or MovieLens folder (or drop it on the window), or try the demo data.")
        self.open_button = QPushButton("Open folder…")
        self.open_button.setObjectName("primary")
        self.open_button.setToolTip("Open a folder with KION CSVs (interactions.csv, items_en.csv) or MovieLens files.")
        self.demo_button = QPushButton("Open demo data")
        self.demo_button.setToolTip("Open the embedded KION-shaped demo dataset with titles.")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(160)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.busy_label = QLabel()
        self.busy_label.setObjectName("muted")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop waiting for this folder: the data open before stays open "
                                      "(the file is read to its end in the background and then dropped).")
        self.cancel_button.hide()
        bar = QHBoxLayout()
        bar.addWidget(self.open_button)
        bar.addWidget(self.demo_button)
        bar.addSpacing(12)
        bar.addWidget(self.busy)
        bar.addWidget(self.busy_label)
        bar.addWidget(self.cancel_button)
        bar.addStretch(1)

        # left column: summary, filters, report
        self.summary = SummaryGrid()
        self.filters = FilterForm()
        self.reset_filters_button = QPushButton("Reset to notebook defaults")
        self.reset_filters_button.setToolTip("Weight 3 above 10% watched, drop < 300 s, keep items with >= 20 interactions.")
        self.filter_status = QLabel()
        self.filter_status.setObjectName("muted")
        self.report_model = FrameModel(columns=REPORT_COLUMNS)
        self.report_view = make_table(self.report_model)
        for column, width in enumerate((150, 84, 76, 66)):
            self.report_view.setColumnWidth(column, width)
        self.report_view.setMinimumHeight(120)
        report_box = QGroupBox("Filter report: what each step leaves")
        report_layout = QVBoxLayout(report_box)
        report_layout.addWidget(self.report_view)
        report_layout.addWidget(self.filter_status)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.filters)
        left_layout.addWidget(self.reset_filters_button, 0, Qt.AlignmentFlag.AlignRight)
        left_layout.addStretch(1)
        scroll = FitWidthScrollArea(left)  # as wide as the form wants, at any font size

        # right: per-step report above charts and table preview
        self.charts = DataCharts()
        self.preview_model = FrameModel()
        self.preview_view = make_table(self.preview_model)
        self.preview_label = QLabel()
        self.preview_label.setObjectName("muted")
        preview = QWidget()
        preview_layout = QVBoxLayout(preview)
        preview_layout.addWidget(self.preview_label)
        preview_layout.addWidget(self.preview_view)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.addTab(preview, "Table preview")
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(report_box)
        right.addWidget(self.tabs)
        right.setStretchFactor(1, 1)
        right.setSizes([230, 600])

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([scroll.minimumSizeHint().width(), 800])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 12)
        layout.addWidget(header)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

        self._debounce = single_shot_timer(self, FILTER_DEBOUNCE_MS, self.apply_filters)

        self.open_button.clicked.connect(self.open_folder_requested)
        self.demo_button.clicked.connect(self.open_demo_requested)
        self.cancel_button.clicked.connect(lambda _checked=False: self.controller.cancel_load())
        self.reset_filters_button.clicked.connect(lambda: self.filters.set_values(FilterConfig().to_dict()))
        self.filters.changed.connect(self._filters_edited)
        controller.loading.connect(self._set_loading)
        state.data_changed.connect(self._data_changed)
        state.filter_changed.connect(self._filter_changed)

    # -- filters ----------------------------------------------------------------------------
    def filter_errors(self) -> dict[str, str]:
        return self.filters.errors()

    def filters_reason(self) -> str:
        """Why the filtered data does not match the filter form yet ('' when it does)."""
        if self.state.data is None:
            return ""
        if self.filter_errors():
            return "Fix the highlighted filter settings on the Data page to train."
        filtered = self.state.filtered
        if filtered is None or filtered.config != self.filters.config():
            return "Applying the filters …"
        return ""

    def _publish_filters_reason(self) -> None:
        """Tell the other pages (through ``AppState.filters_pending``) whether the filtered data
        matches this page's filter form."""
        self.state.set_filters_pending(self.filters_reason())

    def _filters_edited(self) -> None:
        errors = self.filter_errors()
        self.filters.show_errors(errors)
        if errors:
            self._debounce.stop()
            self.filter_status.setText("Fix the highlighted filter settings.")
        elif self.state.data is not None:
            self.filter_status.setText("Applying filters …")
            self._debounce.start()
        self._publish_filters_reason()

    def apply_filters(self) -> bool:
        """Apply the current filter settings now (no debounce); False when invalid or no data."""
        self._debounce.stop()
        if self.state.data is None or self.filter_errors():
            return False
        self.filter_status.setText("Applying filters …")
        self.controller.apply_filters(self.filters.config())
        return True

    # -- state ------------------------------------------------------------------------------
    def _set_loading(self, loading: bool) -> None:
        self.busy.setVisible(loading)
        self.cancel_button.setVisible(loading)
        self.busy_label.setText("Loading …" if loading else "")
        self.open_button.setEnabled(not loading)
        self.demo_button.setEnabled(not loading)

    def _data_changed(self) -> None:
        loaded = self.state.loaded
        if loaded is None:
            return
        data = loaded.data
        fmt = {"kion": "KION", "movielens": "MovieLens", "csv": "CSV", "demo": "demo"}.get(data.format, data.format)
        extras = [name for name, frame in (("items", data.items), ("users", data.users)) if frame is not None]
        with_tables = f" with {' and '.join(extras)} tables" if extras else " (no item titles)"
        self.subtitle.setText(f"{loaded.label} — {fmt} format{with_tables} · {loaded.folder}")
        self.summary.show_summary("loaded", loaded.summary)
        self.summary.show_summary("filtered", None)
        self.filters.set_date_range(loaded.summary.date_min, loaded.summary.date_max)
        self.preview_model.set_frame(data.interactions)
        self.preview_label.setText(f"All {len(data.interactions):,} interactions as loaded (before filters).")
        fit_columns(self.preview_view, PREVIEW_SIZING_ROWS)  # a few rows, not a thousand per column
        self.charts.show_summaries(loaded.summary, None)
        self.report_model.clear()
        self.apply_filters()
        self._publish_filters_reason()

    def _filter_changed(self) -> None:
        self._publish_filters_reason()
        filtered, loaded = self.state.filtered, self.state.loaded
        if filtered is None or loaded is None:
            return
        self.summary.show_summary("filtered", filtered.summary)
        self.report_model.set_frame(filtered.result.report())
        s = filtered.summary
        self.filter_status.setText(
            f"Training data: {s.n_interactions:,} interactions, {s.n_users:,} users, {s.n_items:,} items."
            if s.n_interactions else "Nothing is left after filtering: loosen the filters."
        )
        self.charts.show_summaries(loaded.summary, filtered.summary)
