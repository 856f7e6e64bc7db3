"""The Spark executor against the Polars one: tables round-trip with rows, order and dtypes kept,
parquet row positions are the file's, learned joins and narwhals window expressions agree, and a
missing Java or an unreachable Connect server stops with one line in bounded time."""

from __future__ import annotations

import datetime as dt
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from spark_support import PANDAS_WARNING, free_port
from support import missing_engine_reason

from features_pipeline.engines.base import ROW
from features_pipeline.engines.params import SparkParams
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.errors import UserError

pytest.importorskip("pyspark", reason=missing_engine_reason("spark"))

from features_pipeline.engines.spark import (
    JAVA_MISSING,
    SparkExecutor,
    spark_session,
)

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings(PANDAS_WARNING)]


def mixed_frame(rows: int = 5000, seed: int = 3) -> pl.DataFrame:
    """Every dtype the pipeline uses, with nulls, in an order no sort would give."""
    base = pl.DataFrame({"id": pl.int_range(rows, eager=True)}).sample(
        fraction=1.0, shuffle=True, seed=seed
    )
    return base.select(
        pl.col("id"),
        pl.when(pl.col("id") % 7 == 0).then(None).otherwise(pl.col("id") * 3).alias("n"),
        (pl.col("id") / 9).alias("x"),
        pl.when(pl.col("id") % 5 == 0)
        .then(None)
        .otherwise(pl.format("g{}", pl.col("id") % 13))
        .alias("g"),
        (pl.lit(dt.date(2021, 1, 1)) + pl.duration(days=pl.col("id") % 400)).alias("d"),
        pl.when(pl.col("id") % 11 == 0).then(None).otherwise(pl.col("id") % 2 == 0).alias("b"),
        (pl.col("id") % 100).cast(pl.Int32).alias("small"),
    )


def test_round_trip_keeps_rows_order_and_dtypes(spark_executor: SparkExecutor) -> None:
    frame = mixed_frame()
    assert frame.schema == pl.Schema(
        {
            "id": pl.Int64,
            "n": pl.Int64,
            "x": pl.Float64,
            "g": pl.String,
            "d": pl.Date,
            "b": pl.Boolean,
            "small": pl.Int32,
        }
    )
    lazy = spark_executor.from_polars(frame)
    assert lazy.implementation.is_pyspark()
    assert_frame_equal(spark_executor.to_polars(lazy), frame)
    assert_frame_equal(spark_executor.to_polars(spark_executor.materialize(lazy)), frame)


def test_empty_table_round_trips(spark_executor: SparkExecutor) -> None:
    empty = mixed_frame().head(0)
    assert_frame_equal(spark_executor.to_polars(spark_executor.from_polars(empty)), empty)


def test_scan_parquet_rows_are_the_files_row_order(
    spark_executor: SparkExecutor, tmp_path: Path
) -> None:
    """200k rows in 200 row groups, read in many splits: ROW is each row's position in the file."""
    rows = 200_000
    frame = pl.DataFrame({"v": pl.int_range(rows, eager=True).shuffle(seed=1)}).with_columns(
        (pl.col("v") % 17).alias("k")
    )
    path = tmp_path / "big.parquet"
    frame.write_parquet(path, row_group_size=1000)
    spark = spark_executor.spark
    spark.conf.set("spark.sql.files.maxPartitionBytes", "65536")
    try:
        lazy = spark_executor.scan_parquet(path)
        assert lazy.to_native().rdd.getNumPartitions() > 4  # the file really is split
        back = spark_executor.collect_all([lazy.select(ROW, "v")])[0]
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert back.schema == pl.Schema({ROW: pl.Int64, "v": pl.Int64})
    expected = frame.select(pl.int_range(rows, dtype=pl.Int64).alias(ROW), "v")
    assert_frame_equal(back.sort(ROW), expected)
    assert_frame_equal(spark_executor.to_polars(spark_executor.scan_parquet(path)), frame)


def test_scan_parquet_folder_numbers_rows_across_files(
    spark_executor: SparkExecutor, tmp_path: Path
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = pl.DataFrame({"v": pl.int_range(3000, eager=True).shuffle(seed=2)})
    for index, part in enumerate(frame.iter_slices(1000)):  # part-0 .. part-2: file-name order
        part.write_parquet(folder / f"part-{index}.parquet", row_group_size=100)
    lazy = spark_executor.scan_parquet(folder)
    assert_frame_equal(spark_executor.to_polars(lazy), frame)
    positions = spark_executor.collect_all([lazy.select(ROW)])[0][ROW].sort()
    assert positions.to_list() == list(range(3000))


def test_join_learned_and_collect_all_agree_with_polars(spark_executor: SparkExecutor) -> None:
    frame = mixed_frame()
    learned = pl.DataFrame({"g": ["g1", "g2", "g5", None], "g_mean": [1.5, 2.5, None, 9.0]})
    results = {}
    for executor in (PolarsExecutor(), spark_executor):
        joined = executor.join_learned(executor.from_polars(frame), learned, ["g"])
        stats = joined.group_by("g").agg(nw.len().alias("rows"), nw.col("x").sum().alias("x"))
        table, summary = executor.to_polars(joined), executor.collect_all([stats])[0]
        results[executor.name] = (table, summary.sort("g").cast({"rows": pl.Int64}))
    assert results["spark"][0].columns == [*frame.columns, "g_mean"]
    assert_frame_equal(results["spark"][0], results["polars"][0])
    assert_frame_equal(results["spark"][1], results["polars"][1], check_exact=False)


def test_window_expression_agrees_with_polars(spark_executor: SparkExecutor) -> None:
    frame = mixed_frame()
    features = [
        nw.col("x").shift(1).over("g", order_by=["d", "id"]).alias("x_lag"),
        nw.col("n").cum_sum().over("g", order_by=["d", "id"]).alias("n_cum"),
    ]
    results = {
        executor.name: executor.to_polars(executor.from_polars(frame).with_columns(*features))
        for executor in (PolarsExecutor(), spark_executor)
    }
    assert_frame_equal(results["spark"], results["polars"])


def test_no_java_stops_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(UserError) as raised:
        spark_session(SparkParams(master="local[2]"))
    assert str(raised.value) == JAVA_MISSING


def test_no_pyspark_stops_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark... raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(
        UserError, match=r"^engine\.name: spark needs pyspark.* pip install -e '\.\[spark\]'$"
    ):
        spark_session(SparkParams())


def test_old_java_stops_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(UserError, match=r"^engine\.spark: Java 17 is needed .* is Java 11; "):
        spark_session(SparkParams(master="local[2]"))


def assert_one_line_within(seconds: float, params: SparkParams, match: str) -> None:
    started = time.monotonic()
    with pytest.raises(UserError, match=match) as raised:
        spark_session(params)
    assert time.monotonic() - started < seconds
    assert "\n" not in str(raised.value)


def test_unreachable_connect_url_fails_fast() -> None:
    url = f"sc://127.0.0.1:{free_port()}"
    params = SparkParams(remote=url, connect_timeout_s=2)
    assert_one_line_within(5, params, rf"^engine\.spark\.remote {url}: cannot connect")


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a firewall, a wrong service)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_silent_connect_server_times_out() -> None:
    with silent_server() as port:
        params = SparkParams(remote=f"sc://127.0.0.1:{port}", connect_timeout_s=2)
        match = r"accepts connections but no Spark Connect server answered within 2 s"
        assert_one_line_within(6, params, match)


def test_round_trip_through_spark_connect(spark_connect_url: str, tmp_path: Path) -> None:
    frame = mixed_frame(2000)
    path = tmp_path / "sales.parquet"
    frame.write_parquet(path, row_group_size=100)
    with SparkExecutor(params=SparkParams(remote=spark_connect_url)) as executor:
        assert isinstance(executor, SparkExecutor)
        lazy: nw.LazyFrame[Any] = executor.from_polars(frame)
        assert lazy.implementation.is_pyspark_connect()
        assert_frame_equal(executor.to_polars(lazy), frame)
        assert_frame_equal(executor.to_polars(executor.materialize(lazy)), frame)
        scanned = executor.scan_parquet(path)
        assert_frame_equal(executor.to_polars(scanned), frame)
        lag = nw.col("x").shift(1).over("g", order_by=["d", "id"]).alias("x_lag")
        learned = pl.DataFrame({"g": ["g1", "g2"], "g_mean": [1.5, 2.5]})
        spark_result = executor.to_polars(
            executor.join_learned(scanned, learned, ["g"]).with_columns(lag)
        )
    polars = PolarsExecutor()
    expected = polars.to_polars(
        polars.join_learned(polars.scan_parquet(path), learned, ["g"]).with_columns(lag)
    )
    assert_frame_equal(spark_result, expected)
