"""``date_part``: year, quarter, month, day, weekday or day of year of a date column."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
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

    def expression(self) -> nw.Expr:
        dates = nw.col(self.column).dt
        if self.part == "weekday":
            # engines number weekdays differently (Polars 1..7 from Monday, narwhals on Spark
            # 0..6 from Sunday): (w + 6) % 7 + 1 maps both to 1 (Monday) .. 7 (Sunday)
            return (dates.weekday().cast(nw.Int64) + 6) % 7 + 1
        if self.part == "quarter":
            return (dates.month().cast(nw.Int64) - 1) // 3 + 1
        parts = {"year": dates.year, "month": dates.month, "day": dates.day}
        return parts.get(self.part, dates.ordinal_day)()
