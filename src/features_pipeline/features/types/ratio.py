"""``ratio``: numerator / denominator with a declared policy for zero denominators."""

from __future__ import annotations

import math
from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.features.types.base import Feature, Schema, require_numeric

ZeroPolicy = Literal["null", "zero", "inf"]


def safe_divide(numerator: nw.Expr, denominator: nw.Expr, on_zero: ZeroPolicy) -> nw.Expr:
    """Float division; a zero denominator gives null, 0.0 or IEEE ±inf/NaN as declared.

    A null numerator gives null under every policy (``zero`` does not invent a value). The IEEE
    results are written out: SQL engines give null (or an error) for a division by zero.
    """
    top, bottom = numerator.cast(nw.Float64), denominator.cast(nw.Float64)
    if on_zero == "inf":
        ieee = (
            nw.when(top > 0)
            .then(nw.lit(math.inf))
            .when(top < 0)
            .then(nw.lit(-math.inf))
            .otherwise(nw.lit(math.nan))
        )
        replacement = ieee
    else:
        replacement = nw.lit(None, nw.Float64) if on_zero == "null" else nw.lit(0.0)
    zero = ~top.is_null() & (bottom == 0)
    return nw.when(zero).then(replacement).otherwise(top / bottom)


class Ratio(Feature):
    """``numerator / denominator``; ``on_zero``: null (default), zero or inf.

    ```yaml
    - name: profit_margin
      type: ratio
      numerator: Total Profit
      denominator: Total Revenue
      on_zero: "null"
    ```
    """

    type: Literal["ratio"]
    numerator: str
    denominator: str
    on_zero: ZeroPolicy = "null"

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"numerator": (self.numerator,), "denominator": (self.denominator,)}

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "numerator", self.numerator)
        require_numeric(schema, "denominator", self.denominator)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Float64()

    def expression(self) -> nw.Expr:
        return safe_divide(nw.col(self.numerator), nw.col(self.denominator), self.on_zero)
