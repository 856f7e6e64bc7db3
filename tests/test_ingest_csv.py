"""CSV files as found in the wild parse back to exactly the generated frame."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from sales_columns import read_sales_csv
from support import Dialect, WriteCsv, csv_text

from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import detect_separator

DIALECTS = [
    Dialect(headers=h, separator=s, newline=n, money=m, bom=b)
    for h, s, n, m, b in itertools.product(
        ["title", "snake"], [",", ";"], ["\n", "\r\n"], ["fixed", "trimmed"], [False, True]
    )
]

# The first row of the public "100 Sales Records.csv", with two decimals and with trailing zeros
# dropped as in the larger files; plus a Cereal row (unit price 205.70 -> "205.7").
PUBLIC_HEADER = (
    "Region,Country,Item Type,Sales Channel,Order Priority,Order Date,Order ID,Ship Date,"
    "Units Sold,Unit Price,Unit Cost,Total Revenue,Total Cost,Total Profit"
)
PUBLIC_FIXED = (
    "Australia and Oceania,Tuvalu,Baby Food,Offline,H,5/28/2010,669165933,6/27/2010,"
    "9925,255.28,159.42,2533654.00,1582243.50,951410.50\n"
    "Europe,Iceland,Cereal,Online,C,1/2/2011,123456789,1/12/2011,"
    "2806,205.70,117.11,577194.20,328610.66,248583.54\n"
)
PUBLIC_TRIMMED = (
    "Australia and Oceania,Tuvalu,Baby Food,Offline,H,5/28/2010,669165933,6/27/2010,"
    "9925,255.28,159.42,2533654,1582243.5,951410.5\n"
    "Europe,Iceland,Cereal,Online,C,1/2/2011,123456789,1/12/2011,"
    "2806,205.7,117.11,577194.2,328610.66,248583.54\n"
)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.label)
def test_every_dialect_reads_back_exactly_the_generated_frame(
    sales_small: pl.DataFrame, write_csv: WriteCsv, dialect: Dialect
) -> None:
    parsed = read_sales_csv(write_csv(sales_small, dialect))
    assert parsed.schema == sales_small.schema
    assert parsed.equals(sales_small)


@pytest.mark.parametrize("dates", ["mdy0", "iso"])
def test_zero_padded_and_iso_dates_are_read_too(
    sales_small: pl.DataFrame, write_csv: WriteCsv, dates: str
) -> None:
    assert read_sales_csv(write_csv(sales_small, Dialect(dates=dates))).equals(sales_small)


def test_the_dialect_writer_really_produces_the_awkward_spellings(
    sales_small: pl.DataFrame,
) -> None:
    """Guard for the round-trip test above: the sample hits every variant it claims to."""
    text = csv_text(sales_small, Dialect(money="trimmed", headers="snake"))
    header, *rows = text.splitlines()
    assert header.startswith("region,country,item_type,sales_channel,order_priority,")
    cells = [row.split(",") for row in rows]
    prices = {cell[9] for cell in cells} | {cell[10] for cell in cells}
    assert "205.7" in prices  # Cereal unit price without its trailing zero
    assert any("." not in cell[11] for cell in cells)  # a whole-number revenue like 566105
    assert any(cell[5].startswith(("1/", "2/", "3/")) for cell in cells)  # M/D/YYYY, no padding


def test_public_file_rows_with_or_without_trailing_zeros_give_the_same_values(
    tmp_path: Path,
) -> None:
    fixed = tmp_path / "fixed.csv"
    trimmed = tmp_path / "trimmed.csv"
    fixed.write_text(f"{PUBLIC_HEADER}\n{PUBLIC_FIXED}", encoding="utf-8")
    trimmed.write_text(f"{PUBLIC_HEADER}\n{PUBLIC_TRIMMED}", encoding="utf-8")
    frame = read_sales_csv(fixed)
    assert read_sales_csv(trimmed).equals(frame)
    assert frame.row(0, named=True) == {
        c.REGION: "Australia and Oceania",
        c.COUNTRY: "Tuvalu",
        c.ITEM_TYPE: "Baby Food",
        c.SALES_CHANNEL: "Offline",
        c.ORDER_PRIORITY: "H",
        c.ORDER_DATE: dt.date(2010, 5, 28),
        c.ORDER_ID: 669165933,
        c.SHIP_DATE: dt.date(2010, 6, 27),
        c.UNITS_SOLD: 9925,
        c.UNIT_PRICE: 255.28,
        c.UNIT_COST: 159.42,
        c.TOTAL_REVENUE: 2533654.0,
        c.TOTAL_COST: 1582243.5,
        c.TOTAL_PROFIT: 951410.5,
    }
    assert frame[c.UNIT_PRICE][1] == 205.70


def test_columns_in_another_order_come_back_in_canonical_order(
    sales_small: pl.DataFrame, write_csv: WriteCsv
) -> None:
    shuffled = sales_small.select(reversed(sales_small.columns))
    assert read_sales_csv(write_csv(shuffled)).equals(sales_small)


def test_unknown_extra_columns_are_dropped(sales_small: pl.DataFrame, write_csv: WriteCsv) -> None:
    extra = sales_small.with_columns(pl.lit("x").alias("Sales Rep"), pl.lit(1).alias("Row ID"))
    assert read_sales_csv(write_csv(extra)).equals(sales_small)


def test_a_file_with_every_field_quoted_is_read(
    sales_small: pl.DataFrame, write_csv: WriteCsv, tmp_path: Path
) -> None:
    plain = csv_text(sales_small)
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
        csv.reader(io.StringIO(plain))
    )
    path = tmp_path / "quoted.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert path.read_text(encoding="utf-8").startswith('"Region","Country"')
    assert read_sales_csv(path).equals(sales_small)


def test_blank_lines_at_the_end_are_ignored(sales_small: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text(csv_text(sales_small) + "\n\n", encoding="utf-8")
    assert read_sales_csv(path).equals(sales_small)


def test_a_column_spelled_twice_is_an_error_naming_both_spellings(
    sales_small: pl.DataFrame, write_csv: WriteCsv
) -> None:
    twice = sales_small.with_columns(pl.col(c.ITEM_TYPE).alias("item_type"))
    expected = r"column 'Item Type' appears twice \(as 'Item Type' and 'item_type'\)"
    with pytest.raises(UserError, match=expected):
        read_sales_csv(write_csv(twice))


def test_optional_columns_may_be_absent_from_the_file(
    sales_small: pl.DataFrame, write_csv: WriteCsv
) -> None:
    without = sales_small.drop(c.ORDER_PRIORITY)
    parsed = read_sales_csv(write_csv(without))
    assert c.ORDER_PRIORITY not in parsed.columns
    assert parsed.equals(without)


@pytest.mark.parametrize(
    ("header", "expected"),
    [(b"a,b;c", ","), (b"a;b;c", ";"), (b"Item Type;Unit Price,x;y", ";"), (b"single", ",")],
)
def test_separator_is_the_more_frequent_of_comma_and_semicolon(
    header: bytes, expected: str
) -> None:
    assert detect_separator(header) == expected
