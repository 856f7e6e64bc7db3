"""Bad input files end in one clear UserError naming the file, column, lines and values."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from sales_columns import read_sales_csv
from support import csv_text

from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import FIRST_DATA_LINE
from features_pipeline.ingest.synthetic import generate_sales

OPTIONAL_PRIORITY = tuple(name for name in c.RAW_COLUMNS if name != c.ORDER_PRIORITY)


@pytest.fixture(scope="module")
def sales() -> pl.DataFrame:
    return generate_sales(8, seed=5)


def ingest_csv(path: Path, required: Iterable[str] = c.RAW_COLUMNS) -> pl.DataFrame:
    """What the ingest stage does with a CSV: parse, then check the raw contract."""
    frame = read_sales_csv(path)
    return check_raw_contract(
        frame, str(path), c.SALES, first_row=FIRST_DATA_LINE, row_word="line", required=required
    )


def edit_cells(frame: pl.DataFrame, column: str, cells: dict[int, str]) -> str:
    """The CSV text of ``frame`` with the given data rows (0-based) of ``column`` replaced."""
    header, *rows = csv_text(frame).splitlines()
    index = frame.columns.index(column)
    for row, value in cells.items():
        fields = rows[row].split(",")
        fields[index] = value
        rows[row] = ",".join(fields)
    return "\n".join([header, *rows]) + "\n"


def with_units(frame: pl.DataFrame, row: int, units: int) -> pl.DataFrame:
    """``frame`` with Units Sold of one row changed and its totals kept consistent to the cent."""
    units_col = frame[c.UNITS_SOLD].scatter(row, units)
    price_cents = (frame[c.UNIT_PRICE] * 100).round(0).cast(pl.Int64)
    cost_cents = (frame[c.UNIT_COST] * 100).round(0).cast(pl.Int64)
    revenue, cost = units_col * price_cents, units_col * cost_cents
    return frame.with_columns(
        units_col.alias(c.UNITS_SOLD),
        (revenue / 100).alias(c.TOTAL_REVENUE),
        (cost / 100).alias(c.TOTAL_COST),
        ((revenue - cost) / 100).alias(c.TOTAL_PROFIT),
    )


def error_for(path: Path, required: Iterable[str] = c.RAW_COLUMNS) -> str:
    with pytest.raises(UserError) as caught:
        ingest_csv(path, required)
    message = str(caught.value)
    assert "\n" not in message, "a user error is one line"
    assert message.startswith(f"{path}: "), "a user error names the file first"
    return message


def write(tmp_path: Path, data: str | bytes, name: str = "sales.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_a_good_file_passes_and_is_returned_unchanged(sales: pl.DataFrame, tmp_path: Path) -> None:
    assert ingest_csv(write(tmp_path, csv_text(sales))).equals(sales)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert error_for(path) == f"{path}: file not found"


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert "is a directory" in error_for(tmp_path)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \r\n", b"\xef\xbb\xbf"], ids=repr)
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    assert error_for(path) == f"{path}: file is empty (expected a header line and data rows)"


@pytest.mark.parametrize("ending", ["", "\n", "\r\n\r\n"], ids=repr)
def test_header_only(sales: pl.DataFrame, tmp_path: Path, ending: str) -> None:
    header = csv_text(sales).splitlines()[0]
    path = write(tmp_path, header + ending)
    assert error_for(path) == f"{path}: header only, no data rows"


def test_missing_required_column_is_named(sales: pl.DataFrame, tmp_path: Path) -> None:
    path = write(tmp_path, csv_text(sales.drop(c.UNITS_SOLD, c.ORDER_PRIORITY)))
    message = error_for(path)
    assert message == f"{path}: missing required column(s) 'Order Priority', 'Units Sold'"


def test_unparsable_dates_name_the_column_lines_and_values(
    sales: pl.DataFrame, tmp_path: Path
) -> None:
    path = write(tmp_path, edit_cells(sales, c.ORDER_DATE, {1: "13/45/2010", 4: "May 5"}))
    assert error_for(path) == (
        f"{path}: column 'Order Date': 2 value(s) are not a date like 5/28/2010 "
        "(line 3: '13/45/2010', line 6: 'May 5')"
    )


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [
        (c.UNIT_PRICE, "abc", "are not a number (line 5: 'abc')"),
        (c.TOTAL_PROFIT, '"1,5"', "are not a number (line 5: '1,5')"),  # decimal comma
        (c.UNITS_SOLD, "12.5", "are not a whole number (line 5: '12.5')"),
        (c.ORDER_ID, "A-123", "are not a whole number (line 5: 'A-123')"),
    ],
)
def test_unparsable_numbers_name_the_column_line_and_value(
    sales: pl.DataFrame, tmp_path: Path, column: str, cell: str, expected: str
) -> None:
    path = write(tmp_path, edit_cells(sales, column, {3: cell}))
    assert error_for(path) == f"{path}: column {column!r}: 1 value(s) {expected}"


def test_empty_cells_are_reported_as_empty(sales: pl.DataFrame, tmp_path: Path) -> None:
    path = write(tmp_path, edit_cells(sales, c.COUNTRY, {0: "", 6: "  "}))
    assert error_for(path) == (
        f"{path}: column 'Country': 2 value(s) are empty (line 2: empty, line 8: '  ')"
    )


def test_only_the_first_three_offenders_are_listed_with_the_total_count(
    sales: pl.DataFrame, tmp_path: Path
) -> None:
    path = write(tmp_path, edit_cells(sales, c.UNIT_COST, {r: f"x{r}" for r in range(1, 6)}))
    with pytest.raises(UserError) as caught:
        ingest_csv(path)
    assert str(caught.value) == (
        f"{path}: column 'Unit Cost': 5 value(s) are not a number "
        "(line 3: 'x1', line 4: 'x2', line 5: 'x3')"
    )
    details = caught.value.details
    assert details is not None
    assert details["line"].to_list() == [3, 4, 5, 6, 7]


@pytest.mark.parametrize("units", [-3, 0])
def test_units_sold_must_be_positive(sales: pl.DataFrame, tmp_path: Path, units: int) -> None:
    path = write(tmp_path, csv_text(with_units(sales, 3, units)))
    assert error_for(path) == (
        f"{path}: column 'Units Sold' fails check 'Units Sold > 0' in 1 row(s) (line 5: '{units}')"
    )


def test_duplicated_order_id_names_every_line_holding_it(
    sales: pl.DataFrame, tmp_path: Path
) -> None:
    duplicated = sales[c.ORDER_ID][1]
    path = write(tmp_path, edit_cells(sales, c.ORDER_ID, {5: str(duplicated)}))
    message = error_for(path)
    assert message.startswith(f"{path}: column 'Order ID' fails check ")
    assert f"in 2 row(s) (line 3: '{duplicated}', line 7: '{duplicated}')" in message


def test_non_utf8_bytes_name_the_line_column_and_value(sales: pl.DataFrame, tmp_path: Path) -> None:
    text = edit_cells(sales, c.COUNTRY, {2: "C\xf4te d'Ivoire"})
    path = write(tmp_path, text.encode("latin-1"))
    assert error_for(path) == (
        f"{path}: line 4, column 'Country': not valid UTF-8 ('C\\xf4te d'Ivoire'); "
        "save the file as UTF-8"
    )


def test_non_utf8_header_is_reported_not_mistaken_for_a_missing_column(
    sales: pl.DataFrame, tmp_path: Path
) -> None:
    text = csv_text(sales).replace("Region", "R\xe9gion", 1)
    path = write(tmp_path, text.encode("cp1252"))
    assert error_for(path) == (
        f"{path}: line 1, header: not valid UTF-8 ('R\\xe9gion'); save the file as UTF-8"
    )


def test_ship_date_before_order_date(sales: pl.DataFrame, tmp_path: Path) -> None:
    order_date = sales[c.ORDER_DATE][2]
    early = f"{order_date.month}/{order_date.day}/{order_date.year - 1}"
    path = write(tmp_path, edit_cells(sales, c.SHIP_DATE, {2: early}))
    message = error_for(path)
    assert message.startswith(
        f"{path}: column 'Ship Date' fails check 'Ship Date >= Order Date' in 1 row(s) (line 4: "
    )


@pytest.mark.parametrize(
    ("column", "check"),
    [
        (c.TOTAL_REVENUE, "Total Revenue == Units Sold x Unit Price (to the cent)"),
        (c.TOTAL_COST, "Total Cost == Units Sold x Unit Cost (to the cent)"),
        (c.TOTAL_PROFIT, "Total Profit == Total Revenue - Total Cost (to the cent)"),
    ],
)
def test_totals_off_by_one_cent_are_caught(
    sales: pl.DataFrame, tmp_path: Path, column: str, check: str
) -> None:
    off = f"{sales[column][6] + 0.01:.2f}"
    path = write(tmp_path, edit_cells(sales, column, {6: off}))
    message = error_for(path)
    assert message.startswith(f"{path}: column {column!r} fails check {check!r} in 1 row(s)")
    assert "(line 8: " in message


def test_totals_within_float_noise_of_the_cent_pass(sales: pl.DataFrame, tmp_path: Path) -> None:
    noisy = f"{sales[c.TOTAL_REVENUE][0] + 1e-7:.7f}"
    assert ingest_csv(write(tmp_path, edit_cells(sales, c.TOTAL_REVENUE, {0: noisy}))).height == 8


@pytest.mark.parametrize(("column", "value"), [(c.SALES_CHANNEL, "Web"), (c.ORDER_PRIORITY, "X")])
def test_unknown_category_values(
    sales: pl.DataFrame, tmp_path: Path, column: str, value: str
) -> None:
    path = write(tmp_path, edit_cells(sales, column, {7: value}))
    message = error_for(path)
    assert message.startswith(f'{path}: column {column!r} fails check "one of [')
    assert message.endswith(f"in 1 row(s) (line 9: {value!r})")


def test_file_without_order_priority_passes_when_it_is_not_required(
    sales: pl.DataFrame, tmp_path: Path
) -> None:
    without = sales.drop(c.ORDER_PRIORITY)
    path = write(tmp_path, csv_text(without))
    assert ingest_csv(path, OPTIONAL_PRIORITY).equals(without)
    assert error_for(path) == f"{path}: missing required column(s) 'Order Priority'"


def test_an_optional_column_that_is_present_is_still_checked(
    sales: pl.DataFrame, tmp_path: Path
) -> None:
    path = write(tmp_path, edit_cells(sales, c.ORDER_PRIORITY, {0: "Urgent"}))
    assert "column 'Order Priority' fails check" in error_for(path, OPTIONAL_PRIORITY)


def test_cross_checks_are_skipped_when_an_optional_input_is_absent(
    sales: pl.DataFrame,
) -> None:
    required = [name for name in c.RAW_COLUMNS if name != c.TOTAL_PROFIT]
    without = sales.drop(c.TOTAL_PROFIT)
    assert check_raw_contract(without, "x", c.SALES, required=required).equals(without)


def test_an_empty_frame_is_rejected(sales: pl.DataFrame) -> None:
    with pytest.raises(UserError, match=r"^generated: no data rows$"):
        check_raw_contract(sales.clear(), "generated", c.SALES)
