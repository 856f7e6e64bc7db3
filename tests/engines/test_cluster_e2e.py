"""`dvc repro` on a real Spark cluster, not local[2] (``slow``, ``spark``; root only): a standalone
master and two one-core workers as separate processes, the workers in a network namespace of
their own with a bare Python (no project, no Polars), reaching the driver only at a veth address;
the warehouse a ``file://`` URI of a shared folder. The executors get the project and its
libraries from the archive the stages ship (engines/spark_ship.py), built once. The same then
runs through a Spark Connect server attached to that cluster; and a Connect server killed
mid-stage ends the stage with one line within the documented deadline, the previous outputs
intact. One cluster serves the whole module (start-up ~15 s)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import yaml
from cluster_support import Cluster, can_make_namespaces, connect_server_on, standalone_cluster
from spark_support import read_cluster_table
from support import command_env, copy_tracked_files, init_git_repo, run_command
from test_engines_e2e import assert_same_features

from features_pipeline.contracts.table_manifest import read_manifest
from features_pipeline.engines.spark_watch import GRACE_S, PROBE_S

pytestmark = [pytest.mark.slow, pytest.mark.spark]

ROWS = 3000
FEATURES = Path("data/features/features.parquet")
METRICS = Path("metrics/metrics.json")
SERVER_TIMEOUT_S = 20.0


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The archive cache of every stage of this module (an empty one: the first stage builds
    it), never the user's own ~/.cache, whichever tests run."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder / "features-pipeline" / "spark"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pytest.importorskip("pyspark")
    reason = can_make_namespaces()
    if reason is not None:
        pytest.skip(reason)
    with standalone_cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of the project: the synthetic sample of ROWS rows."""
    root = init_git_repo(copy_tracked_files(tmp_path_factory.mktemp("repo") / "repo"))
    set_params(root, ingest={"rows": ROWS})
    return root


@pytest.fixture(scope="module")
def by_polars(repo: Path) -> tuple[pl.DataFrame, str]:
    """The Polars run's feature table and metrics file."""
    run_command(["dvc", "repro"], repo)
    return pl.read_parquet(repo / FEATURES), (repo / METRICS).read_text(encoding="utf-8")


def set_params(root: Path, **sections: dict[str, object]) -> None:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, values in sections.items():
        params[name].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def on_spark(root: Path, spark: dict[str, object]) -> None:
    set_params(root, engine={"name": "spark", "spark": spark})


def check_same_as_polars(root: Path, by_polars: tuple[pl.DataFrame, str], shared: Path) -> None:
    """The feature table (in the shared warehouse) and metrics equal the Polars run's."""
    manifest = read_manifest(root / FEATURES)
    assert manifest.uri.startswith(shared.as_uri()), manifest.uri
    assert_same_features(by_polars[0], read_cluster_table(root / FEATURES))
    assert (root / METRICS).read_text(encoding="utf-8") == by_polars[1]


def test_dvc_repro_on_a_standalone_cluster_matches_polars(
    cluster: Cluster, repo: Path, by_polars: tuple[pl.DataFrame, str], cache: Path
) -> None:
    """Every stage on the cluster: the same features and metrics as Polars; the executors (a
    bare Python) imported the project from the shipped archive, built once for all stages."""
    shared = cluster.logs / "shared" / "warehouse"
    spark = {"master": cluster.master, "warehouse": shared.as_uri(), "connect_timeout_s": 180}
    on_spark(repo, {**spark, "conf": {"spark.driver.host": cluster.driver_host}})
    run_command(["dvc", "repro"], repo)
    check_same_as_polars(repo, by_polars, shared)
    assert len(list(cache.glob("*.tar.gz"))) == 1  # built by the first stage, reused after
    unpacked = list(cluster.logs.glob("worker*/app-*/*/fp_env/site/features_pipeline"))
    assert unpacked, "the executors did not get the project from the archive"


@pytest.fixture(scope="module")
def connect(cluster: Cluster) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Spark Connect server whose master is the cluster (after the classic test: it holds
    every worker core while it runs)."""
    with connect_server_on(cluster, cluster.logs / "connect.log") as server:
        yield server


def test_dvc_repro_through_spark_connect_on_the_cluster_matches_polars(
    cluster: Cluster,
    repo: Path,
    by_polars: tuple[pl.DataFrame, str],
    connect: tuple[str, subprocess.Popen[bytes]],
) -> None:
    shared = cluster.logs / "shared" / "connect-warehouse"
    url = connect[0]
    spark = {"remote": url, "warehouse": shared.as_uri(), "server_timeout_s": SERVER_TIMEOUT_S}
    on_spark(repo, {**spark, "master": "local[2]", "conf": {}, "connect_timeout_s": 180})
    run_command(["dvc", "repro"], repo)
    check_same_as_polars(repo, by_polars, shared)


def test_a_connect_server_killed_mid_stage_ends_it_with_one_line_and_keeps_outputs(
    repo: Path, connect: tuple[str, subprocess.Popen[bytes]]
) -> None:
    """The server is killed while the features stage works on it: the stage ends with one line
    within server_timeout_s + PROBE_S + GRACE_S, and the previous outputs stay as they were."""
    kept = {
        path: (repo / path).read_bytes()
        for path in (FEATURES / "_manifest.json", METRICS, Path("dvc.lock"))
    }
    stage = subprocess.Popen(
        ["dvc", "repro", "--force", "--single-item", "features"],
        cwd=repo,
        env={**command_env(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert stage.stdout is not None
    lines = []
    for line in stage.stdout:  # the session is up and working: the archive goes to the server
        lines.append(line)
        if "spark: uploading" in line:
            break
    else:
        pytest.fail("".join(lines))
    time.sleep(1.0)
    os.killpg(connect[1].pid, signal.SIGKILL)
    killed = time.monotonic()
    rest = stage.communicate(timeout=120)[0]
    took = time.monotonic() - killed
    output = "".join(lines) + rest
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert stage.returncode != 0
    assert len(errors) == 1, output
    assert errors[0].startswith(f"error: engine.spark.remote {connect[0]}"), output
    assert "Traceback" not in output, output
    assert took <= SERVER_TIMEOUT_S + PROBE_S + GRACE_S + 5, (took, output)
    for path, content in kept.items():
        assert (repo / path).read_bytes() == content, path
    assert json.loads(kept[METRICS])  # the previous metrics, as they were
