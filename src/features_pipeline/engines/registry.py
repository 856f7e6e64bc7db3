"""The engines ``engine.name`` may name: one line per engine (its executor class), in the order
the CLI lists them. Executors declare what they can do (:class:`Capabilities`); everything else
asks this registry, never compares an engine's name.

Importing an engine module imports no engine library (DuckDB and Spark load when opened).
"""

from __future__ import annotations

from collections.abc import Callable

from features_pipeline.engines.base import Capabilities, Executor
from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.engines.spark import SparkExecutor

DEFAULT_ENGINE = PolarsExecutor.name
EXECUTORS: dict[str, type[Executor]] = {
    executor.name: executor for executor in (PolarsExecutor, DuckDbExecutor, SparkExecutor)
}


def engine_names(where: Callable[[Capabilities], bool] | None = None) -> tuple[str, ...]:
    """Names of the registered engines (those whose capabilities satisfy ``where``)."""
    return tuple(
        name
        for name, executor in EXECUTORS.items()
        if where is None or where(executor.capabilities)
    )


def capabilities(engine: str) -> Capabilities:
    """What the engine named ``engine`` can do (a name the params already validated)."""
    return EXECUTORS[engine].capabilities


def open_executor(params: EngineParams) -> Executor:
    """The executor of ``engine.name`` (close it, or use it as a context manager)."""
    return EXECUTORS[params.name].open(params)


def local_executor() -> Executor:
    """The default engine's executor, for tables already in this process's memory."""
    return EXECUTORS[DEFAULT_ENGINE].open(EngineParams())


def predict_engines() -> tuple[str, ...]:
    """Engines ``features-pipeline predict`` runs on: in this process, or on a cluster."""
    return engine_names(lambda can: can.in_memory or can.cluster)
