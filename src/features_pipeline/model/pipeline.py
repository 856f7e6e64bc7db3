"""The scikit-learn Pipeline: preprocessing chosen from the frame's dtypes, then the regressor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from features_pipeline.errors import UserError
from features_pipeline.model.registry import ModelSpec

PREPROCESS = "preprocess"
MODEL = "model"


@dataclass(frozen=True)
class ColumnRoles:
    """Model inputs by how they are encoded: categorical (one-hot, or category codes for the
    models that take them) or numeric."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.categorical + self.numeric


def _is_categorical(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.String | pl.Categorical | pl.Enum | pl.Boolean)


def column_roles(
    schema: Mapping[str, pl.DataType], features: Sequence[str], source: str = "train.features"
) -> ColumnRoles:
    """Split ``features`` by dtype; dates and nested types are UserErrors naming the column."""
    categorical: list[str] = []
    numeric: list[str] = []
    for name in features:
        dtype = schema[name]
        if _is_categorical(dtype):
            categorical.append(name)
        elif dtype.is_numeric():
            numeric.append(name)
        elif dtype.is_temporal():
            raise UserError(
                f"{source}: {name!r} is a {dtype} column; dates are not model inputs "
                "(derive a date_part or date_diff feature in the feature spec and use that)"
            )
        else:
            raise UserError(
                f"{source}: {name!r} has dtype {dtype}; model inputs must be numeric, "
                "string, categorical or boolean"
            )
    return ColumnRoles(tuple(categorical), tuple(numeric))


def _numeric_steps(spec: ModelSpec) -> Pipeline | str:
    steps: list[tuple[str, BaseEstimator]] = []
    if not spec.handles_missing:
        steps.append(("impute", SimpleImputer(strategy="median")))
    if spec.scale_numeric:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps) if steps else "passthrough"


def categorical_encoder(spec: ModelSpec) -> BaseEstimator:
    """One-hot (unknown categories at prediction -> all zeros), or for models that take them,
    category codes in sorted order of the training values (unknown -> NaN, a missing value)."""
    if spec.encoding == "ordinal":
        return OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
    return OneHotEncoder(handle_unknown="ignore", sparse_output=not spec.dense_only)


def build_pipeline(roles: ColumnRoles, spec: ModelSpec, estimator: BaseEstimator) -> Pipeline:
    """Categorical inputs encoded as the model needs (see :func:`categorical_encoder`), numeric
    as the model needs (imputed and scaled for linear models, as they are for trees), then
    ``estimator``.
    """
    transformers: list[tuple[str, object, list[str]]] = []
    if roles.categorical:
        transformers.append(("categorical", categorical_encoder(spec), list(roles.categorical)))
    if roles.numeric:
        transformers.append(("numeric", _numeric_steps(spec), list(roles.numeric)))
    preprocess = ColumnTransformer(
        transformers,
        remainder="drop",
        sparse_threshold=0.0 if spec.dense_only else 0.3,
    )
    return Pipeline([(PREPROCESS, preprocess), (MODEL, estimator)])
