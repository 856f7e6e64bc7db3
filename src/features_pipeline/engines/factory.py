"""The executor ``engine:`` names, opened once per stage (DuckDB and Spark imported only here)."""

from __future__ import annotations

from features_pipeline.engines.base import Executor
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.polars import PolarsExecutor


def open_executor(params: EngineParams) -> Executor:
    """The executor of ``engine.name`` (close it, or use it as a context manager)."""
    if params.name == "duckdb":
        from features_pipeline.engines.duckdb import DuckDbExecutor

        return DuckDbExecutor(params.duckdb)
    if params.name == "spark":
        from features_pipeline.engines.spark import SparkExecutor

        return SparkExecutor(params=params.spark)
    return PolarsExecutor()
