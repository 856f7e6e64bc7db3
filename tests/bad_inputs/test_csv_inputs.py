"""Bad CSVs given to ingest: each ends with exit 1 and one clear `error:` line naming the file and
the column, line or key at fault, no traceback, and every earlier output byte-identical.

Every case runs as the stage script (`python stages/ingest.py`, as dvc runs it) and, marked slow,
under `dvc repro ingest` itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from harness import (
    assert_dvc_refuses,
    assert_stage_error_under_dvc,
    assert_unchanged,
    assert_user_error,
    dvc_repro,
    run_stage_script,
    snapshot,
)
from support import Dialect, csv_text

from features_pipeline.ingest.synthetic import generate_sales

RAW = Path("data/raw")
CSV = RAW / "sales.csv"
FRAME = generate_sales(6, seed=13)  # data rows are file lines 2..7
HUGE = 2_000_000  # characters of the huge field


def text(frame: pl.DataFrame = FRAME, dialect: Dialect = Dialect()) -> str:
    return csv_text(frame, dialect)


def good(dialect: Dialect = Dialect()) -> bytes:
    return text(dialect=dialect).encode()


def edit(column: str, row: int, value: str, frame: pl.DataFrame = FRAME) -> bytes:
    """The CSV with ``column`` of data row ``row`` (0-based: file line row + 2) set to ``value``."""
    lines = text(frame).splitlines(keepends=True)
    index = frame.columns.index(column)
    fields = lines[row + 1].rstrip("\n").split(",")
    fields[index] = value
    lines[row + 1] = ",".join(fields) + "\n"
    return "".join(lines).encode()


def header(new: str) -> bytes:
    """The CSV with its header line replaced by ``new``."""
    lines = text().splitlines(keepends=True)
    return (new + "\n" + "".join(lines[1:])).encode()


def line_edit(line: int, change: Callable[[str], str]) -> bytes:
    """The CSV with file line ``line`` (1-based, no line ending) changed."""
    lines = text().splitlines()
    lines[line - 1] = change(lines[line - 1])
    return ("\n".join(lines) + "\n").encode()


def drop(*names: str) -> bytes:
    return text(FRAME.drop(names)).encode()


def sep_text(separator: str) -> bytes:
    return text().replace(",", separator).encode()


# Writers for cases that need more than bytes at data/raw/sales.csv: (project root) -> None.
Maker = Callable[[Path], None]


def _write(content: bytes, to: Path = CSV) -> Maker:
    def make(root: Path) -> None:
        (root / to).parent.mkdir(parents=True, exist_ok=True)
        (root / to).write_bytes(content)

    return make


def _directory(root: Path) -> None:
    """A folder where the CSV should be, holding no CSV part (a folder of parts is read)."""
    (root / CSV).mkdir(parents=True)
    (root / CSV / "part-0.txt").write_bytes(good())


def _symlink_loop(root: Path) -> None:
    os.symlink("sales.csv", root / CSV)


def _symlink_cycle(root: Path) -> None:
    os.symlink("b.csv", root / RAW / "a.csv")
    os.symlink("a.csv", root / RAW / "b.csv")
    os.symlink("a.csv", root / CSV)


def _symlink_dangling(root: Path) -> None:
    os.symlink("nowhere.csv", root / CSV)


def _symlink_outside(root: Path) -> None:
    outside = root / "elsewhere.csv"
    outside.write_bytes(good())
    os.symlink(outside, root / CSV)


def _missing(root: Path) -> None:
    pass


@dataclass(frozen=True)
class Case:
    id: str
    make: Maker
    expect: tuple[str, ...]  # fragments of the error line besides the file name
    source: str = CSV.as_posix()
    named: str = CSV.as_posix()  # the file (or params) the line must name
    xfail: str = ""  # why the case still fails (a fix outside the ingest reader)


def case(id: str, content: bytes | Maker, *expect: str, **kw: str) -> Case:
    make = _write(content) if isinstance(content, bytes) else content
    return Case(id, make, expect, **kw)


BOM = b"\xef\xbb\xbf"
PARAMS = {"named": "params.yaml"}
CASES = [
    # encoding and BOMs
    case(
        "latin1",
        edit(c.COUNTRY, 3, "Curaçao").decode().encode("latin-1"),
        "line 5",
        "Country",
        "UTF-8",
    ),
    case(
        "cp1252-quotes",
        edit(c.REGION, 0, "“Asia”").decode().encode("cp1252"),
        "line 2",
        "Region",
        "UTF-8",
    ),
    case("utf16-le-bom", b"\xff\xfe" + text().encode("utf-16-le"), "UTF-16", "UTF-8"),
    case("utf16-be-bom", b"\xfe\xff" + text().encode("utf-16-be"), "UTF-16", "UTF-8"),
    case("utf16-no-bom", text().encode("utf-16-le"), "header", "UTF-8"),
    case("utf32-bom", text().encode("utf-32"), "UTF-32", "UTF-8"),
    case("double-bom", BOM + BOM + drop(c.UNIT_COST), "missing required column", "Unit Cost"),
    case("bom-only", BOM, "file is empty"),
    case("bom-header-only", BOM + text(FRAME.head(0)).encode(), "header only"),
    case("binary-garbage", bytes(range(256)) * 40, "UTF-8"),
    case("nul-bytes", b"\x00" * 4096, "line 1", "NUL bytes"),
    case("gzip", b"\x1f\x8b\x08\x00" + bytes(range(128, 256)), "UTF-8"),
    case("xlsx-zip", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(128, 256)), "UTF-8"),
    # separators, quoting, line endings
    case("tab-separated", sep_text("\t"), "no recognised column", "'Region'", "separated by '\\t'"),
    case("pipe-separated", sep_text("|"), "no recognised column", "'Region'", "separated by '|'"),
    case("mixed-separators", line_edit(4, lambda s: s.replace(",", ";")), "line 4"),
    case("cr-only-newlines", text().replace("\n", "\r").encode(), "line 1", "carriage return"),
    case(
        "unclosed-quote-row",
        line_edit(3, lambda s: s.replace("Nicaragua", '"Nicaragua')),
        "line 3",
        "double quote is not closed",
    ),
    case(
        "unclosed-quote-header",
        header('"Region,' + text().splitlines()[0].split(",", 1)[1]),
        "line 1",
        "double quote is not closed",
    ),
    case(
        "extra-field",
        line_edit(5, lambda s: s + ",oops"),
        "line 5",
        "15 field(s), the header has 14",
    ),
    case(
        "missing-field",
        line_edit(6, lambda s: s.rsplit(",", 1)[0]),
        "line 6",
        "13 field(s), the header has 14",
    ),
    case("excel-sep-line", b"sep=,\n" + good(), "line 1", "'sep='", "delete that line"),
    # headers and columns
    case(
        "foreign-table",
        b"name,age\nada,36\nalan,41\n",
        "no recognised column",
        "'Total Profit'",
        "separator ','",
        "'name', 'age'",
    ),
    case("missing-column", drop(c.UNIT_COST), "missing required column", "'Unit Cost'"),
    case(
        "missing-columns",
        drop(c.ORDER_DATE, c.SHIP_DATE),
        "missing required column",
        "'Order Date'",
        "'Ship Date'",
    ),
    case(
        "duplicate-header",
        header(text().splitlines()[0] + ",Region"),
        "line 1",
        "'Region' appears twice",
        "fields 1 and 15",
    ),
    case(
        "duplicate-spelling",
        header(text().splitlines()[0] + ",item_type"),
        "line 1",
        "'Item Type' appears twice",
        "fields 3 and 15",
    ),
    case(
        "duplicate-only-header",
        header(text().splitlines()[0].replace("Country", "Region")),
        "line 1",
        "'Region' appears twice",
        "fields 1 and 2",
    ),
    case(
        "empty-header-name",
        header(text().splitlines()[0].replace("Country", "")),
        "missing required column",
        "'Country'",
    ),
    case(
        "header-is-data",
        text().split("\n", 1)[1].encode(),
        "line 1",
        "no recognised column",
        "'Trinidad and Tobago'",
    ),
    # numbers
    case("bad-number", edit(c.UNIT_PRICE, 5, "12.4O"), "'Unit Price'", "line 7", "12.4O"),
    case(
        "decimal-comma",
        good(Dialect(separator=";")).replace(b"154.06", b"154,06"),
        "'Unit Price'",
        "line 2",
        "154,06",
    ),
    case("thousands-separator", edit(c.TOTAL_COST, 0, '"325,711.26"'), "'Total Cost'", "line 2"),
    case("currency-symbol", edit(c.UNIT_COST, 2, "$117.11"), "'Unit Cost'", "line 4", "$117.11"),
    case(
        "fractional-units",
        edit(c.UNITS_SOLD, 1, "9928.5"),
        "'Units Sold'",
        "line 3",
        "whole number",
    ),
    case("order-id-text", edit(c.ORDER_ID, 4, "A-548080665"), "'Order ID'", "line 6"),
    case("order-id-overflow", edit(c.ORDER_ID, 4, "99999999999999999999"), "'Order ID'", "line 6"),
    case(
        "inf-profit",
        edit(c.TOTAL_PROFIT, 2, "inf"),
        "'Total Profit'",
        "not finite",
        "line 4: 'inf'",
    ),
    case(
        "minus-inf-revenue",
        edit(c.TOTAL_REVENUE, 1, "-inf"),
        "'Total Revenue'",
        "not finite",
        "line 3: '-inf'",
    ),
    case("nan-price", edit(c.UNIT_PRICE, 0, "NaN"), "'Unit Price'", "not finite", "line 2: 'NaN'"),
    case("overflow-money", edit(c.TOTAL_COST, 3, "1e300"), "'Total Cost'", "line 5: '1e300'"),
    case(
        "huge-field",
        edit(c.UNITS_SOLD, 0, "9" * HUGE),
        "'Units Sold'",
        "whole number",
        f"line 2: '{'9' * 40}'... ({HUGE:,} characters)",
    ),
    case(
        "huge-text-field",
        edit(c.COUNTRY, 0, "x" * HUGE),
        "'Country'",
        "longer than 1,000",
        "line 2",
    ),
    # empty and missing values
    case("empty-file", b"", "file is empty"),
    case("blank-lines-only", b"\n\n  \n", "file is empty"),
    case("header-only", text(FRAME.head(0)).encode(), "header only"),
    case("header-and-blank-lines", text(FRAME.head(0)).encode() + b"\n\n", "header only"),
    case("empty-cell", edit(c.REGION, 2, ""), "'Region'", "line 4", "empty"),
    case("blank-cell", edit(c.COUNTRY, 3, "   "), "'Country'", "line 5"),
    # dates
    case("bad-date", edit(c.SHIP_DATE, 1, "31/31/2015"), "'Ship Date'", "line 3", "31/31/2015"),
    case("feb-30", edit(c.ORDER_DATE, 0, "2/30/2016"), "'Order Date'", "line 2", "2/30/2016"),
    case("empty-date", edit(c.ORDER_DATE, 5, ""), "'Order Date'", "line 7"),
    # the contract
    case("negative-units", edit(c.UNITS_SOLD, 2, "-3"), "'Units Sold'", "line 4", "-3"),
    case("zero-units", edit(c.UNITS_SOLD, 2, "0"), "'Units Sold'", "line 4"),
    case("negative-price", edit(c.UNIT_PRICE, 3, "-255.28"), "'Unit Price'", "line 5"),
    case("revenue-mismatch", edit(c.TOTAL_REVENUE, 4, "776598.47"), "'Total Revenue'", "line 6"),
    case("cost-mismatch", edit(c.TOTAL_COST, 0, "1.00"), "'Total Cost'", "line 2"),
    case("profit-mismatch", edit(c.TOTAL_PROFIT, 5, "378148.71"), "'Total Profit'", "line 7"),
    case(
        "ship-before-order", edit(c.SHIP_DATE, 0, "1/1/2000"), "'Ship Date'", "line 2", "Order Date"
    ),
    case("duplicate-order-id", edit(c.ORDER_ID, 4, "579176083"), "'Order ID'", "line 6"),
    case(
        "unknown-channel", edit(c.SALES_CHANNEL, 1, "Phone"), "'Sales Channel'", "line 3", "Phone"
    ),
    case("unknown-priority", edit(c.ORDER_PRIORITY, 1, "Z"), "'Order Priority'", "line 3"),
    # the path itself
    case("missing-file", _missing, "file not found"),
    case("directory", _directory, "ingest.source", "the folder holds no .csv file", **PARAMS),
    case("symlink-loop", _symlink_loop, "symbolic link loop"),
    case("symlink-cycle", _symlink_cycle, "symbolic link loop"),
    case("symlink-dangling", _symlink_dangling, "file not found"),
    case("symlink-outside", _symlink_outside, "ingest.source", "outside", **PARAMS),
    case(
        "outside-raw",
        _write(good(), Path("elsewhere.csv")),
        "ingest.source",
        "outside",
        source="elsewhere.csv",
        **PARAMS,
    ),
    case(
        "parent-escape",
        _write(good(), Path("elsewhere.csv")),
        "ingest.source",
        "outside",
        source="data/raw/../../elsewhere.csv",
        **PARAMS,
    ),
]


# dvc hashes the data/raw/ dependency before the stage runs: a broken link stops dvc itself,
# with its own one ERROR line naming the file (the stage never runs)
DVC_REFUSES = {"symlink-dangling", "symlink-loop", "symlink-cycle"}
# Under `dvc repro` a CSV's bytes only matter to DVC as a hash: what differs from running the stage
# script is where the file is (missing, a folder, a link, outside data/raw/) and that DVC passes
# the stage's one line through while keeping the earlier outputs. So every file-system case runs
# under DVC too, and of the content cases (each run as a stage script above) one per layer.
UNDER_DVC = DVC_REFUSES | {
    "missing-file", "directory", "symlink-outside", "outside-raw", "parent-escape",  # where
    "utf16-le-bom", "binary-garbage",  # encoding
    "unclosed-quote-row", "extra-field",  # CSV structure
    "missing-column", "duplicate-header",  # header
    "bad-number", "inf-profit", "bad-date", "empty-cell",  # values
    "profit-mismatch", "duplicate-order-id", "unknown-channel",  # contract rules and key
    "empty-file", "header-only",  # no rows
}  # fmt: skip


def _params(dvc: bool) -> list[object]:
    """The cases as pytest params (``dvc``: those of UNDER_DVC); cases that still fail are strict
    xfails with the reason."""
    params = []
    for bad in CASES:
        if dvc and bad.id not in UNDER_DVC:
            continue
        reason = bad.xfail
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(bad, id=bad.id, marks=marks))
    return params


def _params_with_source(root: Path, source: str) -> None:
    params = root / "params.yaml"
    text = params.read_text(encoding="utf-8")
    old = "  source: synthetic "
    assert old in text, "params.yaml: ingest.source is not `synthetic`"
    params.write_text(text.replace(old, f"  source: {source!r} ", 1), encoding="utf-8")


def _prepare(root: Path, bad: Case) -> dict[str, bytes]:
    """Plant the case in ``root`` and point ingest.source at it; the outputs before the run."""
    before = snapshot(root)
    bad.make(root)
    _params_with_source(root, bad.source)
    return before


def test_the_suite_tries_at_least_48_csv_cases() -> None:
    assert len(CASES) >= 48
    assert len({bad.id for bad in CASES}) == len(CASES)
    assert {bad.id for bad in CASES} >= UNDER_DVC  # a renamed case is not silently dropped


@pytest.mark.parametrize("bad", _params(dvc=False))
def test_bad_csv_stage_script(case_project: Path, bad: Case) -> None:
    before = _prepare(case_project, bad)
    outcome = run_stage_script(case_project, "ingest")
    assert_user_error(outcome, f"error: {bad.named}", *bad.expect)
    assert_unchanged(before, snapshot(case_project))


@pytest.mark.parametrize("bad", _params(dvc=True))
def test_bad_csv_dvc_repro(case_project: Path, bad: Case) -> None:
    before = _prepare(case_project, bad)
    outcome = dvc_repro(case_project, "ingest")
    if bad.id in DVC_REFUSES:
        assert_dvc_refuses(outcome, "data/raw/sales.csv")
    else:
        assert_stage_error_under_dvc(outcome, f"error: {bad.named}", *bad.expect)
    assert_unchanged(before, snapshot(case_project))
