"""SASRec vs popularity: the model's top-k and the most popular unseen items for one user, side by side.

The popularity baseline is ``core.evaluate.popular_recommendations`` over the model's own
filtered interactions (its user histories). It scans every interaction, so it runs in a
worker thread when the page has the window's ``TaskRunner``. Under the two lists, the same
comparison over all users, beyond accuracy (``widgets.beyond_accuracy``: a table and the
"SASRec vs popular" chart, on a hold-out of the model's data).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.errors import RecommendError
from core.ids import id_value

from ..logic.popular import popular_for_user
from ..services.state import AppState
from ..services.workers import TaskRunner, run_or_submit
from ..widgets.beyond_accuracy import BeyondAccuracyBox
from ..widgets.common import MessageLine, make_table, page_header, placeholder_page
from ..widgets.frame_model import Column, FrameModel, MarkedFrameModel, fixed
from ..widgets.item_columns import GENRES, RANK, TITLE, YEAR, configure_item_table
from ..widgets.user_picker import UserPicker
from .follow import FollowsUser

NO_MODEL_TEXT = "Train a model (or open a checkpoint and its data) to compare it with the popularity baseline."
VIEWERS = Column("viewers", "Viewers", lambda v: "" if pd.isna(v) else f"{int(v):,}", numeric=True)
SASREC_COLUMNS = [RANK, TITLE, YEAR, GENRES, Column("score", "Score", fixed(3), numeric=True), VIEWERS]
POPULAR_COLUMNS = [RANK, TITLE, YEAR, GENRES, VIEWERS]


class ComparePage(FollowsUser, QWidget):
    """Two ranked lists for the same user; items in both are marked. ``item_activated``: double-click."""

    no_model_text = NO_MODEL_TEXT

    item_activated = Signal(object)  # item id: int or str
    compared = Signal()

    def __init__(self, state: AppState, runner: TaskRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.runner = runner
        self.current_user: int | str | None = None
        self.sasrec: pd.DataFrame | None = None
        self.popular: pd.DataFrame | None = None
        self._cache: tuple | None = None
        self._cache_owner: object = None
        self._request: tuple | None = None
        self._pending_user: int | str | None = None

        header, self.subtitle = page_header(
            "SASRec vs popularity", "The model's recommendations beside the most popular items the user has not seen."
        )
        self.picker = UserPicker(state)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 100)
        self.k_spin.setValue(10)
        self.k_spin.setPrefix("Top ")
        self.filter_viewed = QCheckBox("Hide seen items")
        self.filter_viewed.setChecked(True)
        self.filter_viewed.setToolTip("Leave items already in the user's history out of both lists.")
        bar = QHBoxLayout()
        bar.addWidget(self.picker)
        bar.addSpacing(16)
        bar.addWidget(self.k_spin)
        bar.addWidget(self.filter_viewed)
        bar.addStretch(1)
        self.message = MessageLine()

        self.sasrec_model = MarkedFrameModel(SASREC_COLUMNS)
        self.sasrec_view = make_table(self.sasrec_model)
        configure_item_table(self.sasrec_view, SASREC_COLUMNS)
        self.popular_model = MarkedFrameModel(POPULAR_COLUMNS)
        self.popular_view = make_table(self.popular_model)
        configure_item_table(self.popular_view, POPULAR_COLUMNS)
        self.sasrec_box = QGroupBox("SASRec")
        QVBoxLayout(self.sasrec_box).addWidget(self.sasrec_view)
        self.popular_box = QGroupBox("Most popular")
        QVBoxLayout(self.popular_box).addWidget(self.popular_view)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.sasrec_box, self.popular_box):
            self.splitter.addWidget(widget)
        self.splitter.setSizes([600, 560])
        self.beyond = BeyondAccuracyBox(state, runner)
        self.body_splitter = QSplitter(Qt.Orientation.Vertical)
        self.body_splitter.addWidget(self.splitter)
        self.body_splitter.addWidget(self.beyond)
        self.body_splitter.setSizes([330, 390])
        tip = QLabel("Items in both lists are shown in bold. Double-click a title to see its card and similar items.")
        tip.setObjectName("muted")

        self.placeholder = placeholder_page(self, header, [bar, self.message, self.body_splitter, tip], NO_MODEL_TEXT,
                                            stretch=self.body_splitter)

        self.picker.user_requested.connect(self.show_user)
        self.picker.invalid.connect(lambda text: self.message.show_message(f"'{text}' is not a user id.", error=True))
        self.k_spin.valueChanged.connect(self._refresh)
        self.k_spin.valueChanged.connect(self.beyond.set_k)
        self.filter_viewed.toggled.connect(self._refresh)
        for model, view in ((self.sasrec_model, self.sasrec_view), (self.popular_model, self.popular_view)):
            view.doubleClicked.connect(lambda index, m=model: self._activate(m, index))
        state.model_changed.connect(self._model_changed)
        self._model_changed()

    # -- showing ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._request is not None and self.popular is None

    def _user_missing(self) -> None:
        self.current_user, self.sasrec, self.popular, self._request = None, None, None, None
        self.sasrec_model.clear()
        self.popular_model.clear()

    def show_user(self, user_id: int | str) -> bool:
        """SASRec's top-k now, the popularity top-k when computed; False (with a message) on failure."""
        recommender = self._start_showing(user_id)
        if recommender is None:
            return False
        user_id = id_value(user_id)
        k, filter_viewed = self.k_spin.value(), self.filter_viewed.isChecked()
        try:
            recs = recommender.recommend([user_id], k=k, filter_viewed=filter_viewed)
        except RecommendError as exc:
            self.current_user, self.sasrec, self.popular, self._request = None, None, None, None
            self.sasrec_model.clear()
            self.popular_model.clear()
            self.message.show_message(str(exc), error=True)
            return False
        self.current_user = user_id
        self.sasrec = self.state.catalog.titled(recs)
        self.popular = None
        self.popular_model.clear()
        self._show_tables()
        self.message.show_message("Ranking the most popular items …")
        if self._cache_owner is not recommender:
            self._cache, self._cache_owner = None, recommender
        request = (recommender, user_id, k, filter_viewed)
        self._request = request
        cache = self._cache

        def work():  # noqa: ANN202
            return popular_for_user(recommender, cache, user_id, k, filter_viewed)

        run_or_submit(self.runner, "popularity", work, lambda r: self._popular_done(r, request),
                      lambda exc: self._popular_failed(exc, request))
        return True

    def _popular_done(self, result: tuple, request: tuple) -> None:
        if request != self._request:
            return
        popular, cache = result
        if self._cache_owner is request[0]:
            self._cache = cache
        self.popular = self.state.catalog.titled(popular)
        self._show_tables()
        self.compared.emit()

    def _popular_failed(self, exc: BaseException, request: tuple) -> None:
        if request == self._request:
            self.message.show_message(f"Could not rank the popular items: {exc}", error=True)

    def _show_tables(self) -> None:
        counts = self._cache[1] if self._cache is not None else None
        sasrec, popular = self.sasrec, self.popular
        shared = set(sasrec["item_id"]) & set(popular["item_id"]) if sasrec is not None and popular is not None else set()
        for frame, model in ((sasrec, self.sasrec_model), (popular, self.popular_model)):
            if frame is None:
                model.clear()
                continue
            frame = frame.copy()
            frame["in_both"] = frame["item_id"].isin(shared)
            frame["viewers"] = frame["item_id"].map(counts).fillna(0).astype(int) if counts is not None else np.nan
            model.set_frame(frame)
        k = self.k_spin.value()
        self.sasrec_box.setTitle(f"SASRec top {k}")
        self.popular_box.setTitle(f"Most popular top {k}" + (" (unseen)" if self.filter_viewed.isChecked() else ""))
        if sasrec is not None and popular is not None:
            med_s = int(np.median(self.sasrec_model.frame["viewers"])) if len(sasrec) else 0
            med_p = int(np.median(self.popular_model.frame["viewers"])) if len(popular) else 0
            self.message.show_message(
                f"User {self.current_user}: {len(shared)} of {len(sasrec)} items in both lists (bold). "
                f"Median viewers (distinct users in the model's training data): SASRec {med_s:,}, popularity {med_p:,}."
            )

    def _refresh(self) -> None:
        if self.current_user is not None and self.state.recommender is not None:
            self.show_user(self.current_user)

    def _activate(self, model: FrameModel, index: QModelIndex) -> None:
        if index.isValid():
            self.item_activated.emit(id_value(model.value(index.row(), "item_id")))

    def set_model_holdout(self, model: object, holdout: object) -> None:
        """``model`` was trained with ``holdout`` (a ``core.experiment.Holdout``; None: on every
        interaction): the beyond-accuracy box measures on that split (the window tells it)."""
        self.beyond.set_model_holdout(model, holdout)

    def views(self) -> tuple[QTableView, QTableView]:
        return self.sasrec_view, self.popular_view

    def _model_changed(self) -> None:
        state = self.state
        self._cache, self._cache_owner, self._request = None, None, None
        self.sasrec = self.popular = None
        self.sasrec_model.clear()
        self.popular_model.clear()
        if state.model is None or not state.model_has_data:
            self.placeholder.show_placeholder(NO_MODEL_TEXT)
            self.current_user = None
            return
        self.placeholder.show_content()
        self.subtitle.setText(
            f"Model: {state.model_origin}. Popularity: items ranked by how many users of the model's "
            "training data have them, as core.evaluate's baseline."
        )
        user, self.current_user = self.current_user, None
        if user is not None and user in state.users:
            self.show_user(user)
        else:
            self.message.show_message("Choose a user (or show one on the Recommendations page).")
