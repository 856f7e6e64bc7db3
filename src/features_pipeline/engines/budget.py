"""``engine.memory_limit``, the one memory budget every stage honours: what a stage that holds its
table in memory (an in-memory engine) would need, and the one line when that is over budget.

An out-of-core engine streams or spills within the budget instead (DuckDB gets its share of it,
``engines/duckdb.py``; ingest, train and evaluate read and write a batch at a time).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from features_pipeline.engines.params import EngineParams, format_bytes
from features_pipeline.errors import UserError
from features_pipeline.logs import get_logger

log = get_logger(__name__)

# Peak RSS of the features stage on Polars (the shipped spec, 15 input + 19 feature columns):
# 0.39 GB at 0.6M rows, 0.94 GB at 2M rows (issue 23; benchmarks/README.md, "Bigger than
# memory"): ~390 bytes a row, ~11.5 a cell, over ~0.16 GB of Python, Polars and imports
IN_MEMORY_FIXED_BYTES = 160_000_000
IN_MEMORY_BYTES_PER_CELL = 12


def in_memory_bytes(rows: int, columns: int) -> int:
    """What a stage holding a ``rows`` x ``columns`` table in memory needs at its peak."""
    return IN_MEMORY_FIXED_BYTES + rows * columns * IN_MEMORY_BYTES_PER_CELL


def bounded(engine: EngineParams) -> bool:
    """Whether the stages read and write the local tables a batch at a time (an out-of-core
    engine, or any engine under a memory budget) rather than the whole table at once. Never for
    an engine with warehouse tables: there the tables are not local files, and the cluster
    bounds the work (the stages take their cluster paths)."""
    from features_pipeline.engines.registry import capabilities

    engine_can = capabilities(engine.name)
    if engine_can.warehouse_tables:
        return False
    return engine_can.out_of_core or engine.budget_bytes is not None


# With no engine.memory_limit, an out-of-core engine still computes a table estimated under this
# in memory: a fixed figure, not this machine's memory, so that the same params choose the same
# path (and write the same bytes) on every machine.
IN_MEMORY_CEILING_WITHOUT_BUDGET = 2_000_000_000
# The estimate ran ~10 % low at 1M rows (0.64 GB measured, 0.58 estimated): the in-memory path is
# taken only this far under the budget.
IN_MEMORY_MARGIN = 1.25


def in_memory_if_fits(
    stage: str, engine: EngineParams, table: Path, added: int = 0
) -> EngineParams:
    """The engine that computes ``stage`` on the parquet ``table`` (with ``added`` columns more):
    an out-of-core engine on one machine hands a table whose in-memory estimate fits
    ``engine.memory_limit`` to the in-memory engine (issue 23: DuckDB's window operators sort the
    whole table, 6x Polars' time at 1M rows; both compute the same values: the conformance
    suite), else ``engine`` itself. Reads only the file's footer."""
    from features_pipeline.engines.registry import capabilities, engine_names

    can = capabilities(engine.name)
    if not engine.in_memory_if_fits or not can.out_of_core or can.cluster or can.in_memory:
        return engine
    scan = pl.scan_parquet(table)
    rows = int(scan.select(pl.len()).collect().item())
    needed = in_memory_bytes(rows, len(scan.collect_schema()) + added)
    ceiling = engine.budget_bytes or IN_MEMORY_CEILING_WITHOUT_BUDGET
    if needed * IN_MEMORY_MARGIN > ceiling:
        return engine
    in_memory = engine_names(lambda can: can.in_memory)[0]
    within = (
        f"engine.memory_limit {engine.memory_limit}"
        if engine.memory_limit
        else (f"{format_bytes(ceiling)} (no engine.memory_limit)")
    )
    log.info(
        "the %s-row table fits %s in memory (about %s): %s computed by %s, not %s "
        "(engine.in_memory_if_fits: false keeps it on %s)",
        f"{rows:,}",
        within,
        format_bytes(needed),
        stage,
        in_memory,
        engine.name,
        engine.name,
    )
    return engine.model_copy(update={"name": in_memory})


# A part's table gets this share of the budget; its cells take IN_MEMORY_BYTES_PER_CELL each.
# The rest is the process (Python, Polars, DuckDB's freed buffers): 9M rows in 700MB, parts
# of at most a half peaked at 704 MB (a part of 0.73M rows on ~0.38 GB), of at most 0.35 at
# 0.61 GB.
PART_SHARE = 0.35


def cells_per_part(engine: EngineParams) -> int | None:
    """How many cells a part of a table bigger than memory may hold when an out-of-core engine on
    one machine computes the features a part at a time in memory (``features/parts.py``); None
    where it does not (an in-memory or cluster engine, or ``engine.in_memory_if_fits: false``).
    Without a budget, parts of the fixed ceiling: the same parts on every machine."""
    from features_pipeline.engines.registry import capabilities

    can = capabilities(engine.name)
    if not engine.in_memory_if_fits or not can.out_of_core or can.cluster or can.in_memory:
        return None
    budget = engine.budget_bytes or IN_MEMORY_CEILING_WITHOUT_BUDGET
    return max(int(budget * PART_SHARE) // IN_MEMORY_BYTES_PER_CELL, 1)


def require_in_budget(stage: str, engine: EngineParams, table: Path, added: int = 0) -> None:
    """One line naming the stage and what it would need when the parquet ``table`` (with
    ``added`` columns more) does not fit ``engine.memory_limit`` on an in-memory engine (nothing
    without a budget or on an engine that is not in memory). Reads only the file's footer."""
    from features_pipeline.engines.registry import capabilities

    if engine.budget_bytes is None or not capabilities(engine.name).in_memory:
        return
    scan = pl.scan_parquet(table)
    rows = int(scan.select(pl.len()).collect().item())
    require_rows_in_budget(stage, engine, rows, len(scan.collect_schema()) + added)


def require_rows_in_budget(stage: str, engine: EngineParams, rows: int, columns: int) -> None:
    """:func:`require_in_budget` for a table of ``rows`` x ``columns`` (not yet written)."""
    from features_pipeline.engines.registry import capabilities, engine_names

    budget = engine.budget_bytes
    needed = in_memory_bytes(rows, columns)
    if budget is None or not capabilities(engine.name).in_memory or needed <= budget:
        return
    streaming = " or ".join(engine_names(lambda can: can.out_of_core and not can.cluster))
    raise UserError(
        f"{stage}: engine.memory_limit: {engine.memory_limit} is not enough for engine.name: "
        f"{engine.name}, which holds the {rows:,} x {columns} table in memory (about "
        f"{format_bytes(needed)} needed); raise it, or set engine.name: {streaming} "
        "(streams and spills within the budget)"
    )


# The train stage's memory: a fixed part (Python, Polars, scikit-learn, skops, the model) and a
# part per cell of the rows fitted (the frame, its numpy copy, the encoded matrix, the CV folds'
# copies). Measured with peak RSS of the train stage (default model) at 0.16M-1.6M train rows:
# benchmarks/README.md, "Bigger than memory".
FIT_FIXED_BYTES = 500_000_000
FIT_BYTES_PER_CELL = 48
MIN_FIT_ROWS = 1_000  # fewer rows than this is no model


def fit_bytes(rows: int, columns: int) -> int:
    """The train stage's peak memory fitting ``rows`` rows of ``columns`` columns."""
    return FIT_FIXED_BYTES + rows * columns * FIT_BYTES_PER_CELL


def budget_rows(budget: int | None, columns: int) -> int | None:
    """The most train rows of ``columns`` columns a fit within ``budget`` bytes takes (None:
    no budget); below :data:`MIN_FIT_ROWS`, ValueError naming what the fit would need."""
    if budget is None:
        return None
    rows = (budget - FIT_FIXED_BYTES) // (columns * FIT_BYTES_PER_CELL)
    if rows < MIN_FIT_ROWS:
        needed = format_bytes(fit_bytes(MIN_FIT_ROWS, columns))
        raise ValueError(f"a fit of {MIN_FIT_ROWS:,} rows x {columns} columns needs about {needed}")
    return int(rows)
