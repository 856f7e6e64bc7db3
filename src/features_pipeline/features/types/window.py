"""Shared shape of window features: groups ``by`` keys, ordered by a date with a tie-breaker."""

from __future__ import annotations

from typing import ClassVar

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.plan_file import Kind
from features_pipeline.features.types.base import Feature, Keys, RowOrder, Schema


class WindowFeature(Feature):
    """Looks at other rows of its ``by`` group in ``order_by`` order (ties: ``tie_breaker``);
    both default to the dataset contract's row order."""

    default_kind: ClassVar[Kind] = Kind.WINDOW
    by: Keys = ()
    order_by: str = ""  # "" until planned: the dataset contract's ``order_by``
    tie_breaker: str = ""  # "" until planned: the contract's key (or ``row_number``)

    def with_row_order(self, order: RowOrder) -> WindowFeature:
        return self.model_copy(
            update={
                "order_by": self.order_by or order.order_by,
                "tie_breaker": self.tie_breaker or order.tie_breaker,
            }
        )

    def window_keys(self) -> dict[str, tuple[str, ...]]:
        keys: dict[str, tuple[str, ...]] = {"order_by": (self.order_by,)}
        keys["tie_breaker"] = (self.tie_breaker,)
        if self.by:
            keys["by"] = self.by
        return keys

    def ordering(self) -> tuple[str, ...]:
        """The row order this feature reads history in."""
        return (self.order_by, self.tie_breaker)

    def window_by(self) -> tuple[str, ...]:
        return self.by

    def compute(self, sequence: str | None = None) -> nw.Expr:
        return self.expression(sequence)

    def ordered(self, sequence: str | None = None) -> list[str]:
        """The columns rows are ordered by: the engine's ``sequence`` or (order_by, tie_breaker)."""
        return [sequence] if sequence else [self.order_by, self.tie_breaker]

    def expression(self, sequence: str | None = None) -> nw.Expr:
        """The window expression; ``sequence`` names a column ranking rows by :meth:`ordering`."""
        raise NotImplementedError

    def over(self, expression: nw.Expr, sequence: str | None = None) -> nw.Expr:
        """Evaluate ``expression`` per group in (order_by, tie_breaker) order, in row order out.

        The engine may pass ``sequence``, one integer column ranking the rows by
        :meth:`ordering` computed once for all window features: ordering by it is cheaper than by
        the two columns in every feature.
        """
        return expression.over(*self.by, order_by=self.ordered(sequence))

    def polars_over(self, expression: pl.Expr, sequence: str | None = None) -> pl.Expr:
        """:meth:`over` for a native Polars expression."""
        order = self.ordered(sequence)
        return (
            expression.over(list(self.by), order_by=order)
            if self.by
            else expression.over(order_by=order)
        )

    def check_types(self, schema: Schema) -> None:
        """Window features accept any orderable columns; subclasses add value checks."""
