"""Shared fixtures: generated frames, a CSV writer for every dialect, a temp project dir, and a
temp git copy of the project for end-to-end tests (`project_repo`, `run_command`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from support import (
    OPTIONAL_ENGINES,
    Dialect,
    Project,
    RunIngest,
    WriteCsv,
    copy_tracked_files,
    default_params,
    init_git_repo,
    install_contract,
    load_stage_module,
    missing_engine_reason,
    write_sales_csv,
)

from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.runner import run_stage


@pytest.fixture(scope="session", autouse=True)
def spark_scratch_in_basetemp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every Spark JVM the tests start (local[2], Connect servers, cluster workers) keeps its
    scratch folders (spark-*, blockmgr-*) in this run's temp folder, which pytest prunes, not in
    /tmp: a JVM a test kills never deletes its own, and they are GBs (CI's disk filled up)."""
    scratch = tmp_path_factory.mktemp("spark-scratch")
    settings = {
        "SPARK_LOCAL_DIRS": str(scratch),
        # spark-submit's own temp folders (a cluster driver's copy of the shipped archive,
        # ~190 MB a stage) follow java.io.tmpdir, not SPARK_LOCAL_DIRS
        "SPARK_SUBMIT_OPTS": f"-Djava.io.tmpdir={scratch}",
    }
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip, with the reason, each test marked with an engine whose package is missing."""
    reasons = {marker: missing_engine_reason(marker) for marker in OPTIONAL_ENGINES}
    for item in items:
        for marker, reason in reasons.items():
            if reason is not None and item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """``write_csv(frame, dialect=Dialect(), to="sales.csv")``: ``to`` is relative to tmp_path."""

    def write(
        frame: pl.DataFrame, dialect: Dialect = Dialect(), to: str | Path = "sales.csv"
    ) -> Path:
        return write_sales_csv(tmp_path / to, frame, dialect)

    return write


@pytest.fixture(scope="session")
def sales_small() -> pl.DataFrame:
    """200 generated orders: enough to hit every dialect detail, cheap to format."""
    return generate_sales(200, seed=7)


@pytest.fixture(scope="session")
def sales_medium() -> pl.DataFrame:
    """4000 generated orders: enough for distribution facts (every country, every ship delay)."""
    return generate_sales(4000, seed=11)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A fresh project dir with default params.yaml and an empty data/raw/, chdir'ed into."""
    root = tmp_path / "project"
    (root / "data" / "raw").mkdir(parents=True)
    proj = Project(
        root=root,
        params=root / "params.yaml",
        raw=root / "data" / "raw",
        output=root / "data" / "interim" / "sales.parquet",
    )
    proj.write_params(default_params())
    install_contract(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    return proj


@pytest.fixture(scope="session")
def ingest_stage() -> ModuleType:
    """The ``stages/ingest.py`` module."""
    return load_stage_module("ingest")


@pytest.fixture
def run_ingest(ingest_stage: ModuleType, project: Project) -> RunIngest:
    """Run the ingest stage in-process in ``project``: ``run_ingest(*extra_args) -> exit code``."""

    def run(*extra: str) -> int:
        argv = ["--params", project.params.name, *extra]  # relative, as a user would type it
        return run_stage("ingest", ingest_stage.run, ingest_stage.__doc__ or "", argv=argv)

    return run


@pytest.fixture
def project_repo(tmp_path: Path) -> Path:
    """This project as a fresh clone would have it: tracked files, one commit on ``main``, a git
    identity (DVC experiments are commits). Every end-to-end test runs DVC in one of these."""
    return init_git_repo(copy_tracked_files(tmp_path / "repo"))
