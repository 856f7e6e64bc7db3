"""A local Spark Connect server for tests: PySpark's own ``SparkConnectServer`` class started with
the ``spark-submit`` shipped inside the pyspark package (its jars include spark-connect, so nothing
is downloaded), on a free localhost port and a ``local[2]`` master."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
# pyspark.sql.connect warns on import under pandas 3; the executor is Arrow-only
PANDAS_WARNING = "ignore:PySpark does not yet fully support pandas:FutureWarning"


def free_port() -> int:
    """A localhost TCP port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@contextmanager
def connect_server(log: Path, timeout_s: float = 180.0) -> Iterator[str]:
    """Start a Spark Connect server, wait until its port accepts connections, yield its
    ``sc://127.0.0.1:PORT`` URL and stop it (its whole process group) at the end."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    port = free_port()
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--class",
        CONNECT_SERVER_CLASS,
        "--name",
        "features-pipeline-tests-connect",
        "--master",
        "local[2]",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        "spark.driver.bindAddress=127.0.0.1",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.sql.shuffle.partitions=4",
    ]
    env = {**os.environ, "SPARK_HOME": str(spark_home)}
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not accepts(port):
            if server.poll() is not None:
                raise RuntimeError(f"Spark Connect server exited ({server.returncode}); see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Spark Connect server not up in {timeout_s:g} s; see {log}")
            time.sleep(0.25)
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop(server)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (spark-submit execs java in it), SIGKILL if stuck."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def read_cluster_table(path: Path) -> pl.DataFrame:
    """The warehouse table whose manifest is at ``path`` (a local warehouse), read by Polars in
    its row order, without the stored row positions."""
    from features_pipeline.contracts.table_manifest import read_manifest
    from features_pipeline.engines.base import ROW
    from features_pipeline.engines.spark import storage_uri

    manifest = read_manifest(path)
    folder = Path(storage_uri(manifest.uri).removeprefix("file://"))
    table = pl.read_parquet(sorted(folder.glob("*.parquet")))
    assert table.height == manifest.rows
    return table.sort(ROW).drop(ROW)
