"""``rank``: rank or percentile of a column within ``by`` groups."""

from __future__ import annotations

from typing import ClassVar, Literal

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.plan_file import Kind
from features_pipeline.features.types.base import (
    Feature,
    Keys,
    RowOrder,
    Schema,
    require_numeric,
)

RankMethod = Literal["average", "min", "max", "dense", "ordinal"]


class Rank(Feature):
    """Rank (1 = smallest, ties by ``method``) or, with ``percentile: true``, rank / group size.

    ``ordinal`` ranks tied values by ``tie_breaker`` (ascending): a tie order every engine agrees
    on, unlike row order.

    ```yaml
    - name: units_rank_in_country
      type: rank
      column: Units Sold
      by: [Country]
      percentile: true
    ```
    """

    default_kind: ClassVar[Kind] = Kind.WINDOW
    type: Literal["rank"]
    column: str
    by: Keys = ()
    method: RankMethod = "average"
    descending: bool = False
    percentile: bool = False
    tie_breaker: str = ""  # orders tied values under ``ordinal``; default: the contract's key

    def with_row_order(self, order: RowOrder) -> Rank:
        return self.model_copy(update={"tie_breaker": self.tie_breaker or order.tie_breaker})

    def window_by(self) -> tuple[str, ...]:
        return self.by

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {"column": (self.column,)}
        if self.by:
            keys["by"] = self.by
        if self.method == "ordinal":
            keys["tie_breaker"] = (self.tie_breaker,)
        return keys

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        if self.percentile or self.method == "average":
            return pl.Float64()
        return pl.Int64()

    def helpers(self, sequence: str | None = None) -> dict[str, nw.Expr]:
        """``ordinal``: the value to order by (negated when descending)."""
        if self.method != "ordinal":
            return {}
        value = nw.col(self.column)
        return {self.helper_name("value"): -value if self.descending else value}

    def expression(self) -> nw.Expr:
        column = nw.col(self.column)
        if self.method == "ordinal":
            value = self.helper_name("value")
            position = nw.col(value).cum_count().over(*self.by, order_by=[value, self.tie_breaker])
            rank = nw.when(column.is_null()).then(nw.lit(None, nw.Int64)).otherwise(position)
            if self.percentile:
                rank = rank.cast(nw.Float64) / self._per_group(column.count())
            return rank
        rank = column.rank(self.method, descending=self.descending)
        if self.percentile:  # one window: rank and group size over the same partition
            rank = rank.cast(nw.Float64) / column.count()
        return self._per_group(rank)

    def polars_expression(self, sequence: str | None = None) -> pl.Expr | None:
        """Rank and group size in one window (narwhals splits them into two)."""
        if self.method == "ordinal":
            return None
        column = pl.col(self.column)
        rank = column.rank(self.method, descending=self.descending)
        if self.percentile:
            rank = rank.cast(pl.Float64) / column.count()
        return rank.over(list(self.by)) if self.by else rank

    def _per_group(self, expression: nw.Expr) -> nw.Expr:
        return expression.over(*self.by) if self.by else expression
