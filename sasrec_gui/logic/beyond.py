"""Is it just recommending what is popular? The shown model beside the popularity baseline,
beyond accuracy, on a hold-out split of the model's own interactions (Qt-free; runs in a worker).

``measure_beyond`` splits the interactions the model recommends from (its filtered user
histories) with the model's own hold-out when it was trained with one (then the numbers are
honest: the model never saw the held-out interactions), else each user's last interaction, and
calls ``core.evaluate_model.evaluate_split(..., beyond=True)``: coverage, novelty, intra-list
diversity by genre and by SASRec's embeddings, serendipity, popularity share and mean
popularity for SASRec and Popular side by side (definitions: ``core.metrics_beyond``, README).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import RecommendError
from core.evaluate import Split
from core.evaluate_model import evaluate_split, make_split, metric_groups
from core.experiment import Holdout
from core.report_charts import BEYOND_CHART_METRICS, value_label
from core.sequences import UserHistories, repeat_by_lengths
from core.train import TrainedModel

#: Test users scored at most (a seeded random sample beyond that), as ``core.report`` does.
MAX_USERS = 20_000
#: What each beyond-accuracy metric says, for the table's last column and tooltips.
MEANINGS: dict[str, str] = {
    **BEYOND_CHART_METRICS,
    "MeanPop": "mean number of training users of the recommended items",
}
#: Accuracy metrics quoted beside the table when the split is honest.
ACCURACY_SHOWN = ("HR", "NDCG")


def model_interactions(histories: UserHistories) -> pd.DataFrame:
    """The interactions behind ``histories`` (user_id, item_id, datetime, weight), users in id
    order and each user's items in time order: the model's filtered data."""
    return pd.DataFrame({
        "user_id": repeat_by_lengths(histories.user_ids, histories.lengths),
        "item_id": histories.item_ids,
        "datetime": histories.datetimes,
        "weight": histories.weights,
    })


def last_out_split(histories: UserHistories) -> Split:
    """``core.evaluate.leave_last_out(model_interactions(histories))``, the same frames and
    counts, made from the histories' arrays without that frame or a sort (the histories are
    grouped by user in time order already): each user's last interaction held out when they
    have two or more, the held-out item dropped when no training row has it (``unknown``) or
    the user's own earlier rows do (``seen``). At KION size ~150 MB of temporaries instead of
    ~700 MB, and a second instead of several."""
    lengths = np.asarray(histories.lengths, dtype=np.int64)
    starts = np.asarray(histories.starts, dtype=np.int64)
    items = histories.item_ids
    has_test = lengths >= 2
    test_rows = (starts + lengths - 1)[has_test]
    in_train = np.ones(len(items), dtype=bool)
    in_train[test_rows] = False
    train = pd.DataFrame({
        "user_id": repeat_by_lengths(histories.user_ids, lengths - has_test),
        "item_id": items[in_train],
        "datetime": histories.datetimes[in_train],
        "weight": histories.weights[in_train],
    }, copy=False)
    codes, uniques = pd.factorize(items)
    test_codes = codes[test_rows]
    known = np.bincount(codes[in_train], minlength=len(uniques))[test_codes] > 0
    # seen: the held-out item among the user's own training rows (a run-length "any" per user)
    wanted = np.zeros(len(histories.user_ids), dtype=codes.dtype)
    wanted[has_test] = test_codes
    hit = (codes == repeat_by_lengths(wanted, lengths)) & in_train
    del codes
    seen = np.logical_or.reduceat(hit, starts)[has_test] if len(starts) else np.zeros(0, dtype=bool)
    fresh = known & ~seen
    test = pd.DataFrame({"user_id": histories.user_ids[has_test][fresh], "item_id": items[test_rows][fresh]})
    dropped = {"unknown": int((~known).sum()), "seen": int((known & seen).sum())}
    return Split(train, test, "last", dropped)


@dataclass
class BeyondResult:
    """``table``: ``evaluate_split``'s (rows SASRec and Popular, columns metric@k).
    ``honest``: measured on the model's own hold-out (it never saw the test interactions);
    otherwise the model was trained on them too, and accuracy and serendipity are optimistic.
    ``split_text``: ``Split.describe()``; ``n_users`` test users scored of ``n_test_users``."""

    table: pd.DataFrame
    k: int
    honest: bool
    split_text: str
    n_users: int
    n_test_users: int
    seconds: float

    def metrics_frame(self) -> pd.DataFrame:
        """The beyond-accuracy metrics as rows: metric, SASRec, Popular (values), sasrec_text,
        popular_text (formatted) and meaning; in ``metric_groups`` order."""
        _accuracy, beyond = metric_groups(self.table)
        rows = []
        for column in beyond.columns:
            name = column.split("@")[0]
            values = [float(self.table.loc[m, column]) if m in self.table.index else float("nan") for m in ("SASRec", "Popular")]
            rows.append({
                "metric": column,
                "SASRec": values[0],
                "Popular": values[1],
                "sasrec_text": _format(name, values[0]),
                "popular_text": _format(name, values[1]),
                "meaning": MEANINGS.get(name, ""),
            })
        return pd.DataFrame(rows, columns=["metric", "SASRec", "Popular", "sasrec_text", "popular_text", "meaning"])

    def protocol_text(self) -> str:
        """How the numbers were measured, in one or two sentences."""
        sample = f" (a random sample of {self.n_users:,} of the {self.n_test_users:,} test users)" if self.n_users < self.n_test_users else ""
        text = (f"Top {self.k} for each test user from their training history, seen items hidden: "
                f"{self.split_text}{sample}. Popular: the most popular items (distinct training users) "
                "each user has not seen.")
        if self.honest:
            return text + " The model was trained on this split's training part: every number is honest."
        return (text + " The model was trained on every interaction, held-out ones included, so accuracy and "
                "serendipity are optimistic; coverage, novelty, diversity and popularity do not use the held-out items.")

    def accuracy_text(self) -> str:
        """HR and NDCG of both lists (''  when not honest: they would flatter the model)."""
        if not self.honest:
            return ""
        parts = []
        for name in ACCURACY_SHOWN:
            column = f"{name}@{self.k}"
            if column in self.table.columns:
                s, p = (float(self.table.loc[m, column]) for m in ("SASRec", "Popular"))
                parts.append(f"{column} {s:.3f} vs {p:.3f}")
        return "Accuracy on the same split (SASRec vs Popular): " + "; ".join(parts) + "." if parts else ""


def _format(name: str, value: float) -> str:
    if name == "MeanPop":
        return "n/a" if not np.isfinite(value) else f"{value:,.1f}"
    return value_label(name, value)


def measure_beyond(
    model: TrainedModel,
    histories: UserHistories,
    items: pd.DataFrame | None,
    k: int = 10,
    holdout: Holdout | None = None,
    max_users: int = MAX_USERS,
    seed: int = 0,
) -> BeyondResult:
    """SASRec and Popular on a hold-out split of ``histories`` (the model's filtered data), top
    ``k``, beyond accuracy (genres from ``items`` when it has them).

    ``holdout``: the hold-out the model was trained with (its split is used and the result is
    honest); None: each user's last interaction. Raises ``RecommendError`` when the split leaves
    no test user. Cost: one ``evaluate_split`` over at most ``max_users`` test users (about a
    second on the demo data)."""
    start = time.perf_counter()
    scheme, days = (holdout.scheme, holdout.test_days) if holdout is not None else ("last", 7)
    if scheme == "last":
        split = last_out_split(histories)
    else:
        split = make_split(model_interactions(histories), scheme, days)  # the frame is dropped once split
    users = pd.unique(split.test["user_id"])
    if len(users) == 0:
        raise RecommendError(
            "The hold-out leaves no test user: every user has a single interaction (or, for the last days, none "
            "in that period). Open more data or loosen the filters."
        )
    chosen = users if len(users) <= max_users else np.random.default_rng(seed).choice(users, max_users, replace=False)
    test = split.test[split.test["user_id"].isin(chosen)]
    table = evaluate_split(model, Split(split.train, test, split.scheme, split.dropped, split.test_days), (k,), items=items, beyond=True)
    return BeyondResult(table, k, holdout is not None, split.describe(), len(chosen), len(users), time.perf_counter() - start)
