"""Training: check the inputs, cross-validate, fit the final pipeline on all training rows."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.features.plan_file import PlanSummary
from features_pipeline.ingest.split import TRAIN
from features_pipeline.model.cv import CvResult, cross_validate
from features_pipeline.model.inputs import check_model_inputs
from features_pipeline.model.params import TrainParams
from features_pipeline.model.pipeline import ColumnRoles, build_pipeline, column_roles
from features_pipeline.model.registry import build_estimator, check_model_params, model_spec
from features_pipeline.model.threads import model_threads


@dataclass(frozen=True)
class TrainResult:
    model: Pipeline
    estimator: BaseEstimator  # unfitted, as configured (for the card)
    roles: ColumnRoles
    cv: CvResult
    fit_seconds: float
    rows: int
    training_frame: pl.DataFrame  # inputs + target of the training rows
    warnings: list[str]  # lines worth a log warning (suspicious inputs, no convergence)


def split_rows(frame: pl.DataFrame, split: str, source: str) -> pl.DataFrame:
    """The rows of ``frame`` whose split column is ``split``; UserError when there are none."""
    if c.SPLIT not in frame.columns:
        raise UserError(f"{source}: column {c.SPLIT!r} missing (expected 'train'/'test' rows)")
    rows = frame.filter(pl.col(c.SPLIT) == split)
    if rows.height == 0:
        raise UserError(f"{source}: no {split!r} rows")
    return rows


def target_values(rows: pl.DataFrame, target: str, source: str) -> np.ndarray:
    """The target as float64; a null or non-numeric target is a UserError."""
    column = rows.get_column(target)
    if not column.dtype.is_numeric():
        raise UserError(f"{source}: target {target!r} is {column.dtype}, expected a number")
    if column.null_count():
        raise UserError(f"{source}: target {target!r} has {column.null_count()} empty value(s)")
    return column.cast(pl.Float64).to_numpy()


def sample_rows(
    features: pl.DataFrame, target: np.ndarray, rows: int | None, seed: int
) -> tuple[pl.DataFrame, np.ndarray]:
    """At most ``rows`` rows (seeded sample, in row order); all of them, untouched, otherwise."""
    if rows is None or features.height <= rows:
        return features, target
    index = np.sort(np.random.default_rng(seed).choice(features.height, size=rows, replace=False))
    return features[index], target[index]


def prepare(
    frame: pl.DataFrame, params: TrainParams, plan: PlanSummary, source: str = "params.yaml"
) -> tuple[ColumnRoles, BaseEstimator, list[str]]:
    """Validate params and inputs before any fitting: roles, unfitted estimator, warnings."""
    check_model_params(params.model.params, params.seed, source)
    spec = model_spec(params.model.name, source)
    estimator = build_estimator(spec.name, params.model.selected_params, params.seed, source)
    notes = check_model_inputs(params.features, params.target, frame.columns, plan, source)
    roles = column_roles(frame.schema, params.features, f"{source}: train.features")
    return roles, estimator, notes


def convergence_notes(caught: list[warnings.WarningMessage], model: str, source: str) -> list[str]:
    """One line when the solver did not converge in some fit (sklearn warns once per fit);
    other warnings caught are shown again as they were."""
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fits = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    if not fits:
        return []
    return [
        f"{source}: train.model.params.{model}: the solver did not converge in {fits} fit(s); "
        "raise max_iter or tol, or change alpha"
    ]


def train_model(
    frame: pl.DataFrame,
    params: TrainParams,
    plan: PlanSummary,
    source: str = "params.yaml",
    table: str = "feature table",
) -> TrainResult:
    """Cross-validate then fit the configured pipeline on the training rows of ``frame``."""
    roles, estimator, notes_before = prepare(frame, params, plan, source)
    needed = [*params.features, params.target, c.SPLIT]  # filter only these columns
    rows = split_rows(frame.select(name for name in needed if name in frame.columns), TRAIN, table)
    y = target_values(rows, params.target, table)
    features = rows.select(params.features)
    if rows.height < params.cv_folds:
        raise UserError(
            f"{source}: train.cv_folds: {params.cv_folds} folds need at least as many training "
            f"rows, got {rows.height}"
        )
    pipeline = build_pipeline(roles, model_spec(params.model.name), estimator)
    cv_features, cv_target = sample_rows(features, y, params.cv_rows, params.seed)
    with model_threads(params.threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        cv = cross_validate(pipeline, cv_features, cv_target, params.cv_folds, params.seed)
        start = time.perf_counter()
        pipeline.fit(features, y)
        seconds = time.perf_counter() - start
    notes = convergence_notes(caught, params.model.name, source)
    return TrainResult(
        model=pipeline,
        estimator=estimator,
        roles=roles,
        cv=cv,
        fit_seconds=seconds,
        rows=rows.height,
        training_frame=rows.select(*params.features, params.target),
        warnings=[*notes_before, *notes],
    )


def train_metrics(result: TrainResult) -> dict[str, Any]:
    """The deterministic content of metrics/train.json (timings are kept apart)."""
    return {"cv": result.cv.summary(), "rows": result.rows, "features": len(result.roles.inputs)}


def timing(result: TrainResult) -> dict[str, float]:
    """Wall-clock seconds: not reproducible, so never in a file DVC hashes."""
    return {
        "fit_seconds": round(result.fit_seconds, 3),
        "cv_fit_seconds_mean": round(float(np.mean(result.cv.fit_seconds)), 3),
    }
