"""``group_agg``: an aggregate of a column over ``by`` keys, learned on training rows."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl
from pydantic import field_validator

from features_pipeline.features.types.base import (
    FittedFeature,
    Keys,
    Schema,
    require_numeric,
)

Aggregation = Literal["mean", "sum", "count", "min", "max", "median", "std"]


class GroupAgg(FittedFeature):
    """``agg`` of ``column`` per ``by`` group of training rows, joined back to every row.

    ```yaml
    - name: avg_units_by_country
      type: group_agg
      column: Units Sold
      by: [Country]
      agg: mean
    ```
    """

    type: Literal["group_agg"]
    column: str
    by: Keys
    agg: Aggregation

    @field_validator("by")
    @classmethod
    def _not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one key column")
        return value

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,), "by": self.by}

    def check_types(self, schema: Schema) -> None:
        if self.agg != "count":
            require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        if self.agg == "count":
            return pl.Int64()
        if self.agg in ("min", "max"):
            return schema[self.column]
        if self.agg == "sum" and schema[self.column].is_integer():
            return pl.Int64()
        return pl.Float64()

    def fit_keys(self) -> tuple[str, ...]:
        return self.by

    def fit_expressions(self) -> list[nw.Expr]:
        column = nw.col(self.column)
        expression = {
            "mean": column.mean(),
            "sum": column.sum(),
            "count": column.count().cast(nw.Int64),
            "min": column.min(),
            # Polars' max skips NaN (NaN only when every value is NaN); SQL engines order NaN
            # above every number, so their max would be NaN: skip it explicitly everywhere
            "max": nw.coalesce(column.fill_nan(None).max(), column.max()),
            "median": column.median(),
            "std": column.std(),
        }[self.agg]
        return [expression.alias(self.name)]
