"""The synthetic generator reproduces the facts of the public Sales Records files."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sales_columns as c
from sales_columns import read_sales_csv
from support import WriteCsv

from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.reference import COUNTRIES_BY_REGION, ITEM_PRICES
from features_pipeline.ingest.synthetic import generate_sales


def cents(name: str) -> pl.Expr:
    return (pl.col(name) * 100).round(0).cast(pl.Int64)


def test_has_the_14_canonical_columns_in_file_order_with_raw_dtypes(
    sales_small: pl.DataFrame,
) -> None:
    assert sales_small.columns == [
        "Region",
        "Country",
        "Item Type",
        "Sales Channel",
        "Order Priority",
        "Order Date",
        "Order ID",
        "Ship Date",
        "Units Sold",
        "Unit Price",
        "Unit Cost",
        "Total Revenue",
        "Total Cost",
        "Total Profit",
    ]
    assert dict(sales_small.schema) == c.RAW_SCHEMA
    assert sales_small.height == 200
    assert sales_small.null_count().sum_horizontal().item() == 0


def test_seven_regions_and_185_countries_as_in_the_reference(sales_medium: pl.DataFrame) -> None:
    assert len(COUNTRIES_BY_REGION) == 7
    assert sum(len(countries) for countries in COUNTRIES_BY_REGION.values()) == 185
    assert set(sales_medium[c.REGION].unique()) == set(COUNTRIES_BY_REGION)
    assert sales_medium[c.COUNTRY].n_unique() == 185


def test_each_country_is_always_in_its_own_region(sales_medium: pl.DataFrame) -> None:
    region_of = {
        country: region for region, names in COUNTRIES_BY_REGION.items() for country in names
    }
    pairs = sales_medium.select(c.COUNTRY, c.REGION).unique()
    assert pairs.height == 185  # one region per country
    for country, region in pairs.iter_rows():
        assert region_of[country] == region, country


def test_twelve_item_types_each_with_its_fixed_reference_price_and_cost(
    sales_medium: pl.DataFrame,
) -> None:
    prices = sales_medium.group_by(c.ITEM_TYPE).agg(
        pl.col(c.UNIT_PRICE).unique().alias("prices"),
        pl.col(c.UNIT_COST).unique().alias("costs"),
    )
    assert prices.height == 12
    found = {item: (p, k) for item, p, k in prices.iter_rows()}
    assert found == {item: ([price], [cost]) for item, (price, cost) in ITEM_PRICES.items()}
    # A few values as they appear in the public files, independent of the reference module.
    assert ITEM_PRICES["Cereal"] == (205.70, 117.11)
    assert ITEM_PRICES["Baby Food"] == (255.28, 159.42)


def test_sales_channel_is_online_or_offline_about_half_each(sales_medium: pl.DataFrame) -> None:
    shares = sales_medium[c.SALES_CHANNEL].value_counts(normalize=True)
    share = dict(shares.iter_rows())
    assert set(share) == {"Online", "Offline"}
    assert share["Online"] == pytest.approx(0.5, abs=0.03)


def test_order_priority_is_c_h_l_m_about_a_quarter_each(sales_medium: pl.DataFrame) -> None:
    share = dict(sales_medium[c.ORDER_PRIORITY].value_counts(normalize=True).iter_rows())
    assert set(share) == {"C", "H", "L", "M"}
    for priority, fraction in share.items():
        assert fraction == pytest.approx(0.25, abs=0.03), priority


def test_order_dates_span_2010_01_01_to_2017_07_28(sales_medium: pl.DataFrame) -> None:
    dates = sales_medium[c.ORDER_DATE]
    assert dates.min() >= dt.date(2010, 1, 1)
    assert dates.max() <= dt.date(2017, 7, 28)
    # ...and really cover the whole range, not a corner of it.
    assert dates.min() < dt.date(2010, 2, 1)
    assert dates.max() >= dt.date(2017, 7, 1)


def test_ship_date_is_0_to_50_days_after_order_date(sales_medium: pl.DataFrame) -> None:
    days = (sales_medium[c.SHIP_DATE] - sales_medium[c.ORDER_DATE]).dt.total_days()
    assert days.min() == 0
    assert days.max() == 50
    assert days.n_unique() == 51


def test_units_sold_are_integers_from_1_to_10000(sales_medium: pl.DataFrame) -> None:
    units = sales_medium[c.UNITS_SOLD]
    assert units.dtype == pl.Int64
    assert units.min() >= 1
    assert units.max() <= 10_000
    assert units.max() > 9_000  # spread over the range, not clustered


def test_order_ids_are_unique_nine_digit_numbers(sales_medium: pl.DataFrame) -> None:
    ids = sales_medium[c.ORDER_ID]
    assert ids.n_unique() == sales_medium.height
    assert ids.min() >= 100_000_000
    assert ids.max() <= 999_999_999
    assert ids.cast(pl.String).str.len_chars().unique().to_list() == [9]


def test_totals_are_units_times_price_and_cost_exact_to_the_cent(
    sales_medium: pl.DataFrame,
) -> None:
    checked = sales_medium.select(
        revenue_ok=cents(c.TOTAL_REVENUE) == pl.col(c.UNITS_SOLD) * cents(c.UNIT_PRICE),
        cost_ok=cents(c.TOTAL_COST) == pl.col(c.UNITS_SOLD) * cents(c.UNIT_COST),
        profit_ok=cents(c.TOTAL_PROFIT) == cents(c.TOTAL_REVENUE) - cents(c.TOTAL_COST),
    )
    assert checked.select(pl.all().all()).row(0) == (True, True, True)
    # Every money value is the float nearest to a whole number of cents (no 0.30000000000000004).
    for name in (c.UNIT_PRICE, c.UNIT_COST, c.TOTAL_REVENUE, c.TOTAL_COST, c.TOTAL_PROFIT):
        values = sales_medium[name].to_list()
        assert all(float(f"{value:.2f}") == value for value in values), name


def test_same_seed_gives_the_same_frame_and_another_seed_another(
    sales_small: pl.DataFrame,
) -> None:
    assert generate_sales(200, seed=7).equals(sales_small)
    other = generate_sales(200, seed=8)
    assert not other.equals(sales_small)
    assert other[c.ORDER_ID].to_list() != sales_small[c.ORDER_ID].to_list()


def test_has_the_same_dtypes_and_values_as_the_csv_it_is_written_to(
    sales_small: pl.DataFrame, write_csv: WriteCsv
) -> None:
    parsed = read_sales_csv(write_csv(sales_small))
    assert parsed.schema == sales_small.schema
    assert parsed.equals(sales_small)


def test_passes_the_raw_contract_unchanged(sales_medium: pl.DataFrame) -> None:
    assert check_raw_contract(sales_medium, "synthetic sample", c.SALES).equals(sales_medium)


@pytest.mark.parametrize("rows", [0, -3])
def test_rejects_a_non_positive_row_count(rows: int) -> None:
    with pytest.raises(ValueError, match="rows must be positive"):
        generate_sales(rows, seed=1)
