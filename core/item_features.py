"""Categorical item features for SASRec's item tower, as RecTools 0.19 feeds its
``CatFeaturesItemNet``: every (column, value) pair of the chosen items-table columns is one
entry of a vocabulary, and each item has the list of entries it holds (RecTools' one-hot
``cat_item_features`` of a ``Dataset``, stored as CSR offsets and indices).

How a cell becomes feature values (the rule ``--item-features`` documents):

* **text** columns (genres, countries, directors, content_type, ...): the cell is split on
  commas, each part stripped and lower-cased ("Drama, comedy" -> ``drama``, ``comedy``, as
  RecTools' KION tutorial prepares genres); empty parts are dropped.
* **true/false** columns: ``true`` or ``false``.
* **year** columns (the name contains "year" and every value is a whole number from 1000 to
  2999, as release_year): the decade ("1990s").
* other **numeric** columns with at most ``MAX_EXACT_NUMERIC_VALUES`` distinct values among
  the catalog's items (for_kids, age_rating): one value each, written as the number ("12", "0.5").
* other **numeric** columns: ``N_QUANTILE_BUCKETS`` quantile buckets of the catalog's values
  ("12.5 to 20": the bucket's lower and upper edge; equal edges merge).
* missing values (empty, NaN) give no feature; an item absent from the items table has none.

Only items of the model's catalog (a ``core.sequences.ItemIdMap``) count; the PAD row
(internal id 0) has no feature. Qt-free; the result is plain lists and int64 tensors, so a
checkpoint stores it and loads it with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from pandas.api import types as ptypes

from .errors import ConfigError
from .sequences import PAD, ItemIdMap

#: The settings field (``SASRecConfig.item_features``); the CLI shows it as ``--item-features``.
FIELD = "item_features"
#: The items table's id column (never a feature: the id embedding is already there).
ITEM_ID = "item_id"
#: A numeric column with at most this many distinct values is categorical value by value.
MAX_EXACT_NUMERIC_VALUES = 20
#: Quantile buckets of a numeric column with more distinct values (and not a year).
N_QUANTILE_BUCKETS = 10
#: Whole numbers in this range, in a column whose name contains "year", are bucketed by decade.
YEAR_RANGE = (1000, 2999)


def parse_feature_columns(text: str) -> list[str]:
    """The column names of an ``item_features`` setting: ``"genres, countries"`` ->
    ``["genres", "countries"]``; ``""`` -> ``[]``. Raises ``ConfigError`` (field
    ``item_features``) for an empty name between commas or a name given twice."""
    if not isinstance(text, str):
        raise ConfigError({FIELD: f"must be text (column names separated by commas), got {text!r}"})
    if not text.strip():
        return []
    names = [part.strip() for part in text.split(",")]
    if any(not name for name in names):
        raise ConfigError({FIELD: f"{text!r} has an empty column name; write column names separated by commas, "
                                  "for example genres,countries"})
    repeated = [name for i, name in enumerate(names) if name in names[:i]]
    if repeated:
        raise ConfigError({FIELD: f"{text!r} names the column {repeated[0]!r} twice"})
    return names


def available_columns(items: pd.DataFrame | None) -> list[str]:
    """The items table's columns that can be item features (every column but ``item_id``),
    in table order; ``[]`` without an items table."""
    if items is None:
        return []
    return [str(c) for c in items.columns if c != ITEM_ID]


#: Free-text columns the app does not offer as features: nearly one value per item, so they would
#: only repeat the id embedding (they can still be named explicitly).
FREE_TEXT_COLUMNS = ("title", "title_orig", "description")


def suggested_columns(items: pd.DataFrame | None) -> list[str]:
    """The columns the app offers as item features: ``available_columns`` without the free-text
    ones (``FREE_TEXT_COLUMNS``), in table order; ``[]`` without an items table."""
    return [c for c in available_columns(items) if c not in FREE_TEXT_COLUMNS]


def check_feature_columns(items: pd.DataFrame | None, text: str) -> list[str]:
    """The columns of ``text`` (an ``item_features`` setting), checked against ``items``.

    Raises ``ConfigError`` (field ``item_features``, the CLI's ``--item-features``) when
    columns are asked for but there is no items table, or a column is not in it (the message
    lists the available columns)."""
    columns = parse_feature_columns(text)
    if not columns:
        return columns
    if items is None or ITEM_ID not in items.columns:
        raise ConfigError({FIELD: f"asks for {', '.join(columns)} but the data has no items table with an item_id "
                                  "column (KION's items_en.csv, MovieLens' movies.csv); open data with an items "
                                  "table or train on item ids only (leave it empty)"})
    have = available_columns(items)
    if ITEM_ID in columns:
        raise ConfigError({FIELD: f"item_id is the item's id, which the model embeds anyway; choose among: "
                                  f"{', '.join(have) or 'none'}"})
    missing = [c for c in columns if c not in have]
    if missing:
        raise ConfigError({FIELD: f"no column {', '.join(repr(c) for c in missing)} in the items table; "
                                  f"available: {', '.join(have) or 'none'}"})
    return columns


@dataclass
class ItemFeatures:
    """The categorical features of a catalog's items.

    ``columns``: the chosen items-table columns, in the order given. The vocabulary has one
    entry per (column, value) pair: ``value_columns[j]`` and ``values[j]`` (value text or
    bucket label). Internal item ``i`` (0 = PAD, 1..n_items) holds the entries
    ``indices[offsets[i]:offsets[i + 1]]`` (sorted, distinct); ``offsets`` is int64 with
    shape (n_items + 2,) and ``offsets[0] == offsets[1] == 0`` (PAD has none); ``indices``
    is int64 with shape (offsets[-1],).
    """

    columns: list[str]
    value_columns: list[str]
    values: list[str]
    offsets: torch.Tensor
    indices: torch.Tensor

    @property
    def n_items(self) -> int:
        """Real items covered (PAD not counted)."""
        return int(self.offsets.shape[0]) - 2

    @property
    def n_values(self) -> int:
        """Vocabulary size: the number of (column, value) pairs."""
        return len(self.values)

    def names(self) -> list[str]:
        """The vocabulary as ``"column=value"`` texts, in index order."""
        return [f"{c}={v}" for c, v in zip(self.value_columns, self.values)]

    def features_of(self, internal_id: int) -> list[tuple[str, str]]:
        """The (column, value) pairs of internal item ``internal_id`` (PAD: none)."""
        start, end = int(self.offsets[internal_id]), int(self.offsets[internal_id + 1])
        return [(self.value_columns[j], self.values[j]) for j in self.indices[start:end].tolist()]

    def bag_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``nn.EmbeddingBag`` inputs for the whole table: ``(indices, offsets[:-1])``, one bag
        per internal id 0..n_items (empty bags, PAD's included, sum to zero)."""
        return self.indices, self.offsets[:-1]

    def check(self) -> None:
        """Raise ``ValueError`` naming the first inconsistency (types, lengths, ranges)."""
        if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in (self.columns, self.value_columns, self.values)):
            raise ValueError("item features: columns, value_columns and values must be lists of text")
        for name, t in (("offsets", self.offsets), ("indices", self.indices)):
            if not isinstance(t, torch.Tensor) or t.dtype != torch.int64 or t.dim() != 1:
                raise ValueError(f"item features: {name} must be a 1-D int64 tensor")
        if len(self.value_columns) != len(self.values) or not self.values:
            raise ValueError("item features: the vocabulary is empty or its columns and values differ in length")
        if set(self.value_columns) - set(self.columns):
            raise ValueError("item features: a vocabulary entry names a column that is not chosen")
        off = self.offsets
        if off.shape[0] < 3 or int(off[0]) != 0 or int(off[1]) != 0 or bool((off[1:] < off[:-1]).any()):
            raise ValueError("item features: offsets must start 0, 0 (PAD has none) and never decrease")
        if int(off[-1]) != self.indices.shape[0]:
            raise ValueError("item features: the last offset must equal the number of indices")
        if self.indices.numel() and (int(self.indices.min()) < 0 or int(self.indices.max()) >= self.n_values):
            raise ValueError("item features: an index is outside the vocabulary")

    def to_payload(self) -> dict:
        """Plain lists and int64 tensors, as a checkpoint stores them (``from_payload`` reads them)."""
        return {
            "columns": list(self.columns), "value_columns": list(self.value_columns), "values": list(self.values),
            "offsets": self.offsets.detach().cpu().clone(), "indices": self.indices.detach().cpu().clone(),
        }

    @classmethod
    def from_payload(cls, payload: object) -> "ItemFeatures":
        """Rebuild from ``to_payload``'s dict; ``ValueError`` when it is not one or is inconsistent."""
        if not isinstance(payload, dict):
            raise ValueError("item features must be a dict")
        try:
            features = cls(payload["columns"], payload["value_columns"], payload["values"], payload["offsets"], payload["indices"])
        except KeyError as exc:
            raise ValueError(f"item features lack {exc.args[0]!r}") from None
        features.check()
        return features


def build_item_features(items: pd.DataFrame | None, columns: Sequence[str] | str, item_map: ItemIdMap) -> ItemFeatures | None:
    """The features of ``item_map``'s items from the ``columns`` of ``items`` (None when no
    column is chosen). ``columns``: names, or an ``item_features`` setting's text.

    Items are matched by ``item_id`` (int64 or text ids, as ``ItemIdMap.to_internal``);
    items-table rows of items outside the catalog are ignored. See the module's docstring
    for how cells become values. Raises ``ConfigError`` (field ``item_features``) for no
    items table, an unknown column, or a column with no value for any catalog item."""
    text = columns if isinstance(columns, str) else ",".join(columns)
    chosen = check_feature_columns(items, text)
    if not chosen:
        return None
    assert items is not None  # checked above
    internal = item_map.to_internal(items[ITEM_ID])
    keep = internal != PAD
    rows = internal[keep]
    pair_items: list[np.ndarray] = []
    pair_codes: list[np.ndarray] = []
    value_columns: list[str] = []
    values: list[str] = []
    for column in chosen:
        ids, labels, vocabulary = _column_values(items[column][keep], rows, column)
        if not vocabulary:
            raise ConfigError({FIELD: f"column {column!r} has no value for any of the {item_map.n_items:,} items the "
                                      "model trains on; choose other columns"})
        code_of = {label: len(values) + i for i, label in enumerate(vocabulary)}
        pair_items.append(ids)
        pair_codes.append(np.fromiter((code_of[label] for label in labels), dtype=np.int64, count=len(labels)))
        value_columns.extend([column] * len(vocabulary))
        values.extend(vocabulary)
    item_ids = np.concatenate(pair_items)
    codes = np.concatenate(pair_codes)
    pairs = np.unique(np.stack((item_ids, codes), axis=1), axis=0)  # sorted by item, then code; distinct
    counts = np.bincount(pairs[:, 0], minlength=item_map.n_items + 1) if len(pairs) else np.zeros(item_map.n_items + 1, np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    features = ItemFeatures(list(chosen), value_columns, values, torch.from_numpy(offsets),
                            torch.from_numpy(np.ascontiguousarray(pairs[:, 1], dtype=np.int64)))
    features.check()
    return features


def _column_values(cells: pd.Series, rows: np.ndarray, column: str) -> tuple[np.ndarray, list[str], list[str]]:
    """(internal ids, value labels, the column's vocabulary in order) of one column's cells
    (aligned with ``rows``); each (id, label) pair once per cell value."""
    present = ~np.asarray(pd.isna(cells), dtype=bool)
    cells, rows = cells[present], rows[present]
    dtype = cells.dtype
    if ptypes.is_bool_dtype(dtype):
        labels = np.where(np.asarray(cells, dtype=bool), "true", "false")
        return rows, labels.tolist(), sorted(set(labels.tolist()))
    if ptypes.is_numeric_dtype(dtype):
        return _numeric_values(np.asarray(cells, dtype=np.float64), rows, column)
    text = pd.Series(np.asarray(cells, dtype=object), index=pd.RangeIndex(len(cells))).astype(str)
    parts = text.str.split(",").explode().str.strip().str.lower()
    parts = parts[parts != ""]
    ids = rows[parts.index.to_numpy(dtype=np.int64)]
    labels = parts.tolist()
    return ids, labels, sorted(set(labels))


def _numeric_values(x: np.ndarray, rows: np.ndarray, column: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Numbers as exact values, decades or quantile buckets (module docstring)."""
    finite = np.isfinite(x)
    x, rows = x[finite], rows[finite]
    if len(x) == 0:
        return rows, [], []
    distinct = np.unique(x)
    whole = bool(np.all(x == np.round(x)))
    if "year" in column.lower() and whole and YEAR_RANGE[0] <= distinct[0] and distinct[-1] <= YEAR_RANGE[1]:
        decades = (x // 10 * 10).astype(np.int64)
        return rows, [f"{d}s" for d in decades.tolist()], [f"{d}s" for d in np.unique(decades).tolist()]
    if len(distinct) <= MAX_EXACT_NUMERIC_VALUES:
        names = {v: _number(v) for v in distinct.tolist()}
        return rows, [names[v] for v in x.tolist()], [names[v] for v in distinct.tolist()]
    edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, N_QUANTILE_BUCKETS + 1)))
    bucket = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    names = [f"{_number(edges[b])} to {_number(edges[b + 1])}" for b in range(len(edges) - 1)]
    used = sorted(set(bucket.tolist()))
    return rows, [names[b] for b in bucket.tolist()], [names[b] for b in used]


def _number(value: float) -> str:
    """A number as a feature value: whole numbers without ".0" ("12"), others short ("0.5")."""
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
