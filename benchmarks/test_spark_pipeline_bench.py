"""The whole pipeline on Spark ``local[2]`` against Polars, at 1M rows (issue 12).

One throwaway git copy of the project with a 1M-row CSV in ``data/raw/``: ``dvc repro --force``
on Polars, then on Spark, then on Polars again (round by round, so load drifts hit both), each
timed whole; the stage times come from each stage's own log line. Reported as the ratio of
the medians (Spark / Polars) and each stage's seconds; nothing is asserted about time. Marked
``spark`` (deselected by the default ``-m``):

    pytest benchmarks/test_spark_pipeline_bench.py --benchmark-only -m spark -s
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from make_csv import make_csv
from results import EXTRA

from features_pipeline.stages import STAGES

# "stage features{rows=...} took 12.345 s": the runner's line (metrics/timing/<stage>.json keeps
# the time of the run that first made the outputs, so it cannot time a re-run)
STAGE_TIME = re.compile(r"stage (\w+)\{[^}]*\} took ([0-9.]+) s")
ROWS = 1_000_000
ROUNDS = 2  # of each engine, interleaved: a Spark round is minutes on two cores


def set_engine(repo: Path, name: str) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["engine"]["name"] = name
    params["ingest"]["source"] = "data/raw/sales.csv"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def forced_repro(repo: Path, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Wall seconds of ``dvc repro --force`` and each stage's own seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        ["dvc", "repro", "--force"], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    took = STAGE_TIME.findall(done.stdout + done.stderr)  # each stage logs its own time
    stages = {stage: float(value) for stage, value in took}
    assert sorted(stages) == sorted(STAGES), took
    return seconds, stages


@pytest.mark.spark
def test_pipeline_spark_vs_polars_1m(
    benchmark: Any, repo_copy: tuple[Path, dict[str, str]]
) -> None:
    pytest.importorskip("pyspark")
    repo, env = repo_copy
    if shutil.which("dvc", path=env["PATH"]) is None:
        pytest.skip("dvc not found")
    make_csv(ROWS, repo / "data" / "raw" / "sales.csv")
    walls: dict[str, list[float]] = {"polars": [], "spark": []}
    stages: dict[str, list[dict[str, float]]] = {"polars": [], "spark": []}

    def one_round() -> None:
        for engine in ("polars", "spark"):
            set_engine(repo, engine)
            wall, per_stage = forced_repro(repo, env)
            walls[engine].append(wall)
            stages[engine].append(per_stage)

    benchmark.group = "pipeline 1M: spark local[2] vs polars (dvc repro --force, interleaved)"
    load = os.getloadavg()[0]
    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=0)
    load = max(load, os.getloadavg()[0])
    polars, spark = (statistics.median(walls[e]) for e in ("polars", "spark"))
    EXTRA["pipeline 1M: spark/polars (median wall, ratio x100)"] = 100 * spark / polars
    EXTRA["pipeline 1M: load average (1 min, max)"] = load
    for engine in ("polars", "spark"):
        for stage in STAGES:
            seconds = statistics.median(run[stage] for run in stages[engine])
            EXTRA[f"pipeline 1M {engine}: {stage} s"] = seconds
    print(json.dumps({"walls": walls, "stages": stages, "load": load}, indent=1))
