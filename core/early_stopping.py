"""Early stopping on a validation value, and the bookkeeping of the best epoch.

``EarlyStopping`` says what to watch (a metric key such as ``"NDCG@10"``, or ``"val_loss"``),
by how much it must improve (``min_delta``) and for how many validations it may fail to
(``patience``; 0 tracks the best epoch without ever stopping). ``BestTracker`` applies the
rule to the values ``core.train.fit`` sees after each validation. Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

#: The monitors the CLI and the form offer, and the key each watches (k filled in).
MONITORS = ("ndcg", "hr", "loss")
#: The key of the held-out loss among a run's validation values.
VAL_LOSS_KEY = "val_loss"


def monitor_key(monitor: str, k: int) -> str:
    """The validation value ``monitor`` watches at list length ``k``: ``"NDCG@10"``,
    ``"HR@10"`` or ``"val_loss"``. Raises ``ValueError`` for an unknown monitor."""
    if monitor == "ndcg":
        return f"NDCG@{k}"
    if monitor == "hr":
        return f"HR@{k}"
    if monitor == "loss":
        return VAL_LOSS_KEY
    raise ValueError(f"unknown monitor {monitor!r}; use one of {', '.join(MONITORS)}")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    validations in a row, and keep the best epoch's weights.

    ``monitor``: a metric key (higher is better) or ``"val_loss"`` (lower is better).
    ``patience`` 0: never stop and keep the last epoch, but still track the best one.
    """

    monitor: str = "NDCG@10"
    patience: int = 0
    min_delta: float = 0.0

    @property
    def maximize(self) -> bool:
        """Whether a higher value is better (every metric but the loss)."""
        return self.monitor != VAL_LOSS_KEY

    @property
    def restores_best(self) -> bool:
        """Whether the run keeps the best epoch's weights (early stopping is on)."""
        return self.patience > 0

    def value(self, metrics: dict[str, float], val_loss: float | None) -> float | None:
        """The monitored value of one validation (None when it was not measured)."""
        if self.monitor == VAL_LOSS_KEY:
            return val_loss
        value = metrics.get(self.monitor)
        return None if value is None else float(value)

    def describe(self) -> str:
        """One line for progress output and reports."""
        direction = "lowest" if not self.maximize else "highest"
        if not self.restores_best:
            return f"best epoch: {direction} {self.monitor}"
        delta = f" by more than {self.min_delta:g}" if self.min_delta else ""
        return (f"early stopping: {direction} {self.monitor}, stop after {self.patience} validation(s) "
                f"without improvement{delta}; the best epoch is kept")


class BestTracker:
    """The best value so far, its epoch, and how many validations since it improved."""

    def __init__(self, rule: EarlyStopping) -> None:
        self.rule = rule
        self.best_value: float | None = None
        self.best_epoch = 0
        self.waited = 0

    def start_from(self, epoch: int, value: float | None) -> None:
        """Take ``value`` of ``epoch`` as the best so far (a resumed run's kept epoch)."""
        if value is not None and math.isfinite(value):
            self.best_value, self.best_epoch, self.waited = float(value), int(epoch), 0

    def improves(self, value: float | None) -> bool:
        """Whether ``value`` beats the best by more than ``min_delta`` (the first finite
        value always does; None and NaN never do)."""
        if value is None or not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        if self.rule.maximize:
            return value > self.best_value + self.rule.min_delta
        return value < self.best_value - self.rule.min_delta

    def update(self, epoch: int, value: float | None) -> bool:
        """Record one validation; returns whether ``epoch`` is the new best."""
        if self.improves(value):
            self.best_value, self.best_epoch, self.waited = float(value), int(epoch), 0  # type: ignore[arg-type]
            return True
        self.waited += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Whether the patience is spent (never when ``patience`` is 0)."""
        return self.rule.patience > 0 and self.waited >= self.rule.patience


__all__ = ["BestTracker", "EarlyStopping", "MONITORS", "VAL_LOSS_KEY", "monitor_key"]
