"""``rolling``: mean or sum over the previous ``window`` orders (current row excluded)."""

from __future__ import annotations

from typing import Literal, TypeVar

import narwhals.stable.v2 as nw
import polars as pl
from pydantic import Field

from features_pipeline.features.types.base import Schema, require_numeric
from features_pipeline.features.types.window import WindowFeature

E = TypeVar("E", pl.Expr, nw.Expr)


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

    def helpers(self, sequence: str | None = None) -> dict[str, nw.Expr]:
        """The previous order's value (one window step; rolling over it is the next)."""
        previous = nw.col(self.column).cast(nw.Float64).shift(1)
        return {self.helper_name("previous"): self.over(previous, sequence)}

    def polars_expression(self, sequence: str | None = None) -> pl.Expr:
        """Shift and roll in one window (narwhals cannot chain them: two windows)."""
        previous = pl.col(self.column).cast(pl.Float64).shift(1)
        return self.polars_over(self._rolled(previous), sequence)

    def expression(self, sequence: str | None = None) -> nw.Expr:
        return self.over(self._rolled(nw.col(self.helper_name("previous"))), sequence)

    def _rolled(self, previous: E) -> E:
        """Mean or sum of the ``window`` values up to ``previous`` (Polars or narwhals alike)."""
        minimum = min(self.min_periods, self.window)
        if self.agg == "mean":
            return previous.rolling_mean(self.window, min_samples=minimum)
        return previous.rolling_sum(self.window, min_samples=minimum)
