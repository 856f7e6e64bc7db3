"""`dvc repro` of the features stage on DuckDB and on Spark, in a git copy of the project: the
table equals the Polars one (by row key, floats within 1e-9) and a forced re-run leaves
dvc.lock byte-identical."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from support import run_command

from features_pipeline.ingest.synthetic import ORDER_ID

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
def test_duckdb_repro_equals_polars(project_repo: Path) -> None:
    polars_table, _ = repro_features(project_repo, "polars")
    duckdb_table, _ = repro_features(project_repo, "duckdb")
    assert_same_features(polars_table, duckdb_table)


@pytest.mark.slow
@pytest.mark.spark
def test_spark_repro_equals_polars(project_repo: Path) -> None:
    polars_table, _ = repro_features(project_repo, "polars")
    spark_table, _ = repro_features(project_repo, "spark")
    assert_same_features(polars_table, spark_table)
