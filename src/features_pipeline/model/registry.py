"""Scikit-learn regressors selectable by name, with their hyperparameters checked up front.

A new model is one :class:`ModelSpec` in :data:`REGISTRY` (see CONTRIBUTING.md). Its couplings
are stated in the entry, not elsewhere: ``trusted_types`` lists the types its saved pipeline
needs beyond skops' defaults, which ``model/artifacts.py`` allows on load (read from here) and
which ``model/model_check.py`` must validate before anything is built (a tree's node arrays:
``tests/test_model_artifacts.py`` fails for a trusted type it does not check).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from features_pipeline.contracts.card import Encoding
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

SEED_PARAM = "random_state"
LEAST_SQUARES_TYPE = "features_pipeline.model.least_squares.LeastSquares"
TREE_TYPE = "sklearn.tree._tree.Tree"
TREE_PREDICTOR_TYPE = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
AUTO = "auto"  # train.model.name: cross-validate the registered models, fit the best


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """How a registered regressor is built, what its preprocessing needs and what it costs.

    ``estimator_path`` is imported on first use: naming a model does not load scikit-learn.
    Every field is a keyword (no positional booleans).
    """

    name: str
    estimator_path: str  # e.g. sklearn.linear_model.Ridge
    scale_numeric: bool  # standardise numeric inputs (linear models); trees take them as they are
    handles_missing: bool  # accepts NaN in numeric inputs; otherwise the median is imputed
    # seconds per million cells (training rows x encoded input columns) of one fit and its
    # predictions, one thread: measured on the default inputs (CV folds of 80k rows, 800k rows)
    # on this project's shared 2-core machine, rounded up; ``auto``'s deterministic budget
    # (model/auto.py) plans with it instead of a clock
    cost: float
    defaults: Mapping[str, Any] = field(default_factory=dict)  # our defaults over sklearn's
    # text columns as category codes (one column each) instead of one-hot (one per category):
    # boosted trees split codes as well as indicator columns, on far fewer columns
    # (hist_gradient_boosting: ~2.5x faster fits, same test error on the Sales Records)
    ordinal_categories: bool = False
    # the hyperparameter fit time grows with (trees, boosting rounds) and the value ``cost``
    # was measured at
    size_param: str | None = None
    size_reference: float = 1.0
    # one-hot without the first value of each text column: least squares without a penalty
    # fits the same predictions (the intercept spans it) on fewer, no longer collinear columns
    drop_first_category: bool = False
    # types of the saved pipeline beyond skops' defaults (and our encoder): allowed on load by
    # model/artifacts.py, validated by model/model_check.py (a tree's nodes) before use
    trusted_types: tuple[str, ...] = ()

    @property
    def encoding(self) -> Encoding:
        """How the model gets text columns: category codes or one-hot indicator columns."""
        return "ordinal" if self.ordinal_categories else "one-hot"

    @property
    def estimator(self) -> type[BaseEstimator]:
        """The scikit-learn class (imported now)."""
        module, _, name = self.estimator_path.rpartition(".")
        cls: type[BaseEstimator] = getattr(importlib.import_module(module), name)
        return cls

    def valid_params(self) -> list[str]:
        """Hyperparameters a user may set (``random_state`` comes from ``train.seed``)."""
        return sorted(set(self.estimator().get_params(deep=False)) - {SEED_PARAM})


# Linear models: the encoder hands them a float64 Fortran-ordered matrix they may centre in
# place (copy_X=False saves a copy of millions of rows); lasso and elastic_net solve on the
# Gram matrix (precompute=True: coordinate descent on a columns x columns matrix instead of
# passes over every row).
_IN_PLACE = {"copy_X": False}
_GRAM = {**_IN_PLACE, "precompute": True, "max_iter": 5000}
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="linear",
            estimator_path=LEAST_SQUARES_TYPE,  # LinearRegression, streamed
            scale_numeric=True,
            handles_missing=False,
            cost=0.08,
            defaults=_IN_PLACE,
            drop_first_category=True,
            trusted_types=(LEAST_SQUARES_TYPE,),  # LinearRegression's state: arrays, numbers
        ),
        *(
            ModelSpec(
                name=name,
                estimator_path=f"sklearn.linear_model.{estimator}",
                scale_numeric=True,
                handles_missing=False,
                cost=0.03,
                defaults=defaults,
            )
            for name, estimator, defaults in (
                ("ridge", "Ridge", _IN_PLACE),
                ("lasso", "Lasso", _GRAM),
                ("elastic_net", "ElasticNet", _GRAM),
            )
        ),
        ModelSpec(
            name="random_forest",
            estimator_path="sklearn.ensemble.RandomForestRegressor",
            scale_numeric=False,
            handles_missing=True,
            cost=6.0,  # full-depth trees grow as rows x log(rows): an underestimate at millions
            defaults={"n_jobs": 1},
            size_param="n_estimators",
            size_reference=50,
            trusted_types=(TREE_TYPE,),
        ),
        ModelSpec(
            name="hist_gradient_boosting",
            estimator_path="sklearn.ensemble.HistGradientBoostingRegressor",
            scale_numeric=False,
            handles_missing=True,
            cost=1.5,  # no early stopping below 10k rows: every boosting round runs
            ordinal_categories=True,
            size_param="max_iter",
            size_reference=100,
            trusted_types=(TREE_PREDICTOR_TYPE,),
        ),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(REGISTRY)


def model_spec(name: str, source: str = "params.yaml") -> ModelSpec:
    """The registered model ``name``; UserError listing the valid names otherwise."""
    spec = REGISTRY.get(name)
    if spec is None:
        names = list(REGISTRY)
        raise UserError(
            f"{source}: train.model.name: unknown model {name!r}"
            f"{did_you_mean(name, [*names, AUTO])} (valid: {', '.join(names)}, or {AUTO})"
        )
    return spec


def build_estimator(
    model: str | ModelSpec, params: Mapping[str, Any], seed: int, source: str = "params.yaml"
) -> BaseEstimator:
    """An unfitted regressor with ``params`` over our defaults, seeded where it takes a seed.

    Unknown names, unknown hyperparameters and invalid values are UserErrors naming the key
    (``train.model.params.<name>``) in ``source``.
    """
    from sklearn.base import is_regressor

    spec = model if isinstance(model, ModelSpec) else model_spec(model, source)
    where = f"{source}: train.model.params.{spec.name}"
    valid = spec.valid_params()
    for param in params:
        if param == SEED_PARAM:
            raise UserError(f"{where}: {SEED_PARAM!r} is set from train.seed; remove it here")
        if param not in valid:
            raise UserError(
                f"{where}: unknown hyperparameter {param!r}{did_you_mean(param, valid)} "
                f"for {spec.estimator.__name__} (valid: {', '.join(valid)})"
            )
    estimator = spec.estimator(**{**spec.defaults, **params})
    if SEED_PARAM in estimator.get_params(deep=False):
        estimator.set_params(**{SEED_PARAM: seed})
    try:
        # sklearn checks values only at fit time; check them now, before any data is read.
        estimator._validate_params()  # private: tests/test_model_registry.py guards it
    except (ValueError, TypeError) as exc:  # sklearn's InvalidParameterError is both
        raise UserError(f"{where}: {str(exc).splitlines()[0]}") from None
    if not is_regressor(estimator):  # pragma: no cover - registry invariant
        raise TypeError(f"{spec.estimator.__name__} is not a regressor")
    return estimator


def check_model_params(
    params: Mapping[str, Mapping[str, Any]],
    seed: int,
    source: str = "params.yaml",
    skip: str | None = None,
) -> None:
    """Check every entry of ``train.model.params`` (those of models not selected too) but
    ``skip`` (the selected model, whose estimator is built anyway)."""
    for name, values in params.items():
        if name == skip:
            continue
        if name not in REGISTRY:
            names = list(REGISTRY)
            raise UserError(
                f"{source}: train.model.params: unknown model {name!r}{did_you_mean(name, names)} "
                f"(valid: {', '.join(names)})"
            )
        build_estimator(REGISTRY[name], values, seed, source)
