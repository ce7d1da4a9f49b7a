"""The Runs page's editor of one run's tags and free-text note (saved with ``RunStore.set_tags``
and ``set_note`` by the run history's worker)."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QWidget

from ..logic.run_records import RunView
from ..logic.run_views import parse_tags, tags_text


class RunNotes(QGroupBox):
    """Tags ("baseline, long run") and a note for the one selected run.

    ``save_requested(run_id, tags, note)`` on Save (tags split at commas and cleaned by
    ``core.runs.normalise_tags``); what the run history answers is shown by ``saved`` /
    ``failed``.
    """

    save_requested = Signal(int, list, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tags and note", parent)
        self.run_id: int | None = None
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, separated by commas")
        self.tags.setToolTip("Labels for this run, e.g. baseline, long run (a tag cannot contain a comma).")
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("A note about this run")
        self.note.setFixedHeight(54)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save the tags and the note in the run history.")
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.addWidget(QLabel("Tags"), 0, 0)
        grid.addWidget(self.tags, 0, 1)
        grid.addWidget(self.save_button, 0, 2)
        grid.addWidget(QLabel("Note"), 1, 0)
        grid.addWidget(self.note, 1, 1, 1, 2)
        grid.addWidget(self.status, 2, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.save_button.clicked.connect(self.save)
        self.show_run(None)

    def show_run(self, view: RunView | None) -> None:
        """Edit ``view``'s tags and note (None: nothing to edit, disabled)."""
        self.run_id = view.run_id if view is not None else None
        self.tags.setText(tags_text(view.record.tags) if view is not None else "")
        self.note.setPlainText(view.record.note if view is not None else "")
        for widget in (self.tags, self.note, self.save_button):
            widget.setEnabled(view is not None)
        self.status.setText("" if view is not None else "Select one run to tag it or write a note.")

    def save(self) -> bool:
        """Ask for the shown tags and note to be saved; False when no run is shown."""
        if self.run_id is None:
            return False
        self.status.setText("Saving …")
        self.save_requested.emit(self.run_id, parse_tags(self.tags.text()), self.note.toPlainText())
        return True

    def saved(self, run_id: int, tags: list[str], note: str) -> None:
        """The run history stored them (as cleaned by core)."""
        if run_id == self.run_id:
            self.tags.setText(tags_text(tags))
            self.note.setPlainText(note)
            self.status.setText("Saved.")

    def failed(self, text: str) -> None:
        self.status.setText(f"Not saved: {text}")
