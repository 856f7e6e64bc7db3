"""Start-up: what each stage and ``features-pipeline predict`` pay before and besides their work.

Every timing is a fresh interpreter (a subprocess), interleaved round by round with its
baseline, medians of ``ROUNDS``:

- importing a stage module (what ``python stages/<stage>.py`` pays before it reads anything)
  against a bare ``import polars``, which every stage needs;
- what train and evaluate load when they fit or load a model: scikit-learn and skops (skops
  imports every scikit-learn estimator to list its trusted types), against a bare
  ``import polars``;
- ``features-pipeline predict`` on 20 new rows, in a copy of the project after ``dvc repro``,
  against a Python that only imports polars, scikit-learn and skops.io (the floor of any
  prediction with a skops model file).

Reported with the load average; no absolute time is asserted.

    pytest benchmarks/test_startup_bench.py --benchmark-only -s
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from make_csv import make_csv
from results import EXTRA, load_average

ROUNDS = 5
STAGES = ("ingest", "features", "validate", "train", "evaluate")
MODEL_LIBRARIES = "import polars, sklearn.linear_model, sklearn.pipeline, skops.io"


def wall(
    command: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> float:
    """Seconds one subprocess run of ``command`` takes (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    return seconds


def interleaved(
    ours: Sequence[str],
    baseline: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[float, float]:
    """Medians of ``ROUNDS`` alternating runs of ``ours`` and ``baseline`` (one warm-up each)."""
    wall(ours, cwd, env)
    wall(baseline, cwd, env)
    times = [(wall(ours, cwd, env), wall(baseline, cwd, env)) for _ in range(ROUNDS)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def report(benchmark, label: str, ours: float, baseline: float, baseline_name: str) -> None:
    load = load_average()
    EXTRA[f"start-up {label}: s"] = ours
    EXTRA[f"start-up {label}: / {baseline_name} x100"] = 100 * ours / baseline
    benchmark.extra_info.update(ours_s=round(ours, 3), baseline_s=round(baseline, 3), load=load)
    print(f"\n{label}: {ours:.3f} s, {baseline_name} {baseline:.3f} s [load {load}]")


@pytest.mark.parametrize("stage", STAGES)
def test_stage_module_import_vs_polars(benchmark, stage: str) -> None:
    ours, baseline = interleaved(
        [sys.executable, "-c", f"import features_pipeline.stages.{stage}"],
        [sys.executable, "-c", "import polars"],
    )
    benchmark.pedantic(
        wall, args=([sys.executable, "-c", f"import features_pipeline.stages.{stage}"],), rounds=1
    )
    report(benchmark, f"import stages.{stage}", ours, baseline, "import polars")


def test_model_libraries_vs_polars(benchmark) -> None:
    ours, baseline = interleaved(
        [sys.executable, "-c", MODEL_LIBRARIES], [sys.executable, "-c", "import polars"]
    )
    benchmark.pedantic(wall, args=([sys.executable, "-c", MODEL_LIBRARIES],), rounds=1)
    report(benchmark, "scikit-learn + skops", ours, baseline, "import polars")


@pytest.fixture(scope="module")
def reproduced(repo_copy: tuple[Path, dict[str, str]]) -> tuple[Path, dict[str, str], Path]:
    """The project copy after ``dvc repro`` (a trained model), and a CSV of 20 new orders."""
    repo, env = repo_copy
    if subprocess.run(["dvc", "repro", "-q"], cwd=repo, env=env, check=False).returncode:
        pytest.fail("dvc repro failed in the project copy")
    return repo, env, make_csv(20, repo / "new_orders.csv", seed=99)


def test_predict_20_rows_vs_model_libraries(benchmark, reproduced) -> None:
    repo, env, rows = reproduced
    predict = [
        str(Path(sys.executable).parent / "features-pipeline"),
        "predict",
        "--input",
        str(rows),
        "--output",
        str(repo / "predicted.csv"),
    ]
    ours, baseline = interleaved(
        predict, [sys.executable, "-c", MODEL_LIBRARIES], cwd=repo, env=env
    )
    benchmark.pedantic(wall, args=(predict,), kwargs={"cwd": repo, "env": env}, rounds=1)
    assert len((repo / "predicted.csv").read_text().splitlines()) == 21  # header + 20 rows
    report(benchmark, "predict 20 rows", ours, baseline, "polars + scikit-learn + skops")
