"""Evaluation on the test split: metrics, gates, plot data and permutation importance."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from features_pipeline.errors import UserError
from features_pipeline.model.gates import GateResult, check_gates, gates_record
from features_pipeline.model.importance import permutation_importance
from features_pipeline.model.metrics import Metrics, noise_floor, regression_metrics
from features_pipeline.model.params import EvaluateParams

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

ACTUAL = "actual"
PREDICTED = "predicted"
RESIDUAL = "residual"  # actual - predicted
PLOT_DIGITS = 6


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    gates: list[GateResult]
    predictions: pl.DataFrame  # Order ID (when present), actual, predicted: every test row
    points: pl.DataFrame  # actual, predicted, residual: a seeded sample for plots
    importance: pl.DataFrame  # feature, importance, std

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)

    def metrics_record(self) -> dict[str, Any]:
        """The content of metrics/metrics.json."""
        return {**self.metrics, **gates_record(self.gates)}


def require_columns(columns: Iterable[str], names: Sequence[str], source: str, why: str) -> None:
    """UserError naming the ``names`` that ``columns`` lacks."""
    present = set(columns)
    missing = [name for name in names if name not in present]
    if missing:
        raise UserError(f"{source}: missing column(s) {', '.join(map(repr, missing))} ({why})")


def predict(model: Pipeline, frame: pl.DataFrame, features: Sequence[str]) -> np.ndarray:
    """The model's predictions for every row of ``frame`` (float64)."""
    return np.asarray(model.predict(frame.select(features)), dtype=np.float64)


def points_table(actual: np.ndarray, predicted: np.ndarray) -> pl.DataFrame:
    """(actual, predicted, residual) to :data:`PLOT_DIGITS` significant digits; a residual
    below the :func:`~features_pipeline.model.metrics.noise_floor` of these actual values is 0
    (rounding noise, as in the metrics)."""
    table = pl.DataFrame({ACTUAL: actual, PREDICTED: predicted})
    floor = noise_floor(math.sqrt(float(np.mean(np.square(actual))))) if actual.size else 0.0
    residual = pl.col(ACTUAL) - pl.col(PREDICTED)
    residual = pl.when(residual.abs() < floor).then(0.0).otherwise(residual)
    return table.with_columns(residual.alias(RESIDUAL)).with_columns(
        pl.all().round_sig_figs(PLOT_DIGITS)
    )


def sample_points(actual: np.ndarray, predicted: np.ndarray, size: int, seed: int) -> pl.DataFrame:
    """At most ``size`` (actual, predicted, residual) points, seeded sample, in row order."""
    index = np.arange(actual.size)
    if actual.size > size:
        index = np.sort(np.random.default_rng(seed).choice(actual.size, size=size, replace=False))
    return points_table(actual[index], predicted[index])


def evaluate_model(
    model: Pipeline,
    test: pl.DataFrame,
    features: Sequence[str],
    target: str,
    params: EvaluateParams,
    key: Sequence[str] = (),
) -> Evaluation:
    """Score ``model`` on the ``test`` rows and check the declared gates; predictions carry the
    row ``key`` columns the table has."""
    actual = test.get_column(target).cast(pl.Float64).to_numpy()
    predicted = predict(model, test, features)
    metrics = regression_metrics(actual, predicted)
    ids = [name for name in key if name in test.columns]
    scored = pl.DataFrame({ACTUAL: actual, PREDICTED: predicted})
    predictions = pl.concat([test.select(ids), scored], how="horizontal") if ids else scored
    importance = permutation_importance(
        model,
        test.select(features),
        actual,
        repeats=params.importance.repeats,
        seed=params.seed,
        max_rows=params.importance.rows,
    )
    return Evaluation(
        metrics=metrics,
        gates=check_gates(metrics, params.gates),
        predictions=predictions,
        points=sample_points(actual, predicted, params.plot_points, params.seed),
        importance=importance,
    )
