"""Feature engines side by side, on the shipped spec.

1. Today's Polars path against the previous engine (pure Polars, commit 6f03bec; see
   ``previous_engine.py``): ``fit_transform`` on an in-memory frame (100k, 1M rows) and the
   features stage's work on 1M rows (interim parquet in, features parquet out: previously
   read -> ``fit_transform`` -> write, now ``fit_transform_file``). The two run alternately,
   round by round (previous, new, previous, new, ...), in one process on the same input; the
   ratio reported is median(new) / median(previous). Outputs are checked equal.
2. ``fit_transform_file`` on 1M rows per engine: Polars, DuckDB (memory_limit 2GB; its own
   plan, and in parts as the features stage computes a table bigger than the budget) and Spark
   local[2] (marker ``spark``, deselected by the default ``-m``; every engine in one run:
   ``pytest benchmarks/test_engines_bench.py --benchmark-only -m 'not slow'``). Ratios are of
   best times.

Each benchmark also stores the 1-minute load average (max of start and end) of its run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import SPEC, sales_with_split
from polars.testing import assert_frame_equal
from previous_engine import PreviousEngine, load
from results import EXTRA, RESULTS, load_average, remember

from features_pipeline.engines.base import Executor
from features_pipeline.engines.budget import cells_per_part
from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.engines.params import DuckDbParams, EngineParams, SparkParams
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.features.engine import fit_transform, fit_transform_file
from features_pipeline.features.parts import fit_transform_in_parts
from features_pipeline.features.plan import Plan
from features_pipeline.io import write_parquet_atomic

SIDE_BY_SIDE = {"100k": 100_000, "1M": 1_000_000}
INTERLEAVED_ROUNDS = {"100k": 15, "1M": 9}
FILE_ROWS = 1_000_000
FILE_ROUNDS = {"interleaved": 7, "polars": 5, "duckdb": 5, "duckdb-parts": 5, "spark": 3}
DUCKDB_MEMORY_LIMIT = "2GB"
# the parts the features stage computes in under engine.memory_limit: 700MB (the 1M-row table
# does not fit it: 4 parts of whole Country groups)
PART_CELLS = cells_per_part(EngineParams(name="duckdb", memory_limit="700MB"))
# the result comes to the driver through Arrow: Spark's default 1g heap fails at 1M rows
# (java.lang.OutOfMemoryError: Java heap space)
SPARK_CONF: dict[str, str | int | float | bool] = {"spark.driver.memory": "4g"}


@pytest.fixture(scope="session")
def previous(tmp_path_factory: pytest.TempPathFactory) -> PreviousEngine:
    return load(tmp_path_factory.mktemp("previous-engine"))


@pytest.fixture
def load_recorded(request: pytest.FixtureRequest) -> Iterator[None]:
    """The 1-minute load average around the test, kept with the run's numbers."""
    before = load_average()
    yield
    EXTRA[f"load average 1 min: {request.node.name}"] = max(before, load_average())


@pytest.mark.usefixtures("load_recorded")
@pytest.mark.parametrize("label", list(SIDE_BY_SIDE))
def test_polars_vs_previous(
    benchmark: Any, label: str, previous: PreviousEngine, shipped_plan: Plan
) -> None:
    frame = sales_with_split(SIDE_BY_SIDE[label])
    previous_plan = previous.load_plan(SPEC)
    previous_seconds: list[float] = []

    def run_previous() -> tuple[tuple[pl.DataFrame, Plan], dict[str, Any]]:
        """Runs (and times) the previous engine before each round of the new one."""
        start = time.perf_counter()
        previous.fit_transform(frame, previous_plan)
        previous_seconds.append(time.perf_counter() - start)
        return (frame, shipped_plan), {}

    benchmark.group = f"engines {label}: new polars path vs previous engine (interleaved)"
    result, _ = benchmark.pedantic(
        fit_transform, setup=run_previous, rounds=INTERLEAVED_ROUNDS[label], warmup_rounds=1
    )
    expected, _ = previous.fit_transform(frame, previous_plan)
    assert_frame_equal(result, expected)  # the same features: a fair comparison
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        RESULTS[f"engines/polars/median/{label}"] = stats.stats.median
        RESULTS[f"engines/previous/median/{label}"] = statistics.median(previous_seconds[1:])


@pytest.fixture(scope="module")
def interim_1m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interim table of 1M rows as the ingest stage writes it."""
    path = tmp_path_factory.mktemp("interim") / "sales.parquet"
    write_parquet_atomic(sales_with_split(FILE_ROWS), path)
    return path


@pytest.fixture(scope="module")
def spark_executor() -> Iterator[Executor]:
    pytest.importorskip("pyspark")
    from features_pipeline.engines.spark import SparkExecutor, spark_session

    session = spark_session(SparkParams(master="local[2]", conf=SPARK_CONF, connect_timeout_s=180))
    executor = SparkExecutor(session)
    yield executor
    session.stop()


def file_executor(engine: str, request: pytest.FixtureRequest, temp: Path) -> Executor:
    if engine == "spark":
        executor: Executor = request.getfixturevalue("spark_executor")
    elif engine.startswith("duckdb"):
        request.getfixturevalue("monkeypatch").chdir(temp)  # the spill folder: inside a project
        executor = DuckDbExecutor(DuckDbParams(temp_directory="spill"), DUCKDB_MEMORY_LIMIT)
        request.addfinalizer(executor.close)
    else:
        executor = PolarsExecutor()
    return executor


@pytest.mark.usefixtures("load_recorded")
def test_polars_file_vs_previous(
    benchmark: Any, tmp_path: Path, interim_1m: Path, previous: PreviousEngine, shipped_plan: Plan
) -> None:
    """The stage's work, interleaved: the previous read -> fit_transform -> write, then
    ``fit_transform_file`` on Polars."""
    previous_plan = previous.load_plan(SPEC)
    previous_seconds: list[float] = []
    target, previous_target = tmp_path / "features.parquet", tmp_path / "previous.parquet"

    def run_previous() -> tuple[tuple[Path, Path, Plan, Executor], dict[str, Any]]:
        start = time.perf_counter()
        previous.run_file(interim_1m, previous_target, previous_plan)
        previous_seconds.append(time.perf_counter() - start)
        return (interim_1m, target, shipped_plan, PolarsExecutor()), {}

    benchmark.group = "engines 1M, parquet -> parquet: new polars path vs previous (interleaved)"
    (rows, _), _ = benchmark.pedantic(
        fit_transform_file, setup=run_previous, rounds=FILE_ROUNDS["interleaved"], warmup_rounds=1
    )
    assert rows == FILE_ROWS
    assert_frame_equal(pl.read_parquet(target), pl.read_parquet(previous_target))
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        RESULTS["engines/file/polars/median/1M"] = stats.stats.median
        RESULTS["engines/file/previous/median/1M"] = statistics.median(previous_seconds[1:])


@pytest.mark.usefixtures("load_recorded")
@pytest.mark.parametrize(
    "engine",
    ["polars", "duckdb", "duckdb-parts", pytest.param("spark", marks=pytest.mark.spark)],
)
def test_engine_file(
    benchmark: Any,
    engine: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    interim_1m: Path,
    shipped_plan: Plan,
) -> None:
    executor = file_executor(engine, request, tmp_path)
    target = tmp_path / "features.parquet"
    benchmark.group = "engines 1M: interim parquet -> features parquet"
    parts = engine == "duckdb-parts"  # learned by DuckDB, computed by Polars in parts
    (rows, _), _ = benchmark.pedantic(
        fit_transform_in_parts if parts else fit_transform_file,
        args=(interim_1m, target, shipped_plan, executor),
        kwargs={"cells_per_part": PART_CELLS} if parts else {},
        rounds=FILE_ROUNDS[engine],
        warmup_rounds=1,
    )
    assert rows == FILE_ROWS
    remember(f"engines/file/{engine}/1M", benchmark)
