#!/usr/bin/env bash
# The in-memory path and the big-table path on the same synthetic table, one after the other:
# `dvc repro` with engine.name: polars (no budget) and with engine.name: duckdb under
# engine.memory_limit, each in a throwaway copy of the project (benchmarks/scale_run.sh); prints
# each stage's wall time and peak RSS on both and the ratios duckdb / polars, with the load average.
#   benchmarks/side_by_side.sh ROWS [MEMORY_LIMIT]      (default 3GB)
set -euo pipefail
rows=${1:?rows}; limit=${2:-3GB}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load before polars: $(load)"
ENGINE=polars bash "$here/scale_run.sh" "$rows" synthetic "$work/polars" >/dev/null
echo "load before duckdb: $(load)"
ENGINE=duckdb MEMORY_LIMIT=$limit bash "$here/scale_run.sh" "$rows" synthetic "$work/duckdb" >/dev/null
echo "load after: $(load)"
python - "$work" "$rows" "$limit" <<'PY'
import re, sys
from pathlib import Path
work, rows, limit = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def stages(engine):
    found = {}
    for line in (work / engine / "stage_times.txt").read_text().splitlines():
        match = re.match(r"(\w+) wall=([\d.]+) s maxrss=(\d+) KB", line)
        if match:
            found[match[1]] = (float(match[2]), int(match[3]) * 1024)
    return found
polars, duckdb = stages("polars"), stages("duckdb")
print(f"\n{rows:,} rows: polars (no budget) vs duckdb (engine.memory_limit {limit})")
print(f"| stage | polars wall | duckdb wall | ratio | polars peak | duckdb peak | ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
gib = 2**30
for stage in polars:
    (pw, pr), (dw, dr) = polars[stage], duckdb[stage]
    print(f"| {stage} | {pw:.1f} s | {dw:.1f} s | {dw / pw:.2f} | {pr / gib:.2f} GiB | "
          f"{dr / gib:.2f} GiB | {dr / pr:.2f} |")
pw, dw = sum(w for w, _ in polars.values()), sum(w for w, _ in duckdb.values())
pr, dr = max(r for _, r in polars.values()), max(r for _, r in duckdb.values())
print(f"| all stages | {pw:.1f} s | {dw:.1f} s | {dw / pw:.2f} | {pr / gib:.2f} GiB | "
      f"{dr / gib:.2f} GiB | {dr / pr:.2f} |")
PY
