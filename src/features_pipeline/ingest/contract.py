"""The raw contract: the pandera schema every ingested table must satisfy, built from the
dataset contract (``config/dataset.yaml``): types, not-null, unique key, value rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.dataset import ROW_NUMBER, DatasetContract
from features_pipeline.errors import UserError
from features_pipeline.ingest.rules import RowRule, column_rules
from features_pipeline.schema_report import schema_errors_to_user_error

if TYPE_CHECKING:  # pandera (with pandas and pyarrow) loads when a schema is built, not at import
    from features_pipeline.pandera_polars import PolarsData, pa


def _pandera_check(rule: RowRule) -> pa.Check:
    """``rule`` as a pandera check on Polars (skipped when one of its columns is absent): the
    same narwhals definition other engines count failures with (:mod:`.rules`)."""
    from features_pipeline.pandera_polars import pa

    def check(data: PolarsData) -> pl.LazyFrame:
        frame = nw.from_native(data.lazyframe)
        if not set(rule.reads) <= set(frame.collect_schema().names()):
            return data.lazyframe.select(pl.lit(True).alias(data.key))
        return nw.to_native(frame.select(rule.holds.alias(data.key)))

    return pa.Check(check, error=rule.message)


def raw_columns(
    dataset: DatasetContract, required: Iterable[str] | None = None
) -> dict[str, pa.Column]:
    """pandera columns of the raw contract; columns not in ``required`` (default: those the
    contract requires) may be absent."""
    from features_pipeline.pandera_polars import pa

    required_set = set(dataset.required_columns if required is None else required)
    columns = {
        name: pa.Column(
            spec.dtype,
            checks=[_pandera_check(rule) for rule in column_rules(dataset, name)],
            nullable=spec.nullable,
            unique=spec.unique or dataset.key == (name,),
            required=name in required_set,
        )
        for name, spec in dataset.columns.items()
    }
    if dataset.adds_row_number:
        columns[ROW_NUMBER] = pa.Column(
            pl.Int64, nullable=False, unique=True, required=ROW_NUMBER in required_set
        )
    return columns


def raw_schema(
    dataset: DatasetContract, required: Iterable[str] | None = None
) -> pa.DataFrameSchema:
    """The raw contract as a pandera schema (a key of several columns: unique together);
    ``required`` overrides which columns must be present (default: the contract's)."""
    from features_pipeline.pandera_polars import pa

    unique = list(dataset.key) if len(dataset.key) > 1 else None
    return pa.DataFrameSchema(
        raw_columns(dataset, required), name=f"raw {dataset.name}", strict=False, unique=unique
    )


def check_raw_contract(
    frame: pl.DataFrame,
    source: str,
    dataset: DatasetContract,
    first_row: int = 1,
    row_word: str = "row",
    required: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Validate ``frame`` against the raw contract, collecting every failure (``required``: the
    columns that must be present, default the contract's required ones).

    Raises a UserError naming the source, column, check and the first offending rows.
    """
    from features_pipeline.pandera_polars import pa

    if frame.height == 0:
        raise UserError(f"{source}: no data rows")
    try:
        return raw_schema(dataset, required).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise schema_errors_to_user_error(exc, source, first_row, row_word) from None
