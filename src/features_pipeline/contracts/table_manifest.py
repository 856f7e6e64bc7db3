"""The manifest of a table that lives in cluster storage (``engine.name: spark``).

DVC caches files inside the project only, and Spark names its part files at random, so a Spark
stage writes its table to the warehouse (``engine.spark.warehouse``) and its DVC output is a
folder at the usual table path (e.g. ``data/interim/sales.parquet/``) holding one small file,
``_manifest.json``: where the table is, its row count, its schema and an order-independent
content checksum computed on the cluster. The same inputs and params give the same manifest
bytes, so DVC decides what re-runs and ``dvc.lock`` stays byte-identical; downstream stages
depend on the manifest. Local engines (Polars, DuckDB) write a parquet file at the same path.

The ``_`` prefix follows Spark's and Hive's convention for metadata files beside data.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from features_pipeline.contracts.dtypes import parse_dtype
from features_pipeline.errors import UserError

MANIFEST_NAME = "_manifest.json"


class TableManifest(BaseModel):
    """A table in cluster storage: ``uri`` (a folder of parquet parts), rows, columns with their
    Polars dtype names (in order), and ``checksum``, the same for the same rows in any order of
    computation (row positions are part of the rows: the table keeps its input order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = "parquet"
    uri: str
    rows: int
    columns: dict[str, str]
    checksum: str
    engine: str = "spark"

    def polars_schema(self) -> dict[str, pl.DataType]:
        """Column dtypes as Polars types (a dtype Polars cannot name simply: String)."""
        return {name: parse_dtype(text) or pl.String() for name, text in self.columns.items()}

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n"


def manifest_file(path: Path) -> Path:
    """The manifest file of the table output ``path``."""
    return path / MANIFEST_NAME


def is_cluster_table(path: Path) -> bool:
    """Whether the table output ``path`` is a manifest folder (a Spark table), not a file."""
    return manifest_file(path).is_file()


def read_manifest(path: Path) -> TableManifest:
    """The manifest of the table output ``path``; malformed is a one-line UserError."""
    file = manifest_file(path)
    try:
        return TableManifest.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{file}: cannot read the table manifest ({exc.strerror})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise UserError(f"{file}: {where}: {first['msg']} (not a table manifest)") from None
