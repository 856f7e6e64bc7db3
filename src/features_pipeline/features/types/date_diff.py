"""``date_diff``: whole days from ``start`` to ``end``."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.features.types.base import Feature, Schema, require_temporal

MICROSECONDS_PER_DAY = 86_400_000_000


def epoch_microseconds(column: str) -> nw.Expr:
    """Microseconds since 1970-01-01 00:00 from the calendar and clock parts in integer
    arithmetic (days by H. Hinnant's days_from_civil): exact on every engine, which differ in
    what date - date gives (a duration on Polars and Spark, an integer on DuckDB) and in which
    durations they can count. For years >= 1: every division is of non-negative numbers."""
    moment = nw.col(column).cast(nw.Datetime("us"))
    year, month, day, hour, minute, second, micro = (
        part.cast(nw.Int64)
        for part in (
            moment.dt.year(),
            moment.dt.month(),
            moment.dt.day(),
            moment.dt.hour(),
            moment.dt.minute(),
            moment.dt.second(),
            moment.dt.microsecond(),
        )
    )
    shifted = year - (month <= 2).cast(nw.Int64)  # years start in March: leap day last
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    return ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micro


class DateDiff(Feature):
    """Whole days from ``start`` to ``end`` (negative when end is earlier; between datetimes,
    the elapsed time truncated toward zero).

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

    def polars_expression(self, sequence: str | None = None) -> pl.Expr:
        """Polars subtracts dates directly (~30x faster than from year, month and day)."""
        return (pl.col(self.end) - pl.col(self.start)).dt.total_days()

    def expression(self) -> nw.Expr:
        elapsed = epoch_microseconds(self.end) - epoch_microseconds(self.start)
        days = elapsed.abs() // MICROSECONDS_PER_DAY  # whole days, truncated toward zero
        return nw.when(elapsed < 0).then(-days).otherwise(days)
