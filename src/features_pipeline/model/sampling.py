"""Seeded row samples that are the same rows on every engine (Polars, DuckDB, Spark).

:func:`seeded_sample` takes the rows with the smallest
:func:`~features_pipeline.ingest.split.stable_unit_interval` hash of the row key (of ROW when
the key is not one integer column), ties by ROW: the same rows for any partitioning, chosen on
Spark by a distributed top-k. ``train.max_rows`` (:func:`train_rows`), the plot points and the
permutation-importance rows of an evaluation on Spark are such samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import narwhals.stable.v2 as nw
import numpy as np
import polars as pl

from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.engines.base import ROW
from features_pipeline.ingest.split import stable_unit_interval
from features_pipeline.io import parquet_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

Batch = Any  # a pyarrow.RecordBatch (pyarrow ships no type information)
SAMPLE_HASH = "__sample_hash__"  # temporary column of seeded_sample on Spark


def sample_column(schema: dict[str, bool], key_columns: Sequence[str]) -> str:
    """The column whose hash orders the sample: the key when it is one integer column, else ROW
    (``schema``: whether each column is an integer)."""
    missing = [name for name in [*key_columns, ROW] if name not in schema]
    if missing:
        raise ValueError(f"seeded_sample: the frame lacks column(s) {missing}")
    if len(key_columns) == 1 and schema[key_columns[0]]:
        return key_columns[0]
    return ROW


def sample_hash(keys: pl.Series, seed: int) -> np.ndarray:
    """The hash of each integer key (null keys hash as 0): the order of :func:`seeded_sample`."""
    return stable_unit_interval(keys.cast(pl.Int64).fill_null(0), seed)


def _is_spark(frame: Any) -> bool:
    return type(frame).__module__.startswith("pyspark.")


def seeded_sample(
    frame: nw.LazyFrame[Any] | DataFrame | pl.DataFrame | pl.LazyFrame,
    size: int,
    seed: int,
    key_columns: Sequence[str],
) -> pl.DataFrame:
    """At most ``size`` rows of ``frame``: those with the smallest
    :func:`~features_pipeline.ingest.split.stable_unit_interval` hash of the row key (of ROW
    when the key is not one integer column; ties by ROW), every column, in ROW order.

    The same rows on every engine: a narwhals frame of any backend, a Polars frame (ROW added
    as the row position if absent) or a pyspark DataFrame (classic or Connect), where the
    hashes are computed on the executors and Spark keeps the ``size`` smallest (top-k)."""
    if size < 0:
        raise ValueError(f"sample size {size} is negative")
    if isinstance(frame, pl.DataFrame | pl.LazyFrame):
        lazy = frame.lazy()
        if ROW not in lazy.collect_schema().names():
            lazy = lazy.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
        frame = nw.from_native(lazy)
    if isinstance(frame, nw.LazyFrame) and _is_spark(frame.to_native()):
        frame = frame.to_native()
    if _is_spark(frame):
        return _spark_sample(cast("DataFrame", frame), size, seed, key_columns)
    assert isinstance(frame, nw.LazyFrame)
    schema = frame.collect_schema()
    column = sample_column({k: v.is_integer() for k, v in schema.items()}, key_columns)
    keys = frame.select(*dict.fromkeys([column, ROW])).collect("polars").to_native()
    rows = keys.get_column(ROW).to_numpy()
    order = np.lexsort((rows, sample_hash(keys.get_column(column), seed)))
    chosen = np.sort(rows[order[:size]]).tolist()
    picked: pl.DataFrame = frame.filter(nw.col(ROW).is_in(chosen)).collect("polars").to_native()
    return picked.sort(ROW)


def _spark_sample(
    frame: DataFrame, size: int, seed: int, key_columns: Sequence[str]
) -> pl.DataFrame:
    import pyarrow as pa  # type: ignore[import-untyped]
    from pyspark.sql.types import DoubleType, IntegralType, StructField, StructType

    from features_pipeline.engines.spark import arrow_to_polars, sql_name

    fields = frame.schema
    column = sample_column(
        {field.name: isinstance(field.dataType, IntegralType) for field in fields}, key_columns
    )
    schema = StructType([*fields.fields, StructField(SAMPLE_HASH, DoubleType(), False)])

    def add_hash(batches: Iterator[Batch]) -> Iterator[Batch]:
        for batch in batches:
            keys = pl.from_arrow(batch.column(column))
            assert isinstance(keys, pl.Series)
            hashed = pa.array(sample_hash(keys, seed), type=pa.float64())
            yield batch.append_column(SAMPLE_HASH, hashed)

    top = (
        frame.mapInArrow(add_hash, schema).orderBy(sql_name(SAMPLE_HASH), sql_name(ROW)).limit(size)
    )
    return arrow_to_polars(top.drop(SAMPLE_HASH).toArrow()).sort(ROW)


def train_rows(
    table: nw.LazyFrame[Any],
    max_rows: int | None,
    seed: int,
    key_columns: Sequence[str],
    to_polars: Callable[[nw.LazyFrame[Any]], pl.DataFrame],
) -> tuple[pl.DataFrame, int | None]:
    """The train rows of ``table`` (which carries ROW; on any engine) brought to this machine in
    row order without ROW: all of them, or the :func:`seeded_sample` of ``max_rows`` (the same
    rows on every engine). Returns (rows, the train rows sampled from, or None: no sample).
    ``to_polars``: the executor's collection of a whole frame in row order."""
    train = table.filter(nw.col(SPLIT) == TRAIN)
    count = int(train.select(nw.len()).collect().item())
    if max_rows is None or count <= max_rows:
        return to_polars(train), None
    return seeded_sample(train, max_rows, seed, key_columns).drop(ROW), count


# ---------------------------------------------------------------------------------------------
# Bounded in memory: a parquet file read a batch at a time (an out-of-core engine's tables)

# rows of one batch: ~1 MB a numeric column. Evaluate scores a batch at a time, and the model's
# pipeline copies it several times over: 9M rows in 700MB, evaluate peaked at 685 MB with
# 262,144-row batches, 553 MB with these (the same time: 8.5 s)
BATCH_ROWS = 131_072


def file_batches(path: Path, columns: Sequence[str]) -> Iterator[pl.DataFrame]:
    """``columns`` of the parquet file at ``path`` a batch at a time, with ROW (the row's
    position in the file, as :meth:`~features_pipeline.engines.base.Executor.scan_parquet`
    numbers it)."""
    start = 0
    for frame in parquet_batches(path, BATCH_ROWS, columns):
        rows = pl.int_range(start, start + frame.height, dtype=pl.Int64)
        yield frame.with_columns(rows.alias(ROW))
        start += frame.height


class Smallest:
    """The ``size`` smallest (hash, row) pairs of the batches added, ties by row, in amortised
    linear time: candidates pile up below a bound; past twice ``size`` they are cut to the
    ``size`` smallest hashes (every tie at the cut kept) and the bound drops to the cut. One
    ``lexsort`` of the survivors at the end (a sort per batch of 2.9M kept rows cost 146 CPU-s
    over 150 batches; this, 1.9)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.bound = np.inf
        self.hashes: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.count = 0

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        if self.size == 0:
            return
        keep = hashes <= self.bound
        self.hashes.append(hashes[keep])
        self.rows.append(rows[keep])
        self.count += int(np.count_nonzero(keep))
        if self.count > 2 * self.size:
            self._cut()

    def _cut(self) -> None:
        hashes, rows = np.concatenate(self.hashes), np.concatenate(self.rows)
        if hashes.size > self.size:
            self.bound = float(np.partition(hashes, self.size - 1)[self.size - 1])
            keep = hashes <= self.bound  # ties at the bound stay: the final sort orders them
            hashes, rows = hashes[keep], rows[keep]
        self.hashes, self.rows, self.count = [hashes], [rows], int(hashes.size)

    def rows_chosen(self) -> np.ndarray:
        """The chosen rows, ascending."""
        if not self.hashes:
            return np.empty(0, np.int64)
        hashes, rows = np.concatenate(self.hashes), np.concatenate(self.rows)
        order = np.lexsort((rows, hashes))[: self.size]
        return np.sort(rows[order])


def _of_split(split: str | None) -> pl.Expr:
    return pl.lit(True) if split is None else pl.col(SPLIT) == split


def split_row_count(path: Path, split: str | None) -> int:
    """How many rows of the parquet file at ``path`` have ``split`` (None: all; streamed)."""
    counted = pl.scan_parquet(path).filter(_of_split(split)).select(pl.len())
    return int(counted.collect(engine="streaming").item())


def sample_file(
    path: Path,
    size: int | None,
    seed: int,
    key_columns: Sequence[str],
    *,
    split: str | None,
    columns: Sequence[str],
) -> tuple[pl.DataFrame, int]:
    """The ``split`` rows (None: every row) of the parquet file at ``path`` (``columns``, in
    row order): all of them when ``size`` is None or not below their count, else the rows of
    :func:`seeded_sample` (smallest hash of the key, ties by ROW), chosen a batch at a time
    keeping only the best ``size`` so far. Memory: the rows returned plus one batch. Returns
    (rows, how many ``split`` rows there are)."""
    count = split_row_count(path, split)
    wanted = pl.scan_parquet(path).with_row_index(ROW).filter(_of_split(split))
    if size is None or count <= size:
        return wanted.select(columns).collect(engine="streaming"), count
    schema = pl.read_parquet_schema(path)
    integer = {name: dtype.is_integer() for name, dtype in schema.items()} | {ROW: True}
    column = sample_column(integer, key_columns)
    best = Smallest(size)
    read = [column] if split is None else [column, SPLIT]
    for batch in file_batches(path, [name for name in dict.fromkeys(read) if name != ROW]):
        rows = batch.filter(_of_split(split))
        best.add(sample_hash(rows.get_column(column), seed), rows.get_column(ROW).to_numpy())
    chosen = pl.Series(best.rows_chosen(), dtype=pl.Int64)
    picked = wanted.filter(pl.col(ROW).cast(pl.Int64).is_in(chosen.implode()))
    return picked.select(columns).collect(engine="streaming"), count
