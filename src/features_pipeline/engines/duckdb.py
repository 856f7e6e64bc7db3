"""The DuckDB executor: out of core on one machine (a memory cap; what does not fit spills)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.engines.base import ROW, Capabilities, Executor
from features_pipeline.engines.params import DuckDbParams, EngineParams
from features_pipeline.errors import UserError

if TYPE_CHECKING:
    import duckdb


def connect(params: DuckDbParams) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database with the memory cap and spill folder of ``params``."""
    try:
        import duckdb
    except ImportError:
        raise UserError(
            "engine.name: duckdb needs the duckdb extra: pip install -e '.[duckdb]'"
        ) from None
    Path(params.temp_directory).mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"temp_directory": params.temp_directory}
    if params.memory_limit is not None:
        config["memory_limit"] = params.memory_limit
    if params.threads is not None:
        config["threads"] = params.threads
    try:
        return duckdb.connect(config=config)
    except duckdb.Error as exc:
        raise UserError(f"engine.duckdb: {str(exc).splitlines()[0]}") from None


def out_of_memory(params: DuckDbParams, error: Exception) -> UserError:
    """DuckDB's out-of-memory error as one line naming the setting that caps its memory."""
    limit = params.memory_limit or "null (DuckDB's default: 80 % of RAM)"
    return UserError(
        f"engine.duckdb.memory_limit: {limit} is not enough: DuckDB stopped with "
        f"{str(error).splitlines()[0]!r}; raise engine.duckdb.memory_limit (e.g. 2GB) or lower "
        "engine.duckdb.threads"
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDbExecutor(Executor):
    name = "duckdb"
    capabilities = Capabilities(out_of_core=True)

    @classmethod
    def open(cls, params: EngineParams) -> DuckDbExecutor:
        return cls(params.duckdb)

    def __init__(self, params: DuckDbParams | None = None) -> None:
        self.params = params or DuckDbParams()
        self.connection = connect(self.params)
        self._names = (f"__features_pipeline_{index}" for index in itertools.count())

    def scan_parquet(self, path: Path) -> nw.LazyFrame[Any]:
        """Read by DuckDB itself (never whole in memory); ROW is the row's number in the file."""
        relation = self.connection.read_parquet(str(path), file_row_number=True)
        frame = nw.from_native(relation).rename({"file_row_number": ROW})
        return frame.with_columns(nw.col(ROW).cast(nw.Int64))

    def table(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        name = next(self._names)
        self.connection.register(name, frame.to_arrow())
        return nw.from_native(self.connection.table(name))

    def materialize(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        name = next(self._names)
        frame.to_native().to_table(name)  # spills to the temp folder beyond the memory cap
        return nw.from_native(self.connection.table(name))

    def write_parquet(self, frame: nw.LazyFrame[Any], path: Path) -> tuple[int, int]:
        """DuckDB writes the file itself (sorted by ROW: input order), atomically."""
        relation = frame.to_native()
        columns = [name for name in relation.columns if name != ROW]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        select = ", ".join(_quoted(name) for name in columns)
        relation.query(
            "features",
            f"COPY (SELECT {select} FROM features ORDER BY {_quoted(ROW)}) "
            f"TO '{temporary}' (FORMAT parquet, COMPRESSION zstd)",
        )
        try:
            rows = pl.scan_parquet(temporary).select(pl.len()).collect().item()
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return int(rows), len(columns)

    def close(self) -> None:
        self.connection.close()

    def __exit__(self, *exc: object) -> None:
        """Close; DuckDB running out of memory in the block becomes one line naming
        ``engine.duckdb.memory_limit`` (every stage uses its executor in a ``with`` block)."""
        self.close()
        import duckdb

        error = exc[1]
        if isinstance(error, duckdb.OutOfMemoryException):
            raise out_of_memory(self.params, error) from error
