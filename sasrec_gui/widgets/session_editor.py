"""The what-if session editor: build a session by hand, oldest item first.

Add items by title (or id) search over the model's catalog (``logic.catalog.ItemCatalog.search``,
the Similar items page's search, in a completer popup), start from a user's history, drag rows
to reorder them or use the Up / Down / Remove / Clear buttons (Delete removes the selected
row). Every edit emits ``changed(items)``; the page debounces it and scores the session off the
UI thread. Items the model does not know (filtered out of its catalog) stay in the list, greyed
and marked, and are skipped when scoring.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.ids import id_value

from ..logic.what_if import known_mask
from ..services.state import AppState
from .common import single_shot_timer

SEARCH_DEBOUNCE_MS = 150
MAX_MATCHES = 30
ITEM_ROLE = Qt.ItemDataRole.UserRole
KNOWN_ROLE = Qt.ItemDataRole.UserRole + 1
LABEL_ROLE = Qt.ItemDataRole.UserRole + 2  # 'Title (year) · item 12', worked out once per row
UNKNOWN_SUFFIX = " — not in the model's catalog, skipped"
CAPTION = "Oldest first: the model reads down the list and predicts what comes next. Drag rows to reorder."


class SessionEditor(QWidget):
    """An editable list of item ids (oldest first) with title search.

    * ``changed(list)``: the session's item ids after any edit (add, remove, move, clear, drag).
    * ``item_selected(item_id)``: a row was selected (for the item card).
    * ``item_activated(item_id)``: a row was double-clicked (similar items).
    """

    changed = Signal(list)
    item_selected = Signal(object)
    item_activated = Signal(object)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.history_user: int | str | None = None
        self.matches = pd.DataFrame({"item_id": []})
        self._match_ids: dict[str, int | str] = {}
        self._updating = False

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Add an item: type part of a title (or an item id)")
        self.search_edit.setClearButtonEnabled(True)
        self.match_model = QStringListModel(self)
        self.completer = QCompleter(self.match_model, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.completer.setWidget(self.search_edit)  # not setCompleter: the popup never rewrites the text
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add the first match (or the highlighted one) at the end of the session.")
        self.search_hint = QLabel()
        self.search_hint.setObjectName("muted")
        self.search_hint.hide()  # shown while it has something to say

        self.list_widget = QListWidget()
        self.list_widget.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list_widget.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list_widget.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_widget.setAlternatingRowColors(True)
        self.list_widget.setMinimumHeight(64)
        self.list_widget.setToolTip("The what-if session, oldest first. Drag to reorder; double-click for similar items.")
        self.remove_action = QAction("Remove", self.list_widget)
        self.remove_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.list_widget.addAction(self.remove_action)

        self.up_button = QPushButton("▲ Up")
        self.up_button.setToolTip("Move the selected item one place earlier.")
        self.down_button = QPushButton("▼ Down")
        self.down_button.setToolTip("Move the selected item one place later.")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected item from the session (Delete).")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Start from an empty session.")
        self.history_button = QPushButton("Start from the user's history")
        self.history_button.setObjectName("primary")
        self.caption = QLabel(CAPTION)
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)

        search_row = QHBoxLayout()
        search_row.addWidget(self.search_edit, 1)
        search_row.addWidget(self.add_button)
        buttons = QHBoxLayout()
        for button in (self.up_button, self.down_button, self.remove_button, self.clear_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.history_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(search_row)
        layout.addWidget(self.search_hint)
        layout.addWidget(self.list_widget, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.caption)

        self._debounce = single_shot_timer(self, SEARCH_DEBOUNCE_MS, self._search_typed)
        self.search_edit.textEdited.connect(lambda _text: self._debounce.start())
        self.search_edit.returnPressed.connect(self._add_typed)
        self.add_button.clicked.connect(lambda _checked=False: self._add_typed())
        self.completer.activated.connect(self._completion_chosen)
        self.up_button.clicked.connect(lambda _checked=False: self.move_row(self.current_row(), -1))
        self.down_button.clicked.connect(lambda _checked=False: self.move_row(self.current_row(), 1))
        self.remove_button.clicked.connect(lambda _checked=False: self.remove_row(self.current_row()))
        self.remove_action.triggered.connect(lambda _checked=False: self.remove_row(self.current_row()))
        self.clear_button.clicked.connect(lambda _checked=False: self.clear())
        self.history_button.clicked.connect(lambda _checked=False: self.load_history())
        self.list_widget.currentRowChanged.connect(self._row_changed)
        self.list_widget.itemDoubleClicked.connect(lambda item: self.item_activated.emit(item.data(ITEM_ROLE)))
        self.list_widget.model().rowsMoved.connect(self._dragged)
        state.model_changed.connect(self._model_changed)
        state.data_changed.connect(self._relabel)
        self.set_history_user(None)
        self._update_buttons()

    # -- the session ------------------------------------------------------------------------
    def items(self) -> list[int | str]:
        """The session's item ids, oldest first."""
        return [self.list_widget.item(r).data(ITEM_ROLE) for r in range(self.list_widget.count())]

    def set_items(self, items: Sequence[int | str]) -> None:
        """Replace the session with ``items`` (oldest first)."""
        self._updating = True
        self.list_widget.clear()
        for item in items:
            self.list_widget.addItem(self._row_item(id_value(item)))
        self._updating = False
        self._edited()

    def add_item(self, item_id: int | str) -> None:
        """Append ``item_id`` as the latest item of the session (and select it)."""
        self._updating = True
        self.list_widget.addItem(self._row_item(id_value(item_id)))
        self.list_widget.setCurrentRow(self.list_widget.count() - 1)
        self._updating = False
        self._edited()

    def remove_row(self, row: int) -> bool:
        """Remove the item in ``row``; False when there is no such row."""
        if not 0 <= row < self.list_widget.count():
            return False
        self._updating = True
        self.list_widget.takeItem(row)
        if self.list_widget.count():
            self.list_widget.setCurrentRow(min(row, self.list_widget.count() - 1))
        self._updating = False
        self._edited()
        return True

    def move_row(self, row: int, delta: int) -> bool:
        """Move the item in ``row`` by ``delta`` places (-1: earlier); False when it cannot."""
        target = row + delta
        if not (0 <= row < self.list_widget.count() and 0 <= target < self.list_widget.count()):
            return False
        self._updating = True
        item = self.list_widget.takeItem(row)
        self.list_widget.insertItem(target, item)
        self.list_widget.setCurrentRow(target)
        self._updating = False
        self._edited()
        return True

    def clear(self) -> None:
        """Empty the session."""
        self.set_items([])

    def current_row(self) -> int:
        return self.list_widget.currentRow()

    # -- starting from a user's history -----------------------------------------------------
    def set_history_user(self, user_id: int | str | None) -> None:
        """The user whose history "Start from the user's history" copies (None: no user shown)."""
        self.history_user = None if user_id is None else id_value(user_id)
        if self.history_user is None:
            self.history_button.setText("Start from the user's history")
            self.history_button.setToolTip("Show a user on the history tab first.")
        else:
            self.history_button.setText(f"Start from user {self.history_user}'s history")
            self.history_button.setToolTip(
                f"Replace the session with user {self.history_user}'s history after filtering, oldest first: "
                "the recommendations are then exactly that user's."
            )
        self._update_buttons()

    def load_history(self) -> bool:
        """Replace the session with the history user's items (oldest first); False without one."""
        recommender = self.state.recommender
        if self.history_user is None or recommender is None:
            return False
        self.set_items(recommender.histories.items_of(self.history_user).tolist())
        return True

    # -- search -----------------------------------------------------------------------------
    def search(self, text: str) -> pd.DataFrame:
        """Items of the model's catalog matching ``text`` (title part or id), titled; shown in
        the completer popup when the search box has focus."""
        self._debounce.stop()
        text = text.strip()
        if not text:
            self.matches = pd.DataFrame({"item_id": []})
            self.match_model.setStringList([])
            self._hint("")
            return self.matches
        self.matches = self.state.catalog.search(text, MAX_MATCHES, among=self.state.model_item_ids())
        labels = [self._label(id_value(i)) for i in self.matches["item_id"]]
        self._match_ids = dict(zip(labels, (id_value(i) for i in self.matches["item_id"])))
        self.match_model.setStringList(labels)
        if self.matches.empty:
            self._hint(f"No item of the model's catalog matches “{text}”.")
        else:
            more = " (the first ones)" if len(self.matches) >= MAX_MATCHES else ""
            self._hint(f"{len(self.matches)} match(es){more}: pick one, or Enter adds the first.")
        if labels and self.search_edit.hasFocus():
            self.completer.complete()
        return self.matches

    def add_match(self, row: int = 0) -> int | str | None:
        """Add the search match in ``row`` (default the first); returns its id (None: no such match)."""
        if not 0 <= row < len(self.matches):
            return None
        item = id_value(self.matches["item_id"].iloc[row])
        self.add_item(item)
        self._reset_search()
        return item

    def _hint(self, text: str) -> None:
        self.search_hint.setText(text)
        self.search_hint.setVisible(bool(text))

    def _search_typed(self) -> None:
        self.search(self.search_edit.text())

    def _add_typed(self) -> None:
        if self.completer.popup().isVisible():
            return  # the popup's Enter picks the highlighted match (``activated``)
        self.search(self.search_edit.text())
        if self.add_match(0) is None and self.search_edit.text().strip():
            self._hint(f"Nothing to add: no item of the model's catalog matches “{self.search_edit.text().strip()}”.")

    def _completion_chosen(self, text: str) -> None:
        item = self._match_ids.get(text)
        if item is not None:
            self.add_item(item)
            self._reset_search()

    def _reset_search(self) -> None:
        self.completer.popup().hide()
        self.search_edit.clear()
        self.match_model.setStringList([])
        self.matches = pd.DataFrame({"item_id": []})
        self._hint("")

    # -- rows -------------------------------------------------------------------------------
    def _label(self, item_id: int | str) -> str:
        """'Title (year) · item 12' (the catalog's title when it has one)."""
        title = self.state.catalog.describe(item_id).split(" · ")[0]
        return title if title == f"Item {item_id}" else f"{title} · item {item_id}"

    def _row_item(self, item_id: int | str) -> QListWidgetItem:
        item = QListWidgetItem()
        item.setData(ITEM_ROLE, item_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsDragEnabled)
        self._describe(item)
        return item

    def _describe(self, item: QListWidgetItem) -> None:
        item_id = item.data(ITEM_ROLE)
        item.setData(LABEL_ROLE, self._label(item_id))
        item.setToolTip(self.state.catalog.describe(item_id))

    def _relabel(self) -> None:
        """Other data (another item table): the titles again."""
        for row in range(self.list_widget.count()):
            self._describe(self.list_widget.item(row))
        self.refresh_known()

    def refresh_known(self) -> None:
        """Number the rows and mark the items the current model does not know (one vectorised
        catalog lookup; the titles were worked out when the rows were added)."""
        recommender = self.state.recommender
        ids = self.items()
        known = known_mask(recommender, ids) if recommender is not None else [True] * len(ids)
        muted = QBrush(QColor("#8a94a3"))
        for row, ok in enumerate(known):
            item = self.list_widget.item(row)
            item.setText(f"{row + 1}. {item.data(LABEL_ROLE)}" + ("" if ok else UNKNOWN_SUFFIX))
            item.setData(KNOWN_ROLE, bool(ok))
            item.setForeground(QBrush() if ok else muted)

    def _model_changed(self) -> None:
        self.refresh_known()
        self._update_buttons()

    def unknown_rows(self) -> list[int]:
        """Rows whose item the model does not know."""
        return [r for r in range(self.list_widget.count()) if self.list_widget.item(r).data(KNOWN_ROLE) is False]

    def _edited(self) -> None:
        self.refresh_known()
        self._update_buttons()
        self.changed.emit(self.items())

    def _dragged(self, *_args: object) -> None:
        if not self._updating:
            self._edited()

    def _row_changed(self, row: int) -> None:
        self._update_buttons()
        if not self._updating and 0 <= row < self.list_widget.count():
            self.item_selected.emit(self.list_widget.item(row).data(ITEM_ROLE))

    def _update_buttons(self) -> None:
        row, n = self.current_row(), self.list_widget.count()
        self.up_button.setEnabled(0 < row < n)
        self.down_button.setEnabled(0 <= row < n - 1)
        self.remove_button.setEnabled(0 <= row < n)
        self.clear_button.setEnabled(n > 0)
        self.history_button.setEnabled(self.history_user is not None and self.state.recommender is not None)
