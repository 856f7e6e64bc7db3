"""``log``: natural log of 1 + x; negative inputs are refused with a clear error."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.features.types.base import Domain, Feature, Schema, require_numeric


class Log1p(Feature):
    """``ln(1 + x)`` of a non-negative column (the engine refuses negative values by name).

    ```yaml
    - name: log_units
      type: log
      column: Units Sold
    ```
    """

    type: Literal["log"]
    column: str

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,)}

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Float64()

    def expression(self) -> nw.Expr:
        return (nw.col(self.column).cast(nw.Float64) + 1).log()

    def domain(self) -> Domain:
        return Domain(self.column, nw.col(self.column) < 0, "negative", "log(1 + x) needs x >= 0")
