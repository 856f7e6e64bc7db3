"""A feature table bigger than memory computed a part at a time (features/parts.py, issue 23):
DuckDB learns the tables, Polars computes each part (whole window groups) in memory, and the
merged table is the one the in-memory engine computes from the whole table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sales_columns import COUNTRY, ITEM_TYPE, SALES, SALES_ORDER, UNITS_SOLD, sales_plan

from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.parts import (
    MIN_ROW_GROUP,
    fit_transform_in_parts,
    part_count,
    part_keys,
    parts_for,
)
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.io import ROW_GROUP_ROWS, append_pieces

pytestmark = pytest.mark.duckdb

SHIPPED_SPEC = Path(__file__).resolve().parents[1] / "config" / "features.yaml"
ROWS = 60_000
COLUMNS = 35  # the shipped spec's 15 input, 19 feature columns and the row position
SMALL_PARTS = 12_000 * COLUMNS  # cells: parts of at most 12,000 rows, at least five of them


@pytest.fixture(scope="module")
def sales(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, Path]:
    """~60k generated orders (random 80/20 split, shuffled: no order to rely on), and the same
    rows as the interim parquet table."""
    frame = assign_split(generate_sales(ROWS, seed=5), "random", 0.2, 42, SALES)
    frame = frame.sample(fraction=1.0, shuffle=True, seed=2)
    path = tmp_path_factory.mktemp("parts") / "sales.parquet"
    frame.write_parquet(path)
    return frame, path


def plan_of(specs: list[dict[str, object]], schema: dict[str, pl.DataType]) -> Plan:
    features = parse_features(specs, "parts test")
    return build_plan(features, schema, "Total Profit", "parts test", "duckdb", order=SALES_ORDER)


def in_parts(source: Path, target: Path, plan: Plan, cells: int | None) -> pl.DataFrame:
    with DuckDbExecutor() as executor:
        fit_transform_in_parts(source, target, plan, executor, cells_per_part=cells)
    return pl.read_parquet(target)


def test_the_shipped_spec_in_parts_is_the_in_memory_table_exactly(
    sales: tuple[pl.DataFrame, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame, source = sales
    plan = sales_plan(SHIPPED_SPEC, dict(frame.schema), engine="duckdb")
    parts = parts_for(source, plan, SMALL_PARTS)
    assert parts is not None
    assert parts.keys == (COUNTRY,)
    assert parts.count >= 5

    with caplog.at_level("INFO", logger="features_pipeline"):
        computed = in_parts(source, tmp_path / "features.parquet", plan, SMALL_PARTS)
    expected, _ = fit_transform(frame, sales_plan(SHIPPED_SPEC, dict(frame.schema)))
    assert_frame_equal(computed, expected, check_exact=True)  # same values, same row order
    assert f"features computed in memory in {parts.count} part(s) of whole Country" in caplog.text
    assert not list(tmp_path.glob(".*"))  # the parts' folder is gone


def test_windows_of_several_key_sets_split_by_the_keys_they_share(
    sales: tuple[pl.DataFrame, Path], tmp_path: Path
) -> None:
    frame, source = sales
    specs: list[dict[str, object]] = [
        {"name": "prev", "type": "lag", "column": UNITS_SOLD, "by": [COUNTRY, ITEM_TYPE]},
        {"name": "seen", "type": "cumulative", "agg": "count", "by": [ITEM_TYPE, COUNTRY]},
        {"name": "rank", "type": "rank", "column": UNITS_SOLD, "by": [ITEM_TYPE]},
        {"name": "mean", "type": "group_agg", "column": UNITS_SOLD, "by": [COUNTRY], "agg": "mean"},
    ]
    plan = plan_of(specs, dict(frame.schema))
    assert part_keys(plan) == (ITEM_TYPE,)
    computed = in_parts(source, tmp_path / "features.parquet", plan, SMALL_PARTS)
    expected, _ = fit_transform(frame, plan)
    assert_frame_equal(computed, expected, check_exact=True)


def test_without_windows_any_rows_make_a_part(
    sales: tuple[pl.DataFrame, Path], tmp_path: Path
) -> None:
    frame, source = sales
    specs: list[dict[str, object]] = [
        {"name": "mean", "type": "group_agg", "column": UNITS_SOLD, "by": [COUNTRY], "agg": "mean"},
        {"name": "log_units", "type": "log", "column": UNITS_SOLD},
    ]
    plan = plan_of(specs, dict(frame.schema))
    assert part_keys(plan) == ()
    assert part_count(source, (), 20, 20 * 10_000) == 6  # rows 60k / 10k, no group to keep whole
    computed = in_parts(source, tmp_path / "features.parquet", plan, 20 * 10_000)
    assert_frame_equal(computed, fit_transform(frame, plan)[0], check_exact=True)


def test_a_table_that_does_not_split_is_computed_by_the_engine_alone(
    sales: tuple[pl.DataFrame, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame, source = sales
    whole_table: list[dict[str, object]] = [  # a window over the whole table: no keys to split by
        {"name": "seen", "type": "cumulative", "agg": "count"},
    ]
    plan = plan_of(whole_table, dict(frame.schema))
    assert part_keys(plan) is None
    with caplog.at_level("INFO", logger="features_pipeline"):
        computed = in_parts(source, tmp_path / "features.parquet", plan, SMALL_PARTS)
    assert_frame_equal(computed, fit_transform(frame, plan)[0], check_exact=True)
    assert "in memory in" not in caplog.text

    # one group bigger than a part: no number of parts holds it
    by_channel = plan_of(
        [{"name": "seen", "type": "cumulative", "agg": "count", "by": ["Sales Channel"]}],
        dict(frame.schema),
    )
    assert parts_for(source, by_channel, SMALL_PARTS) is None  # two channels, ~30k rows each


def test_float_keys_are_not_split_by(sales: tuple[pl.DataFrame, Path]) -> None:
    frame, _ = sales
    specs: list[dict[str, object]] = [
        {"name": "prev", "type": "lag", "column": UNITS_SOLD, "by": ["Unit Price", COUNTRY]},
    ]
    assert part_keys(plan_of(specs, dict(frame.schema))) == (COUNTRY,)  # -0.0, 0.0 hash apart


def test_a_value_outside_a_domain_is_refused_for_the_whole_table(
    sales: tuple[pl.DataFrame, Path], tmp_path: Path
) -> None:
    frame, _ = sales
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([7, 40_000]))
        .then(-5)
        .otherwise(pl.col(UNITS_SOLD))
        .alias(UNITS_SOLD)
    )
    source = tmp_path / "bad.parquet"
    bad.write_parquet(source)
    plan = sales_plan(SHIPPED_SPEC, dict(frame.schema), engine="duckdb")
    target = tmp_path / "features.parquet"
    with pytest.raises(UserError) as in_memory:
        fit_transform(bad, sales_plan(SHIPPED_SPEC, dict(frame.schema)))
    with pytest.raises(UserError) as refused:
        in_parts(source, target, plan, SMALL_PARTS)
    assert str(refused.value) == str(in_memory.value)  # both rows, numbered in the whole table
    assert "2 negative value(s) (row 8: -5, row 40001: -5)" in str(refused.value)
    assert not target.exists()
    assert not list(tmp_path.glob(".*"))


def test_the_merge_window_is_never_below_a_row_group(sales: tuple[pl.DataFrame, Path]) -> None:
    frame, source = sales
    plan = sales_plan(SHIPPED_SPEC, dict(frame.schema), engine="duckdb")
    parts = parts_for(source, plan, COLUMNS * 2_000)
    assert parts is not None
    assert parts.window_rows == MIN_ROW_GROUP


def test_pieces_are_appended_in_row_groups_a_reader_holds_one_at_a_time(tmp_path: Path) -> None:
    """DuckDB reads a row group per thread: the validate stage on 50M rows in 3GB ran out of
    memory on the merge's 625k-row groups."""
    import pyarrow.parquet as pq

    pieces = [pl.DataFrame({"x": range(start, start + 150_000)}) for start in (0, 150_000)]
    target = tmp_path / "table.parquet"
    assert append_pieces(iter(pieces), target) == 1
    groups = pq.ParquetFile(target).metadata
    sizes = [groups.row_group(index).num_rows for index in range(groups.num_row_groups)]
    assert sizes == [ROW_GROUP_ROWS, 150_000 - ROW_GROUP_ROWS] * 2
    assert_frame_equal(pl.read_parquet(target), pl.concat(pieces))
