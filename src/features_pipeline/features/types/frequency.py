"""``frequency``: the share of training rows having this row's category value."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.features.types.base import FittedFeature, Schema


class Frequency(FittedFeature):
    """Frequency encoding learned on training rows; unseen values get ``fill`` (default null).

    ```yaml
    - name: country_share
      type: frequency
      column: Country
      fill: 0.0
    ```
    """

    type: Literal["frequency"]
    column: str

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,)}

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Float64()

    def fit_keys(self) -> tuple[str, ...]:
        return (self.column,)

    def fit_expressions(self) -> list[nw.Expr]:
        return [nw.len().cast(nw.Float64).alias(self.name)]

    def finish_expressions(self) -> list[pl.Expr]:
        """Counts per value become shares of all training rows (the table's total)."""
        return [(pl.col(self.name) / pl.col(self.name).sum()).alias(self.name)]
