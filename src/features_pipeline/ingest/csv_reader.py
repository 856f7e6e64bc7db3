"""Parse Sales Records CSVs as found in the wild into the canonical, typed raw table.

Accepted: Title Case or snake_case headers, ``,`` or ``;`` separators, CRLF or LF, a UTF-8 BOM,
``M/D/YYYY`` (or ISO) dates, money with or without trailing zeros.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.logs import get_logger

log = get_logger(__name__)

HEADER_LINE = 1
FIRST_DATA_LINE = 2
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
SHOWN_EXAMPLES = 3
_LINE = "__line__"
_BOM = b"\xef\xbb\xbf"


def detect_separator(header: bytes) -> str:
    """``;`` when the header has more semicolons than commas, else ``,``."""
    return ";" if header.count(b";") > header.count(b",") else ","


def _first_invalid_utf8_line(path: Path) -> tuple[int, str]:
    """Line number and reason of the first line that is not valid UTF-8."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, f"byte {line[exc.start : exc.start + 1]!r} at column {exc.start + 1}"
    return 0, "unknown position"


def read_header(path: Path) -> bytes:
    """The first line of ``path`` without BOM or line ending; UserError if missing or empty."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a CSV file")
    with path.open("rb") as handle:
        header = handle.readline()
    header = header.removeprefix(_BOM).rstrip(b"\r\n")
    if not header.strip():
        raise UserError(f"{path}: file is empty (expected a header line and data rows)")
    return header


def canonical_names(path: Path, headers: list[str]) -> dict[str, str]:
    """Map each recognised header to its canonical name; duplicates after mapping are errors."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header in headers:
        canonical = c.canonical_column_name(header)
        if canonical is None:
            log.warning("%s: ignoring unknown column %r", path, header)
            continue
        if canonical in seen:
            first = seen[canonical]
            raise UserError(
                f"{path}: column {canonical!r} appears twice (as {first!r} and {header!r})"
            )
        seen[canonical] = header
        mapping[header] = canonical
    return mapping


def read_raw_strings(path: Path) -> pl.DataFrame:
    """All cells as strings, canonical column names, plus the file line number of each row."""
    separator = detect_separator(read_header(path))
    try:
        frame = pl.read_csv(
            path,
            separator=separator,
            infer_schema=False,
            encoding="utf8",
            truncate_ragged_lines=False,
            missing_utf8_is_empty_string=False,
        )
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            line, reason = _first_invalid_utf8_line(path)
            raise UserError(
                f"{path}: line {line}: not valid UTF-8 ({reason}); save the file as UTF-8"
            ) from None
        raise UserError(f"{path}: cannot parse as CSV: {str(exc).splitlines()[0]}") from None
    except pl.exceptions.NoDataError:
        raise UserError(f"{path}: file is empty (expected a header line and data rows)") from None
    mapping = canonical_names(path, frame.columns)
    frame = frame.select([pl.col(raw).alias(name) for raw, name in mapping.items()])
    if frame.height == 0:
        raise UserError(f"{path}: header only, no data rows")
    return frame.with_row_index(_LINE, offset=FIRST_DATA_LINE)


def _parse_expression(name: str, dtype: type[pl.DataType]) -> pl.Expr:
    cell = pl.col(name).str.strip_chars()
    if dtype == pl.Date:
        return pl.coalesce([cell.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS])
    if dtype == pl.String:
        return cell
    return cell.cast(dtype, strict=False)


def _expected(dtype: type[pl.DataType]) -> str:
    if dtype == pl.Date:
        return "a date like 5/28/2010"
    if dtype == pl.Int64:
        return "a whole number"
    return "a number"


def parse_columns(path: Path, strings: pl.DataFrame) -> pl.DataFrame:
    """Cast each canonical column to its dtype; empty or unparsable cells are UserErrors."""
    present = [name for name in c.RAW_COLUMNS if name in strings.columns]
    parsed = strings.with_columns(
        [_parse_expression(name, c.RAW_SCHEMA[name]).alias(name) for name in present]
    )
    for name in present:
        bad = parsed.get_column(name).is_null() | (strings.get_column(name).str.strip_chars() == "")
        if not bad.any():
            continue
        rows = strings.filter(bad).select(_LINE, name).head(SHOWN_EXAMPLES)
        examples = ", ".join(
            f"line {line}: {value!r}" if value is not None else f"line {line}: empty"
            for line, value in rows.iter_rows()
        )
        count = int(bad.sum())
        raise UserError(
            f"{path}: column {name!r}: {count} value(s) are not {_expected(c.RAW_SCHEMA[name])} "
            f"({examples})",
            details=strings.filter(bad).select(
                pl.lit(name).alias("column"),
                pl.lit("parse").alias("check"),
                pl.col(name).alias("value"),
                pl.col(_LINE).alias("line"),
            ),
        )
    return parsed.select(present)


def read_sales_csv(path: Path) -> pl.DataFrame:
    """Read ``path`` into the typed raw table (canonical names and dtypes, file row order)."""
    return parse_columns(path, read_raw_strings(path))
