"""Pairing a trained model with interaction data: re-filter the data with the model's own
filter settings, and flag data that does not belong to the model.

A checkpoint records the fingerprint (``core.runs.data_fingerprint``) of the filtered
interactions it was trained from, and its catalog (``item_map``). Opening it with other data
still works, since recommendations only need histories, but item ids may then mean other
items and histories may be missing, so the CLI and the app show ``DataMatch.warning()``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .filters import FilterConfig, FilterResult, apply_filters
from .runs import data_fingerprint
from .train import TrainedModel


def model_filter_config(model: TrainedModel) -> FilterConfig:
    """The filter settings ``model`` was trained with (the defaults when it recorded none)."""
    return FilterConfig.from_dict(model.filter_config) if model.filter_config else FilterConfig()


def filter_for_model(model: TrainedModel, interactions: pd.DataFrame) -> FilterResult:
    """``interactions`` filtered with the model's own filter settings (``model_filter_config``).
    This is the one place that re-filters data for a model."""
    return apply_filters(interactions, model_filter_config(model))


@dataclass(frozen=True)
class DataMatch:
    """How well a model's training data and catalog match the data opened with it.

    ``fingerprint_matches`` is None when the model recorded no fingerprint (older
    checkpoints). Item counts are distinct external ids after the model's filters.
    """

    fingerprint_matches: bool | None
    model_items: int
    model_items_in_data: int
    data_items: int
    data_items_in_model: int

    @property
    def ok(self) -> bool:
        """True when nothing suggests the data is not the model's: the recorded fingerprint
        matches (items seen only in a hold-out or by one-interaction users are not in the
        model's catalog, rightly), or, without a fingerprint, the catalogs agree."""
        if self.fingerprint_matches is not None:
            return self.fingerprint_matches
        return self.model_items_in_data == self.model_items and self.data_items_in_model == self.data_items

    def warning(self) -> str:
        """One user-facing sentence, or "" when ``ok``."""
        if self.ok:
            return ""
        unknown = self.data_items - self.data_items_in_model
        if self.model_items_in_data == self.model_items and unknown == 0:
            return (
                "The data differs from the data this model was trained on (same catalog of "
                f"{self.model_items:,} items, other interactions): histories come from the data now open."
            )
        share = self.model_items_in_data / self.model_items if self.model_items else 0.0
        text = (
            "This data does not match the model's catalog: "
            f"{self.model_items_in_data:,} of the model's {self.model_items:,} items ({share:.0%}) occur in it"
        )
        if unknown:
            text += f", and {unknown:,} of its {self.data_items:,} items are unknown to the model"
        return text + ". Item ids may name other items here; open the data the model was trained on."


def check_data_match(model: TrainedModel, filtered: pd.DataFrame) -> DataMatch:
    """Compare ``model`` with ``filtered`` (interactions already filtered with the model's
    settings, e.g. ``filter_for_model(model, data).interactions``).

    Cost: one hash of the frame (about 0.3 s for 5M rows) and one id lookup per distinct item.
    """
    users = filtered["user_id"].to_numpy()
    if len(users):  # rows of users with two or more (codes and a bincount: no GIL-held hash map of 5M rows)
        codes = pd.factorize(users)[0]
        in_sequences = np.bincount(codes)[codes] >= 2
    else:
        in_sequences = np.zeros(0, dtype=bool)
    # a user's only interaction never enters a training sequence, so its item may be unknown
    data_items = pd.unique(filtered["item_id"].to_numpy()[in_sequences])
    model_ids = model.item_map.external[1:]
    data_in_model = int(np.count_nonzero(model.item_map.to_internal(data_items) != 0)) if len(data_items) else 0
    model_in_data = int(pd.Index(data_items).get_indexer(model_ids).__ge__(0).sum()) if len(model_ids) else 0
    fingerprint = None
    if model.data_fingerprint:
        fingerprint = data_fingerprint(filtered) == model.data_fingerprint
    return DataMatch(fingerprint, len(model_ids), model_in_data, len(data_items), data_in_model)
