"""A feature table bigger than memory, computed a part at a time in memory (issue 23).

An out-of-core engine learns the fitted features' tables from the whole table and checks the
domains; the rows are split into parts that keep every window feature's ``by`` groups whole (a
hash of the ``by`` columns all window features share); Polars computes each part in memory with
the learned tables; the parts are merged back into input row order a window of rows at a time.
A row's features read only its own row, the learned tables and the rows of its window groups,
so each part computes what the whole table would: the in-memory engine's values (given the same
learned tables: the conformance suite holds them to 12 significant digits), at Polars' speed,
within the memory a part needs.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from features_pipeline.engines.base import ROW, Executor
from features_pipeline.engines.polars import PolarsExecutor, native
from features_pipeline.features.engine import (
    check_domains,
    fit_state,
    fit_transform_file,
    require_split,
    run_planned,
)
from features_pipeline.features.params import Mode
from features_pipeline.features.plan import Plan
from features_pipeline.features.state import FittedState
from features_pipeline.io import append_pieces, atomic_path, temp_path
from features_pipeline.logs import get_logger, span

log = get_logger(__name__)

PART = "__part__"
MAX_PARTS = 4096  # beyond this a group is too big for a part: the engine computes it out of core
# The merge holds a window's rows about this many times over (the row groups read, the window,
# its sorted copy, its Arrow copy): a window takes this share of a part's cells.
MERGE_COPIES = 4
MIN_ROW_GROUP = 10_000


def part_keys(plan: Plan) -> tuple[str, ...] | None:
    """The input columns to split rows by so that every window feature's groups stay whole: the
    ``by`` columns all window features share (not floats: -0.0 and 0.0 hash apart but group
    together). ``()``: no window feature, any split will do; None: no such columns (a window
    over the whole table, or over groups of computed columns only)."""
    shared: set[str] | None = None
    for planned in plan.features:
        by = planned.feature.window_by()
        if by is not None:
            shared = set(by) if shared is None else shared & set(by)
    if shared is None:
        return ()
    keys = tuple(
        name for name, dtype in plan.input_schema.items() if name in shared and not dtype.is_float()
    )
    return keys or None


def scan_rows(source: Path) -> pl.LazyFrame:
    """The parquet table at ``source`` with each row's 0-based position in ROW."""
    return pl.scan_parquet(source).with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))


def part_of(keys: Sequence[str], parts: int) -> pl.Expr:
    """The part (0 .. parts - 1) of a row: by a hash of ``keys`` (rows of equal keys share a
    part), or by its position without keys."""
    spread = pl.struct(*keys).hash(seed=0) if keys else pl.col(ROW)
    return (spread % parts).alias(PART)


def part_count(source: Path, keys: Sequence[str], columns: int, cells_per_part: int) -> int | None:
    """The number of parts whose largest holds at most ``cells_per_part`` cells of ``columns``
    columns (the computed table's) of the rows of the table at ``source``: from the even share
    up, by the largest part's excess (each part is a pass over the table); None when one group
    alone holds more."""
    scan = scan_rows(source)
    rows = int(scan.select(pl.len()).collect().item())
    parts = max(1, math.ceil(rows * columns / cells_per_part))
    while parts <= MAX_PARTS:
        sizes = scan.select(part_of(keys, parts)).group_by(PART).len()
        largest = int(sizes.select(pl.col("len").max()).collect(engine="streaming").item() or 0)
        if largest * columns <= cells_per_part:
            return parts
        parts = max(parts + 1, math.ceil(parts * largest * columns / cells_per_part))
    return None


def transform_part(part: pl.DataFrame, plan: Plan, state: FittedState) -> pl.DataFrame:
    """Every feature of ``plan`` on ``part`` (its input columns and ROW, whole window groups)
    with the learned tables of ``state``; ROW first, rows in ``part``'s order."""
    executor = PolarsExecutor()
    result, _ = run_planned(executor.table(part.rechunk()), plan, executor, state, checked=False)
    return native(result).collect()


def write_parts(
    source: Path,
    folder: Path,
    plan: Plan,
    state: FittedState,
    parts: Parts,
) -> list[Path]:
    """Each of ``parts`` of the table at ``source`` computed in memory and written to ``folder``
    (one part in memory at a time), in row groups of about a merge window's share of its rows
    (a window then reads little more of each part than it takes); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    scan = scan_rows(source)
    row_group = max(parts.window_rows // parts.count, MIN_ROW_GROUP)
    written: list[Path] = []
    for index in range(parts.count):
        started = time.perf_counter()
        chosen = part_of(parts.keys, parts.count) == index
        rows = scan.filter(chosen).collect(engine="streaming")
        if not rows.get_column(ROW).is_sorted():
            rows = rows.sort(ROW)
        computed = transform_part(rows, plan, state)
        del rows
        path = folder / f"part-{index:05d}.parquet"
        computed.write_parquet(path, compression="lz4", row_group_size=row_group)
        span(log, "part", time.perf_counter() - started, part=index, rows=computed.height)
        del computed
        written.append(path)
    return written


def in_row_order(paths: Sequence[Path], window_rows: int) -> Iterator[pl.DataFrame]:
    """The rows of the parts at ``paths`` (each sorted by ROW) in ROW order, without ROW, a
    window of ``window_rows`` positions at a time (the row groups' statistics skip the rest)."""
    scan = pl.scan_parquet(list(paths))
    rows = int(scan.select(pl.len()).collect().item())
    for low in range(0, max(rows, 1), window_rows):
        window = scan.filter(pl.col(ROW).is_between(low, low + window_rows, closed="left"))
        yield window.collect().sort(ROW).drop(ROW)


def merge_parts(paths: Sequence[Path], target: Path, window_rows: int) -> tuple[int, int]:
    """The parts at ``paths`` as one parquet table in input row order at ``target``
    (atomically), a window at a time; returns (rows, columns)."""
    with atomic_path(target) as temporary:
        columns = append_pieces(in_row_order(paths, window_rows), temporary)
    rows = int(pl.scan_parquet(target).select(pl.len()).collect().item())
    return rows, columns


@dataclass(frozen=True)
class Parts:
    """How a table is computed in parts: split by ``keys`` into ``count`` parts, merged back
    ``window_rows`` rows at a time."""

    keys: tuple[str, ...]
    count: int
    window_rows: int


def parts_for(source: Path, plan: Plan, cells_per_part: int) -> Parts | None:
    """The parts of at most ``cells_per_part`` cells that the table at ``source`` computed by
    ``plan`` splits into; None when it does not (see :func:`part_keys`, :func:`part_count`)."""
    keys = part_keys(plan)
    if keys is None:
        return None
    columns = len(plan.output_schema) + 1  # and ROW
    count = part_count(source, keys, columns, cells_per_part)
    if count is None:
        return None
    window = max(cells_per_part // (columns * MERGE_COPIES), MIN_ROW_GROUP)
    return Parts(keys, count, window)


def fit_transform_in_parts(
    source: Path,
    target: Path,
    plan: Plan,
    executor: Executor,
    mode: Mode = "planned",
    cells_per_part: int | None = None,
) -> tuple[tuple[int, int], FittedState]:
    """:func:`fit_transform_file`, in parts of at most ``cells_per_part`` cells computed in memory
    where the plan splits into parts (else, or without ``cells_per_part``, on ``executor`` alone).
    The engine learns the tables from the whole table and checks its domains."""
    parts = None
    if cells_per_part is not None and mode == "planned":
        parts = parts_for(source, plan, cells_per_part)
    if parts is None:
        return fit_transform_file(source, target, plan, executor, mode)
    frame = executor.scan_parquet(source)
    require_split(frame.collect_schema().names())
    state = fit_state(frame, plan, executor)
    executor.free_memory()  # the learning queries' buffers, before the parts take the memory
    frame = executor.scan_parquet(source)
    log.info(
        "features computed in memory in %d part(s) of whole %s groups (at most %s cells each)",
        parts.count,
        " x ".join(parts.keys) or "row",
        f"{cells_per_part:,}",
    )
    folder = temp_path(target.with_name(f"{target.name}.parts"))
    try:
        paths = write_parts(source, folder, plan, state, parts)
        check_domains(frame, executor.scan_rows(paths), plan, executor)
        return merge_parts(paths, target, parts.window_rows), state
    finally:
        shutil.rmtree(folder, ignore_errors=True)
