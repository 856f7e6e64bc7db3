"""The feature table's pandera schema, derived from the plan, the model inputs and the raw contract.

Row-level and structural checks live here (names, dtypes, nulls, uniqueness, values); checks on
aggregates (split sizes, null fractions, categories across splits) are in ``cross_split``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from features_pipeline import columns as c
from features_pipeline.ingest.contract import raw_columns
from features_pipeline.ingest.split import TEST, TRAIN
from features_pipeline.validation.params import ModelInputs
from features_pipeline.validation.plan import FeaturePlan

SPLIT_VALUES = (TRAIN, TEST)
TRAIN_ROWS_COMPLETE = "model input: no null, NaN or inf in train rows"
TRAIN_ROWS_FINITE = "model input (window): no NaN or inf in train rows"
TEST_ROWS_FINITE = "model input: no inf in test rows"
TARGET_FINITE = "target: no inf"
SPLIT_IN = f"one of {list(SPLIT_VALUES)}"


def parse_dtype(text: str) -> pl.DataType | None:
    """The polars dtype named by ``str(dtype)`` (``Float64``, ``String``, ...), None if not simple.

    Parameterised dtypes (``Datetime(time_unit='us', ...)``) are compared as strings instead.
    """
    candidate = getattr(pl, text, None) if text.isidentifier() else None
    if isinstance(candidate, type) and issubclass(candidate, pl.DataType):
        try:
            dtype = candidate()
        except TypeError:
            return None
        return dtype if str(dtype) == text else None
    return None


def _is_float(data: PolarsData) -> bool:
    return data.lazyframe.collect_schema()[data.key].is_float()


def _in_split(data: PolarsData, split: str) -> pl.Expr:
    """Rows of ``split``; every row counts as a train row when the split column is missing."""
    if c.SPLIT not in data.lazyframe.collect_schema():
        return pl.lit(split == TRAIN)
    return (pl.col(c.SPLIT) == split).fill_null(split == TRAIN)


def _usable_in_train_rows(allow_null: bool) -> pa.Check:
    """Train rows hold a value (unless ``allow_null``) that is neither NaN nor infinite."""

    def check(data: PolarsData) -> pl.LazyFrame:
        value = pl.col(data.key)
        present = pl.lit(True) if allow_null else value.is_not_null()
        if _is_float(data):
            present = present & (value.is_finite() | (value.is_null() & pl.lit(allow_null)))
        usable = (present | ~_in_split(data, TRAIN)).fill_null(False)
        return data.lazyframe.select(usable.alias(data.key))

    return pa.Check(check, error=TRAIN_ROWS_FINITE if allow_null else TRAIN_ROWS_COMPLETE)


def _not_infinite_in_test_rows(data: PolarsData) -> pl.LazyFrame:
    if not _is_float(data):
        return data.lazyframe.select(pl.lit(True).alias(data.key))
    finite = ~pl.col(data.key).is_infinite().fill_null(False)
    return data.lazyframe.select((finite | ~_in_split(data, TEST)).alias(data.key))


def _not_infinite(data: PolarsData) -> pl.LazyFrame:
    if not _is_float(data):
        return data.lazyframe.select(pl.lit(True).alias(data.key))
    return data.lazyframe.select((~pl.col(data.key).is_infinite()).fill_null(True).alias(data.key))


def model_input_checks(allow_null: bool) -> tuple[pa.Check, ...]:
    """Checks on a model input; ``allow_null`` for window features whose history may be empty."""
    return (
        _usable_in_train_rows(allow_null),
        pa.Check(_not_infinite_in_test_rows, error=TEST_ROWS_FINITE),
    )


def _with(
    column: pa.Column | None, checks: tuple[pa.Check, ...], nullable: bool | None = None
) -> pa.Column:
    """``column`` (or an untyped one) made required, with ``checks`` appended."""
    if column is None:
        column = pa.Column(None, nullable=True)
    return pa.Column(
        column.dtype,
        checks=[*column.checks, *checks],
        nullable=column.nullable if nullable is None else nullable,
        unique=column.unique,
        required=True,
    )


def build_schema(
    plan: FeaturePlan, inputs: ModelInputs, nullable_inputs: frozenset[str] = frozenset()
) -> pa.DataFrameSchema:
    """Every raw-contract column (required when a feature, the model or the target needs it),
    every planned feature with its dtype, the target, the model inputs and ``split``.

    Model inputs in ``nullable_inputs`` may be null (never NaN or inf) in train rows."""
    needed = {c.ORDER_ID, inputs.target, *inputs.features}
    needed.update(name for feature in plan.features for name in feature.inputs)
    columns: dict[str, pa.Column] = raw_columns(name for name in c.RAW_COLUMNS if name in needed)
    for feature in plan.features:
        columns[feature.name] = pa.Column(parse_dtype(feature.dtype), nullable=True)
    columns[c.SPLIT] = pa.Column(
        pl.String, checks=[pa.Check.isin(SPLIT_VALUES, error=SPLIT_IN)], nullable=False
    )
    target_check = pa.Check(_not_infinite, error=TARGET_FINITE)
    columns[inputs.target] = _with(columns.get(inputs.target), (target_check,), nullable=False)
    for name in inputs.features:
        columns[name] = _with(columns.get(name), model_input_checks(name in nullable_inputs))
    return pa.DataFrameSchema(columns, name="feature table", strict=False)


def count_checks(schema: pa.DataFrameSchema, present: set[str]) -> int:
    """Checks pandera runs on a frame with columns ``present``: one per required column's
    presence, and for each present column its dtype, not-null, unique and value checks."""
    total = len(schema.checks)
    for name, column in schema.columns.items():
        total += int(column.required)
        if name in present:
            total += (column.dtype is not None) + (not column.nullable) + bool(column.unique)
            total += len(column.checks)
    return total


def failed_checks(failure_cases: pl.DataFrame) -> int:
    """Distinct (column, check) pairs among pandera's failure cases."""
    column = (
        pl.when(pl.col("check") == "column_in_dataframe")
        .then(pl.col("failure_case"))
        .otherwise(pl.col("column"))
    )
    return failure_cases.select(pl.struct(column.alias("c"), pl.col("check")).n_unique()).item()
