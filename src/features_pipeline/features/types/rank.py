"""``rank``: rank or percentile of a column within ``by`` groups."""

from __future__ import annotations

from typing import ClassVar, Literal

import polars as pl
from pydantic import field_validator

from features_pipeline.features.types.base import (
    Feature,
    Kind,
    Schema,
    as_tuple,
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
    by: tuple[str, ...] = ()
    method: RankMethod = "average"
    descending: bool = False
    percentile: bool = False

    @field_validator("by", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return as_tuple(value) if isinstance(value, str | list) else value

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        keys = {"column": (self.column,)}
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
