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
import logging
import os
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
from features_pipeline.engines.params import EngineParams, SparkParams, is_local_master
from features_pipeline.engines.spark_watch import (
    Watchdog,
    bounded_retries,
    no_retries,
    progress_log,
)
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
DRIVER_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
# ... and of a local[N] master only: on a cluster the executors must reach the driver at an
# address of the network they share (Spark's own choice, or spark.driver.host in conf), and
# shuffle partitions are the cluster's (adaptive execution coalesces them)
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.sql.shuffle.partitions": "4",  # Spark's 200 is for clusters; 4 suits local[2]
    "spark.driver.bindAddress": "127.0.0.1",  # no hostname lookup (offline machines, containers)
    "spark.driver.host": "127.0.0.1",
}

T = TypeVar("T")
WATCHDOG = "_features_pipeline_watchdog"  # the session attribute holding its Connect watchdog
log = logging.getLogger("features_pipeline.engines.spark")


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
        self.release(lost=False)

    def release(self, lost: bool) -> None:
        """Stop the watchdog, and the session unless its server is lost (a stop would wait for
        it) or it was handed in."""
        watchdog = getattr(self.spark, WATCHDOG, None)
        if watchdog is not None:
            watchdog.stop()
            lost = lost or watchdog.lost is not None
        if not lost:
            if self.owns_session:
                self.spark.stop()
        elif self.params.remote is not None:
            forget_lost_server(self.spark)

    def __exit__(self, *exc: object) -> None:
        """Closes the session; a stage interrupted by a lost Spark Connect server (or failing
        because the server went away) ends with one line."""
        error = exc[1] if len(exc) > 1 else None
        lost = lost_server(getattr(self.spark, WATCHDOG, None), error, self.params.remote)
        self.release(lost=lost is not None)
        if lost is not None:
            raise lost from None


def forget_lost_server(session: Any) -> None:
    """Close a Connect session's channel without waiting on its lost server (no retries, so
    neither this nor the release at exit waits out the retry policy)."""
    session.client.set_retry_policies([no_retries()])
    session.client.close()


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


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` is the Spark Connect client giving up on an unreachable server (after
    its bounded retries): gRPC's UNAVAILABLE or DEADLINE_EXCEEDED, or the retries exhausted."""
    text = f"{type(error).__name__}: {error}"
    lost = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "EXCEED_RETRY", "Socket closed")
    return any(code in text for code in lost)


def lost_server(watchdog: Watchdog | None, error: object, remote: str | None) -> UserError | None:
    """The one-line error of a stage whose Spark Connect server was lost: the watchdog gave up,
    or the client's bounded retries did; None for any other outcome."""
    if watchdog is not None and watchdog.lost is not None:
        return UserError(watchdog.lost)
    if remote is not None and isinstance(error, Exception) and connection_lost(error):
        return UserError(
            f"engine.spark.remote {remote}: lost the Spark Connect server ({first_line(error)}); "
            "the stage stopped, its previous outputs are kept"
        )
    return None


def startup_timeout(seconds: float, load: float | None = None) -> float:
    """``connect_timeout_s`` for a session whose driver starts here (a JVM of its own; on a
    cluster master also executors fetching the shipped code): scaled up by this machine's load
    per core (1-minute load average), so a busy machine's slower start is not refused."""
    busy = (os.getloadavg()[0] if load is None else load) / (os.cpu_count() or 1)
    return seconds * max(1.0, busy)


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
        raise UserError(
            f"{what}: no Spark session within {seconds:.0f} s (connect_timeout_s, scaled up by "
            "the load per core when the driver starts here)"
        )
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
    Connect server does not answer within ``connect_timeout_s`` (scaled by the load per core when
    the driver starts here). Settings: app name, UTC, case-sensitive names, no UI and WARN
    logging; on local[N] a loopback driver and 4 shuffle partitions; on a cluster master the
    executors' code (engines/spark_ship.py, ``ship_code``); ``conf`` wins.
    A Connect session is created with Connect's own builder: pyspark's generic one refuses a
    Connect session beside a classic one and flips the whole process into Connect mode."""
    try:
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise UserError(PYSPARK_MISSING) from None
    quiet_imports()
    conf = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in params.conf.items()
    }
    if params.remote is not None:
        return connect_session(params.remote, params, conf)
    return master_session(params, conf)


def connect_session(url: str, params: SparkParams, conf: dict[str, str]) -> Session:
    """A Spark Connect session on ``url``: bounded retries, progress, a watchdog (spark_watch)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    what = f"engine.spark.remote {url}"
    check_connect_server(url, params.connect_timeout_s, what)

    def start() -> ConnectSession:
        builder = ConnectSession.builder.remote(url).appName(APP_NAME)
        for key, value in {**SQL_DEFAULTS, **conf}.items():
            builder = builder.config(key, value)
        session = builder.create()
        session.client.set_retry_policies([bounded_retries(params.server_timeout_s)])
        session.range(1).collect()
        return session

    session = within(params.connect_timeout_s, start, what)
    watchdog = Watchdog(url, params.server_timeout_s, what).start()
    setattr(session, WATCHDOG, watchdog)
    try:
        prepare_connect(session, url, params)
    except BaseException as error:  # the watchdog's interrupt too (KeyboardInterrupt)
        watchdog.stop()
        lost = lost_server(watchdog, error, url)
        if lost is None:
            raise
        forget_lost_server(session)
        raise lost from None
    return session


def master_session(params: SparkParams, conf: dict[str, str]) -> Session:
    """A session whose driver runs in this process, on ``params.master``."""
    from pyspark.sql import SparkSession

    what = f"engine.spark.master {params.master}"
    check_java()
    timeout = startup_timeout(params.connect_timeout_s)
    settings = {**SQL_DEFAULTS, **DRIVER_DEFAULTS, **master_defaults(params), **conf}

    def start() -> Session:
        builder = SparkSession.builder.master(params.master).appName(APP_NAME)
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("WARN")
        session.range(1).collect()  # a master that accepts no work fails (times out) here
        return session

    return within(timeout, start, what)


def master_defaults(params: SparkParams) -> dict[str, str]:
    """Settings of a session on ``params.master``: a loopback driver on local[N]; on a cluster,
    the packed code executors import (unless ``ship_code`` is false)."""
    if is_local_master(params.master):
        return LOCAL_DEFAULTS
    if not params.ship_code:
        return {}
    from features_pipeline.engines.spark_ship import executor_archive, master_settings

    packed = executor_archive()
    log.info("spark: executors get %s (%.0f MB)", packed.path, packed.bytes / 1e6)
    return master_settings(packed.path)


def prepare_connect(session: ConnectSession, url: str, params: SparkParams) -> None:
    """Log the progress of long queries; ship the executors' code when the server's master is a
    cluster (``ship_code``)."""
    session.registerProgressHandler(progress_log())
    if not params.ship_code:  # the cluster has the code (e.g. a Databricks cluster library)
        return
    master = str(session.conf.get("spark.master", "local"))
    if not is_local_master(master):
        from features_pipeline.engines.spark_ship import (
            ALIAS,
            LAUNCHER,
            PYTHON_SETTING,
            executor_archive,
        )

        packed = executor_archive()
        log.info("spark: uploading %s (%.0f MB) to %s", packed.path, packed.bytes / 1e6, url)
        session.addArtifacts(f"{packed.path}#{ALIAS}", archive=True)
        session.conf.set(PYTHON_SETTING, LAUNCHER)
