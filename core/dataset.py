"""The one in-memory form every loader produces: ``InteractionData``."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Columns every interactions frame has, with their dtypes. Ids are "int64" when every id
#: of the column is a whole number that fits in 64 bits, else "str" (text exactly as given;
#: numpy arrays of them are ``object`` arrays of ``str``). See ``core.ids``; users and
#: items are independent.
REQUIRED_COLUMNS: dict[str, str] = {
    "user_id": "int64 or str",
    "item_id": "int64 or str",
    "datetime": "datetime64[ns]",
    "weight": "float32",
}
#: Optional columns a loader may add (float64): KION's total_dur / watched_pct, MovieLens' rating.
OPTIONAL_COLUMNS: tuple[str, ...] = ("total_dur", "watched_pct", "rating")
#: Item metadata columns shown next to recommendations, when the items table has them.
TITLE_COLUMNS: tuple[str, ...] = ("title", "title_orig", "release_year", "genres")


@dataclass
class InteractionData:
    """Interactions plus optional item and user tables, as loaded from one source.

    ``interactions`` has ``REQUIRED_COLUMNS`` (weight defaults to 1.0) and any of
    ``OPTIONAL_COLUMNS``. ``items`` (if any) has ``item_id`` (unique, the same kind as the
    interactions' item ids: int64 or str) and KION's item columns that the source provides;
    ``users`` (if any) has ``user_id`` (unique, the interactions' kind).
    """

    interactions: pd.DataFrame
    items: pd.DataFrame | None = None
    users: pd.DataFrame | None = None
    source: str = ""
    format: str = "csv"  # "kion" | "movielens" | "csv" | "demo"
    notes: list[str] = field(default_factory=list)

    @property
    def n_interactions(self) -> int:
        return len(self.interactions)
