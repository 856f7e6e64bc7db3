"""Model inputs from a Polars frame to one float64 matrix, by vectorised Polars expressions.

scikit-learn's ColumnTransformer on a frame turns every text cell into a Python object (one
per row) before its encoders sort them: at 4M rows that, not the solver, was most of a linear
fit (36 s against 0.7 s). Here text columns become one-hot indicators or category codes by
Polars expressions, numeric columns are imputed (median) and standardised by expressions with
the learned values, and their results fill one Fortran-ordered float64 array a few columns at
a time: the layout the linear solvers and the tree binners read column by column, with no
second copy of it in memory.

This file defines one of the two classes of this package that a model file holds (the other
is model/least_squares.py, a LinearRegression); the encoder's state is plain
strings, lists and float64 arrays (loaded by skops without running code) and
:meth:`FrameEncoder.check_fitted` checks it before a loaded model is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator

NAN = float("nan")
COLUMNS_PER_SELECT = 8  # matrix columns computed per Polars select
_CODE_PREFIX = "\x00code "  # temporary columns of category codes (no real column name clashes)


def _code_column(index: int) -> str:
    return f"{_CODE_PREFIX}{index}"


def _as_frame(frame: Any) -> pl.DataFrame:
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"FrameEncoder takes a polars DataFrame, got {type(frame).__name__}")
    return frame


def category_values(column: pl.Series) -> list[str]:
    """The distinct non-null values of a text-like column as strings, sorted."""
    values = column.cast(pl.String).drop_nulls().unique().sort()
    return [str(value) for value in values.to_list()]


def standard_scale(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (population) of a column, as StandardScaler learns them;
    a deviation that is rounding noise around a constant counts as none (scale 1)."""
    n = values.shape[0]
    if n == 0:
        return 0.0, 1.0
    mean = float(values.mean())
    var = float(values.var())
    eps = float(np.finfo(np.float64).eps)
    if not math.isfinite(var) or var <= n * eps * var + (n * mean * eps) ** 2:
        return mean, 1.0
    return mean, math.sqrt(var)


class FrameEncoder(BaseEstimator):
    """Polars frame -> float64 matrix: ``categorical`` columns first, then ``numeric``.

    - text columns (String, Categorical, Enum, Boolean): one 0/1 column per training value in
      sorted order (``one_hot``; an unseen or empty value gives all zeros), or one column of
      codes 0..k-1 in that order (unseen or empty: NaN, which the boosted trees treat as
      missing); ``drop_first`` (one-hot for unpenalised least squares): no column for the first
      value, which the intercept carries (so unseen or empty values count as that one);
    - numeric columns as float64; ``impute``: NaN and empty cells become the training median
      (0 when a column has none); ``scale``: then minus the training mean, divided by the
      training standard deviation.
    """

    def __init__(
        self,
        categorical: Sequence[str] = (),
        numeric: Sequence[str] = (),
        one_hot: bool = True,
        impute: bool = True,
        scale: bool = False,
        drop_first: bool = False,
    ) -> None:
        self.categorical = categorical
        self.numeric = numeric
        self.one_hot = one_hot
        self.impute = impute
        self.scale = scale
        self.drop_first = drop_first

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, frame: pl.DataFrame, y: Any = None) -> FrameEncoder:
        self.fit_transform(frame, y)
        return self

    def fit_transform(self, frame: pl.DataFrame, y: Any = None) -> np.ndarray:
        """Learn categories, medians and scales from ``frame`` and return its matrix.

        Means and deviations come from the imputed columns (numpy's pairwise sums: the same
        bits every run); the matrix is then built by :meth:`transform`, the one code path
        prediction takes too.
        """
        frame = _as_frame(frame)
        categorical, numeric = list(self.categorical), list(self.numeric)
        self.categories_ = [category_values(frame.get_column(name)) for name in categorical]
        self.medians_ = np.zeros(len(numeric), dtype=np.float64)
        self.means_ = np.zeros(len(numeric), dtype=np.float64)
        self.scales_ = np.ones(len(numeric), dtype=np.float64)
        if self.impute and numeric:
            row = frame.select(
                pl.col(name).cast(pl.Float64).fill_nan(None).median() for name in numeric
            ).row(0)
            self.medians_ = np.array([0.0 if v is None else v for v in row], dtype=np.float64)
        if self.scale and numeric:
            imputed = frame.select(self._numeric_exprs(scaled=False))
            for index, column in enumerate(imputed.iter_columns()):
                self.means_[index], self.scales_[index] = standard_scale(column.to_numpy())
        self.n_features_in_ = len(categorical) + len(numeric)
        self.n_output_ = self._width(self.categories_)
        return self.transform(frame)

    # -- transforming --------------------------------------------------------------------------

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        """The float64 matrix of ``frame`` (one row per row, :attr:`n_output_` columns)."""
        return self._matrix(_as_frame(frame), scaled=self.scale)

    def _matrix(self, frame: pl.DataFrame, scaled: bool) -> np.ndarray:
        # text -> category codes once per column (an Enum of the training values: unseen and
        # empty values become null), then indicators or codes from those small integers
        codes = [
            pl.col(name)
            .cast(pl.String)
            .cast(pl.Enum(values), strict=False)
            .to_physical()
            .alias(_code_column(index))
            for index, (name, values) in enumerate(
                zip(self.categorical, self.categories_, strict=True)
            )
        ]
        exprs = [*self._categorical_exprs(), *self._numeric_exprs(scaled)]
        matrix = np.empty((frame.height, len(exprs)), dtype=np.float64, order="F")
        with_codes = frame.with_columns(codes) if codes else frame
        # a few columns per select (Polars computes them in parallel), each copied into its
        # column of the one matrix: never a whole second matrix in memory
        for first in range(0, len(exprs), COLUMNS_PER_SELECT):
            group = with_codes.select(exprs[first : first + COLUMNS_PER_SELECT])
            for offset, column in enumerate(group.iter_columns()):
                matrix[:, first + offset] = column.to_numpy()
        return matrix

    def _categorical_exprs(self) -> list[pl.Expr]:
        exprs: list[pl.Expr] = []
        for index, values in enumerate(self.categories_):
            code = pl.col(_code_column(index))
            first = 1 if self.drop_first else 0
            if self.one_hot:
                exprs.extend(
                    (code == position)
                    .fill_null(False)
                    .cast(pl.Float64)
                    .alias(f"{index}={position}")
                    for position in range(first, len(values))
                )
            else:
                exprs.append(code.cast(pl.Float64).fill_null(NAN).alias(f"{index}"))
        return exprs

    def _numeric_exprs(self, scaled: bool) -> list[pl.Expr]:
        exprs: list[pl.Expr] = []
        for index, name in enumerate(self.numeric):
            value = pl.col(name).cast(pl.Float64)
            if self.impute:
                value = value.fill_nan(None).fill_null(float(self.medians_[index]))
            else:
                value = value.fill_null(NAN)
            if scaled:
                value = (value - float(self.means_[index])) / float(self.scales_[index])
            exprs.append(value.alias(f"#{index}"))
        return exprs

    # -- what a loaded model must hold ---------------------------------------------------------

    def _width(self, categories: Sequence[Sequence[str]]) -> int:
        if not self.one_hot:
            return len(categories) + len(self.numeric)
        dropped = 1 if self.drop_first else 0
        return sum(max(len(values) - dropped, 0) for values in categories) + len(self.numeric)

    def feature_names_out(self) -> list[str]:
        """Names of the matrix columns: ``column=value`` (one-hot), ``column`` otherwise."""
        names: list[str] = []
        for name, values in zip(self.categorical, self.categories_, strict=True):
            kept = values[1:] if self.drop_first else values
            names.extend([f"{name}={value}" for value in kept] if self.one_hot else [name])
        return [*names, *self.numeric]

    def check_fitted(self) -> None:
        """Raise ValueError unless the state is what :meth:`fit_transform` leaves (types and
        lengths): a crafted file must not reach Polars with anything else."""

        def strings(value: Any) -> bool:
            return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)

        state = self.__dict__
        if not (strings(state.get("categorical")) and strings(state.get("numeric"))):
            raise ValueError("encoder columns are not lists of names")
        numeric: Sequence[str] = state["numeric"]
        categorical: Sequence[str] = state["categorical"]
        categories = state.get("categories_")
        if not all(
            isinstance(state.get(k), bool) for k in ("one_hot", "impute", "scale", "drop_first")
        ):
            raise ValueError("encoder options are not booleans")
        if not (
            isinstance(categories, list)
            and len(categories) == len(categorical)
            and all(
                strings(values) and list(values) == sorted(set(values)) for values in categories
            )
        ):
            raise ValueError(
                "encoder categories are not sorted distinct strings, one list per column"
            )
        for key in ("medians_", "means_", "scales_"):
            array = state.get(key)
            if not (
                isinstance(array, np.ndarray)
                and array.dtype == np.float64
                and array.shape == (len(numeric),)
            ):
                raise ValueError(f"encoder {key.rstrip('_')} are not {len(numeric)} float64 values")
        if state.get("n_output_") != self._width(categories):
            raise ValueError("encoder output width differs from its categories")
