"""Spark fixtures: one local SparkSession and one local Spark Connect server per test session
(Spark starts in 15-35 s on 2 cores). Only tests marked ``spark`` use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from spark_support import connect_server

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from features_pipeline.engines.spark import SparkExecutor


@pytest.fixture(scope="session")
def spark_session_local() -> Iterator[SparkSession]:
    """A ``local[2]`` SparkSession made by the executor's own ``spark_session``."""
    pytest.importorskip("pyspark")
    from features_pipeline.engines.params import SparkParams
    from features_pipeline.engines.spark import spark_session

    session = spark_session(SparkParams(master="local[2]", connect_timeout_s=180))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sc://127.0.0.1:PORT`` of a local Spark Connect server (stopped at the end)."""
    pytest.importorskip("pyspark")
    log = tmp_path_factory.mktemp("spark-connect") / "server.log"
    with connect_server(log) as url:
        yield url


@pytest.fixture(scope="session")
def spark_executor(spark_session_local: SparkSession) -> SparkExecutor:
    """A Spark executor on the shared local session (which it does not stop)."""
    from features_pipeline.engines.spark import SparkExecutor

    return SparkExecutor(spark_session_local)
