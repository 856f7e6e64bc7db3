"""``rank``: rank or percentile of a column within ``by`` groups."""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl

from features_pipeline.features.types.base import (
    Feature,
    Keys,
    Kind,
    Schema,
    require_numeric,
)

RankMethod = Literal["average", "min", "max", "dense", "ordinal"]


class Rank(Feature):
    """Rank (1 = smallest, ties by ``method``) or, with ``percentile: true``, rank / group size.

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

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {"column": (self.column,)}
        if self.by:
            keys["by"] = self.by
        return keys

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        if self.percentile or self.method == "average":
            return pl.Float64()
        return pl.Int64()

    def expression(self) -> pl.Expr:
        column = pl.col(self.column)
        rank = column.rank(self.method, descending=self.descending)
        if self.percentile:
            rank = rank.cast(pl.Float64) / column.count()
        return (rank.over(list(self.by)) if self.by else rank).alias(self.name)
