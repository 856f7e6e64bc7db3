"""Parse Sales Records CSVs as found in the wild into the canonical, typed raw table.

Accepted: Title Case or snake_case headers, ``,`` or ``;`` separators, CRLF or LF, a UTF-8 BOM,
``M/D/YYYY`` (or ISO) dates, money with or without trailing zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
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
LINE_COLUMN = "__line__"  # file line number of each row while parsing
_BOM = b"\xef\xbb\xbf"


def detect_separator(header: bytes) -> str:
    """``;`` when the header has more semicolons than commas, else ``,``."""
    return ";" if header.count(b";") > header.count(b",") else ","


def _split_fields(line: bytes, separator: str) -> list[bytes]:
    """The raw fields of one CSV line (separators inside double quotes do not split)."""
    fields: list[bytes] = []
    start, quoted, sep = 0, False, separator.encode()
    for index, byte in enumerate(line):
        if byte == ord('"'):
            quoted = not quoted
        elif not quoted and line[index : index + 1] == sep:
            fields.append(line[start:index])
            start = index + 1
    fields.append(line[start:])
    return fields


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def not_utf8_error(path: Path, separator: str) -> UserError:
    """A UserError naming the line, column and value of the first bytes that are not UTF-8."""
    headers: list[str] = []
    with path.open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            line = raw_line.removeprefix(_BOM).rstrip(b"\r\n")
            if number == HEADER_LINE:
                headers = [
                    f.decode("utf-8", "replace").strip().strip('"')
                    for f in _split_fields(line, separator)
                ]
            if _is_utf8(line):
                continue
            index, field = next(
                (i, f) for i, f in enumerate(_split_fields(line, separator)) if not _is_utf8(f)
            )
            if number == HEADER_LINE:
                where = "header"
            else:
                header = headers[index] if index < len(headers) else f"#{index + 1}"
                where = f"column {c.canonical_column_name(header) or header!r}"
            value = field.decode("utf-8", "backslashreplace")
            return UserError(
                f"{path}: line {number}, {where}: not valid UTF-8 ('{value}'); "
                "save the file as UTF-8"
            )
    return UserError(f"{path}: not valid UTF-8; save the file as UTF-8")


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
    if not _is_utf8(header):
        raise not_utf8_error(path, detect_separator(header))
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


def scan_raw_strings(path: Path) -> pl.LazyFrame:
    """All cells as strings, canonical column names, plus the file line number of each row.

    Lazy: nothing but the header is read until the caller collects (one parallel pass).
    """
    separator = detect_separator(read_header(path))
    scan = pl.scan_csv(
        path,
        separator=separator,
        infer_schema=False,
        encoding="utf8",
        truncate_ragged_lines=False,
        empty_string_is_null=True,
    )
    try:
        headers = scan.collect_schema().names()
    except pl.exceptions.NoDataError:
        raise UserError(f"{path}: file is empty (expected a header line and data rows)") from None
    mapping = canonical_names(path, headers)
    return (
        scan.with_row_index(LINE_COLUMN, offset=FIRST_DATA_LINE)
        .filter(~pl.all_horizontal(pl.exclude(LINE_COLUMN).is_null()))  # blank lines carry no data
        .select(LINE_COLUMN, *[pl.col(raw).alias(name) for raw, name in mapping.items()])
    )


def collect_csv(path: Path, query: pl.LazyFrame) -> pl.DataFrame:
    """Run a query over the CSV, turning reader failures into UserErrors."""
    try:
        return query.collect()
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise not_utf8_error(path, detect_separator(read_header(path))) from None
        raise UserError(f"{path}: cannot parse as CSV: {str(exc).splitlines()[0]}") from None
    except pl.exceptions.NoDataError:
        raise UserError(f"{path}: file is empty (expected a header line and data rows)") from None


def read_raw_strings(path: Path) -> pl.DataFrame:
    """The string table of ``path`` (see :func:`scan_raw_strings`), at least one data row."""
    frame = collect_csv(path, scan_raw_strings(path))
    if frame.height == 0:
        raise UserError(f"{path}: header only, no data rows")
    return frame


def _parse_expression(name: str, dtype: type[pl.DataType], date_formats: Sequence[str]) -> pl.Expr:
    cell = pl.col(name).str.strip_chars()
    if dtype == pl.Date:
        return pl.coalesce([cell.str.to_date(fmt, strict=False) for fmt in date_formats])
    if dtype == pl.String:
        return cell
    return cell.cast(dtype, strict=False)


def _problem(dtype: type[pl.DataType]) -> str:
    if dtype == pl.Date:
        return "are not a date like 5/28/2010"
    if dtype == pl.Int64:
        return "are not a whole number"
    if dtype == pl.String:
        return "are empty"
    return "are not a number"


def _raw(name: str) -> str:
    return f"__raw__{name}"


def _is_bad(name: str, dtype: type[pl.DataType]) -> pl.Expr:
    """True where the parsed cell is missing: empty, blank, or it did not parse as ``dtype``."""
    parsed = pl.col(name)
    return parsed.is_null() | (parsed == "") if dtype == pl.String else parsed.is_null()


def parse_error(path: Path, strings: pl.DataFrame, name: str) -> UserError:
    """The UserError for the bad cells of column ``name`` (strings holds only bad rows)."""
    examples = ", ".join(
        f"line {line}: {value!r}" if value is not None else f"line {line}: empty"
        for line, value in strings.select(LINE_COLUMN, name).head(SHOWN_EXAMPLES).iter_rows()
    )
    return UserError(
        f"{path}: column {name!r}: {strings.height} value(s) {_problem(c.RAW_SCHEMA[name])} "
        f"({examples})",
        details=strings.select(
            pl.lit(name).alias("column"),
            pl.lit("parse").alias("check"),
            pl.col(name).alias("value"),
            pl.col(LINE_COLUMN).alias("line"),
        ),
    )


def _retry_dates(parsed: pl.DataFrame, dates: Sequence[str]) -> pl.DataFrame:
    """Dates the first format missed, parsed with the others (files in ISO or mixed formats)."""
    retry = [
        pl.coalesce(pl.col(name), _parse_expression(_raw(name), pl.Date, DATE_FORMATS[1:])).alias(
            name
        )
        for name in dates
        if parsed.get_column(name).null_count()
    ]
    return parsed.with_columns(retry).drop([_raw(name) for name in dates])


def parse_strings(path: Path, strings: pl.LazyFrame) -> pl.DataFrame:
    """Cast each canonical column to its dtype in one pass; empty or unparsable cells raise.

    Dates are parsed as M/D/YYYY (the public files) in that pass; only when some fail are they
    tried in the other formats (a second, vectorised pass over the date columns alone).
    """
    present = [name for name in c.RAW_COLUMNS if name in strings.collect_schema().names()]
    dates = [name for name in present if c.RAW_SCHEMA[name] == pl.Date]
    parsed = collect_csv(
        path,
        strings.with_columns(pl.col(name).alias(_raw(name)) for name in dates).with_columns(
            _parse_expression(name, c.RAW_SCHEMA[name], DATE_FORMATS[:1]).alias(name)
            for name in present
        ),
    )
    if parsed.height == 0:
        raise UserError(f"{path}: header only, no data rows")
    parsed = _retry_dates(parsed, dates)
    bad = parsed.select(_is_bad(name, c.RAW_SCHEMA[name]).any() for name in present).row(0)
    for name, any_bad in zip(present, bad, strict=True):
        if any_bad:
            bad_lines = parsed.filter(_is_bad(name, c.RAW_SCHEMA[name])).get_column(LINE_COLUMN)
            original = collect_csv(
                path, strings.filter(pl.col(LINE_COLUMN).is_in(bad_lines.implode()))
            )
            raise parse_error(path, original, name)
    return parsed.select(present)


def parse_columns(path: Path, strings: pl.DataFrame) -> pl.DataFrame:
    """Eager form of :func:`parse_strings` for an already read string table."""
    return parse_strings(path, strings.lazy())


def read_sales_csv(path: Path) -> pl.DataFrame:
    """Read ``path`` into the typed raw table (canonical names and dtypes, file row order)."""
    return parse_strings(path, scan_raw_strings(path))
