"""``ratio``: numerator / denominator with a declared policy for zero denominators."""

from __future__ import annotations

from typing import Literal

import polars as pl

from features_pipeline.features.types.base import Feature, Schema, require_numeric

ZeroPolicy = Literal["null", "zero", "inf"]


def safe_divide(numerator: pl.Expr, denominator: pl.Expr, on_zero: ZeroPolicy) -> pl.Expr:
    """Float division; a zero denominator gives null, 0.0 or IEEE ±inf/NaN as declared.

    A null numerator gives null under every policy (``zero`` does not invent a value).
    """
    quotient = numerator.cast(pl.Float64) / denominator.cast(pl.Float64)
    if on_zero == "inf":
        return quotient
    replacement = pl.lit(None, pl.Float64) if on_zero == "null" else pl.lit(0.0)
    zero = numerator.is_not_null() & (denominator == 0)
    return pl.when(zero).then(replacement).otherwise(quotient)


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

    def expression(self) -> pl.Expr:
        return safe_divide(pl.col(self.numerator), pl.col(self.denominator), self.on_zero).alias(
            self.name
        )
