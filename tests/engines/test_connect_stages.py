"""Through a local Spark Connect server, as a user of a managed cluster would (``spark``):
the features and validate stages with ``engine.spark.remote`` give the Polars engine's table
and validation metrics, and the contract's row rules count a table's failures on the server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from sales_columns import SALES, UNITS_SOLD
from spark_support import read_cluster_table
from support import REPO_ROOT, Project, default_params, error_line, load_stage_module

from features_pipeline.contracts.table_manifest import is_cluster_table
from features_pipeline.engines.params import SparkParams
from features_pipeline.engines.spark import SparkExecutor
from features_pipeline.ingest.rules import count_failures, failing_rows, row_rules
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import ORDER_ID, generate_sales
from features_pipeline.runner import run_stage

pytestmark = pytest.mark.spark

FEATURES = Path("data/features/features.parquet")
VALIDATION = Path("metrics/validation.json")
INTERIM = Path("data/interim/sales.parquet")


def run_stages(project: Project, engine: dict[str, object], *names: str) -> None:
    """Run the stages ``names`` in order with ``engine``; each must succeed."""
    shipped = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    inputs = {"features": shipped["train"]["features"]}  # the shipped model inputs
    spec = {"spec": "config/features.yaml"}
    project.write_params(default_params(engine=engine, features=spec, train=inputs))
    for name in names:
        stage = load_stage_module(name)
        argv = ["--params", "params.yaml"]
        assert run_stage(name, stage.run, stage.__doc__ or "", argv=argv) == 0, name


def test_features_and_validate_through_spark_connect_match_polars(
    project: Project, spark_connect_url: str
) -> None:
    """The table stays on the server's warehouse (a manifest at the usual path) and equals the
    Polars table; metrics/validation.json has the Polars run's layout and values."""
    interim = project.root / "data" / "interim" / "sales.parquet"
    interim.parent.mkdir(parents=True)
    assign_split(generate_sales(1500, seed=6), "random", 0.2, 42, SALES).write_parquet(interim)
    shutil.copy(REPO_ROOT / "config" / "features.yaml", project.root / "config" / "features.yaml")
    run_stages(project, {"name": "polars"}, "features", "validate")
    by_polars = pl.read_parquet(FEATURES).sort(ORDER_ID)
    validation = json.loads(VALIDATION.read_text(encoding="utf-8"))
    remote = {"name": "spark", "spark": {"remote": spark_connect_url, "connect_timeout_s": 120}}
    run_stages(project, remote, "features", "validate")
    assert is_cluster_table(FEATURES)
    by_connect = read_cluster_table(FEATURES).sort(ORDER_ID)
    assert by_connect.schema == by_polars.schema
    for name in by_polars.columns:  # floats within 1e-9 relative, everything else exact
        left, right = by_polars.get_column(name), by_connect.get_column(name)
        if left.dtype.is_float():
            scale = left.abs().clip(lower_bound=1.0)
            same = ((left - right).abs() <= 1e-9 * scale) | (left.is_null() & right.is_null())
            assert same.all(), name
        else:
            assert left.equals(right), name
    assert json.loads(VALIDATION.read_text(encoding="utf-8")) == validation


def test_row_rules_count_failures_on_the_connect_server(spark_connect_url: str) -> None:
    broken = generate_sales(300, seed=4).with_columns(
        pl.when(pl.int_range(pl.len()) < 5).then(0).otherwise(pl.col(UNITS_SOLD)).alias(UNITS_SOLD)
    )
    with SparkExecutor(params=SparkParams(remote=spark_connect_url)) as executor:
        table = executor.from_polars(broken)
        counts = count_failures(table, row_rules(SALES))
        units = next(r for r in row_rules(SALES) if r.message == "Units Sold > 0")
        sample = failing_rows(table, units, [ORDER_ID, UNITS_SOLD], limit=3)
    assert counts["Units Sold > 0"] == 5
    assert counts["Ship Date >= Order Date"] == 0
    assert sample.shape == (3, 2)


def test_ingest_on_spark_stops_at_a_bad_source_with_one_line_and_keeps_the_manifest(
    project: Project, spark_connect_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source URI that does not exist, a glob matching nothing, an empty folder and a storage
    scheme Spark has no connector for: one line each naming the source; the manifest of the
    previous run stays as it was (nothing half-written)."""
    remote = {"name": "spark", "spark": {"remote": spark_connect_url, "connect_timeout_s": 120}}
    run_stages(project, remote, "ingest")  # the synthetic sample, shipped to the cluster
    manifest = (INTERIM / "_manifest.json").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        f"{tmp_path.as_uri()}/missing/": "file not found",
        f"{tmp_path.as_uri()}/*.csv": "no CSV file there",
        f"{empty.as_uri()}/": "no CSV file there",
        "s3a://no-such-bucket/sales.csv": "cannot read",
    }
    for source, problem in cases.items():
        params = default_params(engine=remote, ingest={"source": source})
        project.write_params(params)
        stage = load_stage_module("ingest")
        code = run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"])
        line = error_line(code, capsys.readouterr().err)
        assert line.startswith(f"error: {source}"), line
        assert problem in line, line
        assert (INTERIM / "_manifest.json").read_bytes() == manifest
