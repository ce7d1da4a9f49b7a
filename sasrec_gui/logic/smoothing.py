"""The loss curve's smoothing (Qt-free): a bias-corrected exponential moving average, computed
by pandas, shared by the live loss plot and the run-comparison curves.

The bias-corrected EMA (TensorBoard's smoothing, Adam's moment correction) is
``s_t = beta * s_(t-1) + (1 - beta) * x_t`` from ``s_0 = 0``, shown as ``s_t / (1 - beta**t)``.
Since ``1 - beta**t = (1 - beta) * sum_(i<=t) beta**(t-i)``, that is
``sum_(i<=t) beta**(t-i) * x_i / sum_(i<=t) beta**(t-i)``: exactly pandas'
``Series.ewm(alpha=1 - beta, adjust=True).mean()``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: The EMA spans about 1/40 of a run's steps, but at least 3 and at most 200 steps.
STEPS_PER_WINDOW, MIN_WINDOW, MAX_WINDOW = 40.0, 3.0, 200.0


def ema_alpha(total_steps: int) -> float:
    """The smoothing factor (``1 - beta``) for a run of ``total_steps`` training steps."""
    window = min(max(total_steps / STEPS_PER_WINDOW, MIN_WINDOW), MAX_WINDOW)
    return 1.0 / window


def bias_corrected_ema(values: Sequence[float] | np.ndarray, alpha: float) -> np.ndarray:
    """Bias-corrected EMA of ``values`` (n,) with smoothing factor ``alpha`` in (0, 1]: (n,) float64.

    NaN values are skipped (each output is the EMA of the finite values so far); core never
    reports a non-finite loss (``core.train`` raises ``TrainingError`` instead).
    Raises ValueError for an ``alpha`` outside (0, 1].
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    series = pd.Series(np.asarray(values, dtype=np.float64))
    if series.empty:
        return np.zeros(0)
    return series.ewm(alpha=alpha, adjust=True).mean().to_numpy()
