"""``lag``: the value of a column ``periods`` orders earlier within ``by`` groups."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl
from pydantic import Field

from features_pipeline.features.types.base import Schema
from features_pipeline.features.types.window import WindowFeature


class Lag(WindowFeature):
    """Value ``periods`` orders earlier in the group, by ``order_by`` then ``tie_breaker``.

    ```yaml
    - name: prev_units_same_item_country
      type: lag
      column: Units Sold
      by: [Country, Item Type]
      periods: 1
    ```
    """

    type: Literal["lag"]
    column: str
    periods: int = Field(default=1, ge=1)

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,), **self.window_keys()}

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return schema[self.column]

    def expression(self, sequence: str | None = None) -> nw.Expr:
        return self.over(nw.col(self.column).shift(self.periods), sequence)

    def polars_expression(self, sequence: str | None = None) -> pl.Expr:
        """The same window in Polars: it joins the level's other native windows in one step."""
        return self.polars_over(pl.col(self.column).shift(self.periods), sequence)
