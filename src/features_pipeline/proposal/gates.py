"""Metric gates derived from the cross-validated baseline: each bound sits a margin below what
cross-validation on the train rows achieved, so a sound model passes on the test rows and a
broken one does not. No MAPE gate for a target that crosses zero or sits near it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from features_pipeline.model.cv import CvResult
from features_pipeline.model.metrics import mape_caveat

R2_MARGIN = 0.05  # the r2 bound: CV mean minus max(this, 3 std of the folds)
ERROR_MARGIN = 0.25  # rmse/mape bounds: CV mean times 1 + max(this, 3 std / mean)


@dataclass(frozen=True)
class ProposedGate:
    metric: str
    bound: str  # "min" or "max"
    value: float
    why: str  # the evidence, for the comment beside the gate


def _fold_values(cv: CvResult, metric: str) -> np.ndarray:
    values = [fold[metric] for fold in cv.folds]
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _floor(value: float, decimals: int = 2) -> float:
    scale = 10.0**decimals
    return math.floor(value * scale) / scale


def _ceil_sig(value: float, digits: int = 3) -> float:
    """``value`` rounded up to ``digits`` significant digits."""
    if value <= 0:
        return value
    step = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return float(f"{math.ceil(value / step) * step:.{digits}g}")


def propose_gates(cv: CvResult, target: npt.ArrayLike, model: str) -> list[ProposedGate]:
    """r2 (when the baseline explains anything), rmse, and mape unless :func:`mape_caveat`
    says it is not meaningful for ``target`` (train values)."""
    where = f"CV of {model} on the train rows ({len(cv.folds)} folds)"
    gates: list[ProposedGate] = []
    r2 = _fold_values(cv, "r2")
    if np.isfinite(r2).all():
        mean, std = float(r2.mean()), float(r2.std())
        bound = _floor(mean - max(R2_MARGIN, 3 * std))
        if bound > 0:
            why = f"{where}: R² {mean:.3f} ± {std:.3f}; bound = mean - max({R2_MARGIN}, 3 std)"
            gates.append(ProposedGate("r2", "min", bound, why))
    for metric, label in (("rmse", "RMSE"), ("mape", "MAPE")):
        if metric == "mape":
            caveat = mape_caveat(target)
            if caveat is not None:
                continue
        values = _fold_values(cv, metric)
        if not np.isfinite(values).all():
            continue
        mean, std = float(values.mean()), float(values.std())
        factor = 1 + max(ERROR_MARGIN, 3 * std / mean if mean > 0 else 0.0)
        why = (
            f"{where}: {label} {mean:,.4g} ± {std:,.4g}; bound = mean x "
            f"(1 + max({ERROR_MARGIN}, 3 std / mean))"
        )
        gates.append(ProposedGate(metric, "max", _ceil_sig(mean * factor), why))
    return gates
