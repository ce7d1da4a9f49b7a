"""The "Open with options" dialog: format, date format and, for any other log, which columns
hold the user, the item, the time and the weight, over a preview of the file's first rows.

It opens by itself when a folder or file is not recognised (``UnrecognisedDataError``) or
its dates do not settle on one format (``DateFormatError``), showing core's message; its
result is a ``core.load.LoadOptions`` for ``load_data``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.dates import DATE_FORMAT_NAMES
from core.errors import DataError
from core.load import FORMATS, CsvMapping, LoadOptions
from core.preview import FilePreview, preview_file

from ..logic.data_files import mapped_file

#: (label, value) of the format choices.
FORMAT_CHOICES = (
    ("Recognise from the files", "auto"),
    ("KION (interactions.csv, items_en.csv, users_en.csv)", "kion"),
    ("MovieLens (ratings.csv, u.data or ratings.dat)", "movielens"),
    ("SASRec paper format (user item per line)", "sasrec"),
    ("Any log: choose the columns below", "csv"),
)
assert [v for _, v in FORMAT_CHOICES] == list(FORMATS)
#: (label, value) of the date formats; the combo is editable for strftime patterns.
DATE_CHOICES = (
    ("Inferred from all values", None),
    ("ISO (2021-03-13)", "iso"),
    ("Day first (13.03.2021, 13/03/2021)", "dayfirst"),
    ("Month first (03/13/2021)", "monthfirst"),
    ("Unix seconds", "unix_s"),
    ("Unix milliseconds", "unix_ms"),
)
assert [v for _, v in DATE_CHOICES[1:]] == list(DATE_FORMAT_NAMES)
#: (label, value) of the separators; None guesses.
SEPARATOR_CHOICES = (("Guess", None), ("Comma", "comma"), ("Semicolon", "semicolon"), ("Tab", "tab"),
                     ("Pipe |", "pipe"), ("Spaces or tabs", "whitespace"))
ROLES = (("user", "User id"), ("item", "Item id"), ("time", "Time"), ("weight", "Weight (optional)"))
PREVIEW_ROWS = 20


class LoadDialog(QDialog):
    """Choose how to read ``path``. ``chosen(path, options)`` is emitted on OK."""

    chosen = Signal(str, object)

    def __init__(self, path: str | Path, problem: str = "", options: LoadOptions | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open data with options")
        self.setObjectName("loadDialog")
        self.path = str(path)
        self.file = mapped_file(path)
        self.preview: FilePreview | None = None
        options = options or LoadOptions()

        self.problem = QLabel(problem)
        self.problem.setObjectName("errorText")
        self.problem.setWordWrap(True)
        self.problem.setVisible(bool(problem))
        where = QLabel(f"<b>{Path(self.path).name}</b> — {self.path}")
        where.setWordWrap(True)

        self.format_box = QComboBox()
        for label, value in FORMAT_CHOICES:
            self.format_box.addItem(label, value)
        self.format_box.setToolTip("How the data is laid out; 'Any log' reads one delimited file by the columns you choose.")
        self.date_box = QComboBox()
        self.date_box.setEditable(True)
        for label, value in DATE_CHOICES:
            self.date_box.addItem(label, value)
        self.date_box.setToolTip(
            "How the time column is written. Leave it inferred unless loading says the dates are ambiguous; "
            "or type a pattern such as %d.%m.%Y %H:%M."
        )
        top = QFormLayout()
        top.addRow("Format", self.format_box)
        top.addRow("Date format", self.date_box)

        self.mapping_box = QGroupBox("Columns" + (f" of {self.file.name}" if self.file else ""))
        self.sep_box = QComboBox()
        for label, value in SEPARATOR_CHOICES:
            self.sep_box.addItem(label, value)
        self.header_box = QCheckBox("The first line names the columns")
        self.role_boxes: dict[str, QComboBox] = {}
        roles_form = QFormLayout()
        roles_form.addRow("Separator", self.sep_box)
        roles_form.addRow("", self.header_box)
        for role, label in ROLES:
            box = QComboBox()
            box.setToolTip(f"The column that holds the {label.lower().replace(' (optional)', '')}.")
            self.role_boxes[role] = box
            roles_form.addRow(label, box)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setMinimumHeight(180)
        self.preview_note = QLabel()
        self.preview_note.setObjectName("muted")
        mapping_layout = QHBoxLayout(self.mapping_box)
        mapping_layout.addLayout(roles_form)
        right = QVBoxLayout()
        right.addWidget(self.table, 1)
        right.addWidget(self.preview_note)
        mapping_layout.addLayout(right, 1)

        self.error = QLabel()
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.problem)
        layout.addWidget(where)
        layout.addLayout(top)
        layout.addWidget(self.mapping_box, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(900, 560)

        self._set_options(options)
        self.format_box.currentIndexChanged.connect(self._update)
        self.sep_box.currentIndexChanged.connect(self._reload_preview)
        self.header_box.toggled.connect(self._fill_columns)
        for box in self.role_boxes.values():
            box.currentIndexChanged.connect(self._check)
        self.date_box.editTextChanged.connect(self._check)
        self._reload_preview()

    # -- state ------------------------------------------------------------------------------
    def _set_options(self, options: LoadOptions) -> None:
        fmt = options.effective_fmt
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(fmt)))
        if options.date_format is not None:
            index = self.date_box.findData(options.date_format)
            if index >= 0:
                self.date_box.setCurrentIndex(index)
            else:
                self.date_box.setEditText(options.date_format)
        if options.mapping is not None:
            self.sep_box.setCurrentIndex(max(0, self.sep_box.findData(options.mapping.sep)))
            self.header_box.setChecked(options.mapping.header)

    def date_format(self) -> str | None:
        """The chosen date format: None (inferred), a name, or the typed pattern."""
        text = self.date_box.currentText().strip()
        index = self.date_box.findText(text)
        if index >= 0:
            return self.date_box.itemData(index)
        return text or None

    def mapping(self) -> CsvMapping | None:
        """The chosen columns (header names, or positions without a header); None unless "csv"."""
        if self.format_box.currentData() != "csv" or self.preview is None:
            return None
        header = self.header_box.isChecked()
        picked = {role: box.currentData() for role, box in self.role_boxes.items()}
        return CsvMapping(picked["user"], picked["item"], picked["time"], picked["weight"], header,
                          self.sep_box.currentData() or self.preview.sep)

    def options(self) -> LoadOptions:
        return LoadOptions(fmt=self.format_box.currentData(), date_format=self.date_format(), mapping=self.mapping())

    # -- preview ----------------------------------------------------------------------------
    def _reload_preview(self) -> None:
        self.preview = None
        if self.file is not None:
            try:
                self.preview = preview_file(self.file, PREVIEW_ROWS, self.sep_box.currentData())
            except DataError as exc:
                self.preview_note.setText(str(exc))
        if self.preview is not None and self.sender() is not self.sep_box:
            self.header_box.blockSignals(True)
            self.header_box.setChecked(self.preview.has_header)
            self.header_box.blockSignals(False)
        self._fill_columns()

    def _fill_columns(self) -> None:
        preview = self.preview
        rows: list[list[str]] = []
        names: list[str] = []
        if preview is not None:
            rows = list(preview.rows)
            if self.header_box.isChecked() == preview.has_header:
                names = list(preview.columns)
            elif preview.has_header:  # the user says the "header" is data
                rows = [list(preview.columns), *rows]
                names = [str(i) for i in range(len(preview.columns))]
            else:  # the user says line 1 is a header
                names = list(rows[0]) if rows else []
                rows = rows[1:]
        self.table.clear()
        width = max([len(names), *(len(r) for r in rows)], default=0)
        self.table.setColumnCount(width)
        self.table.setRowCount(len(rows))
        labels = [names[j] if j < len(names) else str(j) for j in range(width)]
        shown = labels if self.header_box.isChecked() else [f"column {j}" for j in range(width)]
        self.table.setHorizontalHeaderLabels(shown)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(value))
        for role, box in self.role_boxes.items():
            previous = box.currentData()
            box.blockSignals(True)
            box.clear()
            if role == "weight":
                box.addItem("(none: weight 1)", None)
            for j, label in enumerate(shown):
                box.addItem(label, labels[j] if self.header_box.isChecked() else j)
            index = box.findData(previous)
            box.setCurrentIndex(index if index >= 0 else self._guess(role, labels, box))
            box.blockSignals(False)
        if preview is not None:
            self.preview_note.setText(f"The first {len(rows)} rows of {self.file.name if self.file else ''}.")
        self._update()

    @staticmethod
    def _guess(role: str, labels: list[str], box: QComboBox) -> int:
        """A likely column for ``role`` by its name, else the role's usual position."""
        hints = {"user": ("user", "customer", "client", "visitor", "uid"), "item": ("item", "product", "movie", "sku", "asin", "iid"),
                 "time": ("time", "date", "ts", "timestamp", "dt"), "weight": ("weight", "rating", "qty", "count", "score")}[role]
        offset = 1 if role == "weight" else 0
        for j, label in enumerate(labels):
            if any(h in label.lower() for h in hints):
                return j + offset
        if role == "weight":
            return 0
        position = {"user": 0, "item": 1, "time": len(labels) - 1}[role]
        return min(position, max(box.count() - 1, 0))

    # -- checks -----------------------------------------------------------------------------
    def _update(self) -> None:
        csv = self.format_box.currentData() == "csv"
        self.mapping_box.setEnabled(csv and self.file is not None)
        self._check()

    def problems(self) -> str:
        """Why Open is disabled ("" when it is not)."""
        if self.format_box.currentData() == "csv":
            if self.file is None:
                return "Choose a single delimited file to map its columns (a zip or an empty folder cannot be mapped)."
            if self.preview is None:
                return "The file could not be previewed; see above."
        try:
            self.options().validate()
        except DataError as exc:
            return str(exc)
        return ""

    def _check(self) -> None:
        text = self.problems()
        self.error.setText(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Open).setEnabled(not text)

    def _accept(self) -> None:
        if self.problems():
            return
        self.chosen.emit(self.path, self.options())
        self.accept()


__all__ = ["LoadDialog"]
