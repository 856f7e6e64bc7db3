"""Issue 23: the whole pipeline on a table bigger than an enforced memory limit.

Every stage runs as its own process (``python stages/<name>.py``, as ``dvc repro`` runs it) under
a resident-memory limit: a watchdog reads the process's resident set (``VmRSS``) every 20 ms and
kills it above the limit, and the process's own high-water mark (``VmHWM``, the kernel's peak
of its resident set, read at every poll, so only growth in its last 20 ms could go unseen) must be
within it too. Not ``ru_maxrss`` of the reaped child: Linux starts a child's ``maxrss`` at its
parent's resident set when it forks, so under a long pytest run (911 MB in CI) every stage
"peaked" at the test process's own size. Not ``ulimit -v``/``prlimit --as``:
those cap *virtual* memory, and DuckDB, Polars' jemalloc and the BLAS/OpenMP thread arenas
reserve gigabytes of address space they never touch (the stages would fail at start-up with a
budget far above what they use), while a cgroup needs privileges a CI runner may not have.

The same pipeline on Polars (in memory, no budget, not limited) gives the reference results
and shows that the limit binds: the feature table alone is more than three times the limit in
memory, and so is Polars' features stage; with the budget set, Polars' features stage refuses to
start, in one line naming what it would need. On DuckDB the features stage learns the fitted
tables out of core and computes the table in parts of whole window groups, each in memory
(``features/parts.py``): the same table.
Both fit the same ``train.max_rows`` sample (below what the budget allows), so the scores agree.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from support import command_env

ROWS = 9_000_000  # the feature table: ~2.4 GB in Polars' memory, 3.4x the limit
MAX_TRAIN_ROWS = 200_000  # below the ~297k rows a fit within the budget may take
BUDGET = "700MB"  # engine.memory_limit: the stages' own accounting
LIMIT_BYTES = 700 * 10**6  # what the watchdog enforces: the same number
STAGES = ("ingest", "features", "validate", "train", "evaluate")
FEATURES = Path("data/features/features.parquet")


def memory_bytes(pid: int, field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak so far) of process ``pid``, in bytes (0
    once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def run_limited(stage: str, root: Path, limit: int | None) -> int:
    """``python stages/<stage>.py`` in ``root``; with ``limit``, killed above that many resident
    bytes. Returns its peak resident bytes (``VmHWM``); a failure is asserted."""
    process = subprocess.Popen(
        [sys.executable, f"stages/{stage}.py"],
        cwd=root,
        env=command_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    killed: list[int] = []
    peak = [0]
    done = threading.Event()

    def watch() -> None:  # never reaps the child (os.wait4 below does)
        while not done.is_set():
            resident = memory_bytes(process.pid, "VmRSS")
            peak[0] = max(peak[0], memory_bytes(process.pid, "VmHWM"), resident)
            if limit is not None and resident > limit:
                killed.append(resident)
                os.kill(process.pid, signal.SIGKILL)  # Popen.kill would reap it
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert process.stdout is not None
    with process.stdout:
        output = process.stdout.read().decode(errors="replace")
    _, status, _ = os.wait4(process.pid, 0)
    done.set()
    process.returncode = os.waitstatus_to_exitcode(status)
    watcher.join()
    assert not killed, f"{stage}: killed at {killed[0]:,} resident bytes (limit {limit:,})"
    assert process.returncode == 0, f"{stage}: {output[-3000:]}"
    return peak[0]


def set_params(root: Path, engine: dict[str, object]) -> None:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["engine"].update(engine)
    params["ingest"]["rows"] = ROWS
    params["train"]["max_rows"] = MAX_TRAIN_ROWS
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def pipeline(root: Path, engine: dict[str, object], limit: int | None) -> dict[str, int]:
    set_params(root, engine)
    return {stage: run_limited(stage, root, limit) for stage in STAGES}


def read_json(path: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.slow
@pytest.mark.duckdb
def test_the_pipeline_finishes_within_a_limit_its_table_exceeds(project_repo: Path) -> None:
    root = project_repo
    in_memory = pipeline(root, {"name": "polars", "memory_limit": None}, limit=None)
    reference = {
        "features": pl.read_parquet(root / FEATURES),
        "metrics": read_json(root / "metrics/metrics.json"),
        "card": read_json(root / "models/model_card.json"),
        "validation": read_json(root / "metrics/validation.json"),
    }
    # the limit binds: the table is several times bigger, the in-memory features stage needs more
    assert reference["features"].estimated_size() > 3 * LIMIT_BYTES
    assert in_memory["features"] > 3 * LIMIT_BYTES, in_memory

    set_params(root, {"name": "polars", "memory_limit": BUDGET})
    refused = subprocess.run(
        [sys.executable, "stages/features.py"],
        cwd=root,
        env=command_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"error: features: engine.memory_limit: {BUDGET} is not enough for engine.name: "
            f"polars, which holds the {ROWS:,} x 34 table in memory (about 3.8 GB needed)"
        )
    ), refused.stderr

    bounded = pipeline(root, {"name": "duckdb", "memory_limit": BUDGET}, limit=LIMIT_BYTES)
    assert max(bounded.values()) <= LIMIT_BYTES, bounded  # each stage's own peak (VmHWM)

    # computed in parts, each in memory, from tables DuckDB learned: the table the in-memory path
    # computed (learned sums of ~1e10 may round to their 12 digits the other way: within 1e-9)
    features = pl.read_parquet(root / FEATURES)
    assert_frame_equal(
        features, reference["features"], check_exact=False, rel_tol=1e-9, abs_tol=1e-9
    )
    # the same train sample (sized from the budget, the same rows on both engines) and features
    # equal within 1e-9: the same scores to the metrics' rounding
    card = read_json(root / "models/model_card.json")
    assert card["training"]["rows"] == reference["card"]["training"]["rows"]  # type: ignore[index]
    assert read_json(root / "metrics/validation.json") == reference["validation"]
    scores, expected = read_json(root / "metrics/metrics.json"), reference["metrics"]
    assert scores.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float):
            assert scores[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
        else:
            assert scores[name] == value, name
