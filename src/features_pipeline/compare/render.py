"""A comparison as Markdown (CI comments), JSON (scripts) or a rich table (terminals)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.measure import Measurement

from features_pipeline.compare.comparison import Comparison
from features_pipeline.compare.rows import SECONDS

if TYPE_CHECKING:
    from rich.console import Console
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


def to_rich_table(comparison: Comparison, columns: Sequence[int] | None = None) -> Table:
    """A rich table of ``columns`` (indexes into the header; default all): numbers
    right-aligned, the ★ row green, unfinished runs dim.

    Mark, name and kind never wrap; on a console narrower than the table, the other cells
    wrap (params first: they come last)."""
    from rich.table import Table

    header = comparison.header()
    chosen = list(range(len(header))) if columns is None else list(columns)
    numbers = range(comparison.first_metric, comparison.first_param)
    table = Table(title="features-pipeline compare", caption=comparison.describe())
    for index in chosen:
        table.add_column(
            header[index],
            no_wrap=index <= 2,
            justify="right" if index in numbers else "left",
            overflow="fold",
        )
    marked = comparison.marked
    for row, cells in zip(comparison.rows, comparison.table_rows(), strict=True):
        style = "bold green" if row is marked else ("dim" if not row.finished else None)
        table.add_row(*(cells[index] for index in chosen), style=style)
    return table


def to_rich_tables(comparison: Comparison, console: Console) -> list[Table]:
    """One table when it fits ``console``'s width; else two with the same rows in the same
    order: mark, name, kind and metrics, then name and the params that differ."""
    whole = to_rich_table(comparison)
    unbounded = console.options.update_width(1_000_000)  # its natural width, not the console's
    if Measurement.get(console, unbounded, whole).maximum <= console.width:
        return [whole]
    header = comparison.header()
    metrics = to_rich_table(comparison, range(comparison.first_param))
    params = to_rich_table(comparison, [1, *range(comparison.first_param, len(header))])
    metrics.caption, params.title = None, None
    return [metrics, params]
