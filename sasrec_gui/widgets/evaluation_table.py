"""The hold-out evaluation box: the final model and the popularity baseline, scored on the
held-out interactions (one row each, one column per metric @k)."""
from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHeaderView, QLabel, QVBoxLayout, QWidget

from core.experiment import Holdout
from core.protocol import Protocol

from ..logic.training import EvaluationPlan
from .common import make_table
from .frame_model import Column, FrameModel, fixed

#: Metric columns of the hold-out evaluation table, in this order (``@k`` appended).
EVALUATION_METRICS = ("HR", "NDCG", "Recall", "MAP", "MRR", "Coverage", "MeanPop")


class EvaluationBox(QGroupBox):
    """Hidden until a run with a hold-out ends; ``model`` is the shown table's ``FrameModel``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Hold-out evaluation", parent)
        self.setToolTip("The final model and the popularity baseline, scored on the held-out interactions.")
        self.message = QLabel()
        self.message.setObjectName("muted")
        self.message.setWordWrap(True)
        self.model = FrameModel()
        self.view = make_table(self.model)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.horizontalHeader().setStretchLastSection(False)  # with Stretch, it would take more than its share
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._fit_height()
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.view)
        self.hide()

    def begin(self, plan: EvaluationPlan) -> None:
        """Show the (empty) box while the run's hold-out is scored."""
        holdout = plan.holdout
        self.setTitle(f"Hold-out evaluation ({holdout.describe()}, metrics @{holdout.k}) — scoring …")
        self._message = (
            f"{plan.split_text}. Popular recommends the most watched items each user "
            "has not seen. MeanPop: mean training popularity of the recommended items."
        )
        self.message.setText(self._message)
        self.model.set_frame(pd.DataFrame())
        self.show()

    def set_protocol(self, protocol: Protocol) -> None:
        """Say how the table is measured (``Protocol.describe()``) under it and in its tooltip."""
        text = f"Measured on: {protocol.describe()}."
        self.message.setText(f"{getattr(self, '_message', '')} {text}".strip())
        self.view.setToolTip(text)

    def show_table(self, table: pd.DataFrame, holdout: Holdout) -> None:
        """``table``: one row per model (index "SASRec", "Popular"), columns ``<metric>@k``."""
        k = holdout.k
        self.setTitle(f"Hold-out evaluation ({holdout.describe()}, metrics @{k})")
        columns = [Column("model", "Model")]
        for name in EVALUATION_METRICS:
            key = f"{name}@{k}"
            if key in table.columns:  # the box title says @k: short headers fit without scrolling
                columns.append(Column(key, name, fixed(1 if name == "MeanPop" else 4), numeric=True))
        self.model = FrameModel(table.reset_index(), columns)
        self.view.setModel(self.model)
        self._fit_height()

    def show_failure(self, text: str) -> None:
        self.setTitle("Hold-out evaluation")
        self.message.setText(text)

    def _fit_height(self) -> None:
        """Exactly the header and two rows (SASRec, Popular)."""
        view = self.view
        header = max(view.horizontalHeader().sizeHint().height(), 24)
        view.setFixedHeight(header + 2 * view.verticalHeader().defaultSectionSize() + 2 * view.frameWidth() + 2)
