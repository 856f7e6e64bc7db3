"""The typed read (numbers parsed by the CSV reader) gives exactly what the text path gives: the
same table, or the same error line and details; awkward cells fall back to the text path."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from support import Dialect, csv_text

from features_pipeline.contracts.dataset import DatasetContract, parse_contract
from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import (
    _parse_expression,
    open_csv,
    parse_distinct,
    parse_strings,
    read_csv_table,
    read_typed,
    scan_raw_strings,
)
from features_pipeline.ingest.synthetic import generate_sales

SOURCE = "config/any.yaml"
ANY = parse_contract(
    {
        "name": "any",
        "columns": {
            "id": {"type": "integer"},
            "n": {"type": "integer", "nullable": True},
            "x": {"type": "float", "nullable": True},
            "price": {"type": "money"},
            "day": {
                "type": "date",
                "formats": ["%d.%m.%y", "%Y-%m-%d"],
                "two_digit_year_pivot": 50,
                "years": [1950, 2049],
            },
            "at": {"type": "datetime", "nullable": True},
            "flag": {"type": "boolean", "nullable": True},
            "note": {"type": "text", "nullable": True},
            "kind": {"type": "category"},
        },
        "key": ["id"],
        "target": "price",
    },
    SOURCE,
)
HEADER = "ID,n,X,Price,Day,at,flag,note,Kind"
ROWS = [
    "1,5,0.5,12.50,28.05.10,2010-05-28 14:30:00,true,hello,a",
    "2,,,3,01.01.49,,,,b",
    '3,-7,1e3,0.1,2010-05-28,2010-05-28T01:02:03,N,"quoted, text",c',
]
COLUMNS = HEADER.split(",")
# cells the typed read and the text path might see differently
AWKWARD = [
    "",
    " ",
    " 5",
    "5 ",
    "+5",
    "-0",
    "5.",
    ".5",
    "1e3",
    "1_000",
    "0x1F",
    "9223372036854775808",
    "inf",
    "-inf",
    "NaN",
    "1e300",
    "1e14",
    '"5"',
    '" 7 "',
    '""',
    "12.4O",
    "٥",
    "28.05.10",
    "2010-05-28",
    "31.02.10",
    "28.05.1810",
    "yes",
    "x" * 1001,
]


def text_path(path: Path, dataset: DatasetContract, source: str) -> pl.DataFrame:
    """Today's reference: every cell read as text, then cast."""
    return parse_strings(path, scan_raw_strings(path, dataset), dataset, source)


def outcome(read: object, path: Path, dataset: DatasetContract, source: str) -> tuple[object, ...]:
    try:
        frame = read(path, dataset, source)  # type: ignore[operator]
    except UserError as error:
        details = None if error.details is None else error.details.to_dicts()
        return ("error", str(error), details)
    return ("table", frame.schema, frame.to_dicts())


def assert_same(path: Path, dataset: DatasetContract = ANY, source: str = SOURCE) -> None:
    assert outcome(read_csv_table, path, dataset, source) == outcome(
        text_path, path, dataset, source
    )


def typed_only(path: Path, dataset: DatasetContract = ANY) -> pl.DataFrame | None:
    separator, mapping = open_csv(path, dataset)
    return read_typed(path, separator, mapping, dataset)


def write(tmp_path: Path, lines: list[str], newline: str = "\n", name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


def test_a_clean_file_takes_the_typed_read(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, *ROWS])
    typed = typed_only(path)
    assert typed is not None
    assert typed.equals(text_path(path, ANY, SOURCE))
    assert typed.schema == pl.Schema(ANY.dtypes)


def test_the_shipped_sales_file_takes_the_typed_read(
    sales_small: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(csv_text(sales_small, Dialect()), encoding="utf-8")
    typed = typed_only(path, c.SALES)
    assert typed is not None
    assert typed.equals(sales_small)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("cell", AWKWARD, ids=lambda cell: repr(cell[:12]))
def test_an_awkward_cell_gives_what_the_text_path_gives(
    tmp_path: Path, column: str, cell: str
) -> None:
    index = COLUMNS.index(column)
    fields = ROWS[0].split(",")
    fields[index] = cell
    # repeated rows: the dates are parsed by distinct value (few distinct among many cells)
    assert_same(write(tmp_path, [HEADER, ",".join(fields), *ROWS[1:] * 4]))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("bom", [False, True])
def test_dialects_give_the_same_table(
    tmp_path: Path, newline: str, separator: str, bom: bool
) -> None:
    lines = [line.replace(",", separator) for line in [HEADER, *ROWS[:2]]]
    lines[0] = ("\ufeff" if bom else "") + lines[0]
    path = write(tmp_path, lines, newline)
    assert typed_only(path) is not None
    assert_same(path)


@pytest.mark.parametrize(
    "lines",
    [
        [HEADER],
        [HEADER, "", ""],
        [HEADER, ROWS[0], ",,,,,,,,", ROWS[1]],
        [HEADER, ROWS[0], "", ROWS[1]],
        [HEADER, ROWS[0] + ",extra"],
        [HEADER, ROWS[0].rsplit(",", 2)[0]],
        [HEADER, ROWS[0], ROWS[0]],
        [HEADER + ",Unknown", ROWS[0] + ",z", ROWS[1] + ","],
        [HEADER, ROWS[0].replace("hello", '"unclosed')],
    ],
    ids=[
        "header-only",
        "blank-lines",
        "separators-only-line",
        "blank-line-inside",
        "extra-field",
        "missing-fields",
        "duplicate-key",
        "unknown-column",
        "unclosed-quote",
    ],
)
def test_broken_files_give_the_same_outcome(tmp_path: Path, lines: list[str]) -> None:
    assert_same(write(tmp_path, lines))


def test_bytes_that_are_not_utf8_give_the_same_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(f"{HEADER}\n{ROWS[0]}\n".replace("hello", "Cura\xe7ao").encode("latin-1"))
    assert typed_only(path) is None
    assert_same(path)


def test_a_trailing_blank_after_a_number_falls_back_to_the_text_path(tmp_path: Path) -> None:
    """The CSV reader refuses ``5 `` where the text path strips it: same table, slower path."""
    path = write(tmp_path, [HEADER, ROWS[0].replace("1,5,", "1 ,5 ,", 1)])
    assert typed_only(path) is None
    assert read_csv_table(path, ANY, SOURCE).get_column("n").to_list() == [5]
    assert_same(path)


@pytest.mark.parametrize("repeat", [1, 5], ids=["mostly-distinct", "repeated"])
def test_parsing_distinct_dates_gives_what_parsing_every_cell_gives(repeat: int) -> None:
    spec = ANY.columns["day"]
    cells = pl.Series("day", [" 28.05.10", "28.05.10", None, "31.02.10", "01.01.49 ", "x"] * repeat)
    every = cells.to_frame().select(_parse_expression("day", spec, spec.date_formats[:1]))
    assert parse_distinct(cells, spec, spec.date_formats[:1]).to_frame().equals(every)


def test_the_parquet_file_is_byte_identical_to_the_text_paths(tmp_path: Path) -> None:
    """The parquet writer's row groups follow the table's chunks: the typed read keeps the
    reader's chunks in every column (dates parsed by distinct value included)."""
    path = tmp_path / "sales.csv"
    path.write_text(csv_text(generate_sales(100_000, seed=3), Dialect()), encoding="utf-8")
    typed, text = typed_only(path, c.SALES), text_path(path, c.SALES, SOURCE)
    assert typed is not None
    assert len(text.get_column(c.ORDER_DATE).chunk_lengths()) > 1  # the case that matters
    typed.write_parquet(tmp_path / "typed.parquet")
    text.write_parquet(tmp_path / "text.parquet")
    assert (tmp_path / "typed.parquet").read_bytes() == (tmp_path / "text.parquet").read_bytes()


def test_random_numbers_read_typed_are_bit_identical_to_the_text_paths(tmp_path: Path) -> None:
    """The reader's float parser and the string cast agree to the last bit (both correctly
    rounded): random decimals with up to 17 significant digits, exponents and signs."""
    rng = random.Random(16)
    floats = [
        f"{rng.choice(['', '-', '+'])}{rng.randrange(10 ** rng.randint(1, 17))}"
        f".{rng.randrange(10**6)}e{rng.randint(-30, 12)}"
        for _ in range(3000)
    ]
    floats += [f"{rng.uniform(-1e12, 1e12):.{rng.randint(0, 12)}f}" for _ in range(3000)]
    lines = [HEADER] + [
        f"{i},{rng.randint(-(2**62), 2**62)},{value},1.5,28.05.10,,,,a"
        for i, value in enumerate(floats)
    ]
    path = write(tmp_path, lines)
    typed = typed_only(path)
    assert typed is not None
    text = text_path(path, ANY, SOURCE)
    for name in ("n", "x"):
        assert typed.get_column(name).to_list() == text.get_column(name).to_list()
    bits = [frame.get_column("x").to_numpy().view("u8").tolist() for frame in (typed, text)]
    assert bits[0] == bits[1]
