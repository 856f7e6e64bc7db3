"""The comparison: rows sorted by a metric (best first), the columns to show and the best row.

Metrics files hold values rounded to 6 significant digits (so that they are byte-reproducible):
near 1, r2 rounds to 1.0 for a perfect fit and a merely good one alike. Rows whose sort values
are equal are therefore ordered by the error metrics of the same file (rmse, mae, mape: lower
first), which keep the precision r2 loses; on one test set r2 = 1 - n * rmse**2 / SST, so rmse
orders the rows exactly as the unrounded r2 would.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
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
TIE_BREAKERS = ("rmse", "mae", "mape")  # error metrics: lower is better, precise near r2 = 1
DEFAULT_SORT = "rmse"
CELL_WIDTH = 24  # longest table/Markdown cell (lists of features); --json has the full value
FIXED_COLUMNS = ("name", "kind", "baseline", SECONDS)


def lower_is_better(metric: str) -> bool:
    """Whether smaller values of ``metric`` are better, guessed from its last name part."""
    leaf = metric.rsplit(".", 1)[-1].lower()
    return any(word in leaf for word in LOWER_IS_BETTER)


def tie_breakers(metric: str, keys: Sequence[str]) -> list[str]:
    """The error metrics that order rows whose ``metric`` values are equal: those of
    :data:`TIE_BREAKERS` beside it (same file, same suffix: ``r2`` -> ``rmse``, ``mae``,
    ``mape``; ``train.cv.r2_mean`` -> ``train.cv.rmse_mean``, …), the metric itself left out."""
    prefix, _, leaf = metric.rpartition(".")
    suffix = leaf[leaf.index("_") :] if "_" in leaf else ""
    named = [f"{prefix}.{word}{suffix}" if prefix else f"{word}{suffix}" for word in TIE_BREAKERS]
    return [key for key in named if key in keys and key != metric]


def sort_rows(
    rows: Sequence[Row], metric: str, ascending: bool, ties: Sequence[str] = ()
) -> list[Row]:
    """Finished rows with the metric first (best first), then the rest, each group stable.

    Rows with equal values of ``metric`` are ordered by ``ties`` (lower first; a missing value
    last), then kept in DVC's order."""

    def ranked(row: Row) -> bool:
        return row.finished and number(row.metrics.get(metric)) is not None

    def key(row: Row) -> tuple[float, ...]:
        value = number(row.metrics[metric]) or 0.0
        breakers = (number(row.metrics.get(tie)) for tie in ties)
        return (value if ascending else -value, *(math.inf if b is None else b for b in breakers))

    with_value = sorted((row for row in rows if ranked(row)), key=key)
    without = [row for row in rows if not ranked(row)]
    return with_value + without


def short_names(keys: Sequence[str], taken: Collection[str] = ()) -> dict[str, str]:
    """Each dotted key by its shortest ending that no other key ends with and that is not
    ``taken`` (another column's name): ``train.model.params.ridge.alpha`` -> ``alpha``,
    ``train.model.name`` -> ``model.name`` beside the ``name`` column."""
    parts = {key: key.split(".") for key in keys}
    short = {}
    for key, own in parts.items():
        for size in range(1, len(own) + 1):
            ending = own[-size:]
            clash = any(o[-size:] == ending for k, o in parts.items() if k != key)
            if not clash and ".".join(ending) not in taken:
                break
        short[key] = ".".join(ending)
    return short


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
    ties: list[str]  # the metrics that order rows with equal values of ``metric``

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
    def marked(self) -> Row | None:
        """The row ★ marks: what ``--best`` prints (the best finished experiment); with no
        finished experiment, the best row."""
        return self.best_experiment or self.best

    @property
    def has_experiments(self) -> bool:
        return any(row.kind == "experiment" for row in self.rows)

    @property
    def has_seconds(self) -> bool:
        return any(row.seconds is not None for row in self.rows)

    @property
    def show_baseline(self) -> bool:
        return len({row.baseline for row in self.rows if row.kind == "experiment"}) > 1

    @property
    def first_metric(self) -> int:
        """Index of the first metric column in :meth:`header`."""
        return 3 + int(self.show_baseline)

    @property
    def first_param(self) -> int:
        """Index of the first param column in :meth:`header` (after metrics and seconds)."""
        return self.first_metric + len(self.shown) + int(self.has_seconds)

    def header(self) -> list[str]:
        """Column names: mark, name, kind, [baseline], metrics, [seconds], params (by the
        shortest ending of their key that names one: ``alpha``, ``model.name``)."""
        extra = ["baseline"] if self.show_baseline else []
        seconds = [SECONDS] if self.has_seconds else []
        params = short_names(self.params, taken={*FIXED_COLUMNS, *self.shown})
        return ["", "name", "kind", *extra, *self.shown, *seconds, *params.values()]

    def table_rows(self, width: int | None = CELL_WIDTH) -> list[list[str]]:
        """The cells of each row under :meth:`header` (★ marks :attr:`marked`)."""
        marked = self.marked
        return [
            [
                "★" if row is marked else "",
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
        ties = f", equal values by {', '.join(self.ties)}" if self.ties else ""
        best = "best experiment (--best)" if self.best_experiment else "best"
        notes = [f"sorted by {self.metric} ({order}{ties}); ★ {best}"]
        if hidden:
            notes.append(f"{hidden} metric(s) equal in every row not shown")
        if self.has_seconds:
            notes.append(f"seconds: sum of the stage times in {TIMING_PREFIX}")
        if self.params:
            notes.append("params by the end of their key (--json: full keys and values)")
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
    ties = tie_breakers(metric, keys)
    ordered = sort_rows(rows, metric, direction, ties)
    return Comparison(
        rows=ordered,
        metric=metric,
        ascending=direction,
        metrics=keys,
        shown=shown_metrics(ordered, keys, metric),
        params=differing_params(rows),
        ties=ties,
    )
