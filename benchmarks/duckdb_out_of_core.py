"""DuckDB as the out-of-core feature engine: the shipped spec on more rows than its memory limit.

Not a pytest suite (it writes GBs and runs for minutes):
    python benchmarks/duckdb_out_of_core.py --rows 20000000 --memory-limit 2GB

1. Writes an interim table of ``--rows`` synthetic orders in chunks of a million (generate_sales,
   unique Order IDs, assign_split), appended with a pyarrow ParquetWriter: the generator never
   holds more than one chunk. The first ``--polars-rows`` rows also go to smaller tables.
2. Runs the features stage's work (``fit_transform_file``, parquet in, parquet out) in a child
   process under ``/usr/bin/time -v``: DuckDB (``memory_limit``, spill folder) on every size, Polars
   on the smaller ones; reports wall seconds, peak RSS, the spill folder's peak size and the
   1-minute load average around each run. Polars' peak RSS on all rows is extrapolated linearly
   from the two smaller sizes (running it would need that memory on a shared machine).
3. Deletes the work folder (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from features_pipeline.contracts.dataset import load_contract

SALES = load_contract(Path(__file__).resolve().parents[1] / "config" / "dataset.yaml")

CHUNK_ROWS = 1_000_000
BYTES_PER_ROW_ON_DISK = 1_000  # interim + features parquet + DuckDB spill (~700 B/row at 20M)
ORDER_ID_LOW = 100_000_000
REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "config" / "features.yaml"
RESULTS_FILE = REPO / ".benchmarks" / "out_of_core.json"


@dataclass
class Run:
    engine: str
    rows: int
    memory_limit: str | None
    seconds: float | None  # None: did not finish (timeout or error)
    peak_rss_gb: float | None
    spill_peak_gb: float
    load_before: str
    load_after: str
    note: str = ""


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):  # removed while walking
            total += path.stat().st_size if path.is_file() else 0
    return total


def write_interim(rows: int, targets: dict[int, Path], seed: int = 7) -> None:
    """``rows`` orders chunk by chunk; ``targets`` maps a row count to the file of that prefix."""
    import polars as pl

    from features_pipeline.ingest import synthetic as c
    from features_pipeline.ingest.split import assign_split
    from features_pipeline.ingest.synthetic import generate_sales

    writers: dict[int, pq.ParquetWriter] = {}
    try:
        for start in range(0, rows, CHUNK_ROWS):
            size = min(CHUNK_ROWS, rows - start)
            chunk = generate_sales(size, seed + start // CHUNK_ROWS)
            # chunks are seeded apart; unique Order IDs across them (the window tie-breaker)
            shuffled = np.random.default_rng(start).permutation(size) + ORDER_ID_LOW + start
            chunk = chunk.with_columns(pl.Series(c.ORDER_ID, shuffled, dtype=pl.Int64))
            table = assign_split(chunk, "random", 0.2, 42, SALES).to_arrow(
                compat_level=pl.CompatLevel.oldest()
            )
            for limit, path in targets.items():
                if start >= limit:
                    continue
                if limit not in writers:
                    writers[limit] = pq.ParquetWriter(path, table.schema, compression="zstd")
                writers[limit].write_table(table.slice(0, min(size, limit - start)))
            del chunk, table
    finally:
        for writer in writers.values():
            writer.close()


def child(args: argparse.Namespace) -> None:
    """One features run in this (measured) process; prints its facts as JSON."""
    from features_pipeline.engines.base import Executor
    from features_pipeline.engines.duckdb import DuckDbExecutor
    from features_pipeline.engines.params import DuckDbParams
    from features_pipeline.engines.polars import PolarsExecutor
    from features_pipeline.features.engine import fit_transform_file
    from features_pipeline.features.plan import input_schema_of, load_plan

    executor: Executor
    if args.engine == "duckdb":
        params = DuckDbParams(temp_directory=str(args.spill))
        executor = DuckDbExecutor(params, args.memory_limit)  # engine.memory_limit
    else:
        executor = PolarsExecutor()
    plan = load_plan(SPEC, input_schema_of(SALES), SALES)
    start = time.perf_counter()
    with executor:
        (rows, cols), _ = fit_transform_file(args.source, args.target, plan, executor)
    print(json.dumps({"rows": rows, "cols": cols, "seconds": time.perf_counter() - start}))


def measured(
    engine: str, source: Path, rows: int, work: Path, memory_limit: str | None, timeout: float
) -> Run:
    """A features run in a child process under ``/usr/bin/time -v``."""
    spill = work / f"spill-{engine}-{rows}"
    target = work / f"features-{engine}-{rows}.parquet"
    command = ["/usr/bin/time", "-v", sys.executable, __file__, "child", "--engine", engine]
    command += ["--source", str(source), "--target", str(target), "--spill", str(spill)]
    if memory_limit is not None:
        command += ["--memory-limit", memory_limit]
    spill_peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal spill_peak
        while not done.wait(1.0):
            spill_peak = max(spill_peak, folder_bytes(spill) if spill.exists() else 0)

    watcher = threading.Thread(target=watch, daemon=True)
    load_before = load_average()
    print(f"{engine} on {rows:,} rows (memory_limit {memory_limit}) ...", flush=True)
    watcher.start()
    note, facts = "", {}
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if run.returncode == 0:
            facts = json.loads(run.stdout.strip().splitlines()[-1])
        else:
            note = f"exit {run.returncode}: " + run.stderr.strip().splitlines()[-1][:200]
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
        peak = int(rss[1]) / 1024**2 if rss else None
    except subprocess.TimeoutExpired:
        note, peak = f"stopped after {timeout:g} s", None
    finally:
        done.set()
        watcher.join()
        shutil.rmtree(spill, ignore_errors=True)
        target.unlink(missing_ok=True)
    result = Run(
        engine=engine,
        rows=rows,
        memory_limit=memory_limit if engine == "duckdb" else None,
        seconds=round(facts["seconds"], 1) if facts else None,
        peak_rss_gb=round(peak, 2) if peak is not None else None,
        spill_peak_gb=round(spill_peak / 1024**3, 2),
        load_before=load_before,
        load_after=load_average(),
        note=note,
    )
    print(f"  {asdict(result)}", flush=True)
    return result


def extrapolate(runs: list[Run], rows: int) -> float | None:
    """Polars' peak RSS at ``rows`` on the line through its two largest measured sizes."""
    points = sorted((run.rows, run.peak_rss_gb) for run in runs if run.peak_rss_gb is not None)
    if len(points) < 2:
        return None
    (x0, y0), (x1, y1) = points[-2:]
    return round(y1 + (y1 - y0) / (x1 - x0) * (rows - x1), 1)


def table(runs: list[Run]) -> str:
    lines = [
        "| engine | rows | memory_limit | seconds | peak RSS | spill peak "
        "| load avg before -> after |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for run in runs:
        seconds = f"{run.seconds:.1f}" if run.seconds is not None else run.note
        rss = f"{run.peak_rss_gb:.2f} GB" if run.peak_rss_gb is not None else "-"
        lines.append(
            f"| {run.engine} | {run.rows:,} | {run.memory_limit or '-'} | {seconds} | {rss} "
            f"| {run.spill_peak_gb:.2f} GB | {run.load_before} -> {run.load_after} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    measure = sub.add_parser("child")  # internal: the measured process
    measure.add_argument("--engine", choices=["polars", "duckdb"], required=True)
    measure.add_argument("--source", type=Path, required=True)
    measure.add_argument("--target", type=Path, required=True)
    measure.add_argument("--spill", type=Path, required=True)
    measure.add_argument("--memory-limit")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--polars-rows", type=int, nargs=2, default=[2_000_000, 5_000_000])
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--workdir", type=Path, help="default: a new folder in the temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the generated tables")
    args = parser.parse_args()
    if args.command == "child":
        child(args)
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="out-of-core-"))
    work.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work).free
    needed = args.rows * BYTES_PER_ROW_ON_DISK
    print(f"work folder {work}: {free / 1024**3:.0f} GB free, ~{needed / 1024**3:.0f} GB needed")
    if free < needed:
        sys.exit(f"not enough disk in {work}: {free / 1024**3:.1f} GB free")
    try:
        sizes = sorted({*args.polars_rows, args.rows})
        sources = {rows: work / f"interim-{rows}.parquet" for rows in sizes}
        start = time.perf_counter()
        write_interim(args.rows, sources)
        print(f"wrote {len(sources)} interim tables in {time.perf_counter() - start:.0f} s")
        runs = []
        for rows in args.polars_rows:
            runs.append(measured("polars", sources[rows], rows, work, None, args.timeout))
            runs.append(
                measured("duckdb", sources[rows], rows, work, args.memory_limit, args.timeout)
            )
        runs.append(
            measured("duckdb", sources[args.rows], args.rows, work, args.memory_limit, args.timeout)
        )
        polars_full = extrapolate([run for run in runs if run.engine == "polars"], args.rows)
        print()
        print(table(runs))
        print(f"\nPolars peak RSS at {args.rows:,} rows, extrapolated linearly: {polars_full} GB")
        RESULTS_FILE.parent.mkdir(exist_ok=True)
        payload = {"runs": [asdict(run) for run in runs], "polars_extrapolated_gb": polars_full}
        RESULTS_FILE.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
