"""``AppState``: the one place holding loaded data, filter result, model and recommender."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.dataset import InteractionData
from core.filters import FilterConfig, FilterResult
from core.recommend import Recommender
from core.sequences import UserHistories
from core.train import TrainedModel

from ..logic.catalog import ItemCatalog
from ..logic.summary import DataSummary
from ..logic.user_index import UserIndex


@dataclass
class LoadedData:
    """What a folder load produces (computed in a worker)."""

    data: InteractionData
    summary: DataSummary
    folder: str
    label: str = ""


@dataclass
class Filtered:
    """What applying filters produces (computed in a worker)."""

    config: FilterConfig
    result: FilterResult
    summary: DataSummary


class AppState(QObject):
    """Shared application state; pages observe it through signals and never own data.

    * ``data_changed``: a folder was loaded (``data``, ``summary``, ``catalog``).
    * ``filter_changed``: the filters were applied (``filtered``).
    * ``model_changed``: a model was trained/opened or its user histories changed
      (``model``, ``recommender``, ``users``).
    * ``filters_pending_changed``: the Data page said whether ``filtered`` is what its filter
      form asks for (``filters_pending``: why not, "" when it is).
    """

    data_changed = Signal()
    filter_changed = Signal()
    model_changed = Signal()
    filters_pending_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loaded: LoadedData | None = None
        self.catalog = ItemCatalog(None)
        self.filtered: Filtered | None = None
        self.model: TrainedModel | None = None
        self.model_origin: str = ""
        self.model_source: str = ""  # the data folder a checkpoint says it was trained on
        self.recommender: Recommender | None = None
        self.users = UserIndex(np.zeros(0, dtype=np.int64))
        self.model_has_data = False
        #: why the open data may not be the model's own (shown as a banner); "" when it is
        self.data_warning = ""
        #: why ``filtered`` is not (yet) what the filter form asks for, e.g. "Applying the filters …"; "" when it is
        self.filters_pending = ""

    # -- data -------------------------------------------------------------------------------
    @property
    def data(self) -> InteractionData | None:
        return self.loaded.data if self.loaded else None

    def set_data(self, loaded: LoadedData) -> None:
        self.loaded = loaded
        self.catalog = ItemCatalog(loaded.data.items)
        self.filtered = None
        self.data_changed.emit()

    def set_filtered(self, filtered: Filtered) -> None:
        self.filtered = filtered
        self.filter_changed.emit()

    def set_filters_pending(self, reason: str) -> None:
        """Say why the filtered data does not match the filter form yet ("" when it does)."""
        self.filters_pending = reason
        self.filters_pending_changed.emit()

    # -- model ------------------------------------------------------------------------------
    def set_model(
        self, model: TrainedModel | None, histories: UserHistories | None, origin: str = "", source: str = "",
        data_warning: str = "",
    ) -> None:
        """Use ``model`` with ``histories`` (the filtered interactions it recommends from).

        ``histories`` may be None (no data loaded): similar items still work, user
        recommendations wait for data. ``data_warning`` says why the data may not be the
        model's own ("" when it is).
        """
        self.model = model
        self.data_warning = data_warning
        self.model_origin = origin
        self.model_source = source
        self._build_recommender(histories)
        self.model_changed.emit()

    def set_histories(self, histories: UserHistories | None, data_warning: str = "") -> None:
        """New user histories for the current model (data loaded after a checkpoint)."""
        if self.model is None:
            return
        self.data_warning = data_warning
        self._build_recommender(histories)
        self.model_changed.emit()

    def _build_recommender(self, histories: UserHistories | None) -> None:
        if self.model is None:
            self.recommender = None
            self.users = UserIndex(np.zeros(0, dtype=np.int64))
            self.model_has_data = False
            return
        self.model_has_data = histories is not None
        if histories is None:
            histories = UserHistories.from_interactions(_empty_interactions())
        self.recommender = Recommender(self.model, histories)
        self.users = UserIndex(histories.user_ids)

    def model_item_ids(self) -> np.ndarray | None:
        """External ids of the items the model knows (None without a model)."""
        if self.model is None:
            return None
        return self.model.item_map.external[1:]  # int64 or text (object of str)


def _empty_interactions():  # noqa: ANN202 - DataFrame
    import pandas as pd

    return pd.DataFrame(
        {
            "user_id": np.zeros(0, np.int64),
            "item_id": np.zeros(0, np.int64),
            "datetime": np.zeros(0, "datetime64[ns]"),
            "weight": np.zeros(0, np.float32),
        }
    )
