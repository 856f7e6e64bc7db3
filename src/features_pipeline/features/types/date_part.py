"""``date_part``: year, quarter, month, day, weekday or day of year of a date column."""

from __future__ import annotations

from typing import Literal

import polars as pl

from features_pipeline.features.types.base import Feature, Schema, require_temporal

Part = Literal["year", "quarter", "month", "day", "weekday", "day_of_year"]


class DatePart(Feature):
    """A calendar part of a date; ``weekday`` is 1 (Monday) .. 7 (Sunday).

    ```yaml
    - name: order_month
      type: date_part
      column: Order Date
      part: month
    ```
    """

    type: Literal["date_part"]
    column: str
    part: Part

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,)}

    def check_types(self, schema: Schema) -> None:
        require_temporal(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Int64()

    def expression(self) -> pl.Expr:
        dates = pl.col(self.column).dt
        part = {
            "year": dates.year(),
            "quarter": dates.quarter(),
            "month": dates.month(),
            "day": dates.day(),
            "weekday": dates.weekday(),
            "day_of_year": dates.ordinal_day(),
        }[self.part]
        return part.alias(self.name)
