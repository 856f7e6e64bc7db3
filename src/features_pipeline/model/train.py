"""Training: check the inputs, cross-validate, fit the final pipeline on all training rows.

``train.model.name: auto`` cross-validates several models first (model/auto.py) and fits the
one chosen. scikit-learn is imported by the functions that fit, not by this module.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.metrics_files import TrainMetrics
from features_pipeline.contracts.plan_file import ModelInputs, PlanFile, model_inputs
from features_pipeline.contracts.split import SPLIT, TRAIN, split_rows
from features_pipeline.errors import UserError
from features_pipeline.model.auto import (
    AutoResult,
    Candidate,
    ModelChoice,
    candidate_names,
    category_counts,
    choose,
    encoded_width,
    plan_candidates,
)
from features_pipeline.model.cv import CvResult, cross_validate
from features_pipeline.model.inputs import check_model_inputs
from features_pipeline.model.leakage import check_leakage, leakage_columns
from features_pipeline.model.params import TrainParams
from features_pipeline.model.pipeline import ColumnRoles, build_pipeline, column_roles
from features_pipeline.model.registry import (
    AUTO,
    ModelSpec,
    build_estimator,
    check_model_params,
    model_spec,
)
from features_pipeline.model.threads import model_threads

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

T = TypeVar("T")


@dataclass(frozen=True)
class TrainingSetup:
    """Everything checked before any data is read: inputs, model(s), encodings, warnings."""

    inputs: ModelInputs
    models: tuple[ModelChoice, ...]  # the configured model, or auto's candidates
    roles: ColumnRoles
    notes: list[str]  # suspicious but legal inputs
    auto: bool = False  # train.model.name: auto
    outcome: tuple[str, ...] = ()  # the contract's columns recorded with the target

    @property
    def model_name(self) -> str:
        """The registry name, or ``auto`` while a choice is still to be made."""
        return AUTO if len(self.models) != 1 else self.models[0].name

    @property
    def spec(self) -> ModelSpec:
        return self._only().spec

    @property
    def estimator(self) -> BaseEstimator:
        """The configured (unfitted) estimator of the one model."""
        return self._only().estimator

    def _only(self) -> ModelChoice:
        if len(self.models) != 1:
            raise ValueError("train.model.name is auto: no model chosen yet")
        return self.models[0]


@dataclass(frozen=True)
class TrainResult:
    model: Pipeline
    setup: TrainingSetup  # inputs and the model fitted (auto: the one chosen), for the card
    cv: CvResult
    fit_seconds: float
    rows: int
    training_frame: pl.DataFrame  # inputs + target of the training rows
    warnings: list[str]  # lines worth a log warning (suspicious inputs, no convergence)
    auto: AutoResult | None = None  # train.model.name: auto: every candidate and the choice
    sampled_from: int | None = None  # train rows the train.max_rows sample came from

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


def prepare(
    schema: Mapping[str, pl.DataType],
    params: TrainParams,
    plan: PlanFile,
    dataset: DatasetContract,
    source: str = "params.yaml",
) -> TrainingSetup:
    """Validate params against the feature table's ``schema`` and the dataset contract before
    any fitting."""
    auto = params.model.name == AUTO
    names = candidate_names(params.auto, source) if auto else [params.model.name]
    specs = [model_spec(name, source) for name in names]
    seed = params.seed
    check_model_params(params.model.params, seed, source, skip=specs[0].name)
    models = tuple(
        ModelChoice(
            spec, build_estimator(spec, params.model.params.get(spec.name, {}), seed, source)
        )
        for spec in specs
    )
    inputs = model_inputs(params, plan, source, dataset.target, dataset.absent(schema))
    notes = check_model_inputs(
        inputs.features, inputs.target, list(schema), plan, source, dataset.outcome_columns
    )
    roles = column_roles(schema, inputs.features, f"{source}: train.features")
    return TrainingSetup(inputs, models, roles, notes, auto, dataset.outcome_columns)


def convergence_notes(caught: list[warnings.WarningMessage], model: str, source: str) -> list[str]:
    """One line when the solver did not converge in some fit (sklearn warns once per fit);
    other warnings caught are shown again as they were."""
    from sklearn.exceptions import ConvergenceWarning

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


def watching_convergence(model: str, source: str, run: Callable[[], T]) -> tuple[T, list[str]]:
    """``run()``'s value, and one note line if sklearn warned that a solver did not converge."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        value = run()
    return value, convergence_notes(caught, model, source)


def cross_validate_choice(
    setup: TrainingSetup,
    choice: ModelChoice,
    features: pl.DataFrame,
    target: np.ndarray,
    params: TrainParams,
) -> CvResult:
    """K-fold CV of ``choice``'s pipeline on ``features`` (seeded folds)."""
    pipeline = build_pipeline(setup.roles, choice.spec, choice.estimator)
    label = f" ({choice.name})" if setup.auto else ""
    return cross_validate(pipeline, features, target, params.cv_folds, params.seed, label)


def run_auto(
    setup: TrainingSetup,
    features: pl.DataFrame,
    target: np.ndarray,
    train_rows: int,
    params: TrainParams,
    source: str,
) -> tuple[AutoResult, list[str]]:
    """Plan the candidates (model/auto.py), cross-validate those within the budget, choose."""
    counts = category_counts(features, setup.roles)
    candidates = plan_candidates(
        setup.models,
        cv_rows=features.height,
        train_rows=train_rows,
        folds=params.cv_folds,
        widths={m.name: encoded_width(setup.roles, m.spec, counts) for m in setup.models},
        budget_s=params.auto.budget_s,
    )
    scores: dict[str, CvResult] = {}
    notes: list[str] = []
    tried: list[Candidate] = [candidate for candidate in candidates if candidate.skipped is None]
    for candidate in tried:
        choice = candidate.choice
        scores[candidate.name], more = watching_convergence(
            candidate.name,
            source,
            lambda: cross_validate_choice(setup, choice, features, target, params),  # noqa: B023
        )
        notes += more
    chosen = choose(candidates, scores, params.auto.metric)
    return AutoResult(params.auto, candidates, scores, chosen), notes


def training_rows(
    frame: pl.DataFrame, setup: TrainingSetup, plan: PlanFile, table: str
) -> pl.DataFrame:
    """The train rows of ``frame``, with only the columns training reads: the inputs, the
    target, the columns the leakage check compares and the split."""
    needed = [*leakage_columns(setup.inputs.features, setup.inputs.target, plan), SPLIT]
    return split_rows(frame.select(name for name in needed if name in frame.columns), TRAIN, table)


def training_data(rows: pl.DataFrame, setup: TrainingSetup) -> pl.DataFrame:
    """What the model card's data digest covers: the inputs and the target of ``rows``."""
    return rows.select(*setup.inputs.features, setup.inputs.target)


def train_model(
    frame: pl.DataFrame,
    params: TrainParams,
    plan: PlanFile,
    *,
    dataset: DatasetContract,
    source: str = "params.yaml",
    table: str = "feature table",
    setup: TrainingSetup | None = None,
    sampled_from: int | None = None,
) -> TrainResult:
    """Cross-validate then fit the configured pipeline on the training rows of ``frame``
    (``setup``: from :func:`prepare` on the table's schema, when the caller already ran it;
    ``sampled_from``: the train rows ``frame`` is a ``train.max_rows`` sample of, taken by the
    caller with :func:`~features_pipeline.model.cluster.train_rows` on any engine).

    With ``train.model.name: auto`` the candidates are cross-validated on the same sample and
    folds, and the one chosen is fitted."""
    from sklearn.base import clone

    setup = setup or prepare(frame.schema, params, plan, dataset, source)
    target, inputs = setup.inputs.target, setup.inputs.features
    rows = training_rows(frame, setup, plan, table)
    y = target_values(rows, target, table)
    leak_notes = check_leakage(rows, inputs, target, plan, source, setup.outcome)
    features = rows.select(inputs)
    if rows.height < params.cv_folds:
        raise UserError(
            f"{source}: train.cv_folds: {params.cv_folds} folds need at least as many training "
            f"rows, got {rows.height}"
        )
    cv_features, cv_target = sample_rows(features, y, params.cv_rows, params.seed)
    auto: AutoResult | None = None
    with model_threads(params.threads):
        if setup.auto:
            auto, notes = run_auto(setup, cv_features, cv_target, rows.height, params, source)
            choice = auto.chosen.choice
        else:
            choice, notes = setup.models[0], []
        pipeline = build_pipeline(setup.roles, choice.spec, clone(choice.estimator))

        def cv_and_fit() -> tuple[CvResult, float]:
            cv = (
                auto.cv[choice.name]
                if auto is not None
                else cross_validate_choice(setup, choice, cv_features, cv_target, params)
            )
            start = time.perf_counter()
            pipeline.fit(features, y)
            return cv, time.perf_counter() - start

        (cv, seconds), fit_notes = watching_convergence(choice.name, source, cv_and_fit)
    return TrainResult(
        model=pipeline,
        setup=replace(setup, models=(choice,)),
        cv=cv,
        fit_seconds=seconds,
        rows=rows.height,
        training_frame=training_data(rows, setup),
        sampled_from=sampled_from,
        warnings=[*setup.notes, *leak_notes, *notes, *fit_notes],
        auto=auto,
    )


def train_metrics(result: TrainResult) -> TrainMetrics:
    """The deterministic content of metrics/train.json (timings are kept apart)."""
    return TrainMetrics(
        cv=result.cv.summary(),
        rows=result.rows,
        features=len(result.setup.roles.inputs),
        model=result.setup.spec.name,
        auto=None if result.auto is None else result.auto.metrics(),
    )


def timing(result: TrainResult) -> dict[str, float]:
    """Wall-clock seconds: not reproducible, so never in a file DVC hashes."""
    times = {
        "fit_seconds": round(result.fit_seconds, 3),
        "cv_fit_seconds_mean": round(float(np.mean(result.cv.fit_seconds)), 3),
    }
    if result.auto is not None:
        for name, cv in result.auto.cv.items():
            times[f"auto_cv_seconds_{name}"] = round(float(np.sum(cv.fit_seconds)), 3)
    return times
