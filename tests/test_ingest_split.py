"""The train/test split: stable per order when rows are appended, or the latest orders in test."""

from __future__ import annotations

import math

import polars as pl
import pytest
import sales_columns as c
from sales_columns import SALES

from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.ingest.split import assign_split, stable_unit_interval
from features_pipeline.ingest.synthetic import generate_sales


@pytest.fixture(scope="module")
def base() -> pl.DataFrame:
    return generate_sales(2000, seed=21)


@pytest.fixture(scope="module")
def appended(base: pl.DataFrame) -> pl.DataFrame:
    """``base`` plus 1000 new orders (new Order IDs) appended at the end."""
    extra = generate_sales(1000, seed=22).filter(
        ~pl.col(c.ORDER_ID).is_in(base[c.ORDER_ID].implode())
    )
    return pl.concat([base, extra])


def split_of(frame: pl.DataFrame) -> dict[int, str]:
    return dict(frame.select(c.ORDER_ID, SPLIT).iter_rows())


def test_adds_only_a_train_test_column_and_keeps_rows_in_order(base: pl.DataFrame) -> None:
    split = assign_split(base, "random", 0.2, 42, SALES)
    assert split.columns == [*base.columns, SPLIT]
    assert split.schema[SPLIT] == pl.String
    assert split.drop(SPLIT).equals(base)
    assert set(split[SPLIT].unique()) == {TRAIN, TEST}


@pytest.mark.parametrize("test_size", [0.1, 0.2, 0.5])
def test_random_split_puts_about_test_size_in_test(base: pl.DataFrame, test_size: float) -> None:
    share = (assign_split(base, "random", test_size, 42, SALES)[SPLIT] == TEST).mean()
    assert share == pytest.approx(test_size, abs=0.03)


def test_random_split_never_moves_an_existing_order_when_rows_are_appended(
    base: pl.DataFrame, appended: pl.DataFrame
) -> None:
    before = split_of(assign_split(base, "random", 0.2, 42, SALES))
    after = split_of(assign_split(appended, "random", 0.2, 42, SALES))
    assert appended.height > base.height + 900
    moved = [order for order, side in before.items() if after[order] != side]
    assert moved == []


def test_random_split_does_not_depend_on_row_order(base: pl.DataFrame) -> None:
    shuffled = base.sample(fraction=1.0, shuffle=True, seed=3)
    assert split_of(assign_split(shuffled, "random", 0.2, 42, SALES)) == split_of(
        assign_split(base, "random", 0.2, 42, SALES)
    )


def test_random_split_depends_on_its_seed(base: pl.DataFrame) -> None:
    first = assign_split(base, "random", 0.2, 42, SALES)[SPLIT]
    assert assign_split(base, "random", 0.2, 42, SALES)[SPLIT].equals(first)
    other = assign_split(base, "random", 0.2, 43, SALES)[SPLIT]
    assert (other != first).mean() > 0.1


def test_a_larger_random_test_size_only_moves_orders_from_train_to_test(
    base: pl.DataFrame,
) -> None:
    small = split_of(assign_split(base, "random", 0.1, 42, SALES))
    large = split_of(assign_split(base, "random", 0.3, 42, SALES))
    assert all(large[order] == TEST for order, side in small.items() if side == TEST)


def test_random_split_is_pinned_for_known_order_ids() -> None:
    """The hash is fixed (SplitMix64), so existing orders keep their side across releases."""
    ids = [100_000_000, 123_456_789, 669_165_933, 500_000_000, 987_654_321, 999_999_999]
    frame = pl.DataFrame({c.ORDER_ID: ids})
    assert assign_split(frame, "random", 0.5, 42, SALES)[SPLIT].to_list() == [
        TRAIN,
        TRAIN,
        TRAIN,
        TEST,
        TRAIN,
        TEST,
    ]
    assert stable_unit_interval(frame[c.ORDER_ID], 42).round(6).tolist() == [
        0.618048,
        0.764009,
        0.589035,
        0.212162,
        0.802459,
        0.03428,
    ]


@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.333])
def test_time_split_puts_the_latest_fraction_in_test(base: pl.DataFrame, test_size: float) -> None:
    split = assign_split(base, "time", test_size, 0, SALES)
    test = split.filter(pl.col(SPLIT) == TEST)
    train = split.filter(pl.col(SPLIT) == TRAIN)
    assert test.height == math.ceil(base.height * test_size)
    latest_train = train.select(c.ORDER_DATE, c.ORDER_ID).sort(c.ORDER_DATE, c.ORDER_ID).row(-1)
    earliest_test = test.select(c.ORDER_DATE, c.ORDER_ID).sort(c.ORDER_DATE, c.ORDER_ID).row(0)
    assert latest_train < earliest_test
    assert split.drop(SPLIT).equals(base)


def test_time_split_breaks_date_ties_by_order_id() -> None:
    day = generate_sales(1, seed=1)[c.ORDER_DATE][0]
    frame = pl.DataFrame({c.ORDER_DATE: [day] * 4, c.ORDER_ID: [400, 100, 300, 200]})
    split = assign_split(frame, "time", 0.5, 0, SALES)
    assert dict(split.select(c.ORDER_ID, SPLIT).iter_rows()) == {
        100: TRAIN,
        200: TRAIN,
        300: TEST,
        400: TEST,
    }


def test_time_split_does_not_depend_on_row_order(base: pl.DataFrame) -> None:
    shuffled = base.sample(fraction=1.0, shuffle=True, seed=4)
    assert split_of(assign_split(shuffled, "time", 0.2, 0, SALES)) == split_of(
        assign_split(base, "time", 0.2, 0, SALES)
    )


def test_time_split_after_appending_newer_orders_keeps_test_the_latest(
    base: pl.DataFrame,
) -> None:
    last = base[c.ORDER_DATE].max()
    newer = generate_sales(300, seed=23).with_columns(
        pl.lit(last).dt.offset_by("30d").alias(c.ORDER_DATE),
        pl.lit(last).dt.offset_by("40d").alias(c.SHIP_DATE),
    )
    newer = newer.filter(~pl.col(c.ORDER_ID).is_in(base[c.ORDER_ID].implode()))
    split = assign_split(pl.concat([base, newer]), "time", 0.2, 0, SALES)
    assert split.tail(newer.height)[SPLIT].unique().to_list() == [TEST]
    assert (split[SPLIT] == TEST).sum() == math.ceil(split.height * 0.2)
