"""The comparison: rows sorted by a metric (best first), the columns to show and the best row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from features_pipeline.compare.rows import (
    DEFAULT_METRICS_FILE,
    GATE_PREFIX,
    SECONDS,
    TIMING_PREFIX,
    Row,
    Scalar,
    differing_params,
    metric_keys,
    number,
    resolve_metric,
    rows_from_exp_show,
    shown_metrics,
)
from features_pipeline.errors import UserError
from features_pipeline.model.metric_registry import metric_names

# the metric registry's lower-is-better names, and words of other metrics (times, losses)
LOWER_IS_BETTER = (*metric_names(lambda metric: metric.direction == "lower"), "seconds", "loss",
                   "error")  # fmt: skip
DEFAULT_SORT = "rmse"
CELL_WIDTH = 48  # longest table/Markdown cell (lists of features); --json has the full value


def lower_is_better(metric: str) -> bool:
    """Whether smaller values of ``metric`` are better, guessed from its last name part."""
    leaf = metric.rsplit(".", 1)[-1].lower()
    return any(word in leaf for word in LOWER_IS_BETTER)


def sort_rows(rows: Sequence[Row], metric: str, ascending: bool) -> list[Row]:
    """Finished rows with the metric first (best first), then the rest, each group stable."""

    def ranked(row: Row) -> bool:
        return row.finished and number(row.metrics.get(metric)) is not None

    with_value = [row for row in rows if ranked(row)]
    without = [row for row in rows if not ranked(row)]
    with_value.sort(key=lambda row: number(row.metrics[metric]) or 0.0, reverse=not ascending)
    return with_value + without


def cell(value: Scalar, width: int | None = CELL_WIDTH) -> str:
    """A table cell: ``-`` for missing, floats to 6 significant digits, cut at ``width``."""
    if value is None:
        return "-"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


@dataclass(frozen=True)
class Comparison:
    """Sorted rows, the sort metric and direction, and the metric and param columns."""

    rows: list[Row]
    metric: str
    ascending: bool
    metrics: list[str]  # every metric key (JSON output)
    shown: list[str]  # the metric columns of the table / Markdown
    params: list[str]  # params that differ between rows

    @property
    def best(self) -> Row | None:
        """The best finished row by the metric (workspace, commit or experiment)."""
        first = self.rows[0] if self.rows else None
        if first is None or not first.finished:
            return None
        return first if number(first.metrics.get(self.metric)) is not None else None

    @property
    def best_experiment(self) -> Row | None:
        """The best finished experiment by the metric (what ``dvc exp apply`` takes)."""
        for row in self.rows:
            ranked = number(row.metrics.get(self.metric)) is not None
            if row.kind == "experiment" and row.finished and ranked:
                return row
        return None

    @property
    def has_experiments(self) -> bool:
        return any(row.kind == "experiment" for row in self.rows)

    @property
    def has_seconds(self) -> bool:
        return any(row.seconds is not None for row in self.rows)

    @property
    def show_baseline(self) -> bool:
        return len({row.baseline for row in self.rows if row.kind == "experiment"}) > 1

    def header(self) -> list[str]:
        """Column names: mark, name, kind, [baseline], metrics, [seconds], params."""
        extra = ["baseline"] if self.show_baseline else []
        seconds = [SECONDS] if self.has_seconds else []
        return ["", "name", "kind", *extra, *self.shown, *seconds, *self.params]

    def table_rows(self, width: int | None = CELL_WIDTH) -> list[list[str]]:
        """The cells of each row under :meth:`header` (★ marks the best)."""
        best = self.best
        return [
            [
                "★" if row is best else "",
                row.name,
                row.label,
                *([cell(row.baseline)] if self.show_baseline else []),
                *(cell(row.metrics.get(key), width) for key in self.shown),
                *([cell(row.seconds)] if self.has_seconds else []),
                *(cell(row.params.get(key), width) for key in self.params),
            ]
            for row in self.rows
        ]

    def describe(self) -> str:
        """The caption: sort order, hidden metrics and what ``seconds`` means."""
        order = "ascending" if self.ascending else "descending"
        hidden = len(
            [k for k in self.metrics if k not in self.shown and not k.startswith(GATE_PREFIX)]
        )
        notes = [f"sorted by {self.metric} ({order}); ★ best"]
        if hidden:
            notes.append(f"{hidden} metric(s) equal in every row not shown")
        if self.has_seconds:
            notes.append(f"seconds: sum of the stage times in {TIMING_PREFIX}")
        return "; ".join(notes)


def compare(
    entries: Sequence[Mapping[str, Any]],
    sort_by: str = DEFAULT_SORT,
    ascending: bool | None = None,
    metrics_file: str | None = DEFAULT_METRICS_FILE,
) -> Comparison:
    """Rows sorted by ``sort_by`` (direction guessed from its name unless given)."""
    if not entries:
        raise UserError(
            "compare: the git repository has no commit yet; commit the project first "
            "(git add -A && git commit -m 'Start'): DVC experiments are based on a commit"
        )
    rows = rows_from_exp_show(entries, metrics_file)
    keys = metric_keys(rows)
    metric = resolve_metric(sort_by, keys)
    direction = lower_is_better(metric) if ascending is None else ascending
    ordered = sort_rows(rows, metric, direction)
    return Comparison(
        rows=ordered,
        metric=metric,
        ascending=direction,
        metrics=keys,
        shown=shown_metrics(ordered, keys, metric),
        params=differing_params(rows),
    )
