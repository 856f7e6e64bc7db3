"""Concurrent and killed stage runs: per-process temp names, one lock per stage, stale temps of
dead processes swept on start, and a feature state that is never missing nor half-written."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from support import REPO_ROOT, command_env, load_stage_module, run_command

from features_pipeline.features.state import STATE_FILE, load_state
from features_pipeline.io import sweep_stale_temps
from features_pipeline.runner import EXIT_OK, EXIT_USER_ERROR, lock_path, run_stage

STATE = Path("data/features/state")
FEATURES_DIR = STATE.parent
INTERIM = Path("data/interim/sales.parquet")
TEMP_NAME = re.compile(r"^\..+\.[0-9]+\.(tmp|old)$")
KILLED = 9

# Runs the features stage with a kill (os._exit) at one point of the state save.
KILL_SCRIPT = """
import os, sys
from pathlib import Path
from features_pipeline import io
from features_pipeline.stages.features import main

point = sys.argv.pop(1)
real_rename, real_exchange = os.rename, io._exchange
if point == "before-swap":
    io.replace_dir = lambda staging, target: os._exit(9)
elif point == "after-swap":
    io._exchange = lambda first, second: real_exchange(first, second) and os._exit(9)
elif point == "between-renames":
    io._exchange = lambda first, second: False  # where no atomic swap exists: two renames

    def rename(source, target):
        if Path(target).name == "state" and Path(source).name.endswith(".tmp"):
            os._exit(9)
        real_rename(source, target)

    os.rename = rename
main()
"""


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project (params, spec, stage scripts) with its interim table and features computed."""
    root = tmp_path_factory.mktemp("built") / "project"
    for folder in ("config", "stages"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["ingest"].update(source="synthetic", rows=2000)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    run_command([sys.executable, "stages/ingest.py", "-q"], root)
    run_command([sys.executable, "stages/features.py", "-q"], root)
    return root


@pytest.fixture
def project(built_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the built project, chdir'ed into."""
    root = Path(shutil.copytree(built_project, tmp_path / "project"))
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="module")
def features_stage() -> ModuleType:
    return load_stage_module("features")


def run_features(stage: ModuleType) -> int:
    """The features stage, in-process, in the current directory."""
    return run_stage("features", stage.run, "", argv=["-q"])


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def temps(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if TEMP_NAME.match(entry.name))


def assert_complete_state(root: Path) -> None:
    """state.json loads and every table it lists is in the folder."""
    state = load_state(root / STATE)
    manifest = json.loads((root / STATE / STATE_FILE).read_text(encoding="utf-8"))
    listed = [entry["file"] for entry in manifest["tables"]]
    assert listed
    assert all((root / STATE / name).is_file() for name in listed)
    assert len(state.tables) == len(listed)


def test_stale_temps_of_dead_processes_are_swept_live_ones_kept(
    project: Path, features_stage: ModuleType
) -> None:
    dead = dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [
            FEATURES_DIR / f".features.parquet.{dead}.tmp",
            FEATURES_DIR / f".plan.json.{dead}.tmp",
            Path(f"metrics/timing/.features.json.{dead}.tmp"),
        ]
        kept = [
            FEATURES_DIR / f".features.parquet.{live.pid}.tmp",  # a live writer's
            Path(f"data/interim/.sales.parquet.{dead}.tmp"),  # ingest's, not features'
            FEATURES_DIR / "notes.tmp",  # not a temp name
        ]
        for path in [*stale, *kept]:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"partial")
        staging = FEATURES_DIR / f".state.{dead}.tmp"  # a half-written state folder
        staging.mkdir()
        (staging / "table_000.parquet").write_bytes(b"partial")
        parts = FEATURES_DIR / f".features.parquet.parts.{dead}.tmp"  # a table computed in parts
        parts.mkdir()
        (parts / "part-00000.parquet").write_bytes(b"partial")

        assert run_features(features_stage) == EXIT_OK
        assert not any(path.exists() for path in [*stale, staging, parts])
        assert all(path.exists() for path in kept)
    finally:
        live.kill()
        live.wait()


def test_a_temp_whose_pid_now_belongs_to_a_newer_process_is_swept(tmp_path: Path) -> None:
    """PIDs wrap (32,768 here): a killed writer's pid reused by a process started after the temp
    was last written does not keep the temp forever (CI: a crash-suite temp survived doctor and
    dvc repro). A temp its own live writer is still writing is kept."""
    import time

    target = tmp_path / "features.parquet"
    reused = tmp_path / f".features.parquet.{os.getpid()}.tmp"  # this live process's pid...
    reused.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600  # ...but written before this process started
    os.utime(reused, (an_hour_ago, an_hour_ago))
    assert sweep_stale_temps(target) == [reused]
    assert not reused.exists()

    writing = tmp_path / f".features.parquet.{os.getpid()}.tmp"
    writing.write_bytes(b"partial")  # written now, by a process that started before
    assert sweep_stale_temps(target) == []
    assert writing.exists()


def test_an_old_copy_of_a_dead_process_is_put_back_when_the_target_is_missing(
    tmp_path: Path,
) -> None:
    target = tmp_path / "state"
    old = tmp_path / f".state.{dead_pid()}.old"
    old.mkdir()
    (old / STATE_FILE).write_text("{}", encoding="utf-8")
    assert sweep_stale_temps(target) == []
    assert (target / STATE_FILE).read_text(encoding="utf-8") == "{}"
    assert not old.exists()


def killed_run(root: Path, point: str) -> None:
    result = run_command([sys.executable, "-c", KILL_SCRIPT, point, "-q"], root, check=False)
    assert result.returncode == KILLED, result.stderr


@pytest.mark.parametrize("point", ["before-swap", "after-swap"])
def test_a_kill_during_the_state_save_leaves_a_complete_state(
    project: Path, features_stage: ModuleType, point: str
) -> None:
    """Killed while staging (old state kept) or right after the swap (new state in place): the
    state folder is complete throughout, and the next run sweeps the leftover staging folder."""
    killed_run(project, point)
    assert_complete_state(project)
    assert temps(FEATURES_DIR)  # the staging folder (or the swapped-out old copy) is left
    assert run_features(features_stage) == EXIT_OK
    assert_complete_state(project)
    assert temps(FEATURES_DIR) == []


def test_a_kill_between_the_two_renames_is_repaired_on_the_next_start(
    project: Path, features_stage: ModuleType
) -> None:
    """Without an atomic swap the save renames the old state aside, then the new one in: a kill
    in between leaves no state folder; the next run puts the old one back first, so even a run
    that then fails leaves the last good state."""
    before = (STATE / STATE_FILE).read_bytes()
    killed_run(project, "between-renames")
    assert not STATE.exists()
    assert any(name.endswith(".old") for name in temps(FEATURES_DIR))

    INTERIM.rename("interim.parquet")  # the next run fails (its input is missing)...
    assert run_features(features_stage) == EXIT_USER_ERROR
    assert (STATE / STATE_FILE).read_bytes() == before  # ...after the old state was put back
    assert_complete_state(project)
    assert temps(FEATURES_DIR) == []

    Path("interim.parquet").rename(INTERIM)
    assert run_features(features_stage) == EXIT_OK
    assert_complete_state(project)


def test_a_second_run_of_a_stage_waits_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    finished: list[int] = []
    with lock_path("demo").open("a+", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a first run of `demo` holds the lock
        second = threading.Thread(
            target=lambda: finished.append(run_stage("demo", lambda _: None, "", argv=["-q"]))
        )
        second.start()
        time.sleep(0.5)
        assert second.is_alive()
        assert finished == []
        fcntl.flock(held, fcntl.LOCK_UN)
    second.join(timeout=30)
    assert finished == [EXIT_OK]


@pytest.mark.slow
def test_concurrent_feature_runs_never_fail_and_leave_a_complete_state(project: Path) -> None:
    """Two ``python stages/features.py`` at once, 5 rounds: both exit 0 without a traceback (the
    second waits for the first), and the state is complete after every round."""
    waited = 0
    for _ in range(5):
        runs = [
            subprocess.Popen(
                [sys.executable, "stages/features.py"],
                cwd=project,
                env=command_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for run in runs:
            out, err = run.communicate(timeout=600)
            assert run.returncode == 0, out + err
            assert "Traceback" not in out + err
            waited += "waiting" in out + err
        assert_complete_state(project)
        assert temps(FEATURES_DIR) == []
    assert os.path.exists(lock_path("features"))
    print(f"the second run waited in {waited} of 5 rounds")
