"""Compare the workspace, commits and DVC experiments: metrics and the params that differ.

Built on ``dvc exp show --json`` (:mod:`.exp_show`): pure functions turn its JSON into rows
(:mod:`.rows`), sort them by a metric and mark the best (:mod:`.comparison`), and render a rich
table, Markdown (for CI comments) or JSON (for scripts) (:mod:`.render`).
"""

from features_pipeline.compare.comparison import (
    CELL_WIDTH,
    DEFAULT_SORT,
    Comparison,
    compare,
    lower_is_better,
    sort_rows,
)
from features_pipeline.compare.exp_show import exp_show_command, read_exp_show
from features_pipeline.compare.render import to_json, to_markdown, to_rich_table, to_rich_tables
from features_pipeline.compare.rows import (
    DEFAULT_METRICS_FILE,
    Row,
    flatten,
    resolve_metric,
    rows_from_exp_show,
)

__all__ = [
    "CELL_WIDTH",
    "DEFAULT_METRICS_FILE",
    "DEFAULT_SORT",
    "Comparison",
    "Row",
    "compare",
    "exp_show_command",
    "flatten",
    "lower_is_better",
    "read_exp_show",
    "resolve_metric",
    "rows_from_exp_show",
    "sort_rows",
    "to_json",
    "to_markdown",
    "to_rich_table",
    "to_rich_tables",
]
