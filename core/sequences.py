"""Id maps (external <-> internal, PAD = 0) and padded sequence tensors, as the notebook builds them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .ids import IdIndex, as_id_array, sorted_codes, to_kind

PAD = 0


@dataclass
class ItemIdMap:
    """Maps external item ids (int64 or text, see ``core.ids``) to internal ids 1..n (0 is PAD) and back."""

    external: np.ndarray  # int64 or object (str); external[i] is the external id of internal id i; external[0] is a placeholder (-1 or "")

    def __post_init__(self) -> None:
        self.external = as_id_array(self.external)
        self._index = IdIndex(self.external[1:])

    @classmethod
    def from_ids(cls, ids: np.ndarray) -> "ItemIdMap":
        """Internal ids in order of first appearance in ``ids`` (int64 or text ids)."""
        ids = as_id_array(ids)
        uniques = pd.unique(ids)
        if ids.dtype == object:
            external = np.empty(len(uniques) + 1, dtype=object)
            external[0] = ""
            external[1:] = uniques
            return cls(external)
        return cls(np.concatenate([[-1], uniques]).astype(np.int64))

    @classmethod
    def factorize(cls, ids: np.ndarray) -> tuple["ItemIdMap", np.ndarray]:
        """``from_ids(ids)`` and ``to_internal(ids)`` in one hash pass: the map (internal ids in
        order of first appearance) and the internal id of each of ``ids`` (int64, shape (n,))."""
        ids = as_id_array(ids)
        codes, uniques = pd.factorize(ids)
        if ids.dtype == object:
            external = np.empty(len(uniques) + 1, dtype=object)
            external[0] = ""
            external[1:] = np.asarray(uniques, dtype=object)
        else:
            external = np.concatenate([[-1], np.asarray(uniques)]).astype(np.int64)
        return cls(external), codes.astype(np.int64) + 1

    @property
    def n_items(self) -> int:
        """Number of real items (PAD not counted)."""
        return len(self.external) - 1

    @property
    def text_ids(self) -> bool:
        """Whether the external ids are text (else int64)."""
        return self.external.dtype == object

    def to_internal(self, ids: np.ndarray | list[int] | list[str]) -> np.ndarray:
        """Internal ids (int64, shape (n,)) for external ``ids``; unknown ids map to PAD (0).

        Ids of the other kind are converted first (``core.ids.to_kind``)."""
        pos = self._index.positions(ids)
        return np.where(pos >= 0, pos + 1, PAD).astype(np.int64)

    def to_external(self, internal: np.ndarray) -> np.ndarray:
        """External ids of internal ids (same kind as ``external``)."""
        return self.external[np.asarray(internal, dtype=np.int64)]


def user_keys(users: pd.Series | np.ndarray) -> np.ndarray:
    """Integer sort keys of user ids, ordered like the ids: int64 ids are their own keys,
    text ids are replaced by their rank among the sorted distinct ids (``pd.factorize``)."""
    values = users.to_numpy() if isinstance(users, pd.Series) else np.asarray(users)
    if values.dtype.kind in "iu":
        return values
    return sorted_codes(values)[0]


def _bits(n: int) -> int:
    """Bits needed for the values 0 .. n."""
    return max(int(n).bit_length(), 0)


def user_time_order(keys: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``np.lexsort((times, keys))``: positions ordered by key, then time, ties in input order
    (int64, shape (n,)); ``keys`` and ``times`` are int64 arrays of one length.

    When key, time and position fit in 63 bits together (KION: 21 + 8 + 23, times counted in
    their common step, e.g. days), one ``np.sort`` of the packed values replaces the lexsort:
    several times faster on millions of rows, and numpy releases the GIL while it sorts.
    """
    n = len(keys)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.int64)
    times = np.asarray(times, dtype=np.int64)
    k_low, k_high = int(keys.min()), int(keys.max())
    t_low, t_high = int(times.min()), int(times.max())
    if t_low == np.iinfo(np.int64).min:  # NaT: leave it to lexsort
        return np.lexsort((times, keys))
    t_rel = times - t_low
    step = int(np.gcd.reduce(t_rel)) if t_high > t_low else 1
    step = step or 1
    key_bits, time_bits, pos_bits = _bits(k_high - k_low), _bits((t_high - t_low) // step), _bits(n - 1)
    if key_bits + time_bits + pos_bits > 63:
        return np.lexsort((times, keys))
    packed = (keys - k_low) << (time_bits + pos_bits)
    packed |= (t_rel // step if step > 1 else t_rel) << pos_bits
    packed |= np.arange(n, dtype=np.int64)
    packed.sort()
    packed &= (1 << pos_bits) - 1
    return packed


def sort_by_user_time(interactions: pd.DataFrame) -> np.ndarray:
    """Row order grouping users together (in id order), each user's rows by datetime
    (stable: ties keep file order)."""
    times = interactions["datetime"].to_numpy().view(np.int64)
    return user_time_order(user_keys(interactions["user_id"]), times)


def _group_bounds(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and lengths of runs of equal keys in a sorted array."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    lengths = np.diff(np.r_[starts, len(sorted_keys)])
    return starts, lengths


@dataclass
class TrainingSequences:
    """Left-padded training tensors: ``x`` inputs, ``y`` shifted targets, ``w`` target weights.

    ``x`` and ``y`` hold internal item ids as int32 (half the memory of int64: ~250 MB less
    at KION size); the training step widens each batch's targets to int64 (``core.train``)."""

    x: torch.Tensor  # (n_users, maxlen) int32
    y: torch.Tensor  # (n_users, maxlen) int32
    w: torch.Tensor  # (n_users, maxlen) float32
    user_ids: np.ndarray  # external id of each row
    item_map: ItemIdMap

    @property
    def n_sequences(self) -> int:
        return int(self.x.shape[0])


def _filled_zeros(shape: tuple[int, int], dtype: type) -> np.ndarray:
    """Zeros written out front to back: the scattered writes that follow then hit memory that
    is already mapped (``np.zeros`` maps pages lazily, one fault per scattered first touch:
    several times slower on hundreds of megabytes)."""
    out = np.empty(shape, dtype=dtype)
    out.fill(0)
    return out


def build_training_sequences(interactions: pd.DataFrame, session_maxlen: int) -> TrainingSequences:
    """Notebook preprocessing: users with < 2 interactions dropped, last maxlen+1 items kept,
    input = s[:-1], target = s[1:], weights aligned with targets, left padding with PAD.

    Vectorised over all rows (a few seconds for KION's 5M on two cores): one packed sort
    (``user_time_order``), one factorize for the item map, flat scatters into x, y and w.
    """
    keys = user_keys(interactions["user_id"])
    order = user_time_order(keys, interactions["datetime"].to_numpy().view(np.int64))
    starts, lengths = _group_bounds(keys[order])
    keep_user = lengths >= 2
    starts, lengths = starts[keep_user], lengths[keep_user]
    kept = np.minimum(lengths, session_maxlen + 1)
    first = starts + lengths - kept  # first kept row of each user
    n = len(starts)
    # rows of each kept session, flattened (positions in ``order``)
    seq_of_row = np.repeat(np.arange(n), kept)
    offset_in_seq = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    source = order[first[seq_of_row] + offset_in_seq]  # row of the frame

    item_map, internal = ItemIdMap.factorize(interactions["item_id"].to_numpy()[source])
    row_weights = interactions["weight"].to_numpy(dtype=np.float32)[source]
    users = interactions["user_id"].to_numpy()[order[starts]]
    del order, source

    # element j of a session of length k (0 <= j < k): x holds elements 0 .. k-2 and y
    # elements 1 .. k-1, both right-aligned, so input j and target j + 1 share the flat
    # position row * maxlen + maxlen - k + 1 + j.
    last = np.cumsum(kept) - 1  # each session's last element
    is_input = np.ones(len(internal), dtype=bool)
    is_input[last] = False
    is_target = np.ones(len(internal), dtype=bool)
    is_target[last - kept + 1] = False
    pos = (seq_of_row * session_maxlen + (session_maxlen + 1) - np.repeat(kept, kept) + offset_in_seq)[is_input]
    del seq_of_row, offset_in_seq
    inputs, targets, target_weights = internal[is_input], internal[is_target], row_weights[is_target]
    del internal, row_weights, is_input, is_target  # the big temporaries go before x, y and w come
    id_dtype = np.int32 if item_map.n_items < np.iinfo(np.int32).max else np.int64
    x = _filled_zeros((n, session_maxlen), id_dtype)
    x.reshape(-1)[pos] = inputs
    del inputs
    y = _filled_zeros((n, session_maxlen), id_dtype)
    y.reshape(-1)[pos] = targets
    del targets
    w = _filled_zeros((n, session_maxlen), np.float32)
    w.reshape(-1)[pos] = target_weights
    return TrainingSequences(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w), users, item_map)


@dataclass
class UserHistories:
    """Every user's interactions in time order, for fast per-user lookup (1M users fine)."""

    user_ids: np.ndarray  # sorted unique external user ids (int64 or object of str, see core.ids)
    starts: np.ndarray
    lengths: np.ndarray
    item_ids: np.ndarray  # external item ids, grouped by user, in time order
    datetimes: np.ndarray
    weights: np.ndarray

    @classmethod
    def from_interactions(cls, interactions: pd.DataFrame) -> "UserHistories":
        keys = user_keys(interactions["user_id"])
        order = user_time_order(keys, interactions["datetime"].to_numpy().view(np.int64))
        users = as_id_array(interactions["user_id"].to_numpy())
        starts, lengths = _group_bounds(keys[order])
        return cls(
            users[order[starts]] if len(starts) else users[:0],
            starts,
            lengths,
            as_id_array(interactions["item_id"].to_numpy())[order],
            interactions["datetime"].to_numpy()[order],
            interactions["weight"].to_numpy(dtype=np.float32)[order],
        )

    @property
    def text_ids(self) -> bool:
        """Whether the user ids are text (else int64)."""
        return self.user_ids.dtype == object

    def __contains__(self, user_id: int | str) -> bool:
        return self.index_of(user_id) >= 0

    def index_of(self, user_id: int | str) -> int:
        """Position of ``user_id`` in ``user_ids`` or -1 (an id of the other kind is converted first)."""
        ids, valid = to_kind([user_id], self.user_ids)
        if not valid[0] or len(self.user_ids) == 0:
            return -1
        pos = int(np.searchsorted(self.user_ids, ids[0]))
        if pos < len(self.user_ids) and self.user_ids[pos] == ids[0]:
            return pos
        return -1

    def items_of(self, user_id: int | str) -> np.ndarray:
        """External item ids of the user, oldest first (empty when unknown)."""
        pos = self.index_of(user_id)
        if pos < 0:
            return self.item_ids[:0]
        s = self.starts[pos]
        return self.item_ids[s : s + self.lengths[pos]]

    def positions_of(self, user_ids: np.ndarray) -> np.ndarray:
        """Positions of many users in ``user_ids`` (-1 for unknown), vectorised; shape (n,)."""
        user_ids, valid = to_kind(user_ids, self.user_ids)
        if len(self.user_ids) == 0:
            return np.full(len(user_ids), -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.user_ids, user_ids), 0, len(self.user_ids) - 1)
        return np.where((self.user_ids[pos] == user_ids) & valid, pos, -1)

    def flat_items(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, external item id) of every interaction of the users at ``positions`` (all known)."""
        lengths = self.lengths[positions]
        row = np.repeat(np.arange(len(positions)), lengths)
        offset = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return row, self.item_ids[self.starts[positions][row] + offset]

    def frame_of(self, user_id: int | str) -> pd.DataFrame:
        """The user's history as a frame (item_id, datetime, weight), oldest first."""
        pos = self.index_of(user_id)
        if pos < 0:
            return pd.DataFrame({"item_id": self.item_ids[:0], "datetime": np.zeros(0, "datetime64[ns]"), "weight": np.zeros(0, np.float32)})
        sl = slice(self.starts[pos], self.starts[pos] + self.lengths[pos])
        return pd.DataFrame({"item_id": self.item_ids[sl], "datetime": self.datetimes[sl], "weight": self.weights[sl]})


def padded_last_items(row: np.ndarray, internal: np.ndarray, n_rows: int, session_maxlen: int) -> torch.Tensor:
    """Left-padded (n_rows, maxlen) tensor of each row's last ``maxlen`` known items.

    ``row`` (non-decreasing) and ``internal`` list items in time order per row; PAD (unknown)
    items are dropped first, as RecTools does for recommendation histories.
    """
    keep = internal != PAD
    row, internal = row[keep], internal[keep]
    counts = np.bincount(row, minlength=n_rows)
    ends = np.cumsum(counts)
    from_end = ends[row] - np.arange(len(row))  # 1 for a row's last item
    take = from_end <= session_maxlen
    x = np.zeros((n_rows, session_maxlen), dtype=np.int64)
    x[row[take], session_maxlen - from_end[take]] = internal[take]
    return torch.from_numpy(x)


def inference_sequences(histories: list[np.ndarray], item_map: ItemIdMap, session_maxlen: int) -> torch.Tensor:
    """Left-padded (n, maxlen) internal-id tensor from external-id histories; unknown items dropped."""
    x = np.zeros((len(histories), session_maxlen), dtype=np.int64)
    for row, hist in enumerate(histories):
        internal = item_map.to_internal(hist)
        internal = internal[internal != PAD][-session_maxlen:]
        if len(internal):
            x[row, session_maxlen - len(internal) :] = internal
    return torch.from_numpy(x)
