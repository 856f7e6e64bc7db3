"""Training: check the inputs, cross-validate, fit the final pipeline on all training rows."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.metrics_files import TrainMetrics
from features_pipeline.contracts.plan_file import ModelInputs, PlanFile, model_inputs
from features_pipeline.contracts.split import SPLIT, TRAIN, split_rows
from features_pipeline.errors import UserError
from features_pipeline.model.cv import CvResult, cross_validate
from features_pipeline.model.inputs import check_model_inputs
from features_pipeline.model.leakage import check_leakage, leakage_columns
from features_pipeline.model.params import TrainParams
from features_pipeline.model.pipeline import ColumnRoles, build_pipeline, column_roles
from features_pipeline.model.registry import (
    ModelSpec,
    build_estimator,
    check_model_params,
    model_spec,
)
from features_pipeline.model.threads import model_threads


@dataclass(frozen=True)
class TrainResult:
    model: Pipeline
    setup: TrainingSetup  # inputs, model spec, unfitted estimator (for the card)
    cv: CvResult
    fit_seconds: float
    rows: int
    training_frame: pl.DataFrame  # inputs + target of the training rows
    warnings: list[str]  # lines worth a log warning (suspicious inputs, no convergence)

    @property
    def roles(self) -> ColumnRoles:
        return self.setup.roles

    @property
    def estimator(self) -> BaseEstimator:
        return self.setup.estimator


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


@dataclass(frozen=True)
class TrainingSetup:
    """Everything checked before any data is read: inputs, model, encodings, warnings."""

    inputs: ModelInputs
    spec: ModelSpec
    estimator: BaseEstimator  # unfitted, as configured
    roles: ColumnRoles
    notes: list[str]  # suspicious but legal inputs
    outcome: tuple[str, ...] = ()  # the contract's columns recorded with the target


def prepare(
    schema: Mapping[str, pl.DataType],
    params: TrainParams,
    plan: PlanFile,
    dataset: DatasetContract,
    source: str = "params.yaml",
) -> TrainingSetup:
    """Validate params against the feature table's ``schema`` and the dataset contract before
    any fitting."""
    spec = model_spec(params.model.name, source)
    check_model_params(params.model.params, params.seed, source, skip=spec.name)
    estimator = build_estimator(spec, params.model.selected_params, params.seed, source)
    inputs = model_inputs(params, plan, source, dataset.target, dataset.absent(schema))
    notes = check_model_inputs(
        inputs.features, inputs.target, list(schema), plan, source, dataset.outcome_columns
    )
    roles = column_roles(schema, inputs.features, f"{source}: train.features")
    return TrainingSetup(inputs, spec, estimator, roles, notes, dataset.outcome_columns)


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
    plan: PlanFile,
    dataset: DatasetContract,
    source: str = "params.yaml",
    table: str = "feature table",
    setup: TrainingSetup | None = None,
) -> TrainResult:
    """Cross-validate then fit the configured pipeline on the training rows of ``frame``
    (``setup``: from :func:`prepare` on the table's schema, when the caller already ran it)."""
    setup = setup or prepare(frame.schema, params, plan, dataset, source)
    target, inputs = setup.inputs.target, setup.inputs.features
    needed = [*leakage_columns(inputs, target, plan), SPLIT]  # filter only these columns
    rows = split_rows(frame.select(name for name in needed if name in frame.columns), TRAIN, table)
    y = target_values(rows, target, table)
    leak_notes = check_leakage(rows, inputs, target, plan, source, setup.outcome)
    features = rows.select(inputs)
    if rows.height < params.cv_folds:
        raise UserError(
            f"{source}: train.cv_folds: {params.cv_folds} folds need at least as many training "
            f"rows, got {rows.height}"
        )
    pipeline = build_pipeline(setup.roles, setup.spec, setup.estimator)
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
        setup=setup,
        cv=cv,
        fit_seconds=seconds,
        rows=rows.height,
        training_frame=rows.select(*inputs, target),
        warnings=[*setup.notes, *leak_notes, *notes],
    )


def train_metrics(result: TrainResult) -> TrainMetrics:
    """The deterministic content of metrics/train.json (timings are kept apart)."""
    return TrainMetrics(
        cv=result.cv.summary(), rows=result.rows, features=len(result.setup.roles.inputs)
    )


def timing(result: TrainResult) -> dict[str, float]:
    """Wall-clock seconds: not reproducible, so never in a file DVC hashes."""
    return {
        "fit_seconds": round(result.fit_seconds, 3),
        "cv_fit_seconds_mean": round(float(np.mean(result.cv.fit_seconds)), 3),
    }
