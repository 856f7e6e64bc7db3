"""``date_diff``: whole days from ``start`` to ``end``."""

from __future__ import annotations

from typing import Literal

import polars as pl

from features_pipeline.features.types.base import Feature, Schema, require_temporal


class DateDiff(Feature):
    """Days between two date columns (``end - start``; negative when end is earlier).

    ```yaml
    - name: days_to_ship
      type: date_diff
      start: Order Date
      end: Ship Date
    ```
    """

    type: Literal["date_diff"]
    start: str
    end: str

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"start": (self.start,), "end": (self.end,)}

    def check_types(self, schema: Schema) -> None:
        require_temporal(schema, "start", self.start)
        require_temporal(schema, "end", self.end)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Int64()

    def expression(self) -> pl.Expr:
        return (pl.col(self.end) - pl.col(self.start)).dt.total_days().alias(self.name)
