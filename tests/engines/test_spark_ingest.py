"""Raw CSVs read by Spark (``ingest.spark_csv``) give the Polars reader's table, row order and
errors; the split on Spark and DuckDB (``ingest.spark_split``) puts the same rows in test as on
Polars."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
import sales_columns as c
from polars.testing import assert_frame_equal
from sales_columns import SALES, read_sales_csv
from support import Dialect, csv_text, write_sales_csv

from features_pipeline.contracts.dataset import ROW_NUMBER, load_contract, parse_contract
from features_pipeline.engines.base import ROW
from features_pipeline.engines.spark import arrow_to_polars
from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import read_csv_table
from features_pipeline.ingest.spark_csv import read_csv_spark, with_row_number_spark
from features_pipeline.ingest.spark_split import assign_split_duckdb, assign_split_spark
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.table import with_row_number

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark

SUPERSTORE = Path(__file__).resolve().parents[2] / "examples" / "superstore"
SUPERSTORE_CONTRACT = load_contract(SUPERSTORE / "dataset.yaml")


def collected(frame: DataFrame) -> pl.DataFrame:
    """The Spark frame in ROW order, ROW checked to be 0..n-1 and dropped."""
    table = arrow_to_polars(frame.toArrow()).sort(ROW)
    assert table.get_column(ROW).to_list() == list(range(table.height))
    return table.drop(ROW)


def spark_read(spark: SparkSession, paths: list[Path], contract: Any = SALES) -> pl.DataFrame:
    return collected(read_csv_spark(spark, [str(p) for p in paths], contract, "dataset.yaml"))


@pytest.fixture
def small_splits(spark_session_local: SparkSession) -> Iterator[None]:
    """Files cut into 2 KB splits: many tasks per file, read in any order."""
    conf = spark_session_local.conf
    conf.set("spark.sql.files.maxPartitionBytes", "2048")
    conf.set("spark.sql.files.openCostInBytes", "0")
    yield
    conf.unset("spark.sql.files.maxPartitionBytes")
    conf.unset("spark.sql.files.openCostInBytes")


DIALECTS = [
    Dialect(),
    Dialect(headers="snake", separator=";", newline="\r\n", money="trimmed", bom=True),
    Dialect(separator=";", money="trimmed", dates="iso"),
    Dialect(headers="snake", newline="\r\n", dates="mdy0", bom=True),
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.label)
def test_every_dialect_reads_as_the_polars_reader(
    spark_session_local: SparkSession, sales_small: pl.DataFrame, tmp_path: Path, dialect: Dialect
) -> None:
    path = write_sales_csv(tmp_path / "sales.csv", sales_small, dialect)
    expected = read_sales_csv(path)
    assert expected.equals(sales_small)
    assert_frame_equal(spark_read(spark_session_local, [path]), expected)


def test_quoted_fields_with_commas_and_shouting_spaced_headers(
    spark_session_local: SparkSession, sales_small: pl.DataFrame, tmp_path: Path
) -> None:
    frame = sales_small.with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 0)
        .then(pl.lit('Korea, South "ROK"'))
        .otherwise(pl.col(c.COUNTRY))
        .alias(c.COUNTRY)
    )
    rows = list(csv.reader(io.StringIO(csv_text(sales_small, Dialect(money="trimmed")))))
    for index, row in enumerate(rows[1:]):
        if index % 3 == 0:
            row[1] = 'Korea, South "ROK"'
    rows[0] = [f"  {name.upper()} " for name in rows[0]]
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "quoted.csv"
    path.write_text(buffer.getvalue() + "\r\n\r\n", encoding="utf-8")  # blank lines at the end
    assert '"Korea, South ""ROK"""' in buffer.getvalue()
    expected = read_sales_csv(path)
    assert expected.equals(frame)
    assert_frame_equal(spark_read(spark_session_local, [path]), expected)


def test_the_superstore_example_with_two_digit_years(spark_session_local: SparkSession) -> None:
    path = SUPERSTORE / "superstore.csv"
    expected = read_csv_table(path, SUPERSTORE_CONTRACT)
    got = spark_read(spark_session_local, [path], SUPERSTORE_CONTRACT)
    assert_frame_equal(got, expected)
    assert got.get_column("Order Date").dt.year().min() >= 2000  # 13/11/18 is 2018, not 1918


def test_datetimes_booleans_nullable_cells_and_unpivoted_two_digit_years(
    spark_session_local: SparkSession, tmp_path: Path
) -> None:
    contract = parse_contract(
        {
            "name": "types",
            "columns": {
                "id": {"type": "integer"},
                "at": {"type": "datetime"},
                "flag": {"type": "boolean"},
                "note": {"type": "text", "nullable": True},
                "x": {"type": "float", "nullable": True},
                "day": {"type": "date", "formats": ["%d.%m.%y"]},
            },
            "key": ["id"],
            "target": "x",
        },
        "types.yaml",
    )
    path = tmp_path / "types.csv"
    path.write_text(
        "ID;At;Flag;Note;X;Day\n"
        "1;2010-05-28 14:30:00;TRUE; a b ;1e3;28.05.69\n"
        "2;2010-05-28T04:05:06;no;;;01.01.70\n"
        '3; 2011-01-02 03:04:05 ;Y;"x;y";-.5;1.2.00\n',
        encoding="utf-8",
    )
    expected = read_csv_table(path, contract)
    assert expected.get_column("day").dt.year().to_list() == [2069, 1970, 2000]
    assert_frame_equal(spark_read(spark_session_local, [path], contract), expected)
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text(encoding="utf-8").replace("-.5", "n/a"), encoding="utf-8")
    message = spark_error(spark_session_local, [str(bad)], contract)
    assert message == polars_error(bad, contract)
    assert message == f"{bad}: column 'x': 1 value(s) are not a number (line 4: 'n/a')"


def test_parts_are_read_in_the_given_order_across_many_splits(
    spark_session_local: SparkSession,
    sales_medium: pl.DataFrame,
    tmp_path: Path,
    small_splits: None,
) -> None:
    chunks = [sales_medium.slice(0, 1500), sales_medium.slice(1500, 700), sales_medium[2200:]]
    dialects = [Dialect(), Dialect(separator=";", newline="\r\n", bom=True), Dialect()]
    paths = [
        write_sales_csv(tmp_path / name, chunk.select(reversed(chunk.columns)) if i else chunk, d)
        for i, (name, chunk, d) in enumerate(
            zip(["b.csv", "c.csv", "a.csv"], chunks, dialects, strict=True)
        )
    ]
    splits = spark_session_local.read.text(str(paths[0])).rdd.getNumPartitions()
    assert splits > 20  # the first part is read by many tasks
    got = spark_read(spark_session_local, paths)
    assert_frame_equal(got, sales_medium)
    assert_frame_equal(got, pl.concat([read_sales_csv(p) for p in paths]))


def polars_error(path: Path, contract: Any = SALES) -> str:
    with pytest.raises(UserError) as caught:
        read_csv_table(path, contract, "dataset.yaml")
    return str(caught.value)


def spark_error(spark: SparkSession, sources: list[str], contract: Any = SALES) -> str:
    with pytest.raises(UserError) as caught:
        read_csv_spark(spark, sources, contract, "dataset.yaml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_bad_value_names_the_file_line_column_and_value_as_polars_does(
    spark_session_local: SparkSession,
    sales_medium: pl.DataFrame,
    tmp_path: Path,
    small_splits: None,
) -> None:
    lines = csv_text(sales_medium).splitlines(keepends=True)
    for line in (2500, 3001):  # file lines, far apart: in different splits
        cells = lines[line - 1].split(",")
        cells[8] = "12x" if line == 2500 else " 7.5 "  # Units Sold
        lines[line - 1] = ",".join(cells)
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines), encoding="utf-8")
    message = spark_error(spark_session_local, [str(path)])
    assert message == polars_error(path)
    assert message == (
        f"{path}: column 'Units Sold': 2 value(s) are not a whole number "
        "(line 2500: '12x', line 3001: ' 7.5 ')"
    )


def test_a_date_outside_the_plausible_years_is_named(
    spark_session_local: SparkSession, tmp_path: Path
) -> None:
    text = (SUPERSTORE / "superstore.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    text[41] = text[41].replace("/18,", "/99,", 1)  # 1999: before the contract's 2000
    path = tmp_path / "superstore.csv"
    path.write_text("".join(text[:60]), encoding="utf-8")
    message = spark_error(spark_session_local, [str(path)], SUPERSTORE_CONTRACT)
    assert message == polars_error(path, SUPERSTORE_CONTRACT)
    assert message.startswith(f"{path}: column 'Order Date': 1 value(s) have a year outside")
    assert "(line 42: " in message


def test_a_second_part_with_a_bad_cell_is_named_with_its_own_line(
    spark_session_local: SparkSession, sales_small: pl.DataFrame, tmp_path: Path
) -> None:
    good = write_sales_csv(tmp_path / "a.csv", sales_small)
    lines = csv_text(sales_small, Dialect(separator=";")).splitlines(keepends=True)
    lines[6] = lines[6].replace(";Online;", ";;").replace(";Offline;", ";;")
    bad = tmp_path / "b.csv"
    bad.write_text("".join(lines), encoding="utf-8")
    message = spark_error(spark_session_local, [str(good), f"file://{bad}"])
    assert message == polars_error(bad).replace(str(bad), f"file://{bad}", 1)
    assert message == f"file://{bad}: column 'Sales Channel': 1 value(s) are empty (line 7: empty)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "{uri}: file is empty (expected a header line and data rows)"),
        ("Region,Country\n", "{uri}: line 1: required column(s) 'Item Type', "),
        (None, "{uri}: header only, no data rows"),
        ("long", "{uri}: line 3: more than 14 field(s), the header has 14"),
        ("missing", "{uri}: file not found"),
        ("quote", "{uri}: line 4: a double quote is not closed"),
        ("utf8", "{uri}: line 5: not valid UTF-8; save the file as UTF-8"),
    ],
    ids=["empty", "required-missing", "header-only", "long-line", "not-found", "quote", "utf8"],
)
def test_file_errors_are_one_line_naming_the_file(
    spark_session_local: SparkSession,
    sales_small: pl.DataFrame,
    tmp_path: Path,
    content: str | None,
    expected: str,
) -> None:
    path = tmp_path / "sales.csv"
    text = csv_text(sales_small.head(5))
    if content is None:
        path.write_text(text.splitlines()[0] + "\n", encoding="utf-8")
    elif content == "long":
        lines = text.splitlines(keepends=True)
        lines[2] = lines[2].rstrip("\n") + ",surplus\n"
        path.write_text("".join(lines), encoding="utf-8")
    elif content == "quote":
        lines = text.splitlines(keepends=True)
        lines[3] = lines[3].replace(",", ',"', 1)
        path.write_text("".join(lines), encoding="utf-8")
    elif content == "utf8":
        lines = text.encode("utf-8").splitlines(keepends=True)
        lines[4] = lines[4].replace(b",", b",\xff", 1)
        path.write_bytes(b"".join(lines))
    elif content != "missing":
        path.write_text(content, encoding="utf-8")
    message = spark_error(spark_session_local, [str(path)])
    assert message.startswith(expected.format(uri=path))


@pytest.fixture(scope="module")
def superstore() -> pl.DataFrame:
    return read_csv_table(SUPERSTORE / "superstore.csv", SUPERSTORE_CONTRACT)


def keyless() -> Any:
    """The Sales contract without a key: the split hashes ``row_number``."""
    raw = SALES.model_dump(exclude_none=True)
    return type(SALES).model_validate({**raw, "key": []})


@pytest.mark.parametrize("strategy", ["random", "time"])
@pytest.mark.parametrize("table", ["sales", "superstore", "sales-no-key"])
def test_split_membership_is_the_same_on_polars_duckdb_and_spark(
    spark_session_local: SparkSession,
    sales_medium: pl.DataFrame,
    superstore: pl.DataFrame,
    tmp_path: Path,
    strategy: str,
    table: str,
) -> None:
    if table == "superstore":
        contract, path = SUPERSTORE_CONTRACT, SUPERSTORE / "superstore.csv"
    else:
        contract = SALES if table == "sales" else keyless()
        path = write_sales_csv(tmp_path / "sales.csv", sales_medium)
    frame = with_row_number(read_csv_table(path, contract), contract)
    args: dict[str, Any] = {"strategy": strategy, "test_size": 0.25, "seed": 42}
    polars = assign_split(frame, **args, dataset=contract).get_column("split")
    assert 0.15 < (polars == "test").mean() < 0.35  # type: ignore[operator]

    spark_frame = with_row_number_spark(
        read_csv_spark(spark_session_local, [str(path)], contract), contract
    )
    spark = collected(assign_split_spark(spark_frame, **args, dataset=contract))
    assert_frame_equal(spark.drop("split"), frame)
    assert spark.get_column("split").to_list() == polars.to_list()

    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed (the duckdb extra)")
    connection = duckdb.connect()
    relation = connection.from_arrow(frame.with_row_index(ROW).to_arrow())
    split = assign_split_duckdb(connection, relation, **args, dataset=contract)
    ducked = pl.from_arrow(split.order(ROW).select("split").to_arrow_table())
    assert isinstance(ducked, pl.DataFrame)
    assert ducked.get_column("split").to_list() == polars.to_list()
    if table == "sales-no-key":
        assert ROW_NUMBER in spark.columns


def test_the_reader_and_the_split_run_on_spark_connect(
    spark_connect_url: str, superstore: pl.DataFrame
) -> None:
    from features_pipeline.engines.params import SparkParams
    from features_pipeline.engines.spark import spark_session

    session = spark_session(SparkParams(remote=spark_connect_url))
    try:
        path = f"file://{SUPERSTORE / 'superstore.csv'}"
        frame = read_csv_spark(session, [path], SUPERSTORE_CONTRACT, "dataset.yaml")
        assert type(frame).__module__.startswith("pyspark.sql.connect")
        for strategy in ("random", "time"):
            args: dict[str, Any] = {"strategy": strategy, "test_size": 0.2, "seed": 7}
            split = assign_split_spark(frame, **args, dataset=SUPERSTORE_CONTRACT)
            expected = assign_split(superstore, **args, dataset=SUPERSTORE_CONTRACT)
            assert_frame_equal(collected(split), expected)
        bad = SUPERSTORE / "dataset.yaml"  # not a CSV of the contract: one line, no traceback
        with pytest.raises(UserError, match=r"dataset\.yaml: line 1: no recognised column"):
            read_csv_spark(session, [str(bad)], SUPERSTORE_CONTRACT)
    finally:
        session.stop()
