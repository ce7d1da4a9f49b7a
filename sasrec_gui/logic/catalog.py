"""Item metadata for display: titles, years, genres, and title search (no Qt here).

Item ids are whole numbers or text (``core.ids``); an id asked for in the other kind is
converted first, so a model and a catalog always meet on the same ids."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.dataset import TITLE_COLUMNS
from core.ids import as_id_array, id_like, id_value, to_kind
from core.recommend import with_titles


class ItemCatalog:
    """Titles and other display columns of the items, searchable by title or id."""

    def __init__(self, items: pd.DataFrame | None) -> None:
        if items is None or "item_id" not in items.columns:
            items = pd.DataFrame({"item_id": np.zeros(0, dtype=np.int64)})
        present = [c for c in TITLE_COLUMNS if c in items.columns]
        self.items = items[["item_id", *present]].drop_duplicates("item_id").reset_index(drop=True)
        self.has_titles = "title" in self.items.columns
        title = self.items["title"].astype("string").fillna("") if self.has_titles else pd.Series("", index=self.items.index)
        orig = self.items["title_orig"].astype("string").fillna("") if "title_orig" in self.items.columns else title
        self._search_text = (title + "\n" + orig).str.lower().to_numpy(dtype=object)
        self._ids = as_id_array(self.items["item_id"].to_numpy())
        self.text_ids = self._ids.dtype == object
        self._by_id = pd.Series(np.arange(len(self.items)), index=pd.Index(self._ids, dtype=self._ids.dtype))

    def __len__(self) -> int:
        return len(self.items)

    def titled(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (with an item_id column) joined with title, title_orig, release_year, genres."""
        out = self._looked_up(frame)
        if out is None:
            out = with_titles(frame, self.items if len(self.items) else None)
        for col in TITLE_COLUMNS:
            if col not in out.columns:
                out[col] = pd.NA
        if "title" in out.columns:
            missing = out["title"].isna()
            if missing.any():
                out["title"] = out["title"].astype(object)
                out.loc[missing, "title"] = [f"Item {i}" for i in out.loc[missing, "item_id"]]
        return out

    def _looked_up(self, frame: pd.DataFrame) -> pd.DataFrame | None:
        """``with_titles``'s join as a lookup in the catalog's own id index (a top-k or a history
        is titled while a user is shown: a merge re-deduplicated the whole items table each
        time); None where the join is needed (no items, ids of the other kind, a title column
        already in ``frame``)."""
        present = [c for c in TITLE_COLUMNS if c in self.items.columns]
        if not len(self.items) or "item_id" not in frame.columns or set(present) & set(frame.columns):
            return None
        ids = frame["item_id"].to_numpy()
        if (ids.dtype == object) != self.text_ids:
            return None
        positions = self._by_id.index.get_indexer(ids)
        meta = self.items[present].take(np.where(positions < 0, 0, positions)).reset_index(drop=True)
        missing = positions < 0
        if missing.any():  # as the left join: no metadata for an id the catalog does not know
            for col in present:
                meta[col] = meta[col].where(~missing)
        out = frame.reset_index(drop=True)
        return pd.concat([out, meta], axis=1)

    def describe(self, item_id: int | str) -> str:
        """'Title (year) · genres' or 'Item <id>' when the catalog does not know it."""
        item_id = id_value(item_id)
        key = id_like(item_id, self._ids)
        pos = None if key is None else self._by_id.get(key)
        if pos is None:
            return f"Item {item_id}"
        row = self.items.iloc[int(pos)]
        title = str(row["title"]) if self.has_titles and pd.notna(row["title"]) else f"Item {item_id}"
        year = row.get("release_year")
        if year is not None and pd.notna(year):
            title += f" ({int(year)})"
        genres = row.get("genres")
        if genres is not None and pd.notna(genres) and str(genres):
            title += f" · {genres}"
        return title

    def search(self, text: str, limit: int = 200, among: np.ndarray | None = None) -> pd.DataFrame:
        """Items whose title or original title contains ``text`` (case-insensitive), or whose id is ``text``
        (text ids: whose id starts with ``text``, case-sensitive as ids are).

        ``among`` restricts the result to those item ids (e.g. the model's catalog). An id
        match comes first; the rest keep catalog order.
        """
        text = text.strip()
        mask = np.ones(len(self.items), dtype=bool) if not text else np.fromiter(
            (text.lower() in s for s in self._search_text), dtype=bool, count=len(self._search_text)
        )
        if text and self.text_ids:
            mask |= np.fromiter((i.startswith(text) for i in self._ids.tolist()), dtype=bool, count=len(self._ids))
        among_ids = None
        if among is not None:
            among_ids = as_id_array(among)
            converted, valid = to_kind(among_ids, self._ids)
            mask &= np.isin(self._ids, converted[valid])
        frame = self.items.loc[mask, ["item_id"]]
        if not len(self.items) and among_ids is not None:  # no item table (checkpoint without data): ids only
            frame = pd.DataFrame({"item_id": among_ids[[text in str(i) for i in among_ids.tolist()]] if text else among_ids})
        key = id_like(text, among_ids if among_ids is not None else self._ids) if text else None
        if key is not None:
            in_catalog = id_like(key, self._ids) in self._by_id.index
            in_model = among_ids is None or key in set(among_ids.tolist())
            if in_model and (in_catalog or among_ids is not None):
                first = pd.DataFrame({"item_id": as_id_array([key])})
                frame = pd.concat([first, frame[frame["item_id"].to_numpy() != key]], ignore_index=True)
        return self.titled(frame.head(limit).reset_index(drop=True))
