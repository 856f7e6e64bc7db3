"""What every feature type shares: name, inputs, kind, output dtype and its narwhals expression.

Expressions are written once with narwhals, so the same definition runs on Polars, DuckDB and
Spark; planning (dtypes, kinds, target marks) uses Polars dtypes and reads no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

import narwhals.stable.v2 as nw
import polars as pl
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from features_pipeline.contracts.plan_file import Kind

Schema = Mapping[str, pl.DataType]
FEATURE_TYPES: dict[str, type[Feature]] = {}
"""``type:`` in the spec -> class; a subclass with ``type: Literal["name"]`` registers itself."""


@dataclass(frozen=True)
class Domain:
    """Values a feature refuses: ``invalid`` is true on a row whose ``column`` is outside it."""

    column: str
    invalid: nw.Expr
    problem: str  # what the bad values are, e.g. "negative"
    rule: str  # what the feature needs, e.g. "log(1 + x) needs x >= 0"


@dataclass(frozen=True)
class RowOrder:
    """The dataset's row order (from its contract): what window features default to."""

    order_by: str  # "" when the contract declares none
    tie_breaker: str


class SpecError(ValueError):
    """A feature is inconsistent with the columns it reads (message names the key)."""


def is_temporal(dtype: pl.DataType) -> bool:
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)


def require(condition: bool, key: str, message: str) -> None:
    """Raise a SpecError for ``key`` unless ``condition`` holds."""
    if not condition:
        raise SpecError(f"{key!r}: {message}")


def require_numeric(schema: Schema, key: str, column: str) -> None:
    require(schema[column].is_numeric(), key, f"column {column!r} is {schema[column]}, not numeric")


def require_temporal(schema: Schema, key: str, column: str) -> None:
    require(is_temporal(schema[column]), key, f"column {column!r} is {schema[column]}, not a date")


def as_tuple(value: object) -> object:
    """``by: Country`` and ``by: [Country]`` mean the same (other values: left to validation)."""
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


Keys = Annotated[tuple[str, ...], BeforeValidator(as_tuple)]
"""Key columns given as one name or a list of names."""


class Feature(BaseModel):
    """Base of all feature types. Subclasses set ``type``, ``kind`` and build expressions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    type: str
    default_kind: ClassVar[Kind] = Kind.ROW
    # spec entries (without ``type``) the engine conformance suite computes on every engine and
    # compares with Polars, over its edge-case table (tests/engines/edge_table.py: integer n,
    # u, u_int; float x; text g, h; dates Order Date, Ship Date): a new type declares its own
    # here, so it is one file (the built-in types' cases live in that test module)
    conformance_cases: ClassVar[tuple[dict[str, Any], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Register a concrete type (``type: Literal["name"]``) under its name."""
        super().__pydantic_init_subclass__(**kwargs)
        annotation = cls.model_fields["type"].annotation
        if get_origin(annotation) is Literal:
            (name,) = get_args(annotation)
            registered = FEATURE_TYPES.setdefault(name, cls)
            if registered is not cls:
                raise TypeError(f"feature type {name!r} is defined twice: {registered} and {cls}")

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        """Spec keys that name columns, with the columns they name (for validation messages)."""
        raise NotImplementedError

    def inputs(self) -> tuple[str, ...]:
        """Every column this feature reads, in a stable order without repeats."""
        seen: dict[str, None] = {}
        for columns in self.column_keys().values():
            seen.update(dict.fromkeys(columns))
        return tuple(seen)

    def row_inputs(self) -> tuple[str, ...]:
        """Columns whose value on a row shapes that row's output (all inputs unless fitted)."""
        return self.inputs()

    def check_types(self, schema: Schema) -> None:
        """Raise SpecError when an input has an unusable dtype (schema holds every input)."""

    def output_dtype(self, schema: Schema) -> pl.DataType:
        """The dtype of the output column given the dtypes of the inputs."""
        raise NotImplementedError

    def expression(self) -> nw.Expr:
        """The Polars expression of a row-wise or window feature (aliased to ``name``)."""
        raise NotImplementedError(f"{self.kind} feature {self.name!r} has no plain expression")

    def with_row_order(self, order: RowOrder) -> Feature:
        """This feature with unset row-order keys taken from ``order`` (window features)."""
        return self

    def ordering(self) -> tuple[str, ...] | None:
        """The row order this feature reads history in (window features); None: no order."""
        return None

    def window_by(self) -> tuple[str, ...] | None:
        """The groups a window feature reads other rows within (its ``by`` columns; ``()``: the
        whole table); None for a feature that reads only its own row (and learned tables)."""
        return None

    def compute(self, sequence: str | None = None) -> nw.Expr:
        """What the engine evaluates: ``sequence`` names a column ranking the rows by
        :meth:`ordering` (given to features that have one); fitted features read their learned
        columns, joined in beforehand."""
        return self.expression()

    def polars_expression(self, sequence: str | None = None) -> pl.Expr | None:
        """Optionally, a native Polars form of :meth:`compute` for the Polars engine, where
        narwhals needs more passes (e.g. two windows where Polars chains two steps in one).
        The conformance suite runs both on Polars and requires the same values."""
        return None

    def helpers(self, sequence: str | None = None) -> dict[str, nw.Expr]:
        """Helper columns computed one step before :meth:`compute` and dropped after it: for
        order-dependent steps that SQL engines cannot chain in one window (shift, then roll)."""
        return {}

    def helper_name(self, part: str) -> str:
        return f"__{self.name}__{part}"

    def check_output(self, dtype: pl.DataType) -> None:
        """Raise SpecError when a key cannot hold in the planned output ``dtype``."""

    def unsupported_on(self, engine: str) -> str | None:
        """Why this feature cannot run on ``engine`` (checked when planning), None if it can."""
        return None

    def domain(self) -> Domain | None:
        """Input values this feature refuses (checked by the engine after computing)."""
        return None

    @property
    def kind(self) -> Kind:
        return self.default_kind

    @property
    def is_fitted(self) -> bool:
        return self.kind is Kind.FITTED


class FittedFeature(Feature):
    """A feature that learns a table from training rows, joined back on ``fit_keys``."""

    default_kind: ClassVar[Kind] = Kind.FITTED
    fill: float | None = None

    def fit_keys(self) -> tuple[str, ...]:
        """Columns the learned table is keyed by (empty: one global row)."""
        raise NotImplementedError

    def row_inputs(self) -> tuple[str, ...]:
        """The join keys: other inputs only feed the table learned on training rows."""
        return self.fit_keys()

    def fit_expressions(self) -> list[nw.Expr]:
        """Aggregations over training rows grouped by ``fit_keys``; outputs named after features."""
        raise NotImplementedError

    def compute(self, sequence: str | None = None) -> nw.Expr:
        return self.apply_expression() if self.is_fitted else self.expression()

    def check_output(self, dtype: pl.DataType) -> None:
        """A ``fill`` of an integer feature is a whole number (engines round other values
        differently when casting: DuckDB half to even, Polars and Spark toward zero)."""
        if self.fill is not None and dtype.is_integer() and not float(self.fill).is_integer():
            raise SpecError(
                f"'fill': {self.fill} is not a whole number, but the feature is {dtype}"
            )

    def apply_expression(self) -> nw.Expr:
        """The expression computing the feature once the learned columns are joined in."""
        expression = nw.col(self.name)
        if self.fill is not None:
            expression = expression.fill_null(self.fill)
        return expression.alias(self.name)

    def finish_expressions(self) -> list[pl.Expr]:
        """Polars expressions run on the learned table once collected (small, always a Polars
        frame, whatever the engine), e.g. counts -> shares; none by default."""
        return []

    def learned_columns(self) -> tuple[str, ...]:
        """Columns of the learned table other than the keys."""
        return (self.name,)
