#!/usr/bin/env bash
# The CI job summary: this workspace (after `dvc repro`) against BASE, as Markdown on stdout.
#   metrics: the model and data-quality files only (stage timings are noise), all values
#   params:  changed ones only
#   plots:   `dvc plots diff --json` rendered offline to SVGs in $PLOTS_OUT (scripts/plots_diff.py;
#            DVC's own HTML needs Vega from a CDN) with a small table per plot
# Usage: scripts/ci_summary.sh BASE   (e.g. origin/main); PLOTS_OUT defaults to plots-diff.
set -uo pipefail
base="${1:?usage: scripts/ci_summary.sh BASE}"
out="${PLOTS_OUT:-plots-diff}"
cd "$(dirname "$0")/.."

table() { # a `dvc … diff --md` table, or a line saying there is none
    local text
    if text="$("$@")" && [ "$(printf '%s\n' "$text" | grep -c '^|')" -gt 2 ]; then
        printf '%s\n' "$text"
    else
        echo "(no differences)"
    fi
}

echo "## Metrics: \`$base\` vs this run"
echo
table dvc metrics diff "$base" --md --all \
    --targets metrics/metrics.json metrics/train.json metrics/validation.json
echo
echo "## Params changed: \`$base\` vs this run"
echo
table dvc params diff "$base" --md
echo
echo "## Plots: \`$base\` vs this run"
echo
json="$(mktemp)"
if dvc plots diff "$base" --json >"$json"; then
    python scripts/plots_diff.py "$json" --out "$out" ${PLOTS_LINK:+--link "$PLOTS_LINK"} \
        || echo "(plots could not be rendered)"
    echo "SVG images of these plots: \`$out/\` (the job's \`plots-diff\` artifact)."
else
    echo "(no plots diff)"
fi
rm -f "$json"
