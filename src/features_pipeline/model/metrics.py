"""Regression metrics, rounded so that metrics files are byte-identical across runs."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SIGNIFICANT_DIGITS = 6
Metrics = dict[str, float | int | None]


def round_sig(value: float, digits: int | None = SIGNIFICANT_DIGITS) -> float | None:
    """``value`` to ``digits`` significant digits (None: as is); None for NaN or infinity."""
    if not math.isfinite(value):
        return None
    return value if digits is None else float(f"{value:.{digits}g}")


def regression_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, digits: int | None = SIGNIFICANT_DIGITS
) -> Metrics:
    """rmse, mae, r2, mape and row counts of predictions ``y_pred`` against ``y_true``.

    ``mape`` is a fraction (0.05 = 5 %) over rows whose target is not zero (``mape_rows`` of
    them), so zero targets cannot blow it up; it is None when every target is zero. ``r2`` is
    None when the target is constant (undefined). Floats are rounded to ``digits`` significant
    digits (None: unrounded).
    """
    truth = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if truth.shape != pred.shape or truth.ndim != 1:
        raise ValueError(f"shapes differ or are not 1-d: {truth.shape} vs {pred.shape}")
    if truth.size == 0:
        raise ValueError("no rows to score")
    error = pred - truth
    squared = float(np.mean(error**2))
    spread = float(np.sum((truth - truth.mean()) ** 2))
    nonzero = truth != 0
    mape = (
        float(np.mean(np.abs(error[nonzero]) / np.abs(truth[nonzero]))) if nonzero.any() else None
    )
    r2 = 1.0 - float(np.sum(error**2)) / spread if spread > 0 else None
    return {
        "rmse": round_sig(math.sqrt(squared), digits),
        "mae": round_sig(float(np.mean(np.abs(error))), digits),
        "r2": None if r2 is None else round_sig(r2, digits),
        "mape": None if mape is None else round_sig(mape, digits),
        "mape_rows": int(nonzero.sum()),
        "rows": int(truth.size),
    }


# What each test metric means, in one line: the report's metric table and `init`'s gate
# comments read it here (one home).
METRIC_MEANINGS: dict[str, str] = {
    "rmse": "typical error in target units; squares errors, so big misses weigh most (lower is "
    "better)",
    "mae": "average absolute error in target units; every miss weighs by its size (lower is "
    "better)",
    "r2": "share of the target's variance explained: 1 is exact, 0 is no better than "
    "predicting the mean",
    "mape": "average error as a fraction of the true value (0.1 = 10 %), over non-zero targets",
    "mape_rows": "test rows with a non-zero target, the rows MAPE averages over",
    "rows": "test rows scored",
}
NEAR_ZERO = 0.05  # |target| below this share of its median |target| is "near zero" for MAPE
NEAR_ZERO_SHARE = 0.01  # more than this share of such rows makes MAPE meaningless


def mape_caveat(target: npt.ArrayLike) -> str | None:
    """Why MAPE is not meaningful for these target values (None when it is): a target that
    crosses zero, or of which more than 1 % of the rows sit near zero (below 5 % of the median
    absolute value), divides errors by tiny numbers."""
    values = np.asarray(target, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "no target values"
    low, high = float(values.min()), float(values.max())
    if low < 0 < high:
        return (
            f"the target crosses zero ({low:,.6g} to {high:,.6g}): MAPE divides by values near "
            "0, so it is not meaningful here"
        )
    magnitude = np.abs(values)
    scale = float(np.median(magnitude))
    near = int(np.count_nonzero(magnitude <= NEAR_ZERO * scale)) if scale > 0 else values.size
    if near > NEAR_ZERO_SHARE * values.size:
        return (
            f"{near:,} of {values.size:,} target values sit near zero (absolute value <= "
            f"{round_sig(NEAR_ZERO * scale, 3) or 0.0:,g}): MAPE divides by them, so it is not "
            "meaningful here"
        )
    return None
