"""Regression metrics, rounded so that metrics files are byte-identical across runs, engines and
machines: errors below the noise floor (rounding noise of an exact fit) are 0."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

SIGNIFICANT_DIGITS = 6
# Errors smaller than this fraction of the target's root mean square are rounding noise, not
# model error: reported as 0 (see noise_floor).
RESOLUTION = 1e-9
Metrics = dict[str, float | int | None]


def round_sig(value: float, digits: int | None = SIGNIFICANT_DIGITS) -> float | None:
    """``value`` to ``digits`` significant digits (None: as is); None for NaN or infinity."""
    if not math.isfinite(value):
        return None
    return value if digits is None else float(f"{value:.{digits}g}")


def noise_floor(target_rms: float) -> float:
    """The smallest error a metric reports: :data:`RESOLUTION` of the target's root mean square.

    An exact fit (Sales Records' default model: Total Profit is a product of known columns)
    leaves residuals of pure rounding, ~1e-15 of the target's size, whose last digits depend on
    the engine and the order of float operations, not on the model. Below the floor an error is
    reported as 0, so metrics of such a fit are equal on every engine and every machine."""
    return RESOLUTION * target_rms if math.isfinite(target_rms) else 0.0


def above_floor(value: float, floor: float) -> float:
    """``value`` (an error size: rmse, mae, a residual's magnitude), or 0.0 below ``floor``."""
    return 0.0 if abs(value) < floor else value


def metrics_record(
    *,
    squared_sum: float,
    absolute_sum: float,
    relative_sum: float | None,
    spread: float,
    target_rms: float,
    mape_rows: int,
    rows: int,
    digits: int | None = SIGNIFICANT_DIGITS,
) -> Metrics:
    """The metrics of :func:`regression_metrics` from the sums of the per-row error terms
    (squared, absolute, relative over the ``mape_rows`` non-zero targets), the target's spread
    (sum of squared deviations) and root mean square: errors below the :func:`noise_floor` are 0
    (and ``r2`` then 1), floats rounded to ``digits``."""
    floor = noise_floor(target_rms)
    with np.errstate(all="ignore"):  # NaN and infinity propagate
        rmse = above_floor(math.sqrt(squared_sum / rows) if squared_sum >= 0 else math.nan, floor)
        mae = above_floor(absolute_sum / rows, floor)
        mape = (
            None
            if relative_sum is None or not mape_rows
            else above_floor(relative_sum / mape_rows, RESOLUTION)
        )
        r2 = None if not spread > 0 else 1.0 if rmse == 0 else 1.0 - squared_sum / spread
    return {
        "rmse": round_sig(rmse, digits),
        "mae": round_sig(mae, digits),
        "r2": None if r2 is None else round_sig(r2, digits),
        "mape": None if mape is None else round_sig(mape, digits),
        "mape_rows": mape_rows,
        "rows": rows,
    }


def regression_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, digits: int | None = SIGNIFICANT_DIGITS
) -> Metrics:
    """rmse, mae, r2, mape and row counts of predictions ``y_pred`` against ``y_true``.

    ``mape`` is a fraction (0.05 = 5 %) over rows whose target is not zero (``mape_rows`` of
    them), so zero targets cannot blow it up; it is None when every target is zero. ``r2`` is
    None when the target is constant (undefined). Errors below the :func:`noise_floor` (and a
    mape below :data:`RESOLUTION`) are 0. Floats are rounded to ``digits`` significant digits
    (None: unrounded).
    """
    truth = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if truth.shape != pred.shape or truth.ndim != 1:
        raise ValueError(f"shapes differ or are not 1-d: {truth.shape} vs {pred.shape}")
    if truth.size == 0:
        raise ValueError("no rows to score")
    error = pred - truth
    nonzero = truth != 0
    return metrics_record(
        squared_sum=float(np.sum(error**2)),
        absolute_sum=float(np.sum(np.abs(error))),
        relative_sum=float(np.sum(np.abs(error[nonzero]) / np.abs(truth[nonzero]))),
        spread=float(np.sum((truth - truth.mean()) ** 2)),
        target_rms=math.sqrt(float(np.mean(truth**2))),
        mape_rows=int(nonzero.sum()),
        rows=int(truth.size),
        digits=digits,
    )


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
