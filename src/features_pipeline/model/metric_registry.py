"""The one list of test metrics: name, direction, a formula for each evaluation path, report
label, and whether cross-validation scores it and a gate may use it.

Every engine evaluates on one of two paths: ``in_memory`` (the test rows in this process:
Polars, DuckDB) or ``distributed`` (exact per-batch partial sums combined on the driver: an
engine whose tables live in a warehouse, Spark; see ``model/cluster.py``). A formula reads the
:class:`Sums` both paths compute; only the in-memory path also carries the per-row errors. A
metric needs a formula for every path some registered engine uses
(``tests/test_metric_registry.py`` fails otherwise): a median is not a sum, so a median metric
has no distributed formula until someone writes one.

Adding a metric is one entry in :data:`METRICS` (see CONTRIBUTING.md): params validation (gates,
``train.auto.metric``), cross-validation, the metrics files, the report and ``compare`` read it.
Pure Python (``math``): the CLI and params read it without loading numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from features_pipeline.contracts.text import quoted_choices

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

EvaluationPath = Literal["in_memory", "distributed"]
IN_MEMORY: EvaluationPath = "in_memory"
DISTRIBUTED: EvaluationPath = "distributed"
Direction = Literal["lower", "higher"]
# Errors smaller than this fraction of the target's root mean square are rounding noise, not
# model error: reported as 0 (see model/metrics.py: noise_floor).
RESOLUTION = 1e-9


@dataclass(frozen=True)
class Sums:
    """What every evaluation path computes exactly from the (actual, predicted) pairs."""

    rows: int
    mape_rows: int  # rows with a non-zero target
    squared: float  # Σ error²
    absolute: float  # Σ |error|
    relative: float | None  # Σ |error| / |actual| over the mape rows
    spread: float  # Σ (actual - mean)²
    target_rms: float  # √(Σ actual² / rows)
    errors: npt.NDArray[np.float64] | None = None  # predicted - actual per row (in memory only)

    @property
    def floor(self) -> float:
        """The smallest error reported: :data:`RESOLUTION` of the target's root mean square."""
        return RESOLUTION * self.target_rms if math.isfinite(self.target_rms) else 0.0


Formula = Callable[[Sums], float | None]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # short label: report tables, CV labels
    direction: Direction  # which way is better (train.auto, compare's sort order)
    formulas: Mapping[str, Formula]  # by evaluation path
    detail: str = ""  # said after the label in the test metrics table
    cv: bool = False  # scored on every cross-validation fold (<name>_mean, <name>_std)
    gate: bool = True  # evaluate.gates may bound it

    @property
    def report_label(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label


def above_floor(value: float, floor: float) -> float:
    """``value`` (an error size: rmse, mae, a residual's magnitude), or 0.0 below ``floor``."""
    return 0.0 if abs(value) < floor else value


def rmse(sums: Sums) -> float:
    root = math.sqrt(sums.squared / sums.rows) if sums.squared >= 0 else math.nan
    return above_floor(root, sums.floor)


def mae(sums: Sums) -> float:
    return above_floor(sums.absolute / sums.rows, sums.floor)


def r2(sums: Sums) -> float | None:
    """None for a constant target (undefined); 1 when the rmse is below the noise floor."""
    if not sums.spread > 0:
        return None
    return 1.0 if rmse(sums) == 0 else 1.0 - sums.squared / sums.spread


def mape(sums: Sums) -> float | None:
    """A fraction (0.05 = 5 %) over rows whose target is not zero; None when every one is."""
    if sums.relative is None or not sums.mape_rows:
        return None
    return above_floor(sums.relative / sums.mape_rows, RESOLUTION)


def on_every_path(formula: Formula) -> dict[str, Formula]:
    """``formula`` for both paths: it reads only sums, which the distributed path adds exactly."""
    return {IN_MEMORY: formula, DISTRIBUTED: formula}


METRICS: tuple[Metric, ...] = (
    Metric("rmse", "RMSE", "lower", on_every_path(rmse), cv=True),
    Metric("mae", "MAE", "lower", on_every_path(mae), cv=True),
    Metric("r2", "R²", "higher", on_every_path(r2), cv=True),
    Metric("mape", "MAPE", "lower", on_every_path(mape),
           detail="fraction, rows with a non-zero target"),
)  # fmt: skip


def metric_names(where: Callable[[Metric], bool] | None = None) -> tuple[str, ...]:
    """Names of the registered metrics (those satisfying ``where``), in registry order."""
    return tuple(metric.name for metric in METRICS if where is None or where(metric))


def metric(name: str) -> Metric:
    """The registered metric ``name`` (KeyError for another)."""
    for entry in METRICS:
        if entry.name == name:
            return entry
    raise KeyError(name)


def lower_is_better(name: str) -> bool | None:
    """The direction of a registered metric (None for a name the registry does not know)."""
    try:
        return metric(name).direction == "lower"
    except KeyError:
        return None


def one_of(names: Callable[[], tuple[str, ...]]) -> Callable[[str], str]:
    """A pydantic after-validator accepting only the ``names()`` (read when validating, so a
    metric registered later is accepted)."""

    def check(value: str) -> str:
        if value not in names():
            raise ValueError(f"Input should be {quoted_choices(names())}")
        return value

    return check


def missing_formulas(paths: Iterable[str], metrics: Iterable[Metric] = METRICS) -> list[str]:
    """``metric: path`` for every metric without a formula for one of ``paths``."""
    return [f"{m.name}: {path}" for m in metrics for path in paths if path not in m.formulas]
