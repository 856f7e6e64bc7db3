"""The features stage on each local engine: the same table, byte-identical re-runs, one-line
errors for engine params, and `features check --engine` before any data is read."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from sales_columns import SALES
from support import REPO_ROOT, Project, default_params, error_line, load_stage_module

from features_pipeline import cli
from features_pipeline.contracts.split import SPLIT
from features_pipeline.features.state import load_state
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.runner import run_stage

FEATURES = Path("data/features/features.parquet")
STATE = Path("data/features/state")


@pytest.fixture
def spec_project(project: Project) -> Project:
    """A project with 2000 generated interim rows and the shipped feature spec."""
    interim = project.root / "data" / "interim" / "sales.parquet"
    interim.parent.mkdir(parents=True)
    assign_split(generate_sales(2000, seed=5), "random", 0.2, 42, SALES).write_parquet(interim)
    (project.root / "config").mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "config" / "features.yaml", project.root / "config" / "features.yaml")
    return project


def run_features(project: Project, engine: dict[str, object]) -> int:
    """Run the features stage in-process with ``engine:`` params; its exit code."""
    project.write_params(default_params(engine=engine, features={"spec": "config/features.yaml"}))
    stage = load_stage_module("features")
    return run_stage("features", stage.run, stage.__doc__ or "", argv=["--params", "params.yaml"])


@pytest.mark.duckdb
def test_duckdb_writes_the_polars_table_and_the_same_bytes_again(
    spec_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_features(spec_project, {"name": "polars"}) == 0, capsys.readouterr().err
    by_polars = pl.read_parquet(FEATURES)
    polars_state = load_state(STATE)
    # DuckDB's own path (by default a table this small is computed in memory: the test below)
    duckdb = {"name": "duckdb", "memory_limit": "512MB", "in_memory_if_fits": False}
    assert run_features(spec_project, duckdb) == 0, capsys.readouterr().err
    assert "computed by polars" not in capsys.readouterr().err
    first = FEATURES.read_bytes()
    by_duckdb = pl.read_parquet(FEATURES)
    assert by_duckdb.columns == by_polars.columns
    assert by_duckdb.schema == by_polars.schema
    for name in by_polars.columns:  # same rows in the same order, floats within 1e-9
        left, right = by_polars.get_column(name), by_duckdb.get_column(name)
        if left.dtype.is_float():
            close = ((left - right).abs() <= 1e-9 * left.abs().clip(lower_bound=1.0)) | (
                left.is_null() & right.is_null()
            )
            assert close.all(), name
        else:
            assert left.equals(right), name
    # the state DuckDB learned transforms new rows on Polars as the Polars state does
    rows = pl.read_parquet(spec_project.root / "data" / "interim" / "sales.parquet").drop(SPLIT)
    from features_pipeline.features.engine import transform

    assert transform(rows, load_state(STATE)).equals(transform(rows, polars_state))
    assert run_features(spec_project, duckdb) == 0
    assert FEATURES.read_bytes() == first  # a DuckDB re-run gives byte-identical output


@pytest.mark.duckdb
def test_duckdb_computes_a_table_that_fits_its_budget_in_memory(
    spec_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the table fits engine.memory_limit the out-of-core engine is not the slow path
    (issue 23): the Polars executor computes it, the very bytes the polars engine writes."""
    assert run_features(spec_project, {"name": "polars"}) == 0, capsys.readouterr().err
    by_polars = FEATURES.read_bytes()
    assert run_features(spec_project, {"name": "duckdb", "memory_limit": "512MB"}) == 0
    assert (
        "features: the 2,000-row table fits engine.memory_limit 512MB in memory (about 0.2 GB): "
        "features computed by polars, not duckdb (engine.in_memory_if_fits: false keeps it on "
        "duckdb)"
    ) in " ".join(capsys.readouterr().err.split())
    assert FEATURES.read_bytes() == by_polars


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        (
            {"name": "dask"},
            "params.yaml: engine.name: Input should be 'polars', 'duckdb' or 'spark' (got 'dask')",
        ),
        pytest.param(
            {"name": "duckdb", "memory_limit": "lots"},
            "params.yaml: engine.memory_limit: 'lots' is not a memory size (e.g. 3GB, 512MB, 2GiB)",
            marks=pytest.mark.duckdb,
        ),
        pytest.param(  # the key before issue 23: one line saying where it went
            {"name": "duckdb", "duckdb": {"memory_limit": "2GB"}},
            "params.yaml: engine.duckdb.memory_limit: '2GB': this key moved to "
            "engine.memory_limit, the one memory budget every stage honours",
            marks=pytest.mark.duckdb,
        ),
        pytest.param(  # accepted by DuckDB, then out of memory in the first query
            {"name": "duckdb", "memory_limit": "2KB"},
            "engine.memory_limit: 2KB is not enough: DuckDB stopped with 'Out of Memory Error: ",
            marks=pytest.mark.duckdb,
        ),
        (
            {"name": "spark", "spark": {"remote": "localhost:15002"}},
            "params.yaml: engine.spark.remote: a Spark Connect URL starts with sc://",
        ),
    ],
)
def test_bad_engine_params_are_one_line(
    spec_project: Project,
    capsys: pytest.CaptureFixture[str],
    engine: dict[str, object],
    message: str,
) -> None:
    code = run_features(spec_project, engine)
    line = error_line(code, capsys.readouterr().err)
    assert line.startswith(f"error: {message}"), line
    assert not FEATURES.exists()  # nothing half-written


def test_features_check_plans_for_the_engine_named(
    spec_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    (spec_project.root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    spec_project.write_params(default_params(features={"spec": "config/features.yaml"}))
    for engine in ("polars", "duckdb", "spark"):
        assert cli.main(["features", "check", "--engine", engine]) == 0
        assert "config/features.yaml" in capsys.readouterr().out
