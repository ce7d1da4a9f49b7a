"""Why this recommendation: the history items that contributed most to a recommended item.

The measure is the leave-one-out score drop (the recommendation's score minus its score
with that history item left out, all variants in one batched forward pass); the attention
the last position pays each item is the second column. The computation runs in a worker
thread when the panel has a ``TaskRunner`` (the window's), so a long session or a big model
never blocks the interface; stale results (another user or item chosen meanwhile) are dropped.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from matplotlib.figure import Figure
from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from core.ids import id_value

from ..logic.explanations import Explanation, explain_recommendation, explain_session_recommendation, truncate
from ..services import theme
from ..services.idle import AfterPaint
from ..services.state import AppState
from ..services.workers import run_or_submit
from .chart_export import ChartView
from .common import MessageLine, make_table
from .frame_model import Column, FrameModel, fixed
from .item_columns import configure_item_table

SCORE_DROP_TEXT = "score drop when this item is left out of the history"
WHY_COLUMNS = [
    Column("rank", "#", numeric=True),
    Column("title", "History item", tooltip=True),
    Column("score_drop", "Score drop", fixed(3), numeric=True),
    Column("attention", "Attention", lambda v: f"{100.0 * float(v):.1f}%", numeric=True),
    Column("recency", "When"),
]
CHART_ITEMS = 10
EMPTY_TEXT = "Select a recommendation to see which history items led to it."


def caption_text(padding_share: float) -> str:
    return (
        f"Score drop = the recommendation's {SCORE_DROP_TEXT} (bigger: contributed more; below zero: "
        "the item pulls the other way). Attention = the item's share of the last position's attention, "
        f"mean over heads and blocks; the remaining {100.0 * padding_share:.0f}% of that attention "
        "goes to padding (SASRec, like RecTools, does not mask padding keys)."
    )


class WhyPanel(QWidget):
    """Ranked contributions of the history to one recommended item (table + bar chart).

    * ``explained(Explanation)``: a result is shown.
    * ``item_selected(item_id)``: a history item was selected in the table.
    """

    explained = Signal(object)
    item_selected = Signal(object)  # item id: int or str

    def __init__(self, state: AppState, runner=None, parent: QWidget | None = None) -> None:  # noqa: ANN001 - TaskRunner
        super().__init__(parent)
        self.state = state
        self.runner = runner
        #: with a runner, the explanation starts once the panel has painted (services.idle): its
        #: pandas joins hold the GIL, and started at once they held up the user's tables and card
        self._after_paint = AfterPaint(self, self._start_waiting)
        self._waiting: tuple[tuple, Callable[[], Explanation]] | None = None
        self.explanation: Explanation | None = None
        self.frame: pd.DataFrame | None = None
        self._request: tuple | None = None
        self._target_title = ""

        self.heading = QLabel(EMPTY_TEXT)
        self.heading.setObjectName("statValue")
        self.heading.setWordWrap(True)
        self.caption = QLabel(caption_text(0.0))
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        self.message = MessageLine()
        self.model = FrameModel(columns=WHY_COLUMNS)
        self.view = make_table(self.model)
        configure_item_table(self.view, WHY_COLUMNS)
        self.view.setToolTip(f"Score drop = {SCORE_DROP_TEXT}.")
        self.chart = ChartView(figsize=(4.5, 3.0), threaded=True)  # drawn on a worker
        self.chart.set_renderer(self._render)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(self.chart)
        self.splitter.setSizes([560, 340])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.caption)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.message)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)

    # -- requests ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._request is not None and self.explanation is None

    def clear(self, text: str = EMPTY_TEXT) -> None:
        self._request = None
        self.explanation = None
        self.frame = None
        self.heading.setText(text)
        self.caption.setText(caption_text(0.0))
        self.model.clear()
        self.message.show_message("")
        self.chart.invalidate()

    def explain(self, user_id: int | str, item_id: int | str, score: float | None = None) -> None:
        """Work out why ``item_id`` is recommended to ``user_id`` (in the background with a runner)."""
        recommender = self.state.recommender
        if recommender is None:
            self.clear("Train a model or open a checkpoint first.")
            return
        user_id, item_id = id_value(user_id), id_value(item_id)
        self._submit((recommender, user_id, item_id), f"user {user_id}", score,
                     lambda: explain_recommendation(recommender, user_id, item_id))

    def explain_session(self, items: Sequence[int | str], item_id: int | str, score: float | None = None) -> None:
        """Work out why ``item_id`` is recommended for a what-if session (item ids, oldest
        first; items the model does not know are left out), in the background with a runner."""
        recommender = self.state.recommender
        if recommender is None:
            self.clear("Train a model or open a checkpoint first.")
            return
        session, item_id = tuple(id_value(i) for i in items), id_value(item_id)
        self._submit((recommender, ("what-if", session), item_id), "the what-if session", score,
                     lambda: explain_session_recommendation(recommender, session, item_id))

    def _submit(self, request: tuple, subject: str, score: float | None, work: Callable[[], Explanation]) -> None:
        if request == self._request and self.explanation is not None:
            return
        self._request = request
        self.explanation = None
        self._target_title = self.state.catalog.describe(request[-1]).split(" · ")[0]
        scored = f" (score {score:.3f})" if score is not None else ""
        self.heading.setText(f"Why “{self._target_title}”{scored} for {subject}?")
        self.message.show_message("Working out which history items contributed …")
        if self.runner is None:  # no worker (tests, tools): at once, here
            run_or_submit(None, "why", work, lambda r: self._done(r, request), lambda exc: self._failed(exc, request))
            return
        self._waiting = (request, work)
        self._after_paint.arm()

    def _start_waiting(self) -> None:
        """The panel has painted the new heading: work out the latest explanation asked for."""
        waiting, self._waiting = self._waiting, None
        if waiting is None or waiting[0] != self._request:
            return
        request, work = waiting
        run_or_submit(self.runner, "why", work, lambda r: self._done(r, request), lambda exc: self._failed(exc, request))

    def _done(self, result: Explanation, request: tuple) -> None:
        if request != self._request:
            return  # another recommendation was chosen meanwhile
        self.explanation = result
        self.frame = self.state.catalog.titled(result.contributions)
        self.model.set_frame(self.frame)
        self.caption.setText(caption_text(result.padding_share))
        n = len(result.contributions)
        self.message.show_message(
            f"{n} history item(s) in the model's session, ranked by {SCORE_DROP_TEXT}; "
            f"computed in {1000.0 * result.seconds:.0f} ms."
        )
        self.chart.invalidate()
        self.explained.emit(result)

    def _failed(self, exc: BaseException, request: tuple) -> None:
        if request != self._request:
            return
        self.explanation = None
        self.model.clear()
        self.message.show_message(f"Could not explain this recommendation: {exc}", error=True)
        self.chart.invalidate()

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = selected.indexes()
        if rows and self.frame is not None:
            self.item_selected.emit(id_value(self.model.value(rows[0].row(), "item_id")))

    # -- chart ------------------------------------------------------------------------------
    def _render(self, figure: Figure) -> None:
        ax = figure.add_subplot()
        scale = theme.font_scale()
        t = theme.current()
        if self.frame is None or self.frame.empty:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "Contributions appear here", transform=ax.transAxes, ha="center", va="center", color="#7b8794")
            return
        top = self.frame.head(CHART_ITEMS)
        labels = [truncate(str(title), 20) for title in top["title"]]
        values = top["score_drop"].to_numpy(dtype=float)
        colors = [t.accent if v >= 0 else t.muted for v in values]
        y = range(len(top))
        ax.barh(list(y), values, color=colors, height=0.7)
        ax.set_yticks(list(y), labels, fontsize=8 * scale)
        ax.invert_yaxis()
        ax.axvline(0.0, color=t.edge, lw=0.8)
        ax.set_xlabel("Score drop when left out", fontsize=9 * scale)
        ax.set_title("Biggest contributions", fontsize=9.5 * scale)
        ax.tick_params(axis="x", labelsize=8 * scale)
        ax.grid(True, axis="x", alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
