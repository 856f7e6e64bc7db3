"""The crash suite's functions (tests/test_crash.py, scripts/crash_suite.py): kill each stage of
a git copy of the project with SIGKILL at random moments, check what is left, then repair with
``features-pipeline doctor`` and a plain ``dvc repro`` and compare with an uninterrupted run."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml
from support import command_env, init_git_repo, run_command

from features_pipeline.doctor import RWLOCK, rwlock_problem, stray_temps

STAGES = ("ingest", "features", "validate", "train", "evaluate")


def init_repo(root: Path) -> Path:
    """A git repo of the copied project in ``root`` (one commit, an identity)."""
    return init_git_repo(root)


def lock_outs(root: Path) -> dict[str, dict[str, str]]:
    """``{stage: {out path: md5}}`` from dvc.lock."""
    data = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    return {
        name: {out["path"]: out["md5"] for out in stage.get("outs", [])}
        for name, stage in data["stages"].items()
    }


def out_files(root: Path, out: str) -> Iterator[Path]:
    """The files of output ``out`` (itself, or every file of a folder output)."""
    path = root / out
    if path.is_dir():
        yield from sorted(p for p in path.rglob("*") if p.is_file())
    elif path.exists():
        yield path


def snapshot(root: Path) -> dict[str, bytes]:
    """``{project-relative file: bytes}`` of every output file dvc.lock names."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for outs in lock_outs(root).values()
        for out in outs
        for path in out_files(root, out)
    }


def run_reference(root: Path) -> dict[str, float]:
    """Run every stage once, uninterrupted (the reference); returns each one's seconds."""
    seconds = {}
    for stage in STAGES:
        start = time.perf_counter()
        run_command(["dvc", "repro", "-q", "-s", stage], root)
        seconds[stage] = time.perf_counter() - start
    return seconds


def kill_stage_at(root: Path, stage: str, delay: float) -> bool:
    """Start ``dvc repro --force -s stage`` (which runs ``python stages/<stage>.py``) and SIGKILL
    its whole process group after ``delay`` seconds; False if it finished first."""
    process = subprocess.Popen(
        ["dvc", "repro", "-q", "--force", "-s", stage],
        cwd=root,
        env=command_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def readable(path: Path) -> str | None:
    """Why ``path`` cannot be read as its kind of file (None when it reads)."""
    try:
        if path.suffix == ".parquet":
            pl.read_parquet(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".csv":
            pl.read_csv(path)
        elif path.suffix == ".skops":
            from features_pipeline.model.artifacts import load_model

            load_model(path)
        else:
            path.read_text(encoding="utf-8")
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def in_cache(root: Path, data: bytes) -> bool:
    """True if DVC's cache holds a file with these bytes (``dvc checkout`` can restore it)."""
    digest = hashlib.md5(data).hexdigest()
    return (root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]).is_file()


def check_outputs(root: Path, reference: dict[str, bytes]) -> tuple[list[str], int]:
    """Problems of the output files after a kill: each must be the reference bytes, or absent
    with the reference in the cache. Also ``(…, absent-but-restorable count)``."""
    problems, absent = [], 0
    for name, data in reference.items():
        path = root / name
        if not path.exists():
            if in_cache(root, data):
                absent += 1
            else:
                problems.append(f"{name}: absent and not in the cache")
        elif path.read_bytes() != data:
            why = readable(path)
            problems.append(f"{name}: {'corrupt: ' + why if why else 'differs from reference'}")
    return problems, absent


def rwlock_wedged(root: Path) -> bool:
    """True if ``.dvc/tmp/rwlock`` exists and DVC cannot read it."""
    path = root / RWLOCK
    return path.is_file() and rwlock_problem(path.read_text(errors="replace")) is not None


@dataclass
class CrashReport:
    """What the kills did and what was left."""

    kills: int = 0
    finished_first: int = 0
    absent_restorable: int = 0
    stray_temps: int = 0
    wedged: int = 0
    doctor_runs: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.kills} kills ({self.finished_first} runs finished before their kill), "
            f"{self.absent_restorable} outputs absent-but-restorable, {self.stray_temps} stray "
            f"temps left by kills, {self.wedged} DVC rwlocks wedged, {len(self.problems)} problems"
        )


def verify(root: Path, reference: dict[str, bytes], hashes: dict[str, dict[str, str]]) -> list[str]:
    """``features-pipeline doctor`` then a plain ``dvc repro``: must succeed, outputs and
    dvc.lock hashes equal to the reference, no stray temp file left."""
    problems = []
    doctor = run_command(["features-pipeline", "doctor"], root, check=False)
    if doctor.returncode != 0:
        problems.append(f"doctor failed: {doctor.stdout}{doctor.stderr}")
    repro = run_command(["dvc", "repro", "-q"], root, check=False)
    if repro.returncode != 0:
        return [*problems, f"dvc repro failed: {repro.stdout}{repro.stderr}"]
    if snapshot(root) != reference:
        differ = sorted(set(snapshot(root).items()) ^ set(reference.items()))
        problems.append(f"outputs differ from the reference: {[name for name, _ in differ]}")
    if lock_outs(root) != hashes:
        problems.append("dvc.lock outs hashes differ from the reference")
    problems += [f"stray temp left: {path}" for path, _ in stray_temps(root)]
    return problems


def crash_stage(
    root: Path,
    stage: str,
    delays: list[float],
    reference: dict[str, bytes],
    report: CrashReport,
) -> None:
    """Kill ``stage`` once per delay, checking the outputs after each kill (and repairing a
    wedged DVC lock with doctor so the next kill runs for real)."""
    for delay in delays:
        killed = kill_stage_at(root, stage, delay)
        report.kills += killed
        report.finished_first += not killed
        problems, absent = check_outputs(root, reference)
        report.absent_restorable += absent
        report.problems += [f"{stage} killed at {delay:.2f}s: {p}" for p in problems]
        report.stray_temps += sum(1 for _ in stray_temps(root))
        if rwlock_wedged(root):
            report.wedged += 1
            report.doctor_runs += 1
            run_command(["features-pipeline", "doctor"], root, check=False)


def run_crash_suite(
    root: Path, kills_per_stage: int, seed: int, verify_each_stage: bool = True
) -> CrashReport:
    """The whole suite in git copy ``root``: reference run, kills, doctor and a plain repro
    (after each stage's kills, or once at the end)."""
    rng = random.Random(seed)
    seconds = run_reference(root)
    reference, hashes = snapshot(root), lock_outs(root)
    report = CrashReport()
    for stage in STAGES:
        delays = [rng.uniform(0, seconds[stage]) for _ in range(kills_per_stage)]
        crash_stage(root, stage, delays, reference, report)
        if verify_each_stage:
            report.problems += [f"after {stage}: {p}" for p in verify(root, reference, hashes)]
    if not verify_each_stage:
        report.problems += verify(root, reference, hashes)
    return report
