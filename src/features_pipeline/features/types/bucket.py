"""``bucket``: the bin index of a numeric column, by fixed edges or training quantiles."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl
from pydantic import Field, field_validator, model_validator

from features_pipeline.contracts.plan_file import Kind
from features_pipeline.features.types.base import FittedFeature, Schema, require_numeric


def bin_index(value: nw.Expr, edges: list[nw.Expr]) -> nw.Expr:
    """0 below the first edge, i where edges[i-1] <= value < edges[i]; null stays null."""
    count = nw.sum_horizontal(*((value >= edge).cast(nw.Int64) for edge in edges))
    return nw.when(value.is_null()).then(nw.lit(None, nw.Int64)).otherwise(count)


class Bucket(FittedFeature):
    """Bin index by fixed ``edges`` (row-wise) or by ``quantiles`` learned on training rows.

    ```yaml
    - name: units_bucket          # fixed edges: row-wise
      type: bucket
      column: Units Sold
      edges: [1000, 5000, 9000]
    - name: price_quartile        # quantile edges learned on training rows: fitted
      type: bucket
      column: Unit Price
      quantiles: 4
    ```
    """

    type: Literal["bucket"]
    column: str
    edges: tuple[float, ...] | None = None
    quantiles: int | None = Field(default=None, ge=2, le=100)

    @field_validator("edges")
    @classmethod
    def _increasing(cls, edges: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if edges is not None and (not edges or list(edges) != sorted(set(edges))):
            raise ValueError("edges must be a non-empty, strictly increasing list of numbers")
        return edges

    @model_validator(mode="after")
    def _edges_or_quantiles(self) -> Bucket:
        if (self.edges is None) == (self.quantiles is None):
            raise ValueError("give exactly one of 'edges' (fixed) or 'quantiles' (learned)")
        return self

    @property
    def kind(self) -> Kind:
        return Kind.FITTED if self.quantiles is not None else Kind.ROW

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,)}

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Int64()

    def expression(self) -> nw.Expr:
        edges = [nw.lit(edge) for edge in self.edges or ()]
        return bin_index(nw.col(self.column), edges)

    # fitted form: one global row of learned quantile edges
    def learned_columns(self) -> tuple[str, ...]:
        return tuple(f"{self.name}__edge_{i}" for i in range(1, self.quantiles or 0))

    def fit_keys(self) -> tuple[str, ...]:
        return ()

    def row_inputs(self) -> tuple[str, ...]:
        """The row's own value is binned, with fixed or learned edges alike."""
        return (self.column,)

    def fit_expressions(self) -> list[nw.Expr]:
        count = self.quantiles or 0
        return [
            nw.col(self.column).quantile(i / count, interpolation="linear").alias(name)
            for i, name in enumerate(self.learned_columns(), start=1)
        ]

    def apply_expression(self) -> nw.Expr:
        edges = [nw.col(name) for name in self.learned_columns()]
        return bin_index(nw.col(self.column), edges)
