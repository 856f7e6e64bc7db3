"""The train/test split on Spark and DuckDB: the same rows in test as :func:`assign_split` on
Polars.

``random``: the very functions of the Polars path (:func:`~features_pipeline.ingest.split.
random_split`: splitmix64 of an integer key, BLAKE2b of the text form of other keys, salted by the
seed) run on Arrow batches, by ``DataFrame.mapInArrow`` on Spark and by an Arrow UDF on DuckDB. A
row's label depends on its key alone, so batching does not matter; nothing is re-implemented in
SQL. The Python workers (Spark executors, or the Spark Connect server's) import
``features_pipeline``: install the package where they run.

``time``: the latest ceil(n x test_size) rows by (order_by, tie-breaker) are test. On Spark that
needs the row at that rank: the two ordering columns are range-partitioned and sorted (a
distributed global sort: one shuffle of two columns, kept by ``localCheckpoint``), a small
per-partition count finds the partition and place of the boundary row, and every row is compared
with it (no single-partition window). On DuckDB a window ``row_number()`` (DuckDB sorts in
parallel). The tie-breaker is unique (the key, or ``row_number``), so the order is total.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.engines.spark import sql_string
from features_pipeline.ingest.split import random_split, time_order, time_test_rows

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import DataFrame

_UDF_NAMES = itertools.count()
PARTITION_BITS = 33  # monotonically_increasing_id: partition index above bit 33, row below


def split_batches(
    test_size: float, seed: int, key: tuple[str, ...]
) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The ``mapInArrow`` function: each batch with its ``split`` column, by :func:`random_split`
    of the batch's key columns (the Polars path's own function)."""

    def label(batches: Iterator[Any]) -> Iterator[Any]:  # pyarrow RecordBatches
        import pyarrow as pa  # type: ignore[import-untyped]

        for batch in batches:
            keys = pl.from_arrow(batch.select(list(key)))
            assert isinstance(keys, pl.DataFrame)
            labels = random_split(keys, test_size, seed, key).to_list() if batch.num_rows else []
            yield batch.append_column(SPLIT, pa.array(labels, pa.string()))

    return label


def _random_split_spark(
    frame: DataFrame, test_size: float, seed: int, key: tuple[str, ...]
) -> DataFrame:
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([*frame.schema.fields, StructField(SPLIT, StringType(), False)])
    return frame.mapInArrow(split_batches(test_size, seed, key), schema)


def sql_literal(value: Any) -> str:
    """A Python value from a collected row as a Spark SQL literal."""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP_NTZ {sql_string(value.isoformat(sep=' '))}"
    if isinstance(value, dt.date):
        return f"DATE {sql_string(value.isoformat())}"
    if isinstance(value, str):
        return sql_string(value)
    if isinstance(value, float):
        return f"double({sql_string(repr(value))})"
    return str(value)


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _time_boundary(frame: DataFrame, order: tuple[str, str], rank: int) -> tuple[Any, Any]:
    """(order_by, tie-breaker) of the row ranked ``rank`` (0-based) by both, descending: a
    distributed sort of the two columns, checkpointed so that the count and the fetch see the
    same partitions, then the per-partition counts (one row per partition) locate it."""
    ordered = (
        frame.selectExpr(*[_quoted(name) for name in order])
        .orderBy(list(order), ascending=[False, False])
        .selectExpr("*", "monotonically_increasing_id() AS __id__")
        .localCheckpoint(eager=True)
    )
    query = (
        f"SELECT shiftright(__id__, {PARTITION_BITS}) AS p, count(1) AS n, min(__id__) AS first "
        "FROM {ordered} GROUP BY 1 ORDER BY 1"
    )
    before = 0
    for _, rows, first in ordered.sparkSession.sql(query, ordered=ordered).collect():
        if rank < before + rows:
            found = ordered.where(f"__id__ = {first + rank - before}").collect()
            return found[0][0], found[0][1]
        before += rows
    raise AssertionError(f"rank {rank} beyond {before} rows")


def _time_split_spark(frame: DataFrame, test_size: float, order: tuple[str, str]) -> DataFrame:
    latest = time_test_rows(frame.count(), test_size)
    if latest == 0:
        is_test = "FALSE"
    else:
        first, second = _time_boundary(frame, order, latest - 1)
        column, tie = (_quoted(name) for name in order)
        is_test = (
            f"({column} > {sql_literal(first)} OR "
            f"({column} = {sql_literal(first)} AND {tie} >= {sql_literal(second)}))"
        )
    label = f"CASE WHEN {is_test} THEN {sql_string(TEST)} ELSE {sql_string(TRAIN)} END"
    return frame.selectExpr("*", f"{label} AS {SPLIT}")


def assign_split_spark(
    frame: DataFrame,
    strategy: Literal["random", "time"],
    test_size: float,
    seed: int,
    dataset: DatasetContract,
    source: str = "params.yaml",
) -> DataFrame:
    """``frame`` (a Spark DataFrame of the raw table) with the ``split`` column (``train`` /
    ``test``), row for row what :func:`~features_pipeline.ingest.split.assign_split` gives on
    Polars. The key columns (``dataset.split_key``; ``row_number`` when the contract adds it)
    must be in ``frame``."""
    if strategy == "random":
        return _random_split_spark(frame, test_size, seed, dataset.split_key)
    return _time_split_spark(frame, test_size, time_order(dataset, source))


def assign_split_duckdb(
    connection: duckdb.DuckDBPyConnection,
    relation: duckdb.DuckDBPyRelation,
    strategy: Literal["random", "time"],
    test_size: float,
    seed: int,
    dataset: DatasetContract,
    source: str = "params.yaml",
) -> duckdb.DuckDBPyRelation:
    """:func:`assign_split_spark` on DuckDB: ``random`` through an Arrow UDF running
    :func:`random_split` on each vector of keys, ``time`` through a window ``row_number()``."""
    if strategy == "random":
        key = dataset.split_key
        types = dict(zip(relation.columns, relation.types, strict=True))
        name = f"__features_pipeline_split_{next(_UDF_NAMES)}"

        def label(*columns: Any) -> Any:  # DuckDB evaluates the annotations: no pa here
            import pyarrow as pa

            keys = pl.DataFrame([pl.Series(n, c) for n, c in zip(key, columns, strict=True)])
            return pa.array(random_split(keys, test_size, seed, key).to_list(), pa.string())

        from duckdb.func import ARROW

        connection.create_function(
            name, label, [types[k] for k in key], "VARCHAR", type=ARROW, side_effects=False
        )
        call = f"{name}({', '.join(_duck(k) for k in key)})"
        return relation.project(f"*, {call} AS {SPLIT}")
    column, tie = (_duck(name) for name in time_order(dataset, source))
    latest = time_test_rows(relation.count("*").fetchall()[0][0], test_size)
    rank = f"row_number() OVER (ORDER BY {column} DESC, {tie} DESC)"
    labels = f"CASE WHEN {rank} <= {latest} THEN '{TEST}' ELSE '{TRAIN}' END"
    return relation.project(f"*, {labels} AS {SPLIT}")


def _duck(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = ["assign_split_duckdb", "assign_split_spark"]
