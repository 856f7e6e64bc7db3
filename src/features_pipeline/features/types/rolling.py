"""``rolling``: mean or sum over the previous ``window`` orders (current row excluded)."""

from __future__ import annotations

from typing import Literal

import polars as pl
from pydantic import Field

from features_pipeline.features.types.base import Schema, require_numeric
from features_pipeline.features.types.window import WindowFeature


class Rolling(WindowFeature):
    """Mean/sum of ``column`` over the ``window`` previous orders of the group (not this one).

    ```yaml
    - name: rolling_units_country
      type: rolling
      column: Units Sold
      by: [Country]
      window: 5
      agg: mean
    ```
    """

    type: Literal["rolling"]
    column: str
    window: int = Field(ge=1)
    agg: Literal["mean", "sum"] = "mean"
    min_periods: int = Field(default=1, ge=1)

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,), **self.window_keys()}

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Float64()

    def expression(self, sequence: str | None = None) -> pl.Expr:
        previous = pl.col(self.column).cast(pl.Float64).shift(1)
        minimum = min(self.min_periods, self.window)
        if self.agg == "mean":
            rolled = previous.rolling_mean(self.window, min_samples=minimum)
        else:
            rolled = previous.rolling_sum(self.window, min_samples=minimum)
        return self.over(rolled, sequence).alias(self.name)
