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
