"""Regression metrics, rounded so that metrics files are byte-identical across runs, engines and
machines: errors below the noise floor (rounding noise of an exact fit) are 0."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from features_pipeline.model.metric_registry import (
    IN_MEMORY,
    METRICS,
    EvaluationPath,
    Sums,
)

SIGNIFICANT_DIGITS = 6
Metrics = dict[str, float | int | None]


def round_sig(value: float, digits: int | None = SIGNIFICANT_DIGITS) -> float | None:
    """``value`` to ``digits`` significant digits (None: as is); None for NaN or infinity."""
    if not math.isfinite(value):
        return None
    return value if digits is None else float(f"{value:.{digits}g}")


def noise_floor(target_rms: float) -> float:
    """The smallest error a metric reports: the registry's ``RESOLUTION`` (1e-9) of the target's
    root mean square.

    An exact fit (Sales Records' default model: Total Profit is a product of known columns)
    leaves residuals of pure rounding, ~1e-15 of the target's size, whose last digits depend on
    the engine and the order of float operations, not on the model. Below the floor an error is
    reported as 0, so metrics of such a fit are equal on every engine and every machine."""
    return Sums(0, 0, 0.0, 0.0, None, 0.0, target_rms).floor


def metrics_record(
    sums: Sums, path: EvaluationPath = IN_MEMORY, digits: int | None = SIGNIFICANT_DIGITS
) -> Metrics:
    """Every registered metric (``model/metric_registry.py``) by its formula for ``path`` from
    ``sums``, then ``mape_rows`` and ``rows``: errors below the noise floor are 0 (and ``r2``
    then 1), floats rounded to ``digits``. A metric without a formula for ``path`` is an error
    (``tests/test_metric_registry.py`` catches it before anyone runs that path)."""
    record: Metrics = {}
    with np.errstate(all="ignore"):  # NaN and infinity propagate
        for metric in METRICS:
            value = metric.formulas[path](sums)
            record[metric.name] = None if value is None else round_sig(value, digits)
    return {**record, "mape_rows": sums.mape_rows, "rows": sums.rows}


def regression_metrics(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, digits: int | None = SIGNIFICANT_DIGITS
) -> Metrics:
    """The registered metrics and row counts of predictions ``y_pred`` against ``y_true``.

    ``mape`` is a fraction (0.05 = 5 %) over rows whose target is not zero (``mape_rows`` of
    them), so zero targets cannot blow it up; it is None when every target is zero. ``r2`` is
    None when the target is constant (undefined). Errors below the :func:`noise_floor` (and a
    mape below the registry's ``RESOLUTION``) are 0. Floats are rounded to ``digits``
    significant digits (None: unrounded).
    """
    truth = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if truth.shape != pred.shape or truth.ndim != 1:
        raise ValueError(f"shapes differ or are not 1-d: {truth.shape} vs {pred.shape}")
    if truth.size == 0:
        raise ValueError("no rows to score")
    error = pred - truth
    nonzero = truth != 0
    sums = Sums(
        squared=float(np.sum(error**2)),
        absolute=float(np.sum(np.abs(error))),
        relative=float(np.sum(np.abs(error[nonzero]) / np.abs(truth[nonzero]))),
        spread=float(np.sum((truth - truth.mean()) ** 2)),
        target_rms=math.sqrt(float(np.mean(truth**2))),
        mape_rows=int(nonzero.sum()),
        rows=int(truth.size),
        errors=error,
    )
    return metrics_record(sums, IN_MEMORY, digits)


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
