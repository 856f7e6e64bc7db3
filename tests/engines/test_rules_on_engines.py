"""The contract's row rules, defined once (``ingest.rules``), give the same failure counts on
Polars (through pandera's raw contract and directly), DuckDB and Spark, and bring back only a
bounded sample of failing rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import polars as pl
import pytest
import sales_columns as c

from features_pipeline.engines.base import Executor
from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.rules import count_failures, failing_rows, row_rules
from features_pipeline.ingest.synthetic import generate_sales

ENGINES = [
    pytest.param("duckdb", marks=pytest.mark.duckdb),
    pytest.param("spark", marks=pytest.mark.spark),
]


def broken_sales() -> pl.DataFrame:
    """500 generated orders with known breaks of five different rules."""
    frame = generate_sales(500, seed=8).with_row_index("i")
    row = pl.col("i")
    return frame.with_columns(
        pl.when(row.is_in([3, 40, 41])).then(-2).otherwise(pl.col(c.UNITS_SOLD))
        .alias(c.UNITS_SOLD),
        pl.when(row.is_in([7, 8])).then(pl.lit("Phone")).otherwise(pl.col(c.SALES_CHANNEL))
        .alias(c.SALES_CHANNEL),
        pl.when(row == 9).then(pl.col(c.ORDER_DATE) - pl.duration(days=1))
        .otherwise(pl.col(c.SHIP_DATE)).alias(c.SHIP_DATE),
        pl.when(row == 11).then(pl.col(c.TOTAL_COST) + 0.01).otherwise(pl.col(c.TOTAL_COST))
        .alias(c.TOTAL_COST),
    ).drop("i")  # fmt: skip


EXPECTED = {
    "Units Sold > 0": 3,
    "one of ['Offline', 'Online']": 2,
    "Ship Date >= Order Date": 1,
    # three rows of units -2 break both totals; row 11's cost breaks cost and profit
    "Total Revenue == Units Sold x Unit Price (to the cent)": 3,
    "Total Cost == Units Sold x Unit Cost (to the cent)": 4,
    "Total Profit == Total Revenue - Total Cost (to the cent)": 1,
}


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {message: count for message, count in counts.items() if count}


def test_polars_counts_equal_the_pandera_raw_contract() -> None:
    broken = broken_sales()
    counts = nonzero(count_failures(broken.lazy(), row_rules(c.SALES)))
    assert counts == EXPECTED
    with pytest.raises(UserError) as caught:
        check_raw_contract(broken, "broken", c.SALES)
    details = caught.value.details
    assert details is not None
    by_check = Counter(details.get_column("check").to_list())
    assert {message: by_check[message] for message in EXPECTED} == EXPECTED


def test_a_clean_table_fails_no_rule() -> None:
    assert nonzero(count_failures(generate_sales(300, seed=2), row_rules(c.SALES))) == {}


def test_rules_of_absent_columns_are_skipped() -> None:
    frame = broken_sales().drop(c.TOTAL_PROFIT, c.SALES_CHANNEL)
    counts = count_failures(frame, row_rules(c.SALES))
    assert "Total Profit == Total Revenue - Total Cost (to the cent)" not in counts
    assert "one of ['Offline', 'Online']" not in counts
    assert counts["Units Sold > 0"] == 3


@pytest.fixture(scope="module")
def duckdb_executor() -> Iterator[DuckDbExecutor]:
    with DuckDbExecutor() as executor:
        yield executor  # type: ignore[misc]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_counts_what_polars_counts(
    engine: str, request: pytest.FixtureRequest
) -> None:
    executor: Executor = request.getfixturevalue(f"{engine}_executor")
    table = executor.from_polars(broken_sales())
    assert nonzero(count_failures(table, row_rules(c.SALES))) == EXPECTED
    rule = next(r for r in row_rules(c.SALES) if r.message == "Units Sold > 0")
    sample = failing_rows(table, rule, [c.ORDER_ID, c.UNITS_SOLD], limit=2)
    assert sample.shape == (2, 2)  # bounded: 2 of the 3 failing rows come back
    assert set(sample.get_column(c.UNITS_SOLD).to_list()) == {-2}
