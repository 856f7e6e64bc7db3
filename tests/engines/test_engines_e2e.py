"""`dvc repro` in a git copy of the project: the features stage on DuckDB equals the Polars one
(by row key, floats within 1e-9), the whole pipeline on Spark gives the Polars metrics, and a
forced re-run leaves dvc.lock byte-identical on each engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from support import run_command, write_sales_csv

from features_pipeline.contracts.table_manifest import read_manifest
from features_pipeline.ingest.synthetic import ORDER_ID, generate_sales
from features_pipeline.model.metric_registry import metric_names

FEATURES = Path("data/features/features.parquet")


def set_engine(root: Path, name: str) -> None:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["engine"]["name"] = name
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def assert_same_features(expected: pl.DataFrame, actual: pl.DataFrame) -> None:
    """Equal by Order ID: exact for non-floats, 1e-9 relative for floats."""
    assert actual.schema == expected.schema
    joined = expected.join(actual, on=ORDER_ID, how="full", suffix="__other", coalesce=True)
    assert joined.height == expected.height == actual.height
    for name in expected.columns:
        if name == ORDER_ID:
            continue
        left, right = joined.get_column(name), joined.get_column(f"{name}__other")
        if left.dtype.is_float():
            scale = left.abs().clip(lower_bound=1.0)
            same = ((left - right).abs() <= 1e-9 * scale) | (left.is_null() & right.is_null())
            assert same.all(), name
        else:
            assert left.equals(right, check_names=False), name


def repro_features(root: Path, engine: str) -> tuple[pl.DataFrame, str]:
    """``dvc repro features`` on ``engine``, then a forced re-run: (table, dvc.lock)."""
    set_engine(root, engine)
    run_command(["dvc", "repro", "features"], root)
    lock = (root / "dvc.lock").read_text(encoding="utf-8")
    table = pl.read_parquet(root / FEATURES)
    run_command(["dvc", "repro", "--force", "--single-item", "features"], root)
    assert (root / "dvc.lock").read_text(encoding="utf-8") == lock  # re-run: same bytes
    return table, lock


@pytest.mark.slow
@pytest.mark.duckdb
def test_duckdb_repro_equals_polars(project_repo: Path) -> None:
    set_params(project_repo, engine={"in_memory_if_fits": False})  # DuckDB's own path
    polars_table, _ = repro_features(project_repo, "polars")
    duckdb_table, _ = repro_features(project_repo, "duckdb")
    assert_same_features(polars_table, duckdb_table)


def set_params(root: Path, **sections: dict[str, object]) -> None:
    """Merge ``sections`` into the project's params.yaml."""
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, values in sections.items():
        params[name].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def metrics_text(root: Path) -> str:
    return (root / "metrics" / "metrics.json").read_text(encoding="utf-8")


def metrics(root: Path) -> dict[str, float]:
    loaded = json.loads(metrics_text(root))
    return {name: loaded[name] for name in (*metric_names(), "rows")}


def card(root: Path) -> dict[str, Any]:
    return json.loads((root / "models" / "model_card.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.spark
def test_the_whole_pipeline_on_spark_matches_polars_and_reproduces(project_repo: Path) -> None:
    """``dvc repro`` with engine.name: spark (local[2]) from a CSV under data/raw/: every table
    stays in the warehouse (DVC tracks manifests), metrics equal the Polars run's, a forced
    re-run leaves dvc.lock byte-identical, and switching back to Polars gives parquet again."""
    root = project_repo
    write_sales_csv(root / "data" / "raw" / "sales.csv", generate_sales(3000, seed=11))
    set_params(root, ingest={"source": "data/raw/sales.csv"})
    run_command(["dvc", "repro"], root)
    by_polars, polars_card = metrics(root), card(root)
    polars_metrics_text = metrics_text(root)
    polars_lock = (root / "dvc.lock").read_text(encoding="utf-8")

    set_engine(root, "spark")
    run_command(["dvc", "repro"], root)
    by_spark = metrics(root)
    assert by_spark["rows"] == by_polars["rows"]  # the same test rows: the same split
    # the exact fit's errors are rounding noise on both engines, below the noise floor: the
    # same metrics file, so `dvc metrics diff` between the engines shows no change
    assert metrics_text(root) == polars_metrics_text
    for table in (
        "data/interim/sales.parquet",
        "data/features/features.parquet",
        "data/predictions/test.parquet",
    ):
        manifest = read_manifest(root / table)
        assert manifest.uri.startswith(".spark_warehouse/"), table
        assert (root / manifest.uri).is_dir(), table  # the parts, in the warehouse
    assert read_manifest(root / "data/features/features.parquet").rows == 3000
    assert card(root)["training"]["rows"] == polars_card["training"]["rows"]  # all train rows
    spark_lock = (root / "dvc.lock").read_text(encoding="utf-8")
    assert (
        run_command(["git", "status", "--porcelain", "--", ".spark_warehouse"], root).stdout == ""
    )

    run_command(["dvc", "repro", "--force"], root)
    assert (root / "dvc.lock").read_text(encoding="utf-8") == spark_lock

    set_engine(root, "polars")  # and back: the local engine's parquet files again
    run_command(["dvc", "repro"], root)
    assert (root / "dvc.lock").read_text(encoding="utf-8") == polars_lock
    assert pl.read_parquet(root / "data" / "interim" / "sales.parquet").height == 3000
