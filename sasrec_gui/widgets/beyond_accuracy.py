"""Is it just recommending what is popular? The shown model beside the popularity baseline,
beyond accuracy: a table and the "SASRec vs popular" chart (``core.report_charts.
draw_sasrec_vs_popular``, the report's own chart, drawn on a worker: ``ChartView(threaded=True)``).

The numbers come from ``logic.beyond.measure_beyond`` (``evaluate_split(..., beyond=True)`` on
a hold-out split of the model's filtered data), computed in a worker when the box is first
shown for a model, and again when k or the model's known hold-out changes.
"""
from __future__ import annotations

import textwrap
import weakref

import pandas as pd
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from core.experiment import Holdout
from core.report_charts import draw_sasrec_vs_popular, styled

from ..logic.beyond import BeyondResult, measure_beyond
from ..services.state import AppState
from ..services.workers import run_or_submit
from .chart_export import ChartView
from .common import MessageLine, make_table
from .frame_model import Column, FrameModel

BEYOND_COLUMNS = [
    Column("metric", "Metric"),
    Column("sasrec_text", "SASRec", numeric=True),
    Column("popular_text", "Popular", numeric=True),
    Column("meaning", "What it says", tooltip=True),
]
#: The chart is a light card in either theme (the report's colours).
CARD_RC = {
    "figure.facecolor": "white", "axes.facecolor": "white", "axes.edgecolor": "#cbd5e0", "text.color": "#1f2933",
    "axes.labelcolor": "#4a5568", "axes.titlecolor": "#1f2933", "xtick.color": "#4a5568", "ytick.color": "#4a5568",
}
#: Characters per line of a panel's reading aid.
LABEL_CHARS = 24
WAITING_TEXT = "Open this page with a model and its data to compare it with the popularity baseline."


class BeyondAccuracyBox(QGroupBox):
    """SASRec vs the popularity baseline beyond accuracy (coverage, novelty, diversity,
    serendipity, popularity share), on a hold-out of the model's data.

    * ``measured(BeyondResult)``: a result is shown.
    """

    measured = Signal(object)

    def __init__(self, state: AppState, runner=None, parent: QWidget | None = None) -> None:  # noqa: ANN001 - TaskRunner
        super().__init__("Beyond accuracy: is it just recommending what is popular?", parent)
        self.state = state
        self.runner = runner
        self.k = 10
        self.result: BeyondResult | None = None
        self._key: tuple | None = None  # what the shown (or running) measurement is of
        self._holdout: tuple[weakref.ref, Holdout | None] | None = None

        self.protocol = QLabel(WAITING_TEXT)
        self.protocol.setObjectName("muted")
        self.protocol.setWordWrap(True)
        self.model = FrameModel(columns=BEYOND_COLUMNS)
        self.view = make_table(self.model)
        self.view.setMinimumWidth(300)
        self.chart = ChartView(figsize=(7.0, 3.4), threaded=True)  # drawn on a worker: the page never waits for it
        self.chart.set_renderer(self._render)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.chart)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([420, 700])
        self.message = MessageLine()
        self.measure_button = QPushButton("Measure again")
        self.measure_button.setToolTip("Score SASRec and the popularity baseline on the hold-out again.")
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.measure_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.protocol)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(bottom)

        self.measure_button.clicked.connect(lambda _checked=False: self.measure(force=True))
        state.model_changed.connect(self._model_changed)
        self._model_changed()

    # -- inputs -----------------------------------------------------------------------------
    def set_k(self, k: int) -> None:
        """Measure at top ``k`` (now if shown, else when next shown)."""
        if int(k) != self.k:
            self.k = int(k)
            self._request()

    def set_model_holdout(self, model: object, holdout: Holdout | None) -> None:
        """``model`` was trained with ``holdout`` (None: on every interaction): measure on that
        split, honestly. Told by the window after a run or when a checkpoint opens."""
        self._holdout = (weakref.ref(model), holdout)
        if model is self.state.model:
            self._request()

    def holdout(self) -> Holdout | None:
        """The current model's hold-out when known (None: unknown or none)."""
        if self._holdout is None or self._holdout[0]() is not self.state.model:
            return None
        return self._holdout[1]

    @property
    def busy(self) -> bool:
        return self._key is not None and self.result is None

    # -- measuring --------------------------------------------------------------------------
    def _request(self) -> None:
        if self.isVisible():
            self.measure()

    def measure(self, force: bool = False) -> bool:
        """Measure the current model in the background (the runner's "beyond" job); False when
        there is nothing to measure or the same measurement is already shown or running."""
        state = self.state
        recommender = state.recommender
        if state.model is None or recommender is None or not state.model_has_data:
            return False
        model, histories, k, holdout = state.model, recommender.histories, self.k, self.holdout()
        key = (id(model), id(histories), k, None if holdout is None else (holdout.scheme, holdout.test_days))
        if key == self._key and not force:
            return False
        self._key = key
        self.result = None
        items = state.data.items if state.data is not None else None
        split = holdout.describe() if holdout is not None else "each user's last interaction"
        self.message.show_message(f"Scoring SASRec and the popularity baseline at top {k} on a hold-out ({split}) …")
        self.measure_button.setEnabled(False)
        run_or_submit(self.runner, "beyond", lambda: measure_beyond(model, histories, items, k, holdout),
                      lambda r: self._done(r, key), lambda exc: self._failed(exc, key))
        return True

    def _done(self, result: BeyondResult, key: tuple) -> None:
        if key != self._key:
            return
        self.result = result
        self.measure_button.setEnabled(True)
        self.model.set_frame(result.metrics_frame())
        self.view.resizeColumnsToContents()
        self.protocol.setText(result.protocol_text())
        accuracy = result.accuracy_text()
        self.message.show_message(f"{accuracy + ' ' if accuracy else ''}Measured in {result.seconds:.1f} s.")
        self.chart.invalidate()
        self.measured.emit(result)

    def _failed(self, exc: BaseException, key: tuple) -> None:
        if key != self._key:
            return
        self._key = None
        self.measure_button.setEnabled(True)
        self.message.show_message(f"Could not measure: {exc}", error=True)

    def _model_changed(self) -> None:
        self._key = None
        self.result = None
        self.model.clear()
        self.chart.invalidate()
        state = self.state
        ready = state.model is not None and state.model_has_data
        self.measure_button.setEnabled(ready)
        self.protocol.setText("" if ready else WAITING_TEXT)
        self.message.show_message("")
        self._request()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._key is None:
            self.measure()

    # -- chart ------------------------------------------------------------------------------
    def _render(self, figure: Figure) -> None:  # the chart's worker: reads only ``result`` and ``busy``
        with styled(CARD_RC):
            figure.set_facecolor("white")
            result = self.result
            if result is None:
                ax = figure.add_subplot()
                ax.set_axis_off()
                text = "Scoring …" if self.busy else "SASRec vs popular appears here"
                ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#7b8794")
                return
            draw_sasrec_vs_popular(figure, result.table, result.k)
            for ax in figure.axes:  # the reading aids wrap: the panels are narrower than the report's
                ax.set_xlabel(textwrap.fill(ax.get_xlabel(), LABEL_CHARS))
            figure.suptitle(f"SASRec vs popular, top {result.k} ({result.n_users:,} test users)",
                            fontsize=10.5, fontweight="bold", x=0.01, ha="left")

    def table(self) -> pd.DataFrame | None:
        """The measured ``evaluate_split`` table (rows SASRec, Popular), or None."""
        return None if self.result is None else self.result.table.copy()
