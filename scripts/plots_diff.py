"""Render `dvc plots diff --json` offline: one static SVG per plot and a Markdown summary.

`dvc plots show/diff` write HTML that loads Vega from a CDN; a CI job summary needs no script.
This reads the Vega-Lite specs DVC fills with each revision's rows (``data.values``, with a
``rev`` field) and draws them with matplotlib: scatter plots (``mark: point``) as points per
revision, bar plots as grouped horizontal bars. SVGs are byte-reproducible (no date, fixed ids).

    dvc plots diff origin/main --json > plots_diff.json
    python scripts/plots_diff.py plots_diff.json --out plots-diff >> "$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ROWS = 20  # bar categories listed in the Markdown table
COLOURS = ("#13adc7", "#945dd6", "#f46837", "#48a14d")


@dataclass(frozen=True)
class Plot:
    """One plot of the diff: its id, title, kind, axes and rows per revision (in DVC's order)."""

    name: str
    title: str
    kind: str  # "scatter" or "bar"
    x: str
    y: str
    by_value: bool  # bars sorted by value (Vega-Lite ``sort: -x``), else in data order
    rows: dict[str, list[dict[str, str]]]


def parse_plots(diff: Mapping[str, Any]) -> list[Plot]:
    """The plots of a ``dvc plots diff --json`` document (Vega-Lite ones; images are skipped)."""
    plots = []
    for name, renders in diff.get("data", {}).items():
        for render in renders:
            if render.get("type") != "vega":
                continue
            spec = render["content"]
            mark = spec.get("mark", {})
            mark_type = mark.get("type") if isinstance(mark, dict) else mark
            title = spec.get("title", name)
            rows: dict[str, list[dict[str, str]]] = {rev: [] for rev in render["revisions"]}
            for row in spec["data"]["values"]:
                rows.setdefault(row["rev"], []).append(row)
            plots.append(
                Plot(
                    name=name,
                    title=title.get("text", name) if isinstance(title, dict) else str(title),
                    kind="bar" if mark_type == "bar" else "scatter",
                    x=spec["encoding"]["x"]["field"],
                    y=spec["encoding"]["y"]["field"],
                    by_value=spec["encoding"]["y"].get("sort") == "-x",
                    rows=rows,
                )
            )
    return plots


def number(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return math.nan


def bar_values(plot: Plot) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Categories (the y field; largest value first if the plot sorts) and each revision's value
    per category."""
    values = {
        rev: {str(row[plot.y]): number(row[plot.x]) for row in rows}
        for rev, rows in plot.rows.items()
    }
    categories = list(dict.fromkeys(c for per_rev in values.values() for c in per_rev))
    if plot.by_value:
        largest = {c: max(abs(v.get(c, 0.0)) for v in values.values()) for c in categories}
        categories.sort(key=lambda c: -largest[c])
    return categories, values


def render_svg(plot: Plot, path: Path) -> Path:
    """Draw ``plot`` to ``path`` with matplotlib's SVG backend."""
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = plot.name  # fixed element ids: identical bytes every run
    revisions = list(plot.rows)
    if plot.kind == "bar":
        categories, values = bar_values(plot)
        height = max(2.5, 0.35 * len(categories) * max(1, len(revisions)) + 1.2)
        figure, axes = plt.subplots(figsize=(7, height))
        width = 0.8 / max(1, len(revisions))
        for index, rev in enumerate(revisions):
            positions = [c + index * width for c in range(len(categories))]
            bars = [values[rev].get(c, math.nan) for c in categories]
            axes.barh(positions, bars, height=width, label=rev, color=COLOURS[index % 4])
        axes.set_yticks([c + 0.4 - width / 2 for c in range(len(categories))], categories)
        axes.invert_yaxis()
        axes.set_xlabel(plot.x)
    else:
        figure, axes = plt.subplots(figsize=(7, 5))
        for index, rev in enumerate(revisions):
            xs = [number(row[plot.x]) for row in plot.rows[rev]]
            ys = [number(row[plot.y]) for row in plot.rows[rev]]
            axes.scatter(xs, ys, s=10, alpha=0.6, label=rev, color=COLOURS[index % 4])
        axes.set_xlabel(plot.x)
        axes.set_ylabel(plot.y)
    axes.set_title(plot.title)
    axes.legend(title="revision")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="svg", metadata={"Date": None})
    plt.close(figure)
    return path


def shown(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.6g}"


def markdown(plot: Plot, image: str | None) -> list[str]:
    """A heading, the image link (when it can be linked) and a small table of the plot's data."""
    lines = [f"### {plot.title}", ""]
    if image:
        lines += [f"![{plot.name}]({image})", ""]
    revisions = list(plot.rows)
    if plot.kind == "bar":
        categories, values = bar_values(plot)
        lines += [f"| {plot.y} | " + " | ".join(revisions) + " |"]
        lines += ["|---|" + "---:|" * len(revisions)]
        for category in categories[:MAX_ROWS]:
            cells = [shown(values[rev].get(category, math.nan)) for rev in revisions]
            lines.append(f"| {category} | " + " | ".join(cells) + " |")
        if len(categories) > MAX_ROWS:
            lines.append(f"| … {len(categories) - MAX_ROWS} more | " + " | " * len(revisions))
    else:
        lines += [f"| revision | points | mean {plot.y} | min {plot.y} | max {plot.y} |"]
        lines += ["|---|---:|---:|---:|---:|"]
        for rev in revisions:
            ys = [y for row in plot.rows[rev] if not math.isnan(y := number(row[plot.y]))]
            stats = (sum(ys) / len(ys), min(ys), max(ys)) if ys else (math.nan,) * 3
            lines.append(f"| {rev} | {len(ys)} | " + " | ".join(map(shown, stats)) + " |")
    return [*lines, ""]


def summarise(diff: Mapping[str, Any], out: Path, link: str | None = None) -> str:
    """Write one SVG per plot under ``out``; return the Markdown summary (images linked under
    ``link`` when given, e.g. a URL where the SVGs are published)."""
    lines = []
    for plot in parse_plots(diff):
        svg = render_svg(plot, out / f"{plot.name}.svg")
        lines += markdown(plot, f"{link.rstrip('/')}/{svg.name}" if link else None)
    return "\n".join(lines) if lines else "(no plots)\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("diff", type=Path, help="output of `dvc plots diff --json` ('-': stdin)")
    parser.add_argument("--out", type=Path, default=Path("plots-diff"), help="SVG folder")
    parser.add_argument("--link", help="URL prefix for the SVG links in the Markdown")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if str(args.diff) == "-" else args.diff.read_text(encoding="utf-8")
    sys.stdout.write(summarise(json.loads(text), args.out, args.link))
    return 0


if __name__ == "__main__":
    sys.exit(main())
