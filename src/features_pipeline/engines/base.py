"""What an engine supplies to the feature engine, and the parts every narwhals engine shares.

The feature engine (``features.engine``) builds narwhals expressions, the same on every engine;
an :class:`Executor` turns tables into narwhals lazy frames of its backend and back into Polars.
Every input row carries :data:`ROW`, its 0-based position, so outputs come back in input order
on engines that do not keep row order (DuckDB, Spark).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.io import write_parquet_atomic

if TYPE_CHECKING:
    from features_pipeline.engines.params import EngineParams

ROW = "__row__"
Ordering = tuple[str, ...]


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, declared by its executor; stages, planning and the CLI ask these,
    never an engine's name."""

    keeps_time_zones: bool = False  # a time-zone-aware datetime keeps its zone (else: UTC only)
    keeps_row_order: bool = False  # rows come back in input order without sorting by ROW
    in_memory: bool = False  # tables are Polars frames in this process (the stages' fast paths)
    out_of_core: bool = False  # tables bigger than memory spill to disk
    cluster: bool = False  # runs on a cluster (or a Spark Connect server), not in this process
    # tables live in warehouse storage; the project holds a small manifest for DVC instead
    warehouse_tables: bool = False


class Executor:
    """Generic narwhals execution; subclasses bind a backend (and may override for speed).

    A new engine is one module with a subclass (its ``name``, ``capabilities`` and
    :meth:`open`) plus one line in ``engines/registry.py``."""

    name: ClassVar[str] = "narwhals"
    capabilities: ClassVar[Capabilities] = Capabilities()
    runs_polars: bool = False  # takes features' native Polars forms (with_polars_columns)

    @classmethod
    def open(cls, params: EngineParams) -> Executor:
        """An executor of this engine with the settings of ``params`` (the ``engine:`` section)."""
        return cls()

    def scan_parquet(self, path: Path) -> nw.LazyFrame[Any]:
        """The parquet table at ``path`` on this engine, with its row positions in ROW."""
        return self.from_polars(pl.read_parquet(path))

    def scan_rows(self, paths: Sequence[Path]) -> nw.LazyFrame[Any]:
        """The parquet files at ``paths`` as one table on this engine; their rows carry ROW."""
        return self.table(pl.concat([pl.read_parquet(path) for path in paths], how="vertical"))

    def from_polars(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        """A Polars frame on this engine, with its row positions in ROW."""
        return self.table(frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64)))

    def table(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        """A small Polars table (a learned table) on this engine, as it is."""
        raise NotImplementedError

    def materialize(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        """``frame`` computed once, so later queries on it do not recompute it."""
        return frame

    def learning_frame(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        """The frame fitted features learn from and the level goes on with: by default
        ``frame`` materialised, so the learned tables and the joins read the same computed rows
        and nothing upstream is computed twice."""
        return self.materialize(frame)

    def finished(self, frame: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
        """The feature table as the writer and the domain checks read it: by default
        materialised once (both read the same computed rows)."""
        return self.materialize(frame)

    def collect_all(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        """Small query results as Polars frames."""
        return [frame.collect("polars").to_native() for frame in frames]

    def join_learned(
        self, frame: nw.LazyFrame[Any], table: pl.DataFrame, keys: Sequence[str]
    ) -> nw.LazyFrame[Any]:
        """Every row of ``frame`` with the learned columns of its keys (left join)."""
        return frame.join(self.table(table), on=list(keys), how="left")

    def with_polars_columns(
        self, frame: nw.LazyFrame[Any], expressions: Sequence[pl.Expr]
    ) -> nw.LazyFrame[Any]:
        """Native Polars expressions added to ``frame`` (only on an engine that runs Polars)."""
        raise NotImplementedError(f"the {self.name} engine runs no Polars expressions")

    def with_sequences(
        self, frame: nw.LazyFrame[Any], orderings: Sequence[Ordering]
    ) -> tuple[nw.LazyFrame[Any], dict[Ordering, str]]:
        """Optionally, one column per ordering ranking the rows by it (ordering by one precomputed
        integer is cheaper than by the ordering's columns in every window feature)."""
        return frame, {}

    def to_polars(self, frame: nw.LazyFrame[Any]) -> pl.DataFrame:
        """The whole table as Polars, in input row order, without ROW."""
        table: pl.DataFrame = frame.sort(ROW).drop(ROW).collect("polars").to_native()
        return table

    def write_parquet(self, frame: nw.LazyFrame[Any], path: Path) -> tuple[int, int]:
        """Write the table in input row order to ``path`` atomically; returns (rows, cols)."""
        table = self.to_polars(frame)
        write_parquet_atomic(table, path)
        return table.shape

    def free_memory(self) -> None:
        """Give back the memory earlier queries left cached (frames made before may not be read
        after); by default nothing."""

    def close(self) -> None:
        """Release the backend's resources (connections, sessions)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
