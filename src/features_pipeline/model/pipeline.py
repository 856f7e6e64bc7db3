"""The scikit-learn Pipeline: the frame encoder chosen from the dtypes, then the regressor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from features_pipeline.errors import UserError
from features_pipeline.model.registry import ModelSpec

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import Pipeline

    from features_pipeline.model.encoding import FrameEncoder

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


def frame_encoder(roles: ColumnRoles, spec: ModelSpec) -> FrameEncoder:
    """Text columns one-hot (unknown categories at prediction -> all zeros), or for models that
    take them, category codes in sorted order of the training values (unknown -> NaN, a missing
    value); numbers imputed with the median for models that need it, standardised for linear
    models (trees take them as they are)."""
    from features_pipeline.model.encoding import FrameEncoder

    return FrameEncoder(
        categorical=roles.categorical,
        numeric=roles.numeric,
        one_hot=not spec.ordinal_categories,
        impute=not spec.handles_missing,
        scale=spec.scale_numeric,
        drop_first=spec.drop_first_category,
    )


def build_pipeline(roles: ColumnRoles, spec: ModelSpec, estimator: BaseEstimator) -> Pipeline:
    """The :func:`frame_encoder` of ``roles`` for ``spec``, then ``estimator``."""
    from sklearn.pipeline import Pipeline

    return Pipeline([(PREPROCESS, frame_encoder(roles, spec)), (MODEL, estimator)])
