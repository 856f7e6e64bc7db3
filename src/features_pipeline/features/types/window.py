"""Shared shape of window features: groups ``by`` keys, ordered by a date with a tie-breaker."""

from __future__ import annotations

from typing import ClassVar

import polars as pl
from pydantic import field_validator

from features_pipeline.columns import ORDER_DATE, ORDER_ID
from features_pipeline.features.types.base import Feature, Kind, Schema, as_tuple


class WindowFeature(Feature):
    """Looks at other rows of its ``by`` group in ``order_by`` order (ties: ``tie_breaker``)."""

    default_kind: ClassVar[Kind] = Kind.WINDOW
    by: tuple[str, ...] = ()
    order_by: str = ORDER_DATE
    tie_breaker: str = ORDER_ID

    @field_validator("by", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return as_tuple(value) if isinstance(value, str | list) else value

    def window_keys(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {"order_by": (self.order_by,)}
        keys["tie_breaker"] = (self.tie_breaker,)
        if self.by:
            keys["by"] = self.by
        return keys

    def over(self, expression: pl.Expr) -> pl.Expr:
        """Evaluate ``expression`` per group in (order_by, tie_breaker) order, in row order out."""
        order = [self.order_by, self.tie_breaker]
        if self.by:
            return expression.over(list(self.by), order_by=order)
        return expression.over(order_by=order)

    def check_types(self, schema: Schema) -> None:
        """Window features accept any orderable columns; subclasses add value checks."""
