"""Typed ``engine:`` section of params.yaml: which engine runs the data stages, and its settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from features_pipeline.contracts.params import StrictModel, plain_error
from features_pipeline.contracts.paths import inside_project
from features_pipeline.contracts.text import quoted_choices


class SparkParams(StrictModel):
    """``engine.spark``: a local or cluster master, or a Spark Connect URL (taking precedence)."""

    master: str = "local[2]"
    remote: str | None = None  # sc://host:port (Spark Connect)
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)
    connect_timeout_s: float = Field(default=60.0, gt=0)  # a session not up by then is an error
    # Spark Connect: a server not answering this long mid-stage ends the stage (spark_watch.py)
    server_timeout_s: float = Field(default=30.0, gt=0)
    # where Spark stages write their tables (a folder per table and content checksum): a URI
    # (s3a://, hdfs://, file://) or a folder relative to the project (git- and DVC-ignored)
    warehouse: str = Field(default=".spark_warehouse", min_length=1, validate_default=True)
    # a cluster master (not local[N]): pack the project and the libraries executors import into
    # an archive (cached by content) and ship it with the session (spark.archives); false when
    # the cluster's Python already has them (engines/spark_ship.py)
    ship_code: bool = True

    @field_validator("warehouse")
    @classmethod
    def _shared_on_a_cluster(cls, value: str, info: ValidationInfo) -> str:
        """A relative folder is each node's own disk on a cluster master: refused there."""
        master = info.data.get("master", "local")
        if "://" in value or is_local_master(master) or info.data.get("remote"):
            return value
        raise plain_error(
            f"'{value}' is a folder on each machine's own disk with master {master}: executors "
            "would write the table where the driver cannot read it; use a URI of storage every "
            "node shares (file:///shared/warehouse, hdfs://, s3a://, abfss://, gs://)"
        )

    @field_validator("remote")
    @classmethod
    def _connect_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("sc://"):
            raise ValueError("a Spark Connect URL starts with sc:// (e.g. sc://localhost:15002)")
        return value


def is_local_master(master: str) -> bool:
    """``local``, ``local[N]``, ``local[*]`` or ``local[N,F]``: Spark in this process's JVM."""
    return master == "local" or (master.startswith("local[") and master.endswith("]"))


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_bytes(size: str) -> int:
    """``3GB`` (10^9), ``2GiB`` (2^30), ``512MB``, ``1500000000`` as bytes; ValueError if not."""
    match = _SIZE.match(size)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"{size!r} is not a memory size (e.g. 3GB, 512MB, 2GiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def format_bytes(count: float) -> str:
    """``3.2 GB`` (decimal units, as ``engine.memory_limit`` is written)."""
    return f"{count / 1e9:.1f} GB" if count >= 1e8 else f"{count / 1e6:.0f} MB"


class DuckDbParams(StrictModel):
    """``engine.duckdb``: spill folder and threads (bigger-than-memory tables spill there); its
    memory cap comes from ``engine.memory_limit``, the one budget of every stage."""

    # moved to engine.memory_limit (issue 23); kept only to say so in one line
    memory_limit: str | None = None
    temp_directory: str = ".duckdb_tmp"  # spill folder (git- and DVC-ignored)
    threads: int | None = Field(default=None, ge=1)

    @field_validator("temp_directory")
    @classmethod
    def _inside_the_project(cls, folder: str) -> str:
        """The spill folder is created and filled where it points: like every other local path
        setting, never outside the project (``..`` and symlinks resolved)."""
        if not inside_project(Path(folder)):
            raise plain_error(
                f"'{folder}' is outside the project; keep DuckDB's spill folder in the project "
                "(e.g. .duckdb_tmp)"
            )
        return folder

    @field_validator("memory_limit")
    @classmethod
    def _moved(cls, value: str | None) -> str | None:
        if value is not None:
            raise plain_error(
                f"{value!r}: this key moved to engine.memory_limit, the one memory budget every "
                f"stage honours (write engine.memory_limit: {value} and remove this key)"
            )
        return value


class EngineParams(StrictModel):
    """``engine:``: the engine's name (one of ``engines/registry.py``) and per-engine settings
    (a section named like the engine, for engines that have settings)."""

    name: str = "polars"
    # one memory budget for every stage (e.g. 3GB); null: no budget (the machine's memory)
    memory_limit: str | None = None
    # an out-of-core engine computes the features in memory, several times faster: the whole
    # table if it fits memory_limit, else in parts that do (engines/budget.py,
    # features/parts.py); false: always with the engine's own out-of-core plan
    in_memory_if_fits: bool = True
    spark: SparkParams = SparkParams()
    duckdb: DuckDbParams = DuckDbParams()

    @field_validator("name")
    @classmethod
    def _registered(cls, value: str) -> str:
        from features_pipeline.engines.registry import engine_names  # it imports this module

        if value not in engine_names():
            raise ValueError(f"Input should be {quoted_choices(engine_names())}")
        return value

    @field_validator("memory_limit")
    @classmethod
    def _a_size(cls, value: str | None) -> str | None:
        if value is not None and parse_bytes(value) <= 0:
            raise ValueError("a memory budget must be positive")
        return value

    @property
    def budget_bytes(self) -> int | None:
        """``memory_limit`` in bytes (None: no budget)."""
        return None if self.memory_limit is None else parse_bytes(self.memory_limit)

    def settings(self) -> dict[str, Any]:
        """The settings of the chosen engine (for logs; none for an engine without a section)."""
        section = getattr(self, self.name, None)
        return section.model_dump() if isinstance(section, StrictModel) else {}
