"""The whole pipeline on the 10k-row sample: ``dvc repro --force`` and a no-op ``dvc repro``.

Both run in a fresh git repo holding a copy of the project's tracked files (``repo_copy``), so
the workspace's outputs and dvc.lock are never touched. Targets (issue 7): forced under 12 s,
no-op under 2 s on two cores, on a quiet machine: reported in the run's table, never asserted (an
asserted time fails under load and says nothing about the code).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from results import remember


def dvc(repo: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["dvc", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def project(repo_copy: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str]]:
    if shutil.which("dvc", path=repo_copy[1]["PATH"]) is None:
        pytest.skip("dvc not found")
    return repo_copy


def test_forced_repro(benchmark, project) -> None:
    benchmark.group = "pipeline 10k"
    repo, env = project
    benchmark.pedantic(dvc, args=(repo, env, "repro", "--force"), rounds=2, warmup_rounds=0)
    assert (repo / "metrics" / "metrics.json").exists()
    remember("pipeline/forced", benchmark)


def test_noop_repro(benchmark, project) -> None:
    benchmark.group = "pipeline 10k"
    repo, env = project
    dvc(repo, env, "repro")  # up to date from here on (also when run alone)
    output = benchmark.pedantic(dvc, args=(repo, env, "repro"), rounds=3, warmup_rounds=0)
    assert "up to date" in output
    remember("pipeline/noop", benchmark)


def test_noop_repro_vs_status(benchmark, project) -> None:
    """A no-op ``dvc repro`` against bare ``dvc status`` (issue 16: <= 1.2x), interleaved round
    by round; the ratio of medians goes to the run's table with the load average."""
    import os
    import statistics
    import time

    benchmark.group = "pipeline 10k: no-op repro vs status"
    repo, env = project
    dvc(repo, env, "repro")
    repro, status = [], []
    for _ in range(5):
        for seconds, args in ((repro, ("repro",)), (status, ("status",))):
            start = time.perf_counter()
            dvc(repo, env, *args)
            seconds.append(time.perf_counter() - start)
    ratio = statistics.median(repro) / statistics.median(status)
    benchmark.extra_info.update(ratio=round(ratio, 3), load=os.getloadavg()[0])
    benchmark.pedantic(dvc, args=(repo, env, "status"), rounds=1, warmup_rounds=0)
    print(f"\nno-op repro / status: {ratio:.2f} (load {os.getloadavg()[0]:.1f})")
