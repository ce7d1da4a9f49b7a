"""Recommendations page: find a user by id (or at random), see their history beside the top-k;
or build a what-if session by hand (the "What-if session" tab, ``widgets.session_editor``) and
see its top-k update as it changes (debounced, scored in a worker).

Under the two tables: the card of the selected item, the user's profile (demographics and
genre mix of history vs. recommendations) and why the selected recommendation was made.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QItemSelection, QModelIndex, QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import RecommendError
from core.ids import id_value

from ..logic.missing_user import CHECKING_TEXT, missing_user_text
from ..logic.what_if import EMPTY_SESSION_TEXT, WhatIfResult, what_if_recommendations
from ..services.state import AppState
from ..services.workers import run_or_submit
from ..widgets.common import MessageLine, Placeholder, make_table, page_header, placeholder_page, single_shot_timer
from ..widgets.frame_model import FrameModel
from ..widgets.item_card import ItemCard
from ..widgets.item_columns import HISTORY_COLUMNS, RECOMMENDATION_COLUMNS, configure_item_table
from ..widgets.profile_panel import ProfilePanel
from ..widgets.session_editor import SessionEditor
from ..widgets.why_panel import WhyPanel

NO_MODEL_TEXT = "Train a model or open a checkpoint to see recommendations."
NO_DATA_TEXT = (
    "This model came from a checkpoint and no data is loaded.\n"
    "Open the data it was trained on{source} to see user histories and recommendations.\n"
    "Similar items work already."
)
SEARCH_DEBOUNCE_MS = 200
HISTORY_TITLE = "History (most recent first)"
#: A what-if session is scored this long after its last edit.
WHAT_IF_DEBOUNCE_MS = 120
MAX_COMPLETIONS = 15


class RecommendPage(QWidget):
    """User lookup plus history and top-k tables; double-click an item to see similar ones.

    * ``item_activated(item_id)``: open the similar items of an item.
    * ``user_shown(user_id)``: a user's recommendations are shown (other pages follow).
    * ``session_shown(items)``: a what-if session (item ids, oldest first; [] when empty) was
      scored (the Attention page follows).
    """

    item_activated = Signal(object)  # item id: int or str
    recommendations_changed = Signal()
    user_shown = Signal(object)  # user id: int or str
    session_shown = Signal(list)  # item ids of a what-if session, oldest first

    def __init__(self, state: AppState, runner=None, parent: QWidget | None = None) -> None:  # noqa: ANN001 - TaskRunner
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.current_user: int | str | None = None
        self._recommendations: pd.DataFrame | None = None
        self._rng = np.random.default_rng()
        self.runner = runner
        self.what_if: WhatIfResult | None = None  # the scored session whose top-k is shown
        self._session_request = 0

        header, self.subtitle = page_header("Recommendations", "Pick a user to see what the model recommends next.")
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("User id, then Enter")
        self.user_edit.setClearButtonEnabled(True)
        self.user_edit.setMinimumWidth(170)
        self.completions = QStringListModel(self)
        self.completer = QCompleter(self.completions, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.completer.setMaxVisibleItems(MAX_COMPLETIONS)
        self.user_edit.setCompleter(self.completer)
        self.show_button = QPushButton("Show")
        self.random_button = QPushButton("Random user")
        self.random_button.setToolTip("Pick a random user who has a history in the filtered data.")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 200)
        self.k_spin.setValue(10)
        self.k_spin.setPrefix("Top ")
        self.k_spin.setToolTip("How many items to recommend.")
        self.filter_viewed = QCheckBox("Hide seen items")
        self.filter_viewed.setChecked(True)
        self.filter_viewed.setToolTip("Leave out items already in the user's history (RecTools' filter_viewed).")
        self.hint = QLabel()
        self.hint.setObjectName("muted")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("User"))
        bar.addWidget(self.user_edit)
        bar.addWidget(self.show_button)
        bar.addWidget(self.random_button)
        bar.addSpacing(16)
        bar.addWidget(self.k_spin)
        bar.addWidget(self.filter_viewed)
        bar.addStretch(1)
        self.message = MessageLine()

        self.history_model = FrameModel(columns=HISTORY_COLUMNS)
        self.history_view = make_table(self.history_model)
        configure_item_table(self.history_view, HISTORY_COLUMNS)
        self.recs_model = FrameModel(columns=RECOMMENDATION_COLUMNS)
        self.recs_view = make_table(self.recs_model)
        configure_item_table(self.recs_view, RECOMMENDATION_COLUMNS)
        self.history_box = QGroupBox(HISTORY_TITLE)
        QVBoxLayout(self.history_box).addWidget(self.history_view)
        self.recs_box = QGroupBox("Recommendations")
        self.recs_stack = Placeholder(self.recs_view, EMPTY_SESSION_TEXT)  # the text: an empty what-if session
        self.recs_stack.show_content()
        QVBoxLayout(self.recs_box).addWidget(self.recs_stack)
        self.session_editor = SessionEditor(state)
        self.session_box = QWidget()  # the tab's page: the tab's name is its title
        QVBoxLayout(self.session_box).addWidget(self.session_editor)
        self.left_tabs = QTabWidget()
        self.left_tabs.addTab(self.history_box, "User history")
        self.left_tabs.addTab(self.session_box, "What-if session")
        self.left_tabs.setTabToolTip(1, "Build a session by hand and see what the model would recommend next.")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.left_tabs)
        self.splitter.addWidget(self.recs_box)
        self.splitter.setSizes([600, 600])

        self.card = ItemCard(state)
        self.card_box = QGroupBox("Item")
        QVBoxLayout(self.card_box).addWidget(self.card)
        self.profile = ProfilePanel(state)
        self.why = WhyPanel(state, runner)
        self.details = QTabWidget()
        self.details.addTab(self.profile, "User profile")
        self.details.addTab(self.why, "Why this recommendation")
        self.details_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.details_splitter.addWidget(self.card_box)
        self.details_splitter.addWidget(self.details)
        self.details_splitter.setSizes([330, 870])
        self.details_splitter.setStretchFactor(1, 1)
        self.body_splitter = QSplitter(Qt.Orientation.Vertical)
        self.body_splitter.addWidget(self.splitter)
        self.body_splitter.addWidget(self.details_splitter)
        self.body_splitter.setSizes([330, 370])
        tip = QLabel("Click an item for its card; click a recommendation to see why. Double-click a title to see similar items.")
        tip.setObjectName("muted")

        self.placeholder = placeholder_page(self, header, [bar, self.hint, self.message, self.body_splitter, tip], NO_MODEL_TEXT, stretch=self.body_splitter)

        self._debounce = single_shot_timer(self, SEARCH_DEBOUNCE_MS, self.update_completions)
        self.user_edit.textEdited.connect(lambda _text: self._debounce.start())
        self.user_edit.returnPressed.connect(self.show_typed_user)
        self.show_button.clicked.connect(self.show_typed_user)
        self.completer.activated.connect(lambda text: self._show_text(text))
        self.random_button.clicked.connect(self.show_random_user)
        self.k_spin.valueChanged.connect(self._refresh)
        self.filter_viewed.toggled.connect(self._refresh)
        self.history_view.doubleClicked.connect(lambda index: self._activate(self.history_model, index))
        self.recs_view.doubleClicked.connect(lambda index: self._activate(self.recs_model, index))
        self.history_view.selectionModel().selectionChanged.connect(self._history_selected)
        self.recs_view.selectionModel().selectionChanged.connect(self._recommendation_selected)
        self.why.item_selected.connect(self.card.show_item)
        self._session_timer = single_shot_timer(self, WHAT_IF_DEBOUNCE_MS, self.recommend_session_now)
        self.session_editor.changed.connect(lambda _items: self._session_timer.start())
        self.session_editor.item_selected.connect(self.card.show_item)
        self.session_editor.item_activated.connect(self.item_activated)
        self.left_tabs.currentChanged.connect(lambda _index: self._mode_changed())
        self.card.similar_requested.connect(self.item_activated)
        state.model_changed.connect(self._model_changed)
        self._model_changed()

    # -- lookup -----------------------------------------------------------------------------
    def update_completions(self) -> None:
        """Refresh the completer with ids starting with the typed prefix (searchsorted, no full list);
        whole-number ids complete by their digits, text ids by their text."""
        self._debounce.stop()
        prefix = self.user_edit.text().strip()
        users = self.state.users
        if not prefix:
            self.completions.setStringList([])
            self.hint.setText(f"{len(users):,} users with a history." if len(users) else "")
            return
        if not users.text and not prefix.isdigit():
            self.completions.setStringList([])
            self.hint.setText("User ids are whole numbers.")
            return
        ids = users.complete(prefix, MAX_COMPLETIONS)
        count = users.count_prefix(prefix)
        self.completions.setStringList([str(i) for i in ids])
        if count == 0:
            self.hint.setText(f"No user id starts with {prefix}.")
        else:
            exact = "exact match; " if prefix in users else ""
            self.hint.setText(f"{exact}{count:,} user id(s) start with {prefix}.")
        if ids and self.user_edit.hasFocus():
            self.completer.complete()

    def show_typed_user(self) -> bool:
        return self._show_text(self.user_edit.text())

    def _show_text(self, text: str) -> bool:
        text = text.strip()
        if not text:
            return False
        user_id = self.state.users.parse(text)
        if user_id is None:
            self.message.show_message(f"'{text}' is not a user id: user ids are whole numbers.", error=True)
            return False
        return self.show_user(user_id)

    def show_random_user(self) -> bool:
        user_id = self.state.users.random(self._rng)
        if user_id is None:
            self.message.show_message("No user has a history in the loaded data.", error=True)
            return False
        return self.show_user(user_id)

    # -- showing ----------------------------------------------------------------------------
    def show_user(self, user_id: int | str) -> bool:
        """Show ``user_id``'s history and top-k; False (with a message) when it cannot."""
        recommender = self.state.recommender
        if recommender is None:
            self.message.show_message(NO_MODEL_TEXT, error=True)
            return False
        user_id = id_value(user_id)
        self.current_user = user_id
        self._leave_what_if(user_id)
        if self.user_edit.text().strip() != str(user_id):
            self.user_edit.setText(str(user_id))
        if user_id not in recommender.histories:  # unknown, or every interaction filtered out
            return self._show_missing_user(user_id)
        catalog = self.state.catalog
        history = recommender.histories.frame_of(user_id).iloc[::-1].reset_index(drop=True)
        self.history_model.set_frame(catalog.titled(history))
        self.history_box.setTitle(f"History of user {user_id} — {len(history):,} interaction(s), most recent first")
        k, filter_viewed = self.k_spin.value(), self.filter_viewed.isChecked()
        try:
            recs = recommender.recommend([user_id], k=k, filter_viewed=filter_viewed)
        except RecommendError as exc:
            self._recommendations = None
            self.recs_model.clear()
            self.recs_box.setTitle("Recommendations")
            self.message.show_message(str(exc), error=True)
            self.card.show_item(None)
            self.profile.clear()
            self.why.clear()
            self.recommendations_changed.emit()
            return False
        self._recommendations = catalog.titled(recs)
        self.recs_model.set_frame(self._recommendations)
        self.recs_box.setTitle(f"Top {len(recs)} recommendations")
        known = len(recommender.known_items(user_id))
        seen = ", items already seen hidden" if filter_viewed else ""
        unknown = f" ({len(history) - known} of them with items the model does not know)" if known < len(history) else ""
        self.message.show_message(f"User {user_id}: {len(history):,} interaction(s) after filtering{unknown}; top {k}{seen}.")
        self.profile.show_profile(user_id, history, list(recs["item_id"]))
        if len(recs):
            self.recs_view.selectRow(0)  # card and "why" of the top recommendation
        self.recommendations_changed.emit()
        self.user_shown.emit(self.current_user)
        return True

    def _show_missing_user(self, user_id: int | str) -> bool:
        """``user_id`` has no history: empty tables without a user header, and a message saying
        why (not in the data, or which filter settings removed their interactions: worked out
        in the background). Returns False."""
        self._recommendations = None
        self.history_model.clear()
        self.recs_model.clear()
        self.history_box.setTitle(HISTORY_TITLE)
        self.recs_box.setTitle("Recommendations")
        self.card.show_item(None)
        self.profile.clear()
        self.why.clear()
        self.recommendations_changed.emit()
        self.message.show_message(CHECKING_TEXT.format(user=user_id), error=True)
        model, data, filtered = self.state.model, self.state.data, self.state.filtered
        if model is None:
            return False

        def done(text: str) -> None:
            if self.current_user == user_id and self.state.model is model:
                self.message.show_message(text, error=True)

        run_or_submit(
            self.runner, "missing-user",
            lambda: missing_user_text(user_id, model, data, filtered.result if filtered else None,
                                      filtered.config if filtered else None),
            done, lambda exc: done(f"User {user_id} has no history the model can recommend from ({exc})."),
        )
        return False

    def recommendations(self) -> pd.DataFrame | None:
        """The shown recommendations with titles (user_id, item_id, score, rank, title, …), or None."""
        return None if self._recommendations is None else self._recommendations.copy()

    def _refresh(self) -> None:
        if self.what_if_mode:
            self._session_timer.start()
        elif self.current_user is not None and self.state.recommender is not None:
            self.show_user(self.current_user)

    def _activate(self, model: FrameModel, index: QModelIndex) -> None:
        if index.isValid():
            self.item_activated.emit(id_value(model.value(index.row(), "item_id")))

    def _history_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = selected.indexes()
        if rows:
            self.card.show_item(id_value(self.history_model.value(rows[0].row(), "item_id")))

    def _recommendation_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = selected.indexes()
        if not rows or (self.current_user is None and not self.what_if_mode):
            return
        row = rows[0].row()
        item = id_value(self.recs_model.value(row, "item_id"))
        self.card.show_item(item)
        if self.what_if_mode:
            if self.what_if is not None:
                self.why.explain_session(self.what_if.items, item, float(self.recs_model.value(row, "score")))
            return
        self.why.explain(self.current_user, item, float(self.recs_model.value(row, "score")))

    def select_recommendation(self, row: int) -> int | str:
        """Select the recommendation in ``row`` (card and "why" follow); returns its item id."""
        self.recs_view.selectRow(row)
        return id_value(self.recs_model.value(row, "item_id"))

    def _model_changed(self) -> None:
        state = self.state
        if state.model is None:
            self.placeholder.show_placeholder(NO_MODEL_TEXT)
        elif not state.model_has_data:
            source = f" ({state.model_source})" if state.model_source else ""
            self.placeholder.show_placeholder(NO_DATA_TEXT.format(source=source))
        else:
            self.placeholder.show_content()
            self.subtitle.setText(
                f"Model: {state.model_origin}, {state.model.item_map.n_items:,} items; "
                f"{len(state.users):,} users with a history in the filtered data."
            )
        self.update_completions()
        if self.what_if_mode and state.model_has_data:
            self.recommend_session_now()
        elif self.current_user is not None and state.model_has_data:
            if not self.show_user(self.current_user):
                self.history_model.clear()
        else:
            self.current_user = None
            self._recommendations = None
            self.history_model.clear()
            self.recs_model.clear()
            self.message.show_message("")
            self.card.show_item(None)
            self.profile.clear()
            self.why.clear()
            self.recommendations_changed.emit()

    # -- what-if sessions -------------------------------------------------------------------
    @property
    def what_if_mode(self) -> bool:
        """Whether the "What-if session" tab is shown (its session drives the top-k)."""
        return self.left_tabs.currentWidget() is self.session_box

    def show_what_if(self, items: list[int | str] | None = None) -> None:
        """Show the what-if tab (with ``items``, oldest first, as the session when given) and
        score the session now."""
        self.left_tabs.setCurrentWidget(self.session_box)
        if items is not None:
            self.session_editor.set_items(items)
        self.recommend_session_now()

    def recommend_session_now(self) -> None:
        """Score the editor's session in the background (the page's runner; here without one).
        An empty session shows a message instead of recommendations."""
        self._session_timer.stop()
        if not self.what_if_mode:
            return
        recommender, catalog = self.state.recommender, self.state.catalog
        if recommender is None or not self.state.model_has_data:
            self.message.show_message(NO_MODEL_TEXT, error=True)
            return
        items = self.session_editor.items()
        self._session_request += 1
        request = self._session_request
        if not items:
            self._show_no_session(items, EMPTY_SESSION_TEXT, error=False)
            return
        k, filter_viewed = self.k_spin.value(), self.filter_viewed.isChecked()
        self.message.show_message("Scoring the what-if session …")

        def work() -> WhatIfResult:
            return what_if_recommendations(recommender, catalog, items, k, filter_viewed)

        run_or_submit(self.runner, "what-if", work, lambda r: self._session_done(r, request),
                      lambda exc: self._session_failed(exc, items, request))

    def _session_done(self, result: WhatIfResult, request: int) -> None:
        if request != self._session_request or not self.what_if_mode:
            return  # the session changed meanwhile, or the user tab is shown again
        self.what_if = result
        recs = result.recommendations
        self._recommendations = recs
        self.recs_stack.show_content()
        self.recs_model.set_frame(recs)
        self.recs_box.setTitle(f"Top {len(recs)} for the what-if session")
        self.message.show_message(result.message(self.state.catalog))
        self.profile.show_session(result.items, list(recs["item_id"]))
        if len(recs):
            self.recs_view.selectRow(0)  # card and "why" of the top recommendation
        self.recommendations_changed.emit()
        self.session_shown.emit(list(result.items))

    def _session_failed(self, exc: BaseException, items: list, request: int) -> None:
        if request != self._session_request or not self.what_if_mode:
            return
        text = str(exc) if isinstance(exc, RecommendError) else f"Could not score the what-if session: {type(exc).__name__}: {exc}"
        self._show_no_session(items, text, error=True)

    def _show_no_session(self, items: list, text: str, error: bool) -> None:
        """No top-k for this session (empty, or nothing the model knows): say why, in the table's place too."""
        self.what_if = None
        self._recommendations = None
        self.recs_model.clear()
        self.recs_stack.show_placeholder(text)
        self.recs_box.setTitle("Recommendations")
        self.message.show_message(text, error=error)
        self.profile.show_session(items, [])
        self.why.clear("Add items the model knows to the what-if session to see why it recommends what it does.")
        self.recommendations_changed.emit()
        self.session_shown.emit(list(items))

    def _leave_what_if(self, user_id: int | str) -> None:
        """A user is shown: back to the history tab (quietly), and the editor can copy their history."""
        self.session_editor.set_history_user(user_id)
        self._session_request += 1  # a session still being scored is no longer shown
        self.what_if = None
        self.recs_stack.show_content()
        if self.what_if_mode:
            self.left_tabs.blockSignals(True)
            self.left_tabs.setCurrentWidget(self.history_box)
            self.left_tabs.blockSignals(False)

    def _mode_changed(self) -> None:
        """The history or the what-if tab was chosen: show its top-k."""
        if self.what_if_mode:
            self.recommend_session_now()
        elif self.current_user is not None and self.state.model_has_data:
            self.show_user(self.current_user)
        else:
            self.what_if = None
            self._recommendations = None
            self.recs_stack.show_content()
            self.recs_model.clear()
            self.recs_box.setTitle("Recommendations")
            self.message.show_message("")
            self.profile.clear()
            self.why.clear()
            self.recommendations_changed.emit()
