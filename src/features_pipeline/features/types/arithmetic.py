"""``arithmetic``: add/subtract/multiply/divide two columns, or a column and a constant."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl
from pydantic import model_validator

from features_pipeline.features.types.base import Feature, Schema, require_numeric
from features_pipeline.features.types.ratio import ZeroPolicy, safe_divide

Operation = Literal["add", "subtract", "multiply", "divide"]


class Arithmetic(Feature):
    """``left <op> right`` or ``left <op> constant``; division follows ``on_zero`` like ratio.

    ```yaml
    - name: unit_margin
      type: arithmetic
      op: subtract
      left: Unit Price
      right: Unit Cost
    ```
    """

    type: Literal["arithmetic"]
    op: Operation
    left: str
    right: str | None = None
    constant: float | None = None
    on_zero: ZeroPolicy = "null"

    @model_validator(mode="after")
    def _one_right_operand(self) -> Arithmetic:
        if (self.right is None) == (self.constant is None):
            raise ValueError("give exactly one of 'right' (a column) or 'constant' (a number)")
        return self

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {"left": (self.left,)}
        if self.right is not None:
            keys["right"] = (self.right,)
        return keys

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "left", self.left)
        if self.right is not None:
            require_numeric(schema, "right", self.right)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        if self.op == "divide":
            return pl.Float64()
        integer_right = (
            schema[self.right].is_integer()
            if self.right is not None
            else float(self.constant or 0).is_integer()
        )
        if schema[self.left].is_integer() and integer_right:
            return pl.Int64()
        return pl.Float64()

    def _right_operand(self) -> nw.Expr:
        if self.right is not None:
            return nw.col(self.right)
        constant = self.constant or 0.0
        return nw.lit(int(constant)) if constant.is_integer() else nw.lit(constant)

    def expression(self) -> nw.Expr:
        left, right = nw.col(self.left), self._right_operand()
        if self.op == "divide":
            result = safe_divide(left, right, self.on_zero)
        elif self.op == "add":
            result = left + right
        elif self.op == "subtract":
            result = left - right
        else:
            result = left * right
        return result
