"""Every file the stages hand to each other, with the stage that writes it (dvc.yaml's outs).

``tests/test_dvc_yaml.py`` checks that each stage's ``deps`` and ``outs`` in dvc.yaml are exactly
the artifacts its code reads and writes, so this module and dvc.yaml cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from features_pipeline.errors import UserError

if TYPE_CHECKING:  # imported where tables are read: the CLI's start-up (e.g. params check) and
    import polars as pl  # --help do not pay for Polars

PROJECT_FILE = "dvc.yaml"  # marks the project root
DEFAULT_PARAMS = Path("params.yaml")
RAW_DATA_DIR = Path("data/raw")  # user CSVs: a dependency of ingest, written by nobody
TIMING_DIR = Path("metrics/timing")  # wall-clock seconds per stage: git-tracked, not DVC outs


@dataclass(frozen=True)
class Artifact:
    """A file or folder written by one stage (``stage``) for later stages or for people."""

    path: Path
    stage: str

    def __str__(self) -> str:
        return str(self.path)

    def require(self) -> Path:
        """The path if it exists; otherwise a UserError naming the stage that writes it."""
        return require_file(self.path, self.stage)

    def read_parquet(
        self, columns: Sequence[str] | None = None, where: pl.Expr | None = None
    ) -> pl.DataFrame:
        """The table (only ``columns`` when given; only the rows ``where`` holds, filtered while
        reading); missing, or a table in cluster storage (written by ``engine.name: spark``),
        is a UserError."""
        import polars as pl

        from features_pipeline.contracts.table_manifest import is_cluster_table, read_manifest

        path = self.require()
        if is_cluster_table(path):
            uri = read_manifest(path).uri
            raise UserError(
                f"{path}: the table is in cluster storage ({uri}), written with engine.name: "
                "spark; set engine.name: spark, or run `dvc repro` with the local engine first"
            )
        if where is None:
            return pl.read_parquet(path, columns=list(columns) if columns else None)
        rows = pl.scan_parquet(path).filter(where)
        return (rows.select(columns) if columns else rows).collect()

    def parquet_schema(self) -> dict[str, pl.DataType]:
        """Column dtypes of the table, from its parquet metadata (or its manifest) only."""
        import polars as pl

        from features_pipeline.contracts.table_manifest import is_cluster_table, read_manifest

        path = self.require()
        if is_cluster_table(path):
            return read_manifest(path).polars_schema()
        return dict(pl.read_parquet_schema(path))

    def read_json(self) -> dict[str, Any]:
        """The JSON object in the file; missing or malformed is a UserError."""
        return read_json_object(self.path, self.stage)


def require_file(path: Path, stage: str) -> Path:
    """``path`` if it exists; otherwise a UserError naming the stage that writes it."""
    if not path.exists():
        raise UserError(f"{path}: file not found; run `dvc repro {stage}` first")
    return path


def read_json_object(path: Path, stage: str) -> dict[str, Any]:
    """A JSON object written by ``stage``; missing or malformed is a UserError."""
    try:
        loaded = json.loads(require_file(path, stage).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(loaded).__name__}")
    return loaded


INTERIM_TABLE = Artifact(Path("data/interim/sales.parquet"), "ingest")
FEATURE_TABLE = Artifact(Path("data/features/features.parquet"), "features")
FEATURE_STATE = Artifact(Path("data/features/state"), "features")
PLAN_FILE = Artifact(Path("data/features/plan.json"), "features")
VALIDATION_METRICS = Artifact(Path("metrics/validation.json"), "validate")
VALIDATION_FAILURES = Artifact(Path("reports/validation_failures.csv"), "validate")
MODEL_FILE = Artifact(Path("models/model.skops"), "train")
MODEL_CARD = Artifact(Path("models/model_card.json"), "train")
TRAIN_METRICS = Artifact(Path("metrics/train.json"), "train")
CV_FOLDS = Artifact(Path("plots/cv_folds.csv"), "train")
TEST_PREDICTIONS = Artifact(Path("data/predictions/test.parquet"), "evaluate")
TEST_METRICS = Artifact(Path("metrics/metrics.json"), "evaluate")
PREDICTION_POINTS = Artifact(Path("plots/predictions.csv"), "evaluate")
IMPORTANCE = Artifact(Path("plots/importance.csv"), "evaluate")
REPORT_HTML = Artifact(Path("reports/evaluation.html"), "evaluate")
REPORT_MD = Artifact(Path("reports/evaluation.md"), "evaluate")
REPORT_FIGURES = Artifact(Path("reports/figures"), "evaluate")  # the SVGs evaluation.md links

CARD_NAME = MODEL_CARD.path.name  # a model card lies beside its model file


def timing_path(stage: str, directory: Path = TIMING_DIR) -> Path:
    """``metrics/timing/<stage>.json``."""
    return directory / f"{stage}.json"


def find_project_root(start: Path) -> Path | None:
    """The project every ``features-pipeline`` command runs in: the nearest folder at or above
    ``start`` (the current folder) holding ``dvc.yaml``, as git and DVC find theirs; None
    outside any project."""
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return None


def not_in_a_project(start: Path) -> UserError:
    """The error of a command that needs the project run outside any (``start``: where)."""
    return UserError(
        f"{start}: not inside a features-pipeline project (no {PROJECT_FILE} here or in a "
        "parent folder); cd into the project first"
    )


def is_uri(location: str) -> bool:
    """Whether ``location`` names storage by URI (``s3a://``, ``hdfs://``, ``file:``), not a
    local path (``predict --engine spark`` takes either)."""
    return "://" in location or location.startswith("file:")


def inside_project(path: Path, root: Path | None = None) -> bool:
    """Whether ``path`` (relative to ``root``, default the working directory: the project root
    of every stage) stays inside ``root`` once ``..`` and symlinks are resolved."""
    base = (root or Path.cwd()).resolve()
    return (base / path).resolve().is_relative_to(base)
