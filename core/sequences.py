"""Id maps (external <-> internal, PAD = 0) and training sequences, as the notebook builds them:
kept compact (only the real items) and padded one batch at a time."""
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


def repeat_by_lengths(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``np.repeat(values, lengths)`` (``values[i]`` ``lengths[i]`` times, in order) built from a
    ``bincount``, a ``cumsum`` and a ``take``, each of which releases the GIL: ``np.repeat``
    with per-element counts holds it throughout (15-50 ms for a million users' histories, a
    freeze of the app's interface while a background job runs it). Shapes: ``values`` (n, ...),
    ``lengths`` (n,) non-negative integers; returns (lengths.sum(), ...)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    values = np.asarray(values)
    if lengths.shape != values.shape[:1]:
        raise ValueError(f"lengths has shape {lengths.shape}, values {values.shape}: one length per value")
    if len(lengths) and lengths.min() < 0:
        raise ValueError("lengths must not be negative")
    total = int(lengths.sum())
    if total == 0:
        return values[:0]
    ends = np.cumsum(lengths)[:-1]  # a value starts after each of these rows (several, for a zero length)
    index = np.bincount(ends[ends < total], minlength=total)[:total]
    np.cumsum(index, out=index)  # row -> its value (values repeated zero times are skipped over)
    return values.take(index, axis=0)


def _group_bounds(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and lengths of runs of equal keys in a sorted array."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    lengths = np.diff(np.r_[starts, len(sorted_keys)])
    return starts, lengths


@dataclass
class TrainingSequences:
    """The training sequences, compact: each kept session's items (oldest first) and their
    weights, session after session, with the sessions' offsets (CSR).

    A session of ``k`` items (2 <= k <= maxlen + 1) gives the inputs ``items[o : o + k - 1]``,
    the shifted targets ``items[o + 1 : o + k]`` and the targets' weights ``weights[o + 1 :
    o + k]`` (``o = offsets[i]``; the weight of a session's first item is never used).
    ``batch(rows)`` pads the rows' sessions on the left into the notebook's (b, maxlen) x, y
    and w; ``x``, ``y`` and ``w`` are those of every session (built on each access: hundreds
    of MB at KION size, where the compact form is ~50 MB).

    Item ids are int32 (half the memory of int64); the training step widens each batch's
    targets to int64 (``core.train``)."""

    items: torch.Tensor  # (n_elements,) int32 (int64 when mapped onto a checkpoint's catalog): internal item ids
    weights: torch.Tensor  # (n_elements,) float32: each item's weight
    offsets: torch.Tensor  # (n_sequences + 1,) int64: session i is items[offsets[i] : offsets[i + 1]]
    session_maxlen: int
    user_ids: np.ndarray  # external id of each row
    item_map: ItemIdMap

    @property
    def n_sequences(self) -> int:
        return int(self.offsets.shape[0]) - 1

    @property
    def target_lengths(self) -> torch.Tensor:
        """Targets (and inputs) of each session: its items less one; (n_sequences,) int64."""
        return self.offsets[1:] - self.offsets[:-1] - 1

    def has_pad_items(self) -> bool:
        """Whether any item is PAD (an item id the map could not place): such targets are skipped."""
        return bool((self.items == PAD).any())

    def target_counts(self) -> torch.Tensor:
        """Non-PAD targets of each session, (n_sequences,) int64: what ``(y != 0).sum(1)`` gives."""
        if not self.has_pad_items():
            return self.target_lengths
        real = (self.items != PAD).long()
        real[self.offsets[:-1]] = 0  # a session's first item is no target
        total = torch.cat((real.new_zeros(1), torch.cumsum(real, 0)))
        return total[self.offsets[1:]] - total[self.offsets[:-1]]

    def to(self, device: torch.device | str) -> "TrainingSequences":
        """The same sequences with the tensors on ``device`` (the same object's tensors when already there)."""
        return TrainingSequences(self.items.to(device), self.weights.to(device), self.offsets.to(device),
                                 self.session_maxlen, self.user_ids, self.item_map)

    def head(self, n: int) -> "TrainingSequences":
        """The first ``n`` sequences (all of them when there are fewer)."""
        n = min(max(int(n), 0), self.n_sequences)
        end = int(self.offsets[n])
        return TrainingSequences(self.items[:end], self.weights[:end], self.offsets[: n + 1], self.session_maxlen,
                                 self.user_ids[:n], self.item_map)

    def batch(self, rows: torch.Tensor, n_targets: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Left-padded ``x`` inputs, ``y`` shifted targets (item dtype) and ``w`` target weights
        (float32), each (len(rows), maxlen), of the sessions ``rows`` (int64 tensor on the
        sequences' device): exactly the rows of the dense tensors.

        One vectorised index computation; ``n_targets`` (the rows' ``target_lengths`` summed,
        known on the host) spares the device a host sync."""
        return self.batch_and_cells(rows, n_targets)[:3]

    def batch_and_cells(
        self, rows: torch.Tensor, n_targets: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``batch(rows, n_targets)`` and the flat positions (row * maxlen + column, int64,
        row-major) of the batch's targets: every target's cell, PAD targets included (none
        unless ``has_pad_items``)."""
        length = self.session_maxlen
        device = self.offsets.device
        b = int(rows.shape[0])
        starts = self.offsets.index_select(0, rows)
        lengths = self.offsets.index_select(0, rows + 1) - starts - 1
        owner = torch.repeat_interleave(torch.arange(b, device=device), lengths, output_size=n_targets)
        first = torch.cumsum(lengths, 0) - lengths  # each row's first element among ``owner``
        j = torch.arange(owner.shape[0], device=device) - first.index_select(0, owner)  # input j of its row
        dst = owner * length + (length - lengths).index_select(0, owner) + j  # right-aligned, flat
        src = starts.index_select(0, owner) + j  # input j; its target is the next item
        x = self.items.new_zeros(b * length).index_copy_(0, dst, self.items.index_select(0, src))
        src += 1
        y = self.items.new_zeros(b * length).index_copy_(0, dst, self.items.index_select(0, src))
        w = self.weights.new_zeros(b * length).index_copy_(0, dst, self.weights.index_select(0, src))
        return x.view(b, length), y.view(b, length), w.view(b, length), dst

    def dense(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``batch`` of every session: the padded (n_sequences, maxlen) x, y and w."""
        rows = torch.arange(self.n_sequences, device=self.offsets.device)
        return self.batch(rows, int(self.offsets[-1]) - self.n_sequences)

    @property
    def x(self) -> torch.Tensor:
        """Padded inputs of every session, (n_sequences, maxlen) (built on each access)."""
        return self.dense()[0]

    @property
    def y(self) -> torch.Tensor:
        """Padded shifted targets of every session, (n_sequences, maxlen) (built on each access)."""
        return self.dense()[1]

    @property
    def w(self) -> torch.Tensor:
        """Padded target weights of every session, (n_sequences, maxlen) (built on each access)."""
        return self.dense()[2]


def build_training_sequences(interactions: pd.DataFrame, session_maxlen: int) -> TrainingSequences:
    """Notebook preprocessing: users with < 2 interactions dropped, last maxlen+1 items kept,
    input = s[:-1], target = s[1:], weights aligned with targets (padding comes per batch,
    ``TrainingSequences.batch``).

    Vectorised over all rows (a few seconds for KION's 5M on two cores): one packed sort
    (``user_time_order``), one factorize for the item map, one gather of the kept rows.
    """
    keys = user_keys(interactions["user_id"])
    order = user_time_order(keys, interactions["datetime"].to_numpy().view(np.int64))
    starts, lengths = _group_bounds(keys[order])
    keep_user = lengths >= 2
    starts, lengths = starts[keep_user], lengths[keep_user]
    kept = np.minimum(lengths, session_maxlen + 1)
    first = starts + lengths - kept  # first kept row of each user
    n = len(starts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(kept, out=offsets[1:])
    # rows of each kept session, flattened (positions in ``order``)
    source = np.arange(int(offsets[-1]), dtype=np.int64)
    source += repeat_by_lengths(first - offsets[:-1], kept)
    source = order[source]  # row of the frame
    users = interactions["user_id"].to_numpy()[order[starts]]
    del order
    item_map, internal = ItemIdMap.factorize(interactions["item_id"].to_numpy()[source])
    weights = interactions["weight"].to_numpy(dtype=np.float32)[source]
    del source
    id_dtype = np.int32 if item_map.n_items < np.iinfo(np.int32).max else np.int64
    items = internal.astype(id_dtype)
    return TrainingSequences(torch.from_numpy(items), torch.from_numpy(weights), torch.from_numpy(offsets),
                             session_maxlen, users, item_map)


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
        row = repeat_by_lengths(np.arange(len(positions)), lengths)
        offset = np.arange(int(lengths.sum())) - (np.cumsum(lengths) - lengths)[row]
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
