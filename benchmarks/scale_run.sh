#!/usr/bin/env bash
# One scale run of the whole pipeline, in a throwaway copy of the project (never in the workspace).
#   benchmarks/scale_run.sh ROWS synthetic|csv [WORKDIR]
# Copies the git-tracked files into WORKDIR (default: a new temp dir), sets ingest.rows (and, for
# csv, writes a ROWS-row CSV in the public files' dialect to data/raw/ and sets ingest.source),
# runs `dvc repro` under /usr/bin/time -v and prints wall time and peak RSS per stage and in total.
# ENGINE=duckdb and MEMORY_LIMIT=3GB (environment) set engine.name and engine.memory_limit.
set -euo pipefail
rows=${1:?rows}; kind=${2:?synthetic or csv}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${3:-$(mktemp -d)}
python=$(command -v python)
mkdir -p "$work"
(cd "$repo" && git ls-files -z | xargs -0 cp --parents -t "$work")
cd "$work"
"$python" - "$rows" "$kind" "${ENGINE:-polars}" "${MEMORY_LIMIT:-null}" <<'PY'
import re, sys
rows, kind, engine, limit = sys.argv[1:5]
params = open("params.yaml").read()
params = re.sub(r"^(  rows:) \d+", rf"\1 {rows}", params, count=1, flags=re.M)
params = re.sub(r"^(  name:) polars", rf"\1 {engine}", params, count=1, flags=re.M)
params = re.sub(r"^(  memory_limit:) null", rf"\1 {limit}", params, count=1, flags=re.M)
if kind == "csv":
    params = re.sub(r"^(  source:) \S+", r"\1 data/raw/sales.csv", params, count=1, flags=re.M)
open("params.yaml", "w").write(params)
stages = open("dvc.yaml").read()
timed = '/usr/bin/time -a -o stage_times.txt -f "{0} wall=%e s maxrss=%M KB" python stages/{0}.py'
stages = re.sub(r"cmd: python stages/(\w+)\.py", lambda m: "cmd: " + timed.format(m.group(1)), stages)
open("dvc.yaml", "w").write(stages)
PY
if [ "$kind" = csv ]; then
  PYTHONPATH="$work/src" "$python" "$repo/benchmarks/make_csv.py" --rows "$rows" --out data/raw/sales.csv
fi
git init -q && git add -A && git -c user.name=scale -c user.email=scale@example.com commit -qm scale
PYTHONPATH="$work/src" /usr/bin/time -v dvc repro > repro.log 2> time.log || { tail -20 time.log; exit 1; }
echo "$rows rows ($kind) in $work"
cat stage_times.txt
grep -E "Elapsed|Maximum resident" time.log
