"""``train.model.name: auto``: cross-validate the registered models, cheapest first, within a
time budget, and fit the best by a declared metric.

Deterministic by construction. The budget is planned before anything runs, from the data's
shape alone: a candidate's seconds are estimated as its registry ``cost`` (seconds per million
cells of one fit) x training rows x encoded input columns (x trees or boosting rounds over the
reference the cost was measured at), for its K CV fits plus its final fit on every training
row. Candidates are tried in order of that estimate while the CV estimates of those tried so far
plus this one's CV and final fit stay within ``train.auto.budget_s``; the cheapest is always
tried. No clock is read: the same data and params try the same candidates, which score the same
(seeded folds, one thread) and so choose the same model. Measured CV seconds go to the
timing file only. Ties on the (rounded) metric go to the cheaper candidate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from features_pipeline.contracts.metrics_files import (
    SKIPPED_FOR_BUDGET,
    AutoMetrics,
    CandidateMetrics,
)
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError
from features_pipeline.model.cv import CvResult
from features_pipeline.model.metric_registry import lower_is_better
from features_pipeline.model.metrics import round_sig
from features_pipeline.model.params import AutoParams
from features_pipeline.model.pipeline import ColumnRoles
from features_pipeline.model.registry import MODEL_NAMES, REGISTRY, ModelSpec

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

ESTIMATE_DIGITS = 3


@dataclass(frozen=True)
class ModelChoice:
    """A registered model with its configured, unfitted estimator."""

    spec: ModelSpec
    estimator: BaseEstimator

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Candidate:
    """A model ``auto`` considers, with its planned seconds (CV fits, final fit)."""

    choice: ModelChoice
    cv_seconds: float
    fit_seconds: float
    skipped: str | None = None  # why it is not tried (budget), None when it is

    @property
    def name(self) -> str:
        return self.choice.name

    @property
    def estimated_seconds(self) -> float:
        return self.cv_seconds + self.fit_seconds


@dataclass(frozen=True)
class AutoResult:
    """Every candidate (in the order tried, skipped ones last), its CV, and the choice."""

    params: AutoParams
    candidates: tuple[Candidate, ...]
    cv: Mapping[str, CvResult]  # of the candidates tried
    chosen: Candidate

    def metrics(self) -> AutoMetrics:
        """What metrics/train.json and the model card record (no wall-clock time)."""
        return AutoMetrics(
            metric=self.params.metric,
            budget_s=self.params.budget_s,
            chosen=self.chosen.name,
            candidates={
                candidate.name: CandidateMetrics(
                    estimated_s=_rounded(candidate.estimated_seconds),
                    cv=self.cv[candidate.name].summary() if candidate.name in self.cv else None,
                    skipped=candidate.skipped,
                )
                for candidate in self.candidates
            },
        )


def _rounded(seconds: float) -> float:
    value = round_sig(seconds, ESTIMATE_DIGITS)
    return 0.0 if value is None else value


def candidate_names(params: AutoParams, source: str) -> list[str]:
    """``train.auto.models`` (every registered model when null), checked, in registry order."""
    if params.models is None:
        return list(MODEL_NAMES)
    where = f"{source}: train.auto.models"
    if not params.models:
        raise UserError(f"{where}: empty; name at least one model or set it to null (all)")
    for name in params.models:
        if name not in REGISTRY:
            raise UserError(
                f"{where}: unknown model {name!r}{did_you_mean(name, list(MODEL_NAMES))} "
                f"(valid: {', '.join(MODEL_NAMES)})"
            )
    return [name for name in MODEL_NAMES if name in params.models]


def encoded_width(roles: ColumnRoles, spec: ModelSpec, categories: Mapping[str, int]) -> int:
    """Columns of the matrix the model gets: one per category (one-hot) or per text column."""
    if spec.ordinal_categories:
        return len(roles.inputs)
    dropped = 1 if spec.drop_first_category else 0
    return len(roles.numeric) + sum(
        max(categories.get(name, 0) - dropped, 0) for name in roles.categorical
    )


def category_counts(frame: pl.DataFrame, roles: ColumnRoles) -> dict[str, int]:
    """Distinct non-null values of each text input (one-hot widths)."""
    if not roles.categorical:
        return {}
    row = frame.select(pl.col(name).drop_nulls().n_unique() for name in roles.categorical)
    return {name: int(value) for name, value in zip(roles.categorical, row.row(0), strict=True)}


def fit_seconds(choice: ModelChoice, rows: int, width: int) -> float:
    """Planned seconds of one fit on ``rows`` x ``width`` cells (see the module docstring)."""
    spec = choice.spec
    size = 1.0
    if spec.size_param is not None:
        value: Any = choice.estimator.get_params(deep=False).get(spec.size_param)
        if isinstance(value, int | float) and not isinstance(value, bool):
            size = float(value) / spec.size_reference
    return spec.cost * size * rows * max(width, 1) / 1e6


def plan_candidates(
    choices: Sequence[ModelChoice],
    *,
    cv_rows: int,
    train_rows: int,
    folds: int,
    widths: Mapping[str, int],
    budget_s: float,
) -> tuple[Candidate, ...]:
    """Candidates cheapest first (registry order on ties), those beyond the budget skipped."""
    planned = []
    for choice in choices:
        width = widths[choice.name]
        cv = folds * fit_seconds(choice, math.ceil(cv_rows * (folds - 1) / folds), width)
        planned.append(Candidate(choice, cv, fit_seconds(choice, train_rows, width)))
    planned.sort(key=lambda candidate: candidate.estimated_seconds)  # stable: registry order
    spent = 0.0
    result: list[Candidate] = []
    for index, candidate in enumerate(planned):
        if index and spent + candidate.estimated_seconds > budget_s:
            result.append(dataclasses.replace(candidate, skipped=SKIPPED_FOR_BUDGET))
            continue
        spent += candidate.cv_seconds
        result.append(candidate)
    return tuple(result)


def score(cv: CvResult, metric: str) -> float | None:
    """The rounded mean CV ``metric`` of a candidate (None when undefined)."""
    value = cv.summary().get(f"{metric}_mean")
    return None if value is None else float(value)


def choose(candidates: Sequence[Candidate], cv: Mapping[str, CvResult], metric: str) -> Candidate:
    """The tried candidate with the best mean CV ``metric``; on a tie (or when no score is
    defined) the cheaper one, i.e. the first in ``candidates``."""
    best: Candidate | None = None
    best_value: float | None = None
    sign = 1.0 if lower_is_better(metric) else -1.0
    for candidate in candidates:
        if candidate.name not in cv:
            continue
        value = score(cv[candidate.name], metric)
        if best is None or (
            value is not None and (best_value is None or sign * value < sign * best_value)
        ):
            best, best_value = candidate, value
    if best is None:  # pragma: no cover - the cheapest candidate is always tried
        raise ValueError("no candidate was cross-validated")
    return best
