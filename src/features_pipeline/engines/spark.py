"""The Spark executor: a local or cluster master, or a Spark Connect server (``sc://host:port``).

Data moves between Polars and Spark as Arrow (``createDataFrame`` from a ``pyarrow.Table``,
``DataFrame.toArrow``), never through pandas: pyspark.pandas does not import with pandas 3.

Row positions (:data:`ROW`) of a parquet file come from Spark's hidden ``_metadata.row_index``
column: the reader computes it from the file's row-group offsets, so it is the row's 0-based
position in the file however Spark splits the file into tasks, it needs no shuffle, no driver-side
read and no RDD (so it works on Spark Connect too). ``monotonically_increasing_id`` is not
contiguous and ``zipWithIndex`` needs RDDs, which Connect does not have.

Spark 4 runs with ANSI SQL on by default: a bare ``x / 0`` raises ``DIVIDE_BY_ZERO``. narwhals'
division guards the zero divisor (``inf``/``-inf``/``NaN`` as in Polars), so feature types that
divide through narwhals are unaffected; raw Spark SQL would not be.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from os import environ
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.dtypes import dtype_name
from features_pipeline.contracts.table_manifest import (
    TableManifest,
    is_cluster_table,
    manifest_file,
    read_manifest,
)
from features_pipeline.engines.base import ROW, Capabilities, Executor
from features_pipeline.engines.params import EngineParams, SparkParams
from features_pipeline.errors import UserError
from features_pipeline.io import atomic_dir

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    Session = SparkSession | ConnectSession

APP_NAME = "features-pipeline"
CONNECT_DEFAULT_PORT = 15002
JAVA_MISSING = (
    "engine.spark: Java 17 is needed for Spark (not found on PATH or JAVA_HOME); "
    "install openjdk-17-jre-headless"
)
PYSPARK_MISSING = (
    "engine.name: spark needs pyspark, which is not installed; install the extra: "
    "pip install -e '.[spark]'"
)
# pyspark.sql.connect warns on import that pandas 3 is not fully supported; this executor never
# goes through pandas (Arrow only), so the warning is noise for users.
PANDAS_WARNING = "PySpark does not yet fully support pandas"

# Spark SQL settings of every session (runtime settings: they apply to Spark Connect too).
# Case-sensitive names as in Polars; UTC so dates and timestamps do not depend on the machine.
SQL_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.caseSensitive": "true",
}
# Settings of a session this process starts itself (a JVM of its own: master, not remote).
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",  # Spark's 200 is for clusters; 4 suits local[2]
    "spark.driver.bindAddress": "127.0.0.1",  # no hostname lookup (offline machines, containers)
    "spark.driver.host": "127.0.0.1",
}

T = TypeVar("T")


def native(frame: nw.LazyFrame[Any]) -> DataFrame:
    table: DataFrame = frame.to_native()
    return table


def sql_string(text: str) -> str:
    """``text`` as a Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def arrow_to_polars(table: Any) -> pl.DataFrame:
    """An Arrow table from Spark as a Polars frame (Int64, Float64, String, Date, Boolean kept)."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


class SparkExecutor(Executor):
    """Feature plans on a Spark session. Tables stay in cluster storage: :meth:`write_parquet`
    writes to ``engine.spark.warehouse`` and leaves a manifest at the output path
    (``contracts/table_manifest.py``); only small results come back to Polars, through Arrow."""

    name = "spark"
    capabilities = Capabilities(out_of_core=True, cluster=True, warehouse_tables=True)

    @classmethod
    def open(cls, params: EngineParams) -> SparkExecutor:
        return cls(params=params.spark)

    def __init__(self, session: Session | None = None, params: SparkParams | None = None) -> None:
        """Run on ``session``, or on a new session from ``params`` (stopped by :meth:`close`)."""
        self.params = params or SparkParams()
        self.owns_session = session is None
        self.spark = session if session is not None else spark_session(self.params)

    def scan_parquet(self, path: Path) -> nw.LazyFrame[Any]:
        """The table at ``path``, read by Spark: a table manifest (the table in the warehouse,
        with its stored row positions), a parquet file, or a folder of files (file-name order).

        The path must be readable where Spark runs (the server, for Spark Connect)."""
        if is_cluster_table(path):
            return self.scan_manifest(read_manifest(path))
        frame = self.spark.read.parquet(str(Path(path).resolve()))
        row = "_metadata.row_index"
        if Path(path).is_dir():  # positions restart in each file: add the rows of earlier files
            counts = frame.selectExpr("_metadata.file_name AS f").groupBy("f").count().collect()
            offsets, total = [], 0
            for name, count in sorted(counts):
                offsets += [sql_string(name), str(total)]
                total += count
            row = f"{row} + map({', '.join(offsets)})[_metadata.file_name]"
        # SQL text, not pyspark.sql.functions: those dispatch on a process-wide Connect flag
        return nw.from_native(frame.selectExpr("*", f"CAST({row} AS BIGINT) AS {ROW}"))

    def scan_manifest(self, manifest: TableManifest) -> nw.LazyFrame[Any]:
        """The warehouse table of ``manifest`` (with ROW); a missing table is one line."""
        uri = storage_uri(manifest.uri)
        try:
            frame = self.spark.read.parquet(uri)
        except Exception as error:  # AnalysisException (classic or Connect): path not found
            raise UserError(
                f"{uri}: cannot read the table ({first_line(error)}); run `dvc repro --force` "
                "of the stage that writes it"
            ) from None
        return nw.from_native(frame)

    def write_parquet(self, frame: nw.LazyFrame[Any], path: Path) -> tuple[int, int]:
        """Write the table to the warehouse, in a folder named by its content checksum, with
        ROW stored as a column (no global sort), and a manifest at ``path`` (atomically, last:
        a failure leaves the previous manifest). Returns (rows, cols) without ROW."""
        table = native(self.materialize(frame))
        columns = [name for name in table.columns if name != ROW]
        rows, checksum = table_checksum(table)
        schema = arrow_to_polars(table.select(*columns).limit(0).toArrow()).schema
        name = f"{path.parent.name}-{path.stem}-{checksum[:16]}"
        location = f"{self.params.warehouse.rstrip('/')}/{name}"
        table.write.mode("overwrite").parquet(storage_uri(location))
        manifest = TableManifest(
            uri=location,
            rows=rows,
            columns={column: dtype_name(schema[column]) for column in columns},
            checksum=checksum,
        )
        with atomic_dir(path) as folder:
            manifest_file(folder).write_text(manifest.to_json(), encoding="utf-8")
        return rows, len(columns)

    def table(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        """A Polars frame as a Spark DataFrame through Arrow, with an explicit schema (Connect
        cannot infer one from an empty table). Int64, Float64, String, Date and Boolean map to
        bigint, double, string, date and boolean, and come back as they were."""
        from pyspark.sql.pandas.types import from_arrow_schema

        # oldest compat level: large_string instead of string_view, which Spark does not read
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        return nw.from_native(
            self.spark.createDataFrame(arrow, schema=from_arrow_schema(arrow.schema))
        )

    def materialize(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        """Computed now and kept by the executors: ``localCheckpoint`` also cuts the plan's
        lineage, so later queries neither recompute nor re-analyse it (classic and Connect)."""
        return nw.from_native(native(frame).localCheckpoint(eager=True))

    def collect_all(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        return [arrow_to_polars(native(frame).toArrow()) for frame in frames]

    def join_learned(
        self, frame: nw.LazyFrame[Any], table: pl.DataFrame, keys: Sequence[str]
    ) -> nw.LazyFrame[Any]:
        """A broadcast left join (learned tables are small), with the frame's columns first as on
        Polars (Spark puts the join keys first)."""
        left = native(frame)
        learned = native(self.table(table)).hint("broadcast")
        joined = left.join(learned, on=list(keys), how="left")
        extra = [name for name in table.columns if name not in keys]
        return nw.from_native(joined.select(*left.columns, *extra))

    def to_polars(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        """The table collected through Arrow and put in ROW order by Polars (cheaper than a
        global sort in Spark, as every row comes to this process anyway)."""
        table = arrow_to_polars(native(frame).toArrow())
        return table.sort(ROW).drop(ROW)

    def close(self) -> None:
        if self.owns_session:
            self.spark.stop()


def first_line(error: BaseException) -> str:
    """The first line of an error's message (Spark's carry a JVM stack trace)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def storage_uri(location: str) -> str:
    """A location Spark reads: a URI as it is; a relative folder under the project root (the
    working directory of every stage), so manifests never hold a machine's absolute path."""
    if "://" in location or Path(location).is_absolute():
        return location
    return (Path.cwd() / location).resolve().as_uri()


def sql_name(column: str) -> str:
    """``column`` quoted for Spark SQL."""
    return "`" + column.replace("`", "``") + "`"


def table_checksum(table: DataFrame) -> tuple[int, str]:
    """Rows and an order-independent content checksum of ``table``: the exact (decimal) sum of
    each row's 64-bit hash of all its columns, hashed with the row count and column names, so the
    same rows give the same checksum however Spark splits and schedules the work."""
    names = ", ".join(sql_name(column) for column in table.columns)
    total = table.selectExpr(
        "count(*) AS n", f"sum(CAST(xxhash64({names}) AS DECIMAL(38, 0))) AS h"
    ).collect()[0]
    rows, hashed = int(total["n"]), str(total["h"] or 0)
    text = f"{rows}\n{hashed}\n" + "\n".join(table.columns)
    return rows, hashlib.sha256(text.encode()).hexdigest()


def java_binary() -> str | None:
    """The java Spark would launch: ``$JAVA_HOME/bin/java`` if set, else ``java`` on PATH."""
    home = environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def check_java() -> None:
    """A one-line :class:`UserError` when no Java 17+ is there to start Spark's JVM."""
    java = java_binary()
    if java is None:
        raise UserError(JAVA_MISSING)
    try:
        run = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        raise UserError(JAVA_MISSING) from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', run.stderr + run.stdout)
    if found is None:
        return  # an unusual version line: let Spark try
    major = int(found[2]) if found[1] == "1" and found[2] else int(found[1])  # 1.8 -> 8
    if major < 17:
        raise UserError(
            f"engine.spark: Java 17 is needed for Spark, {java} is Java {major}; "
            "install openjdk-17-jre-headless (or set JAVA_HOME)"
        )


def connect_address(url: str) -> tuple[str, int]:
    """Host and port of a Spark Connect URL ``sc://host[:port][/;params]``."""
    parts = urlsplit(url.split("/;")[0])
    return parts.hostname or "localhost", parts.port or CONNECT_DEFAULT_PORT


def within(seconds: float, start: Callable[[], T], what: str) -> T:
    """``start()`` in a daemon thread; a one-line UserError if it fails or takes longer."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(start())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, name="spark-session-start", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise UserError(f"{what}: no Spark session within {seconds:g} s (connect_timeout_s)")
    if failure:
        first = first_line(failure[0])
        raise UserError(f"{what}: Spark did not start: {first}") from failure[0]
    return result[0]


def quiet_imports() -> None:
    """Import the pyspark modules that warn about pandas 3 on import, with that warning off (this
    executor never uses pandas): pyspark.sql.connect, and pyspark.testing.utils, which pyspark
    imports lazily while converting Arrow; and keep it off in this process (``mapInArrow``
    checks the pandas version on each call)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", PANDAS_WARNING, FutureWarning)
        import pyspark.sql.connect.session
        import pyspark.testing.utils  # noqa: F401
    # mapInArrow checks the pandas version on every call (scoring, the split): the same warning
    warnings.filterwarnings("ignore", PANDAS_WARNING, FutureWarning)


def check_connect_server(url: str, timeout: float, what: str) -> None:
    """A one-line UserError unless ``url`` answers as a gRPC server within ``timeout`` seconds.

    Checked before any session exists: a session whose first call hangs keeps retrying (and
    holds Spark Connect's builder lock) for minutes, blocking every later session."""
    import grpc  # type: ignore[import-untyped]
    from pyspark.sql.connect.client import DefaultChannelBuilder

    host, port = connect_address(url)
    deadline = time.monotonic() + timeout
    try:  # refused or unroutable: say so now, not after the gRPC client's retries
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        raise UserError(f"{what}: cannot connect to {host}:{port} ({error})") from None
    channel = DefaultChannelBuilder(url).toChannel()
    try:
        grpc.channel_ready_future(channel).result(timeout=max(deadline - time.monotonic(), 0.1))
    except grpc.FutureTimeoutError:
        raise UserError(
            f"{what}: {host}:{port} accepts connections but no Spark Connect server answered "
            f"within {timeout:g} s (connect_timeout_s)"
        ) from None
    finally:
        channel.close()


def spark_session(params: SparkParams) -> Session:
    """A Spark session for ``engine.spark``: Spark Connect if ``remote`` is set, else ``master``.

    Fails with one line naming the param when pyspark or Java is missing, or when the master or
    Connect server does not answer within ``connect_timeout_s``. Settings: app name, UTC,
    case-sensitive names, no UI and WARN logging (local), 4 shuffle partitions; ``conf`` wins.
    A Connect session is created with Connect's own builder: pyspark's generic one refuses a
    Connect session beside a classic one and flips the whole process into Connect mode."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError(PYSPARK_MISSING) from None
    quiet_imports()
    conf = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in params.conf.items()
    }
    timeout = params.connect_timeout_s
    start: Callable[[], Session]
    if params.remote is not None:
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        url = params.remote
        what = f"engine.spark.remote {url}"
        check_connect_server(url, timeout, what)

        def start() -> Session:
            builder = ConnectSession.builder.remote(url).appName(APP_NAME)
            for key, value in {**SQL_DEFAULTS, **conf}.items():
                builder = builder.config(key, value)
            session = builder.create()
            session.range(1).collect()
            return session

    else:
        what = f"engine.spark.master {params.master}"
        check_java()

        def start() -> Session:
            builder = SparkSession.builder.master(params.master).appName(APP_NAME)
            for key, value in {**SQL_DEFAULTS, **LOCAL_DEFAULTS, **conf}.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("WARN")
            session.range(1).collect()  # a master that accepts no work fails (times out) here
            return session

    return within(timeout, start, what)
