"""Cluster-correct Spark settings without starting Spark: a relative warehouse refused on a
cluster master (one line naming params.yaml and the key), loopback driver and 4 shuffle
partitions on local[N] only, a start-up deadline that grows with the machine's load, bounded
Spark Connect retries, and the executors' archive holding what they import and not the rest."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from support import Project, default_params, error_line, load_stage_module

from features_pipeline.engines.params import SparkParams, is_local_master
from features_pipeline.engines.spark import LOCAL_DEFAULTS, master_defaults, startup_timeout
from features_pipeline.engines.spark_ship import (
    LAUNCHER,
    PYTHON_SETTING,
    content_key,
    distributions_of,
    master_settings,
    write_archive,
)
from features_pipeline.runner import run_stage


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[4,2]"])
def test_local_masters_are_local(master: str) -> None:
    assert is_local_master(master)


@pytest.mark.parametrize("master", ["spark://10.0.0.1:7077", "yarn", "k8s://https://h:6443"])
def test_cluster_masters_are_not_local(master: str) -> None:
    assert not is_local_master(master)


def test_a_relative_warehouse_on_a_cluster_master_is_one_line_naming_the_key(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each node would write to its own disk: refused before anything runs, nothing written."""
    engine = {"name": "spark", "spark": {"master": "spark://10.0.0.1:7077"}}
    project.write_params(default_params(engine=engine))
    stage = load_stage_module("ingest")
    code = run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"])
    line = error_line(code, capsys.readouterr().err)
    assert line.startswith("error: params.yaml: engine.spark.warehouse"), line
    assert "'.spark_warehouse' is a folder on each machine's own disk" in line, line
    assert not project.output.exists()


@pytest.mark.parametrize(
    "settings",
    [
        {"master": "local[2]"},  # local: the project folder is fine
        {"master": "spark://h:7077", "warehouse": "file:///mnt/shared/warehouse"},
        {"master": "yarn", "warehouse": "s3a://bucket/warehouse"},
        {"remote": "sc://h:15002"},  # the server's own folder (tests: a local server)
    ],
)
def test_a_shared_warehouse_or_a_local_master_is_accepted(settings: dict[str, str]) -> None:
    SparkParams.model_validate(settings)


def test_loopback_driver_and_four_partitions_on_local_masters_only() -> None:
    assert master_defaults(SparkParams(master="local[2]")) == LOCAL_DEFAULTS
    cluster = SparkParams(master="spark://h:7077", warehouse="file:///shared", ship_code=False)
    assert master_defaults(cluster) == {}  # Spark's driver address, the cluster's partitions


@pytest.mark.parametrize(
    ("load", "expected"),
    [(0.5, 60.0), (2.0, 60.0), (14.0, 420.0)],  # a quiet and a loaded 2-core machine
)
def test_the_start_up_deadline_grows_with_the_load_per_core(
    load: float, expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert startup_timeout(60.0, load=load) == expected


def test_connect_retries_are_bounded() -> None:
    """pyspark's default retries an unavailable server for minutes; ours about 30 s."""
    pytest.importorskip("pyspark")
    from features_pipeline.engines.spark_watch import bounded_retries

    policy = bounded_retries(30.0)
    waits, step = 0.0, policy.initial_backoff
    for _ in range(policy.max_retries):
        waits += min(step, policy.max_backoff)
        step *= policy.backoff_multiplier
    assert 30_000 <= waits <= 45_000, waits


def test_the_archive_packs_what_executors_import_with_a_launcher(tmp_path: Path) -> None:
    """The libraries of the executors' functions, not the driver-only ones (DVC, DuckDB,
    pyspark itself); a launcher that runs them; a name that changes with the content."""
    packed = {dist.metadata["Name"].lower() for dist in distributions_of(["polars", "yaml"])}
    assert {"polars", "pyyaml"} <= packed
    assert not packed & {"dvc", "duckdb", "pyspark", "py4j"}
    source = tmp_path / "module.py"
    source.write_text("x = 1\n", encoding="utf-8")
    archive = tmp_path / "env.tar.gz"
    write_archive(archive, [(source, "site/module.py")])
    with tarfile.open(archive) as opened:
        launcher = opened.getmember("bin/python")
        assert launcher.mode & 0o111  # executable
        assert sorted(opened.getnames()) == ["bin/python", "site/module.py"]
    before = content_key([], [source])
    source.write_text("x = 2\n", encoding="utf-8")
    assert content_key([], [source]) != before
    settings = master_settings(archive)
    assert settings["spark.archives"] == f"{archive.as_uri()}#fp_env"
    assert settings[PYTHON_SETTING] == LAUNCHER
