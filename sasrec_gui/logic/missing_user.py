"""Why a user has no history to recommend from (Qt-free; run it in a worker: it scans the data).

A user the model cannot recommend for is either not in the loaded data at all, or every one
of their interactions was removed by the model's filter settings; ``core.filters.
why_user_filtered`` names the settings that removed them.
"""
from __future__ import annotations

from core.dataset import InteractionData
from core.filters import FilterConfig, FilterResult, apply_filters, why_user_filtered
from core.train import TrainedModel

#: Shown at once while ``missing_user_text`` runs.
CHECKING_TEXT = "User {user} has no history the model can recommend from; checking why …"


def model_filter_config(model: TrainedModel) -> FilterConfig:
    """The filter settings the model was trained with (the defaults when it recorded none)."""
    return FilterConfig.from_dict(model.filter_config) if model.filter_config else FilterConfig()


def missing_user_text(
    user_id: int | str, model: TrainedModel, data: InteractionData | None, filtered: FilterResult | None = None,
    filtered_config: FilterConfig | None = None,
) -> str:
    """One sentence: why ``user_id`` has no history in the model's (filtered) data.

    ``filtered`` (made with ``filtered_config``) is reused when those are the model's own
    settings; otherwise the data are filtered again with them. Cost: a few scans of the
    interactions (about a second at KION size when filtering again).
    """
    if data is None:
        return f"User {user_id} cannot be looked up: no data is loaded."
    config = model_filter_config(model)
    if filtered is None or filtered_config != config:
        filtered = apply_filters(data.interactions, config)
    text = why_user_filtered(user_id, data.interactions, filtered.interactions, config)
    if not text:  # in the filtered data, yet without a history (e.g. data opened after the model)
        return f"User {user_id} has no history in the data the model recommends from."
    if "all removed by the filters" in text:
        text += " Loosen those settings on the Data page and train again to recommend for this user."
    return text
