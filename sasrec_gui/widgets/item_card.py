"""Item card: everything the items table says about one item, in a scrollable panel."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.ids import id_value

from ..logic.explanations import ItemDetails
from ..services.state import AppState
from .common import FitWidthScrollArea, WordWrapLabel

EMPTY_TEXT = "Select an item to see its details."
#: Fields shown as a paragraph under the labelled rows rather than beside a label.
PARAGRAPH_FIELDS = ("Description", "Keywords")
HEADING_FIELDS = ("Title", "Original title")


class ItemCard(QWidget):
    """Title, original title, year, type, genres, countries, age rating, people, description
    and keywords of the selected item (fields the data lacks are left out).

    ``similar_requested(item_id)``: the "Similar items" button was pressed.
    """

    similar_requested = Signal(object)  # item id: int or str

    def __init__(self, state: AppState, parent: QWidget | None = None, similar_button: bool = True) -> None:
        super().__init__(parent)
        self.state = state
        self.item_id: int | str | None = None
        self._shown: dict[str, str] = {}
        self._details: ItemDetails | None = None
        self._details_source: object = None

        self.title_label = QLabel(EMPTY_TEXT)
        self.title_label.setObjectName("cardTitle")
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle_label = QLabel()
        self.subtitle_label.setObjectName("muted")
        self.subtitle_label.setWordWrap(True)
        self.rows = QGridLayout()
        self.rows.setColumnStretch(1, 1)
        self.rows.setHorizontalSpacing(10)
        self.rows.setVerticalSpacing(4)
        self.similar_button = QPushButton("Similar items")
        self.similar_button.setToolTip("Open the items whose embeddings are closest to this one.")
        self.similar_button.setVisible(similar_button)
        self.similar_button.setEnabled(False)
        self.similar_button.clicked.connect(lambda _checked=False: self.item_id is not None and self.similar_requested.emit(self.item_id))

        body = QWidget()
        body.setObjectName("cardBody")
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(2, 2, 8, 2)
        body_layout.addWidget(self.title_label)
        body_layout.addWidget(self.subtitle_label)
        body_layout.addSpacing(4)
        body_layout.addLayout(self.rows)
        body_layout.addStretch(1)
        self.scroll = FitWidthScrollArea(body, wrapping=True)  # never cuts a long word off on the right
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        if similar_button:
            layout.addWidget(self.similar_button, 0, Qt.AlignmentFlag.AlignLeft)
        state.data_changed.connect(self._data_changed)

    # -- data -------------------------------------------------------------------------------
    def details(self) -> ItemDetails:
        """The item table lookup for the loaded data (rebuilt when the data changes)."""
        items = self.state.data.items if self.state.data is not None else None
        if self._details is None or self._details_source is not items:
            self._details = ItemDetails(items)
            self._details_source = items
        return self._details

    def _data_changed(self) -> None:
        self._details = None
        if self.item_id is not None:
            self.show_item(self.item_id)

    # -- showing ----------------------------------------------------------------------------
    def fields(self) -> dict[str, str]:
        """Label -> text of what the card shows now (empty without an item)."""
        return dict(self._shown)

    def show_item(self, item_id: int | str | None) -> None:
        """Show ``item_id``'s card (None: the empty card)."""
        self._clear_rows()
        if item_id is None:
            self.item_id = None
            self._shown = {}
            self.title_label.setText(EMPTY_TEXT)
            self.subtitle_label.setText("")
            self.similar_button.setEnabled(False)
            return
        self.item_id = id_value(item_id)
        fields = self.details().fields(self.item_id)
        self._shown = fields
        self.title_label.setText(fields["Title"])
        sub = [fields[k] for k in ("Original title",) if k in fields and fields[k] != fields["Title"]]
        sub.append(f"item {self.item_id}")
        self.subtitle_label.setText(" · ".join(sub))
        row = 0
        for label, text in fields.items():
            if label in HEADING_FIELDS or label in PARAGRAPH_FIELDS:
                continue
            self._add_row(row, label, text)
            row += 1
        for label in PARAGRAPH_FIELDS:
            if label in fields:
                heading = QLabel(label)
                heading.setObjectName("cardKey")
                value = QLabel(fields[label])
                value.setWordWrap(True)
                value.setObjectName("cardParagraph" if label == "Description" else "muted")
                value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.rows.addWidget(heading, row, 0, 1, 2)
                self.rows.addWidget(value, row + 1, 0, 1, 2)
                row += 2
        known = self.state.model is not None and int(self.state.model.item_map.to_internal([self.item_id])[0]) != 0
        self.similar_button.setEnabled(known)
        self.similar_button.setToolTip(
            "Open the items whose embeddings are closest to this one." if known
            else "The model does not know this item (filtered out or not trained on)."
        )

    def _add_row(self, row: int, label: str, text: str) -> None:
        key = QLabel(label)
        key.setObjectName("cardKey")
        key.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        value = WordWrapLabel(text)  # wraps, never cuts a long word (a name) off on the right
        value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rows.addWidget(key, row, 0)
        self.rows.addWidget(value, row, 1)

    def _clear_rows(self) -> None:
        while self.rows.count():
            widget = self.rows.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # deleted later, when the event loop gets there
                widget.deleteLater()
