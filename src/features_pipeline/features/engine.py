"""Run a plan on any engine: one ``with_columns`` per dependency level (parallel in Polars).

Feature expressions are narwhals expressions, the same on every engine; an executor
(``features_pipeline.engines``) binds them to Polars, DuckDB or Spark. Fitted features learn one
table per key set and level from ``split == "train"`` rows only; the learned tables are
collected as Polars frames, rounded, and form the :class:`FittedState` that :func:`transform`
reuses on new rows (always with Polars).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.plan_file import Kind
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.engines.base import ROW, Executor, Ordering
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.errors import UserError
from features_pipeline.features.params import Mode
from features_pipeline.features.plan import Plan, PlannedFeature
from features_pipeline.features.state import FittedState, LearnedTable
from features_pipeline.features.types import FittedFeature
from features_pipeline.logs import get_logger, span

log = get_logger(__name__)

SIGNIFICANT_DIGITS = 12  # learned floats are rounded so parallel sums give identical bytes
SHOWN_EXAMPLES = 3
Frame = nw.LazyFrame[Any]


def narwhals_dtype(dtype: pl.DataType) -> Any:
    """The narwhals dtype of a planned Polars dtype."""
    if isinstance(dtype, pl.Datetime):
        return nw.Datetime(dtype.time_unit, dtype.time_zone)
    return getattr(nw, type(dtype).__name__)()


def _fitted(level: Sequence[PlannedFeature]) -> list[FittedFeature]:
    return [
        p.feature for p in level if isinstance(p.feature, FittedFeature) and p.feature.is_fitted
    ]


def _by_keys(features: Sequence[FittedFeature]) -> dict[tuple[str, ...], list[FittedFeature]]:
    grouped: dict[tuple[str, ...], list[FittedFeature]] = {}
    for feature in features:
        grouped.setdefault(feature.fit_keys(), []).append(feature)
    return grouped


def learn_queries(train: Frame, features: Sequence[FittedFeature]) -> list[Frame]:
    """One aggregation query per distinct key set of ``features``."""
    queries = []
    for keys, group in _by_keys(features).items():
        aggregations = [expression for feature in group for expression in feature.fit_expressions()]
        queries.append(
            train.group_by(*keys).agg(*aggregations) if keys else train.select(*aggregations)
        )
    return queries


def finish_table(
    table: pl.DataFrame, keys: Sequence[str], group: Sequence[FittedFeature]
) -> pl.DataFrame:
    """A collected learned table made deterministic: sorted by its keys, finished (e.g. counts to
    shares), floats rounded to 12 significant digits (engines sum in different orders)."""
    table = table.sort(list(keys)) if keys else table
    table = table.with_columns(  # DuckDB sums BIGINT into HUGEINT: Decimal(38, 0) when collected
        pl.col(name).cast(pl.Int64 if dtype.scale == 0 else pl.Float64)
        for name, dtype in table.schema.items()
        if isinstance(dtype, pl.Decimal)
    )
    finishing = [expression for feature in group for expression in feature.finish_expressions()]
    if finishing:
        table = table.with_columns(finishing)
    return table.with_columns(pl.col(pl.Float64).round_sig_figs(SIGNIFICANT_DIGITS))


def learn_tables(
    frame: Frame, features: Sequence[FittedFeature], executor: Executor
) -> list[LearnedTable]:
    """Fit ``features`` on the training rows of ``frame`` (all key sets in one collect)."""
    train = frame.filter(nw.col(SPLIT) == TRAIN)
    grouped = _by_keys(features)
    started = time.perf_counter()
    tables = executor.collect_all(learn_queries(train, features))
    learned = [
        LearnedTable(
            keys=keys,
            features=tuple(feature.name for feature in group),
            table=finish_table(table, keys, group),
        )
        for (keys, group), table in zip(grouped.items(), tables, strict=True)
    ]
    seconds = time.perf_counter() - started  # one collect for all key sets: the tables share it
    for table in learned:
        span(
            log,
            "learned_table",
            seconds,
            keys=table.keys,
            features=table.features,
            rows=table.table.height,
            tables_in_one_collect=len(learned),
        )
    return learned


def attach_learned(frame: Frame, table: LearnedTable, executor: Executor) -> Frame:
    """Every row with the learned columns of its keys; a one-row keyless table as literals."""
    learned = [name for name in table.table.columns if name not in table.keys]
    if not table.keys and table.table.height == 1:
        row, schema = table.table.row(0, named=True), table.table.schema
        return frame.with_columns(
            nw.lit(row[name], narwhals_dtype(schema[name])).alias(name) for name in learned
        )
    return executor.join_learned(frame, table.table, table.keys)


def build_expression(planned: PlannedFeature, sequences: dict[Ordering, str]) -> nw.Expr:
    """The expression computing a planned feature, cast to its planned dtype."""
    ordering = planned.feature.ordering()
    sequence = sequences.get(ordering) if ordering is not None else None
    expression = planned.feature.compute(sequence)
    return expression.cast(narwhals_dtype(planned.dtype)).alias(planned.name)


def _run_level(
    frame: Frame,
    level: Sequence[PlannedFeature],
    tables: Sequence[LearnedTable],
    executor: Executor,
    sequences: dict[Ordering, str],
) -> Frame:
    """Joins for the level's fitted features, its helper columns, then one ``with_columns`` (and
    one of native Polars forms on the Polars engine)."""
    for table in tables:
        frame = attach_learned(frame, table, executor)
    native: list[pl.Expr] = []
    portable: list[PlannedFeature] = []
    helpers: dict[str, nw.Expr] = {}
    for planned in level:
        ordering = planned.feature.ordering()
        sequence = sequences.get(ordering) if ordering is not None else None
        fast = planned.feature.polars_expression(sequence) if executor.runs_polars else None
        if fast is not None:
            native.append(fast.cast(planned.dtype).alias(planned.name))
            continue
        portable.append(planned)
        helpers.update(planned.feature.helpers(sequence))
    if helpers:
        frame = frame.with_columns(expression.alias(name) for name, expression in helpers.items())
    names = {planned.name for planned in level}
    learned = [
        column
        for table in tables
        for column in table.table.columns
        if column not in table.keys and column not in names
    ]
    expressions = [build_expression(planned, sequences) for planned in portable]
    if expressions:
        frame = frame.with_columns(*expressions)
    if native:
        frame = executor.with_polars_columns(frame, native)
    return frame.drop(*learned, *helpers)


def _level_tables(
    frame: Frame,
    level: Sequence[PlannedFeature],
    state: FittedState | None,
    executor: Executor,
) -> tuple[Frame, list[LearnedTable]]:
    fitted = _fitted(level)
    if not fitted:
        return frame, []
    if state is not None:
        return frame, state.tables_for({feature.name for feature in fitted})
    source = executor.learning_frame(frame)  # learned and joined from the same rows
    return source, learn_tables(source, fitted, executor)


def check_domains(source: Frame, result: Frame, plan: Plan, executor: Executor) -> None:
    """Refuse inputs outside a feature's domain (e.g. negative values under ``log``) by name.

    A domain on an input column is checked on ``source``, the rows as read: on the ``result``
    query DuckDB would compute every window feature again for each check (issue 23: 1M rows,
    1.9 of the stage's 14 s)."""
    inputs = set(source.collect_schema().names())
    checks = [(p.feature, domain) for p in plan.features if (domain := p.feature.domain())]
    for feature, domain in checks:
        bad = (source if domain.column in inputs else result).filter(domain.invalid)
        counted, shown = executor.collect_all(
            [
                bad.select(nw.len().alias("rows")),
                bad.sort(ROW).select(ROW, domain.column).head(SHOWN_EXAMPLES),
            ]
        )
        count = int(counted.item())
        if count:
            examples = ", ".join(f"row {row + 1}: {value!r}" for row, value in shown.iter_rows())
            raise UserError(
                f"{plan.source}: feature {feature.name!r} ({feature.type}): column "
                f"{domain.column!r} has {count} {domain.problem} value(s) ({examples}); "
                f"{domain.rule}"
            )


def computing_levels(plan: Plan) -> list[list[PlannedFeature]]:
    """The plan's levels as computed: a window feature no other feature reads moves to the last
    level, so a level that learns tables never asks for a window it does not need (DuckDB keeps
    unused window operators in the learning query: issue 23, 1M rows, 0.9 s a level)."""
    levels = [list(level) for level in plan.levels]
    read = {column for p in plan.features for column in p.feature.inputs()}
    last = levels[-1] if levels else []
    for level in levels[:-1]:
        deferred = [p for p in level if p.kind is Kind.WINDOW and p.name not in read]
        level[:] = [p for p in level if p not in deferred]
        last.extend(deferred)
    return levels


def fit_state(frame: Frame, plan: Plan, executor: Executor) -> FittedState:
    """Every fitted feature's learned tables, from the training rows of ``frame``, without
    computing the feature table: levels are built only as far as the last one that learns, and
    only with the features the learning reads (DuckDB binds every expression of a level it is
    given: issue 23, 1M rows, 3.5 s of fitting with all 17 of the first level)."""
    levels = computing_levels(plan)
    learning = [depth for depth, level in enumerate(levels) if _fitted(level)]
    if not learning:
        return _state(plan, None, [])
    read = [column for level in levels for feature in _fitted(level) for column in feature.inputs()]
    needed = set(plan.needed_features(read))
    building = [[p for p in level if p.name in needed] for level in levels[: learning[-1]]]
    orderings = [o for level in building for p in level if (o := p.feature.ordering())]
    lazy, sequences = executor.with_sequences(frame, list(dict.fromkeys(orderings)))
    learned: list[LearnedTable] = []
    for depth, level in enumerate(levels[: learning[-1] + 1]):
        lazy, tables = _level_tables(lazy, level, None, executor)
        learned.extend(tables)
        if depth < len(building):
            joined = [table for table in tables if needed.intersection(table.features)]
            lazy = _run_level(lazy, building[depth], joined, executor, sequences)
    return _state(plan, None, learned)


def run_planned(
    frame: Frame,
    plan: Plan,
    executor: Executor,
    state: FittedState | None = None,
    checked: bool = True,
) -> tuple[Frame, FittedState]:
    """All features, level by level; fits on training rows unless a state is given; refuses
    values outside a feature's domain unless not ``checked`` (the caller checks the whole table).

    Returns the (materialised) table with ROW and the plan's columns in output order."""
    orderings = list(dict.fromkeys(o for p in plan.features if (o := p.feature.ordering())))
    lazy, sequences = executor.with_sequences(frame, orderings)
    learned: list[LearnedTable] = []
    seconds: list[float] = []
    levels = computing_levels(plan)
    for depth, level in enumerate(levels):
        started = time.perf_counter()
        lazy, tables = _level_tables(lazy, level, state, executor)
        learned.extend(tables)
        lazy = _run_level(lazy, level, tables, executor, sequences)
        seconds.append(time.perf_counter() - started)
        collects = state is None and bool(tables)  # its time includes earlier lazy levels
        span(log, "level", seconds[-1], level=depth, features=len(level), collects=collects)
    started = time.perf_counter()
    result = executor.finished(_ordered_output(lazy.drop(*sequences.values()), plan))
    collected = time.perf_counter() - started
    if checked:
        check_domains(frame, result, plan, executor)
    if log.isEnabledFor(logging.DEBUG):
        _log_features(plan, levels, seconds, collected, _rows(result, executor))
    return result, _state(plan, state, learned)


def _rows(frame: Frame, executor: Executor) -> int:
    [counted] = executor.collect_all([frame.select(nw.len().alias("rows"))])
    return int(counted.item())


def _log_features(
    plan: Plan,
    levels: Sequence[Sequence[PlannedFeature]],
    seconds: Sequence[float],
    collect: float,
    rows: int,
) -> None:
    """A DEBUG span per feature. A level's features are computed together (one ``with_columns``),
    so their seconds are those of the level computing them (``level``: see
    :func:`computing_levels`; ``seconds=level``). Levels are lazy:
    their work runs in the next collect, that of a level that learns tables (``collects=True``)
    or the final one."""
    computed_in = {p.name: depth for depth, level in enumerate(levels) for p in level}
    span(log, "collect", collect, rows=rows, after_level=len(levels) - 1)
    for index, planned in enumerate(plan.features, start=1):
        span(
            log,
            "feature",
            seconds[computed_in[planned.name]],
            index=index,
            name=planned.name,
            type=planned.feature.type,
            kind=planned.kind.value,
            level=computed_in[planned.name],
            rows=rows,
            seconds="level",
        )


def run_sequential(
    frame: Frame, plan: Plan, executor: Executor, state: FittedState | None = None
) -> tuple[Frame, FittedState]:
    """Baseline for benchmarks only: one feature at a time, each computed before the next."""
    learned: list[LearnedTable] = []
    for planned in plan.features:
        tables: list[LearnedTable] = []
        if planned.feature.is_fitted:
            if state is None:
                tables = learn_tables(frame, _fitted([planned]), executor)
            else:
                tables = [_only(table, planned.name) for table in state.tables_for({planned.name})]
            learned.extend(tables)
        frame = executor.materialize(_run_level(frame, [planned], tables, executor, {}))
    result = _ordered_output(frame, plan)
    check_domains(result, result, plan, executor)
    return result, _state(plan, state, learned)


def _ordered_output(frame: Frame, plan: Plan) -> Frame:
    columns = frame.collect_schema().names()
    inputs = [name for name in columns if name not in plan.names and name != SPLIT]
    tail = [SPLIT] if SPLIT in columns else []
    return frame.select(*inputs, *plan.names, *tail)


def _only(table: LearnedTable, name: str) -> LearnedTable:
    """The part of a learned table that belongs to one feature."""
    own = [
        column for column in table.table.columns if column == name or column.startswith(f"{name}__")
    ]
    return LearnedTable(table.keys, (name,), table.table.select([*table.keys, *own]))


def _state(plan: Plan, state: FittedState | None, learned: list[LearnedTable]) -> FittedState:
    if state is not None:
        return state
    specs = tuple(p.feature.model_dump(mode="json", exclude_none=True) for p in plan.features)
    return FittedState(plan=plan, specs=specs, tables=tuple(learned))


def _runner(mode: Mode) -> Any:
    return run_planned if mode == "planned" else run_sequential


def require_split(columns: Sequence[str]) -> None:
    if SPLIT not in columns:
        raise UserError(f"input has no {SPLIT!r} column: fitted features need train rows")


def fit_transform(
    frame: pl.DataFrame,
    plan: Plan,
    mode: Mode = "planned",
    executor: Executor | None = None,
) -> tuple[pl.DataFrame, FittedState]:
    """Compute every feature of ``plan`` on an in-memory frame, fitting on train rows; the result
    comes back as Polars in input row order (default executor: Polars)."""
    require_split(frame.columns)
    executor = executor or PolarsExecutor()
    result, state = _runner(mode)(executor.from_polars(frame), plan, executor)
    return executor.to_polars(result), state


def fit_transform_file(
    source: Path, target: Path, plan: Plan, executor: Executor, mode: Mode = "planned"
) -> tuple[tuple[int, int], FittedState]:
    """Read the parquet table at ``source`` on ``executor``, compute every feature and write the
    table to ``target`` (input row order, atomically); returns ((rows, cols), state). The data
    stays on the engine: DuckDB spills to disk rather than holding it in memory."""
    frame = executor.scan_parquet(source)
    require_split(frame.collect_schema().names())
    result, state = _runner(mode)(frame, plan, executor)
    return executor.write_parquet(result, target), state


def transform(new_rows: pl.DataFrame, state: FittedState) -> pl.DataFrame:
    """Add every feature to raw-typed ``new_rows`` using the training state (nothing is refit)."""
    executor = PolarsExecutor()
    result, _ = run_planned(executor.from_polars(new_rows), state.plan, executor, state)
    return executor.to_polars(result)
