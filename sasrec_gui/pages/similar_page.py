"""Similar items page: find an item by title or id, see its nearest items by cosine similarity."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.errors import RecommendError
from core.ids import id_value

from ..services.state import AppState
from ..widgets.common import MessageLine, make_table, page_header, placeholder_page, single_shot_timer
from ..widgets.frame_model import FrameModel
from ..widgets.item_card import ItemCard
from ..widgets.item_columns import MATCH_COLUMNS, SIMILAR_COLUMNS, configure_item_table

NO_MODEL_TEXT = "Train a model or open a checkpoint to see similar items."
SEARCH_DEBOUNCE_MS = 150
MAX_MATCHES = 300


class SimilarPage(QWidget):
    """Title search (as you type) on the left, the chosen item's top-k similar items on the right."""

    item_shown = Signal(object)  # item id: int or str

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("page")
        self.state = state
        self.current_item: int | str | None = None
        self._back: list[int | str] = []

        header, self.subtitle = page_header("Similar items", "Items whose learned embeddings are closest (cosine).")
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search a title (any part, any case) or type an item id")
        self.search_edit.setClearButtonEnabled(True)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 200)
        self.k_spin.setValue(10)
        self.k_spin.setPrefix("Top ")
        self.k_spin.setToolTip("How many similar items to show.")
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("Return to the previously shown item.")
        self.back_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.search_edit, 1)
        bar.addWidget(self.k_spin)
        bar.addWidget(self.back_button)

        self.matches_model = FrameModel(columns=MATCH_COLUMNS)
        self.matches_view = make_table(self.matches_model)
        configure_item_table(self.matches_view, MATCH_COLUMNS)
        self.matches_box = QGroupBox("Items")
        QVBoxLayout(self.matches_box).addWidget(self.matches_view)
        self.similar_model = FrameModel(columns=SIMILAR_COLUMNS)
        self.similar_view = make_table(self.similar_model)
        configure_item_table(self.similar_view, SIMILAR_COLUMNS)
        self.target_label = QLabel("Choose an item on the left.")
        self.target_label.setObjectName("statValue")
        self.target_label.setWordWrap(True)
        self.message = MessageLine()
        self.similar_box = QGroupBox("Similar items")
        similar_layout = QVBoxLayout(self.similar_box)
        similar_layout.addWidget(self.target_label)
        similar_layout.addWidget(self.message)
        similar_layout.addWidget(self.similar_view, 1)
        self.card = ItemCard(state, similar_button=False)
        self.card_box = QGroupBox("Item")
        QVBoxLayout(self.card_box).addWidget(self.card)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.matches_box)
        self.splitter.addWidget(self.similar_box)
        self.splitter.addWidget(self.card_box)
        self.splitter.setSizes([420, 520, 260])  # the search list wide enough for its titles
        tip = QLabel("Click an item to see its neighbours and its card; double-click a neighbour to follow it.")
        tip.setObjectName("muted")

        self.placeholder = placeholder_page(self, header, [bar, self.splitter, tip], NO_MODEL_TEXT, stretch=self.splitter)

        self._debounce = single_shot_timer(self, SEARCH_DEBOUNCE_MS, self.search)
        self.search_edit.textChanged.connect(lambda _text: self._debounce.start())
        self.search_edit.returnPressed.connect(self._show_first_match)
        self.matches_view.clicked.connect(lambda index: self._activate(self.matches_model, index))
        self.matches_view.activated.connect(lambda index: self._activate(self.matches_model, index))
        self.similar_view.doubleClicked.connect(lambda index: self._activate(self.similar_model, index))
        self.similar_view.selectionModel().selectionChanged.connect(self._neighbour_selected)
        self.k_spin.valueChanged.connect(self._refresh)
        self.back_button.clicked.connect(self.go_back)
        state.model_changed.connect(self._model_changed)
        state.data_changed.connect(self.search)
        self._model_changed()

    # -- search -----------------------------------------------------------------------------
    def search(self, text: str | None = None) -> pd.DataFrame:
        """List items matching ``text`` (default: the search box) among the model's items."""
        self._debounce.stop()
        text = self.search_edit.text() if text is None else text
        matches = self.state.catalog.search(text, MAX_MATCHES, among=self.state.model_item_ids())
        self.matches_model.set_frame(matches)
        if self.current_item is not None:
            self._select_match(self.current_item)
        shown = f"first {MAX_MATCHES} " if len(matches) >= MAX_MATCHES else ""
        what = "the model's items" if self.state.model is not None else "items"
        self.matches_box.setTitle(f"{len(matches):,} {shown}matching {what}" if text.strip() else f"All {what} ({shown or ''}{len(matches):,} shown)")
        return matches

    def _select_match(self, item_id: int | str) -> None:
        """Highlight ``item_id`` in the search results when it is listed there."""
        frame = self.matches_model.frame
        rows = [] if frame.empty else list(frame.index[frame["item_id"].to_numpy() == item_id])
        if rows:
            self.matches_view.selectRow(int(rows[0]))
            self.matches_view.scrollTo(self.matches_model.index(int(rows[0]), 0))
        else:
            self.matches_view.clearSelection()

    def _show_first_match(self) -> None:
        self.search()
        if self.matches_model.rowCount():
            self.show_item(id_value(self.matches_model.value(0, "item_id")))

    # -- showing ----------------------------------------------------------------------------
    def show_item(self, item_id: int | str, *, remember: bool = True) -> bool:
        """Show the top-k items most similar to ``item_id``; False (with a message) when unknown."""
        recommender = self.state.recommender
        if recommender is None:
            self.message.show_message(NO_MODEL_TEXT, error=True)
            return False
        item_id = id_value(item_id)
        if remember and self.current_item is not None and self.current_item != item_id:
            self._back.append(self.current_item)
        self.back_button.setEnabled(bool(self._back))
        self.current_item = item_id
        self.card.show_item(item_id)
        self.target_label.setText(f"Similar to: {self.state.catalog.describe(item_id)}  [item {item_id}]")
        try:
            similar = recommender.similar([item_id], k=self.k_spin.value())
        except RecommendError as exc:
            self.similar_model.clear()
            self.message.show_message(str(exc), error=True)
            return False
        self.similar_model.set_frame(self.state.catalog.titled(similar))
        self.message.show_message(f"Top {len(similar)} by cosine similarity of the item embeddings.")
        self._select_match(item_id)
        self.item_shown.emit(item_id)
        return True

    def _neighbour_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = selected.indexes()
        if rows:
            self.card.show_item(id_value(self.similar_model.value(rows[0].row(), "item_id")))

    def go_back(self) -> None:
        if self._back:
            self.show_item(self._back.pop(), remember=False)
            self.back_button.setEnabled(bool(self._back))

    def _refresh(self) -> None:
        if self.current_item is not None and self.state.recommender is not None:
            self.show_item(self.current_item, remember=False)

    def _activate(self, model: FrameModel, index: QModelIndex) -> None:
        if index.isValid():
            self.show_item(id_value(model.value(index.row(), "item_id")))

    def _model_changed(self) -> None:
        if self.state.model is None:
            self.placeholder.show_placeholder(NO_MODEL_TEXT)
            self.current_item = None
            self.similar_model.clear()
            self.card.show_item(None)
        else:
            self.placeholder.show_content()
            self.subtitle.setText(
                f"Model: {self.state.model_origin}, {self.state.model.item_map.n_items:,} items. "
                "Items whose learned embeddings are closest (cosine)."
            )
            self._refresh()
        self.search()
