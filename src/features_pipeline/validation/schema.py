"""The feature table's pandera schema, derived from the plan, the model inputs and the raw contract.

Row-level and structural checks live here (names, dtypes, nulls, uniqueness, values); checks on
aggregates (split sizes, null fractions, categories across splits) are in ``cross_split``
and ``quality``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.dtypes import parse_dtype
from features_pipeline.contracts.plan_file import ModelInputs, PlanFile
from features_pipeline.contracts.split import SPLIT, SPLIT_VALUES, TRAIN
from features_pipeline.ingest.contract import raw_columns

if TYPE_CHECKING:  # pandera (with pandas and pyarrow) loads when a schema is built, not at import
    from features_pipeline.pandera_polars import PolarsData, pa

MODEL_INPUT = "model input: no inf; no null or NaN in train rows"
WINDOW_INPUT = "model input (window): no inf; no NaN in train rows"
UNIQUE = "unique"
TARGET_FINITE = "target: no inf"
SPLIT_IN = f"one of {list(SPLIT_VALUES)}"


def _is_float(data: PolarsData) -> bool:
    return data.lazyframe.collect_schema()[data.key].is_float()


def in_split(split: str, has_split: bool) -> nw.Expr:
    """Rows of ``split``; every row counts as a train row when the split column is missing."""
    if not has_split:
        return nw.lit(split == TRAIN)
    return (nw.col(SPLIT) == split).fill_null(split == TRAIN)


def _is_infinite(value: nw.Expr) -> nw.Expr:
    """``+inf`` or ``-inf`` (null where the value is null; NaN is not infinite)."""
    return (value == math.inf) | (value == -math.inf)


def model_input_holds(name: str, is_float: bool, has_split: bool, allow_null: bool) -> nw.Expr:
    """True where model input ``name`` is usable: never infinite; in train rows never NaN, nor
    null unless ``allow_null``. The check of both paths (pandera on Polars, any engine)."""
    value, in_train = nw.col(name), in_split(TRAIN, has_split)
    usable = nw.lit(True) if allow_null else ~value.is_null() | ~in_train
    if is_float:
        usable = usable & ~_is_infinite(value).fill_null(False)
        usable = usable & ~(value.is_nan().fill_null(False) & in_train)
    return usable.fill_null(False)


def target_finite_holds(name: str, is_float: bool) -> nw.Expr:
    """True where the target is not infinite (a null passes: not-null is its own check)."""
    if not is_float:
        return nw.lit(True)
    return (~_is_infinite(nw.col(name))).fill_null(True)


def split_in_holds() -> nw.Expr:
    """``split`` is one of :data:`SPLIT_VALUES` (null: the not-null check's business)."""
    return nw.col(SPLIT).is_in(list(SPLIT_VALUES))


def _polars_check(data: PolarsData, holds: nw.Expr) -> pl.LazyFrame:
    frame: pl.LazyFrame = nw.to_native(nw.from_native(data.lazyframe).select(holds.alias(data.key)))
    return frame


def model_input_check(allow_null: bool) -> pa.Check:
    """Never infinite; in train rows never NaN, nor null unless ``allow_null`` (for window
    features, whose first orders of a group have no history). Test rows may be null or NaN."""
    from features_pipeline.pandera_polars import pa

    def check(data: PolarsData) -> pl.LazyFrame:
        has_split = SPLIT in data.lazyframe.collect_schema()
        holds = model_input_holds(data.key, _is_float(data), has_split, allow_null)
        return _polars_check(data, holds)

    return pa.Check(check, error=WINDOW_INPUT if allow_null else MODEL_INPUT)


def _unique(data: PolarsData) -> pl.LazyFrame:
    """Like pandera's ``unique=True`` (every duplicated row fails), with a fast path: a count of
    distinct values is much cheaper than flagging duplicates row by row."""
    values = pl.col(data.key)
    if data.lazyframe.select(values.n_unique() == pl.len()).collect().item():
        return data.lazyframe.select(pl.lit(True).alias(data.key))
    return data.lazyframe.select((~values.is_duplicated()).alias(data.key))


def _not_infinite(data: PolarsData) -> pl.LazyFrame:
    return _polars_check(data, target_finite_holds(data.key, _is_float(data)))


def _with(
    column: pa.Column | None,
    checks: tuple[pa.Check, ...] = (),
    nullable: bool | None = None,
    required: bool | None = None,
) -> pa.Column:
    """``column`` (or an untyped one) with ``checks`` appended; ``unique=True`` becomes the
    equivalent, faster ``unique`` check."""
    from features_pipeline.pandera_polars import pa

    if column is None:
        column = pa.Column(None, nullable=True)
    unique = (pa.Check(_unique, error=UNIQUE),) if column.unique is True else ()
    return pa.Column(
        column.dtype,
        checks=[*column.checks, *unique, *checks],
        nullable=column.nullable if nullable is None else nullable,
        required=column.required if required is None else required,
    )


def build_schema(
    plan: PlanFile,
    inputs: ModelInputs,
    dataset: DatasetContract,
    nullable_inputs: frozenset[str] = frozenset(),
) -> pa.DataFrameSchema:
    """Every raw-contract column (required when a feature, the model or the target needs it),
    every planned feature with its dtype, the target, the model inputs and ``split``.

    Model inputs in ``nullable_inputs`` may be null (never NaN or inf) in train rows."""
    from features_pipeline.pandera_polars import pa

    needed = {*dataset.row_key, inputs.target, *inputs.features}
    needed.update(name for feature in plan for name in feature.inputs)
    raw = raw_columns(dataset, [name for name in dataset.dtypes if name in needed])
    columns: dict[str, pa.Column] = {name: _with(column) for name, column in raw.items()}
    for feature in plan:
        columns[feature.name] = pa.Column(parse_dtype(feature.dtype), nullable=True)
    columns[SPLIT] = pa.Column(
        pl.String, checks=[pa.Check.isin(SPLIT_VALUES, error=SPLIT_IN)], nullable=False
    )
    target_check = pa.Check(_not_infinite, error=TARGET_FINITE)
    target = _with(columns.get(inputs.target), (target_check,), nullable=False, required=True)
    columns[inputs.target] = target
    for name in inputs.features:
        check = model_input_check(name in nullable_inputs)
        columns[name] = _with(columns.get(name), (check,), required=True)
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
    pairs = failure_cases.select(pl.struct(column.alias("c"), pl.col("check")).n_unique())
    return int(pairs.item())
