"""A comparison as Markdown (CI comments), JSON (scripts) or a rich table (terminals)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from features_pipeline.compare.comparison import Comparison
from features_pipeline.compare.rows import SECONDS

if TYPE_CHECKING:
    from rich.table import Table


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(comparison: Comparison) -> str:
    """A Markdown table and its caption (the metric in backticks)."""
    header = comparison.header()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(_md_escape(cell) for cell in cells) + " |"
        for cells in comparison.table_rows()
    ]
    lines += ["", comparison.describe().replace(comparison.metric, f"`{comparison.metric}`", 1)]
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> str:
    """Every row with all its metrics, the differing params and the best names (full values)."""
    best = comparison.best
    experiment = comparison.best_experiment
    payload = {
        "sort_by": comparison.metric,
        "ascending": comparison.ascending,
        "best": best.name if best else None,
        "best_experiment": experiment.name if experiment else None,
        "params_differing": comparison.params,
        "rows": [
            {
                "name": row.name,
                "rev": row.rev,
                "kind": row.kind,
                "state": row.state,
                "baseline": row.baseline,
                "metrics": row.metrics,
                SECONDS: row.seconds,
                "params": {key: row.params.get(key) for key in comparison.params},
            }
            for row in comparison.rows
        ],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def to_rich_table(comparison: Comparison) -> Table:
    """A rich table: numbers right-aligned, the best row green, unfinished runs dim."""
    from rich.table import Table

    table = Table(title="features-pipeline compare", caption=comparison.describe())
    first_number = 3 + int(comparison.show_baseline)
    numbers = range(first_number, first_number + len(comparison.shown) + comparison.has_seconds)
    for index, column in enumerate(comparison.header()):
        table.add_column(
            column,
            no_wrap=index <= 2,
            justify="right" if index in numbers else "left",
            overflow="fold",
        )
    best = comparison.best
    for row, cells in zip(comparison.rows, comparison.table_rows(), strict=True):
        style = "bold green" if row is best else ("dim" if not row.finished else None)
        table.add_row(*cells, style=style)
    return table
