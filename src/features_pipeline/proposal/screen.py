"""Screening: compute every candidate once, drop those that leak, hold nulls or infinities or
a single value in train rows, then keep, in order, each one that lowers the cross-validated
RMSE of a ridge model by at least ``MIN_GAIN`` (forward selection on the train rows; ridge in
closed form, so that every candidate is tried in well under a second)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.features.types import RowOrder
from features_pipeline.model.cv import CvResult, cross_validate
from features_pipeline.model.leakage import linear_leaks
from features_pipeline.model.pipeline import build_pipeline, column_roles
from features_pipeline.model.registry import build_estimator, model_spec
from features_pipeline.proposal.candidates import Candidate

SCREEN_MODEL = "ridge"  # cheap, deterministic, and the model that needs derived features most
TREE_MODEL = "random_forest"  # tries the interactions ridge rejected, when trees fit better
PAIR_TYPES = ("arithmetic", "ratio")  # products and ratios of two numbers: interactions
MIN_GAIN = 0.02  # a candidate must lower the CV RMSE by 2 % to be kept: smaller gains of a
# linear model rarely survive the trees `auto` often picks, and extra inputs dilute those
MAX_ROWS = 20_000  # screening CV on at most this many train rows (seeded sample)
RIDGE_ALPHA = 1.0  # the ridge model's default alpha


@dataclass(frozen=True)
class Verdict:
    """What screening decided for one candidate, and the evidence."""

    candidate: Candidate
    kept: bool
    why: str  # a comment a person can read


@dataclass(frozen=True)
class Screening:
    baseline: CvResult | None  # the raw inputs alone (None: no raw input)
    final: CvResult  # raw inputs + kept features
    verdicts: list[Verdict]
    folds: int
    rows: int

    @property
    def kept(self) -> list[Candidate]:
        return [v.candidate for v in self.verdicts if v.kept]


def all_specs(candidates: Sequence[Candidate]) -> list[dict[str, object]]:
    """The spec entries of ``candidates`` and their helpers, each name once, helpers first."""
    specs: dict[str, dict[str, object]] = {}
    for candidate in candidates:
        for helper in candidate.helpers:
            specs.setdefault(str(helper["name"]), helper)
        specs.setdefault(candidate.name, candidate.spec)
    return list(specs.values())


def plan_candidates(
    candidates: Sequence[Candidate], schema: pl.Schema, dataset: DatasetContract, source: str
) -> Plan:
    """The plan of every candidate on a table of ``schema`` (a bad proposal is a UserError)."""
    order = RowOrder(dataset.order_by or "", dataset.tie_breaker)
    features = parse_features(all_specs(candidates), source)
    return build_plan(features, dict(schema), dataset.target, source, order=order)


def compute(frame: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    """``frame`` with every planned feature (fitted ones learned on train rows)."""
    table, _ = fit_transform(frame, plan)
    return table


def cv_score(
    train: pl.DataFrame,
    inputs: Sequence[str],
    y: np.ndarray,
    folds: int,
    seed: int,
    model: str = SCREEN_MODEL,
) -> CvResult:
    """K-fold CV of ``model``'s pipeline (as ``train`` fits it) on ``inputs``."""
    spec = model_spec(model)
    roles = column_roles(train.select(inputs).schema, inputs)
    pipeline = build_pipeline(roles, spec, build_estimator(spec, {}, seed))
    return cross_validate(pipeline, train.select(inputs), y, folds, seed)


def rmse(cv: CvResult) -> float:
    return float(np.mean([float(fold["rmse"] or 0.0) for fold in cv.folds]))


def encoded(column: pl.Series) -> np.ndarray:
    """A column as model columns: numbers as they are, text one-hot (first value dropped)."""
    if column.dtype.is_numeric():
        return column.cast(pl.Float64).to_numpy().reshape(-1, 1)
    values = column.cast(pl.String)
    levels = values.unique().sort().to_list()[1:]
    return np.column_stack([(values == level).to_numpy() for level in levels]).astype(np.float64)


class FastRidge:
    """Ridge regression (alpha 1 on standardised columns, as the ``ridge`` model) cross-
    validated in closed form on fixed seeded folds: screening tries every candidate with it."""

    def __init__(self, y: np.ndarray, folds: int, seed: int) -> None:
        from sklearn.model_selection import KFold

        self.y = y
        self.folds = list(KFold(folds, shuffle=True, random_state=seed).split(y.reshape(-1, 1)))

    def rmse(self, blocks: Sequence[np.ndarray]) -> float:
        x = np.hstack(blocks)
        errors = []
        for fit, held in self.folds:
            mean, std = x[fit].mean(axis=0), x[fit].std(axis=0)
            std[std == 0] = 1.0
            a, b = (x[fit] - mean) / std, (x[held] - mean) / std
            y_mean = self.y[fit].mean()
            gram = a.T @ a + RIDGE_ALPHA * np.eye(a.shape[1])
            beta = np.linalg.solve(gram, a.T @ (self.y[fit] - y_mean))
            errors.append(float(np.sqrt(np.mean((b @ beta + y_mean - self.y[held]) ** 2))))
        return float(np.mean(errors))


def unusable(train: pl.DataFrame, name: str) -> str | None:
    """Why a computed candidate cannot be a model input on these train rows (None: it can)."""
    column = train.get_column(name)
    if column.null_count():
        return f"empty in {column.null_count():,} train row(s)"
    if column.dtype.is_float() and not column.is_finite().all():
        return "infinite or NaN in some train rows"
    if column.n_unique() <= 1:
        return "a single value in train rows"
    return None


def tree_pass(
    train: pl.DataFrame,
    raw_inputs: Sequence[str],
    verdicts: list[Verdict],
    y: np.ndarray,
    folds: int,
    seed: int,
    ridge_rmse: float,
) -> list[Verdict]:
    """Products and ratios of two numbers that ridge rejected, tried again with a random forest
    when the forest cross-validates better than ridge (``auto`` will then pick a tree, and an
    interaction such as age x bmi helps trees where a linear model cannot use it)."""
    inputs = [*raw_inputs, *(v.candidate.name for v in verdicts if v.kept)]
    pairs = [
        v
        for v in verdicts
        if not v.kept
        and v.why.startswith("no CV gain")
        and v.candidate.spec["type"] in PAIR_TYPES
        and not v.candidate.helpers
    ]
    if not pairs or not inputs:
        return verdicts
    current = rmse(cv_score(train, inputs, y, folds, seed, TREE_MODEL))
    if current >= ridge_rmse:
        return verdicts
    decided = {v.candidate.name: v for v in verdicts}
    for verdict in pairs:
        name = verdict.candidate.name
        trial = rmse(cv_score(train, [*inputs, name], y, folds, seed, TREE_MODEL))
        if trial <= current * (1 - MIN_GAIN):
            why = f"{TREE_MODEL} CV RMSE {current:,.4g} -> {trial:,.4g} with it ({verdict.why} "
            why += f"for {SCREEN_MODEL})"
            decided[name] = Verdict(verdict.candidate, True, why)
            inputs.append(name)
            current = trial
    return [decided[v.candidate.name] for v in verdicts]


def screen(
    table: pl.DataFrame,
    raw_inputs: Sequence[str],
    candidates: Sequence[Candidate],
    target: str,
    folds: int,
    seed: int,
) -> Screening:
    """Forward selection of ``candidates`` (computed columns of ``table``) over ``raw_inputs``
    on the train rows (a seeded sample of at most ``MAX_ROWS``)."""
    train = table.filter(pl.col(SPLIT) == TRAIN)
    if train.height > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(train.height, MAX_ROWS, replace=False))
        train = train[rows]
    y = train.get_column(target).cast(pl.Float64).to_numpy()
    leaks = {leak.feature for leak in linear_leaks(train, [c.name for c in candidates], target)}
    inputs = list(raw_inputs)
    ridge = FastRidge(y, folds, seed)
    blocks = [encoded(train.get_column(name)) for name in inputs]
    baseline = cv_score(train, inputs, y, folds, seed) if inputs else None
    current = ridge.rmse(blocks) if blocks else float("inf")
    verdicts: list[Verdict] = []
    for candidate in candidates:
        problem = unusable(train, candidate.name)
        if candidate.name in leaks:
            problem = f"an exact linear function of {target!r}: it would leak the answer"
        if problem:
            verdicts.append(Verdict(candidate, False, problem))
            continue
        block = encoded(train.get_column(candidate.name))
        trial = ridge.rmse([*blocks, block])
        if trial <= current * (1 - MIN_GAIN):
            why = f"CV RMSE {current:,.4g} -> {trial:,.4g} with it"
            verdicts.append(Verdict(candidate, True, why))
            inputs.append(candidate.name)
            blocks.append(block)
            current = trial
        else:
            why = f"no CV gain ({current:,.4g} -> {trial:,.4g})"
            verdicts.append(Verdict(candidate, False, why))
    verdicts = tree_pass(train, raw_inputs, verdicts, y, folds, seed, current)
    inputs = [*raw_inputs, *(v.candidate.name for v in verdicts if v.kept)]
    if not inputs:
        raise UserError(
            f"{target!r}: no column or proposed feature can be a model input (every column is "
            "the target, an outcome, a key or empty)"
        )
    final = cv_score(train, inputs, y, folds, seed)
    return Screening(baseline, final, verdicts, folds, train.height)
