"""Parse CSVs as found in the wild into the typed raw table the dataset contract declares.

Accepted: headers in any case and spacing (``Item Type``, ``item_type``), ``,`` or ``;``
separators, CRLF or LF, a UTF-8 BOM, dates in the contract's formats (two-digit years with a
declared pivot), money with or without trailing zeros.

A file is read typed in one pass (numbers parsed by Polars' CSV reader, dates once per distinct
value); a file that pass cannot read cleanly is read again with every cell as text, and the
error names the line, column and value (:func:`read_csv_table`).
"""

from __future__ import annotations

import csv
import errno
import itertools
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import polars as pl

from features_pipeline.contracts.dataset import TEMPORAL, ColumnSpec, DatasetContract
from features_pipeline.errors import UserError
from features_pipeline.logs import get_logger
from features_pipeline.schema_report import MAX_SHOWN_CHARS, clipped, shown

log = get_logger(__name__)

HEADER_LINE = 1
FIRST_DATA_LINE = 2
SHOWN_EXAMPLES = 3
LINE_COLUMN = "__line__"  # file line number of each row while parsing
_BOM = b"\xef\xbb\xbf"
SEPARATORS = (",", ";")
FOREIGN_SEPARATORS = {"\t": "tab", "|": "pipe"}
SHOWN_HEADERS = 5
MAX_CSV_FIELD = 2**31 - 1  # the csv module's field limit while locating a malformed line
MAX_MONEY = 1e13  # above this, cents no longer fit a float exactly (and x100 nears Int64 limits)
MAX_TEXT_CHARS = 1000  # a text cell longer than this is a broken file, not a name
_SIGNATURES = (  # first bytes of files that are not text
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
    (b"\x00\x00\xfe\xff", "UTF-32 text"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook"),
    (b"%PDF", "a PDF document"),
)


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


def not_utf8_error(path: Path, separator: str, dataset: DatasetContract) -> UserError:
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
                where = f"column {shown(dataset.canonical(header) or header)}"
            value = clipped(field.decode("utf-8", "backslashreplace"))
            return UserError(
                f"{path}: line {number}, {where}: not valid UTF-8 ('{value}'); "
                "save the file as UTF-8"
            )
    return UserError(f"{path}: not valid UTF-8; save the file as UTF-8")


def check_readable(path: Path) -> None:
    """UserError unless ``path`` is a regular file this process can open (one line, no traceback).

    Covers a missing file, a dangling link, a symbolic link loop, a directory, a FIFO or device.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserError(
                f"{path}: symbolic link loop (the link points back to itself)"
            ) from None
        if exc.errno == errno.ENOENT:
            raise UserError(f"{path}: file not found") from None
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise UserError(f"{path}: is a directory, expected a CSV file")
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: is not a regular file (a pipe or device?), expected a CSV file")


def _check_header_bytes(path: Path, head: bytes, header: bytes) -> None:
    """UserErrors for files that are not a CSV text at all, judged from their first bytes."""
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            raise UserError(f"{path}: is {kind}, not a UTF-8 CSV; save the file as UTF-8 CSV")
    if b"\x00" in header:
        raise UserError(
            f"{path}: line 1, header: contains NUL bytes (UTF-16 text or a binary file?); "
            "save the file as UTF-8 CSV"
        )
    if b"\r" in header:
        raise UserError(
            f"{path}: line 1, header: lines end with a bare carriage return (old Mac style); "
            "save the file with LF or CRLF line endings"
        )


def read_header(path: Path, dataset: DatasetContract) -> bytes:
    """The first line of ``path`` without BOM or line ending; UserError if missing or empty."""
    check_readable(path)
    try:
        with path.open("rb") as handle:
            head = handle.readline()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    header = head.removeprefix(_BOM).rstrip(b"\r\n")
    _check_header_bytes(path, head, header)
    if not header.strip():
        raise UserError(f"{path}: file is empty (expected a header line and data rows)")
    if not _is_utf8(header):
        raise not_utf8_error(path, detect_separator(header), dataset)
    return header


def header_fields(header: bytes, separator: str) -> list[str]:
    """The header names as written (quotes and surrounding blanks removed)."""
    return [
        field.decode("utf-8", "replace").strip().strip('"').strip()
        for field in _split_fields(header, separator)
    ]


def _foreign_header_error(
    path: Path | str, header: bytes, separator: str, names: list[str], dataset: DatasetContract
) -> UserError:
    """The UserError for a header without a single column of the contract."""
    missing = ", ".join(repr(name) for name in dataset.columns)
    lead = f"{path}: line 1: no recognised column in the header (missing {missing})"
    if names and names[0].lower().startswith("sep="):
        return UserError(f"{lead}; line 1 is an Excel {names[0]!r} hint: delete that line")
    for foreign, label in FOREIGN_SEPARATORS.items():
        fields = header_fields(header, foreign)
        if len(fields) > 1 and any(dataset.canonical(f) for f in fields):
            return UserError(
                f"{lead}; the header is separated by {foreign!r} ({label}), but only ',' and ';' "
                "are read: save the file as comma-separated"
            )
    seen = ", ".join(shown(name) for name in names[:SHOWN_HEADERS])
    more = f" and {len(names) - SHOWN_HEADERS} more" if len(names) > SHOWN_HEADERS else ""
    return UserError(
        f"{lead}; read with separator {separator!r} it has {len(names)} field(s): {seen}{more}"
    )


def check_header(path: Path | str, header: bytes, separator: str, dataset: DatasetContract) -> None:
    """UserError for an unclosed quote, a header without any column of the contract, or a column
    named twice (same spelling or two spellings of one column), naming the 1-based positions."""
    if header.count(b'"') % 2:
        raise UserError(f"{path}: line 1, header: a double quote is not closed")
    names = header_fields(header, separator)
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, start=1):
        canonical = dataset.canonical(name)
        if canonical is not None:
            positions.setdefault(canonical, []).append(position)
    if not positions:
        raise _foreign_header_error(path, header, separator, names, dataset)
    for canonical, where in positions.items():
        if len(where) > 1:
            spellings = [names[i - 1] for i in where]
            fields = " and ".join(str(i) for i in where)
            if len(set(spellings)) == 1:
                detail = f"in the header (fields {fields})"
            else:
                detail = (
                    f"(as {' and '.join(repr(s) for s in spellings)}) in header fields {fields}"
                )
            raise UserError(
                f"{path}: line 1: column {canonical!r} appears twice {detail}; "
                "remove or rename one of them"
            )


def find_malformed_line(
    path: Path, separator: str, until: int | None = None
) -> tuple[int, str] | None:
    """(line, problem) of the first record (up to line ``until``) whose field count differs from
    the header's or whose quoting is broken; None when there is none. Lines are counted as the
    reader counts them (one per record). A slow pass in Python: for error paths only."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=separator, strict=True)
        number = HEADER_LINE
        try:
            width = len(next(reader, []))
            for number, row in enumerate(reader, start=FIRST_DATA_LINE):
                if until is not None and number > until:
                    return None
                if any(cell.strip() for cell in row) and len(row) != width:
                    return number, f"{len(row)} field(s), the header has {width}"
        except csv.Error as exc:
            return number + 1, f"a double quote is not closed or not doubled ({exc})"
    return None


def canonical_names(
    path: Path | str, headers: list[str], dataset: DatasetContract
) -> dict[str, str]:
    """Map each recognised header to its canonical name; duplicates after mapping are errors."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header in headers:
        canonical = dataset.canonical(header)
        if canonical is None:
            log.warning("%s: ignoring unknown column %s", path, shown(header))
            continue
        if canonical in seen:
            first = seen[canonical]
            raise UserError(
                f"{path}: column {canonical!r} appears twice (as {first!r} and {header!r})"
            )
        seen[canonical] = header
        mapping[header] = canonical
    return mapping


def _scan(
    path: Path, separator: str, typed: Mapping[str, pl.DataType] | None = None
) -> pl.LazyFrame:
    """The CSV scan every read shares: cells as strings but the ``typed`` columns."""
    return pl.scan_csv(
        path,
        separator=separator,
        infer_schema=False,
        schema_overrides=typed,
        encoding="utf8",
        truncate_ragged_lines=False,
        empty_string_is_null=True,
    )


def open_csv(path: Path, dataset: DatasetContract) -> tuple[str, dict[str, str]]:
    """Check the header of ``path``: (separator, raw header -> canonical name)."""
    header = read_header(path, dataset)
    separator = detect_separator(header)
    check_header(path, header, separator, dataset)
    try:
        headers = _scan(path, separator).collect_schema().names()
    except pl.exceptions.NoDataError:
        raise UserError(f"{path}: file is empty (expected a header line and data rows)") from None
    return separator, canonical_names(path, headers, dataset)


def _strings(path: Path, separator: str, mapping: Mapping[str, str]) -> pl.LazyFrame:
    return (
        _scan(path, separator)
        .with_row_index(LINE_COLUMN, offset=FIRST_DATA_LINE)
        .filter(~pl.all_horizontal(pl.exclude(LINE_COLUMN).is_null()))  # blank lines carry no data
        .select(LINE_COLUMN, *[pl.col(raw).alias(name) for raw, name in mapping.items()])
    )


def scan_raw_strings(path: Path, dataset: DatasetContract) -> pl.LazyFrame:
    """All cells as strings, the contract's column names, plus the file line number of each row.

    Lazy: nothing but the header is read until the caller collects (one parallel pass).
    """
    separator, mapping = open_csv(path, dataset)
    return _strings(path, separator, mapping)


def reader_error(
    path: Path, exc: pl.exceptions.ComputeError, dataset: DatasetContract
) -> UserError:
    """The one line for a CSV reader failure: not UTF-8, the malformed line, or the reason."""
    separator = detect_separator(read_header(path, dataset))
    if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
        return not_utf8_error(path, separator, dataset)
    malformed = find_malformed_line(path, separator)
    if malformed:
        return UserError(f"{path}: line {malformed[0]}: {malformed[1]}")
    return UserError(f"{path}: cannot parse as CSV: {shown(str(exc).splitlines()[0])}")


def collect_csv(path: Path, query: pl.LazyFrame, dataset: DatasetContract) -> pl.DataFrame:
    """Run a query over the CSV, turning reader failures into UserErrors."""
    try:
        return query.collect()
    except pl.exceptions.ComputeError as exc:
        raise reader_error(path, exc, dataset) from None
    except pl.exceptions.NoDataError:
        raise UserError(f"{path}: file is empty (expected a header line and data rows)") from None


CSV_BATCH_ROWS = 250_000  # rows of a CSV read a batch at a time (ingest on an out-of-core engine)


def _string_batches(
    path: Path, query: pl.LazyFrame, dataset: DatasetContract, batch_rows: int
) -> Iterator[pl.DataFrame]:
    """The string table of ``query`` at most ``batch_rows`` rows at a time (the streaming
    engine reads the file as it goes), reader failures turned into UserErrors as
    :func:`collect_csv` does."""
    batches = query.collect_batches(chunk_size=batch_rows, engine="streaming")
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except pl.exceptions.ComputeError as exc:
            raise reader_error(path, exc, dataset) from None
        if batch.height:
            yield batch


def read_string_batches(
    path: Path, dataset: DatasetContract, batch_rows: int = 0
) -> Iterator[pl.DataFrame]:
    """:func:`read_raw_strings` a batch of at most ``batch_rows`` rows (default
    :data:`CSV_BATCH_ROWS`) at a time, in file order: memory is bounded by the batch."""
    separator, mapping = open_csv(path, dataset)
    query = _strings(path, separator, mapping)
    empty = True
    for strings in _string_batches(path, query, dataset, batch_rows or CSV_BATCH_ROWS):
        empty = False
        yield strings
    if empty:
        raise UserError(f"{path}: header only, no data rows")


def read_csv_batches(
    path: Path, dataset: DatasetContract, contract_source: str = "", batch_rows: int = 0
) -> Iterator[pl.DataFrame]:
    """:func:`read_csv_table` a batch of at most ``batch_rows`` rows (default
    :data:`CSV_BATCH_ROWS`) at a time, in file order: memory is bounded by the batch, not the
    file. Every cell is parsed as the text path does (the same table, bit for bit), so errors
    name the file, the line and the column as :func:`read_csv_table`'s do."""
    for strings in read_string_batches(path, dataset, batch_rows):
        yield parse_strings(path, strings.lazy(), dataset, contract_source)


def read_raw_strings(path: Path, dataset: DatasetContract) -> pl.DataFrame:
    """The string table of ``path`` (see :func:`scan_raw_strings`), at least one data row."""
    frame = collect_csv(path, scan_raw_strings(path, dataset), dataset)
    if frame.height == 0:
        raise UserError(f"{path}: header only, no data rows")
    return frame


_BOOLEANS = {"true": True, "t": True, "yes": True, "y": True, "1": True}
_BOOLEANS.update({"false": False, "f": False, "no": False, "n": False, "0": False})


def _parse_temporal(cell: pl.Expr, spec: ColumnSpec, date_format: str) -> pl.Expr:
    """One date/datetime format; ``%y`` years move to the contract's pivot when it has one."""
    if spec.type == "date":
        parsed = cell.str.to_date(date_format, strict=False)
    else:
        parsed = cell.str.to_datetime(date_format, strict=False, time_unit="us")
    pivot = spec.two_digit_year_pivot
    if pivot is None or "%y" not in date_format:
        return parsed
    two_digits = parsed.dt.year() % 100
    year = pl.when(two_digits < pivot).then(2000 + two_digits).otherwise(1900 + two_digits)
    return parsed.dt.offset_by(pl.format("{}y", year - parsed.dt.year()))


def _parse_expression(name: str, spec: ColumnSpec, date_formats: Sequence[str]) -> pl.Expr:
    cell = pl.col(name).str.strip_chars()
    if spec.type in ("date", "datetime"):
        return pl.coalesce([_parse_temporal(cell, spec, fmt) for fmt in date_formats])
    if spec.type in ("text", "category"):
        return cell
    if spec.type == "boolean":
        return cell.str.to_lowercase().replace_strict(
            _BOOLEANS, default=None, return_dtype=pl.Boolean
        )
    return cell.cast(spec.dtype, strict=False)


def _problem(spec: ColumnSpec) -> str:
    if spec.type in ("date", "datetime"):
        return f"are not a {spec.type} like {spec.example()}"
    if spec.type == "integer":
        return "are not a whole number"
    if spec.type in ("text", "category"):
        return "are empty"
    if spec.type == "boolean":
        return "are not true or false"
    return "are not a number"


def _raw(name: str) -> str:
    return f"__raw__{name}"


def _is_bad(name: str, spec: ColumnSpec) -> pl.Expr:
    """True where the parsed cell is missing: empty, blank, or it did not parse as its type
    (in a nullable column only the last counts)."""
    parsed = pl.col(name)
    if spec.type in ("text", "category"):
        return pl.lit(False) if spec.nullable else parsed.is_null() | (parsed == "")
    if spec.nullable:
        given = pl.col(_raw(name)).str.strip_chars().fill_null("") != ""
        return parsed.is_null() & given
    return parsed.is_null()


def parse_error(path: Path, strings: pl.DataFrame, name: str, problem: str) -> UserError:
    """The UserError for the bad cells of column ``name`` (strings holds only bad rows)."""
    examples = ", ".join(
        f"line {line}: {shown(value)}"
        for line, value in strings.select(LINE_COLUMN, name).head(SHOWN_EXAMPLES).iter_rows()
    )
    return UserError(
        f"{path}: column {name!r}: {strings.height} value(s) {problem} ({examples})",
        details=strings.select(
            pl.lit(name).alias("column"),
            pl.lit("parse").alias("check"),
            pl.col(name).str.slice(0, 2 * MAX_SHOWN_CHARS).alias("value"),
            pl.col(LINE_COLUMN).alias("line"),
        ),
    )


def _range_checks(
    present: Sequence[str], dataset: DatasetContract, source: str, quick: bool = False
) -> list[tuple[str, pl.Expr, str]]:
    """(column, true where the parsed value is out of range, problem) for parsed columns;
    ``quick``: cheaper checks, true wherever the exact ones may be (text length in bytes, the
    years of the earliest and latest date alone), for :func:`read_typed`."""
    checks: list[tuple[str, pl.Expr, str]] = []
    for name in present:
        spec, value = dataset.columns[name], pl.col(name)
        if spec.type in ("float", "money"):
            checks.append((name, ~value.is_finite().fill_null(True), "are not finite (inf or NaN)"))
        if spec.type == "money":
            too_big = (value.abs() > MAX_MONEY).fill_null(False)
            checks.append((name, too_big, f"are above {MAX_MONEY:,.0f}"))
        elif spec.type in ("text", "category"):
            length = value.str.len_bytes() if quick else value.str.len_chars()
            too_long = (length > MAX_TEXT_CHARS).fill_null(False)
            checks.append((name, too_long, f"are longer than {MAX_TEXT_CHARS:,} characters"))
        elif spec.type in ("date", "datetime"):
            first, last = spec.years
            if quick:  # years grow with dates: the earliest and the latest tell
                value = pl.concat_list(value.min(), value.max()).explode()
            outside = ~value.dt.year().is_between(first, last).fill_null(True)
            hint = (
                "; a two-digit year? declare a format with %y and a two_digit_year_pivot "
                f"for column {name!r} in {source}"
                if not any("%y" in fmt for fmt in spec.date_formats)
                else f"; check the years of column {name!r} in {source}"
            )
            checks.append((name, outside, f"have a year outside {first}-{last}{hint}"))
    return checks


def _retry_dates(
    parsed: pl.DataFrame, dates: Sequence[str], dataset: DatasetContract
) -> pl.DataFrame:
    """Dates the first format missed, parsed with the others (files in ISO or mixed formats)."""
    retry = []
    for name in dates:
        spec = dataset.columns[name]
        if parsed.get_column(name).null_count() and len(spec.date_formats) > 1:
            later = _parse_expression(_raw(name), spec, spec.date_formats[1:])
            retry.append(pl.coalesce(pl.col(name), later).alias(name))
    return parsed.with_columns(retry)


def _ragged_or(
    error: UserError, path: Path, bad_lines: pl.Series, dataset: DatasetContract
) -> UserError:
    """``error``, reworded when its first bad line really has too few fields (same details)."""
    first = bad_lines.min()
    separator = detect_separator(read_header(path, dataset))
    malformed = find_malformed_line(path, separator, until=first)  # type: ignore[arg-type]
    if malformed is None or malformed[0] != first:
        return error
    return UserError(f"{path}: line {first}: {malformed[1]}", details=error.details)


def parse_strings(
    path: Path, strings: pl.LazyFrame, dataset: DatasetContract, contract_source: str = ""
) -> pl.DataFrame:
    """Cast each declared column to its type in one pass; empty or unparsable cells raise.

    Dates are parsed with the contract's first format in that pass; only when some fail are
    they tried in the other formats (a second, vectorised pass over the date columns alone).
    """
    names = strings.collect_schema().names()
    present = [name for name in dataset.columns if name in names]
    specs = {name: dataset.columns[name] for name in present}
    kept_raw = [
        n for n, spec in specs.items() if spec.type in ("date", "datetime") or spec.nullable
    ]
    dates = [name for name in present if specs[name].type in ("date", "datetime")]
    parsed = collect_csv(
        path,
        strings.with_columns(pl.col(name).alias(_raw(name)) for name in kept_raw).with_columns(
            _parse_expression(name, specs[name], specs[name].date_formats[:1]).alias(name)
            for name in present
        ),
        dataset,
    )
    if parsed.height == 0:
        raise UserError(f"{path}: header only, no data rows")
    parsed = _retry_dates(parsed, dates, dataset)
    checks = [(n, _is_bad(n, specs[n]), _problem(specs[n])) for n in present]
    checks += _range_checks(present, dataset, contract_source or "the dataset contract")
    anys = parsed.select(check.any().alias(str(i)) for i, (_, check, _) in enumerate(checks))
    for (name, check, problem), any_bad in zip(checks, anys.row(0), strict=True):
        if any_bad:
            bad_lines = parsed.filter(check).get_column(LINE_COLUMN)
            original = collect_csv(
                path, strings.filter(pl.col(LINE_COLUMN).is_in(bad_lines.implode())), dataset
            )
            error = parse_error(path, original, name, problem)
            raise _ragged_or(error, path, bad_lines, dataset)
    return parsed.select(present)


def parse_columns(path: Path, strings: pl.DataFrame, dataset: DatasetContract) -> pl.DataFrame:
    """Eager form of :func:`parse_strings` for an already read string table."""
    return parse_strings(path, strings.lazy(), dataset)


NATIVE = ("integer", "float", "money")  # types the CSV reader parses itself (see read_typed)


def _typed_is_bad(name: str, spec: ColumnSpec) -> pl.Expr:
    """:func:`_is_bad` for a column the reader typed: a cell it could not parse raised, so only
    an empty one (null) in a column that is not nullable is bad."""
    return pl.lit(False) if spec.nullable else pl.col(name).is_null()


def parse_distinct(cells: pl.Series, spec: ColumnSpec, date_formats: Sequence[str]) -> pl.Series:
    """``cells`` parsed as :func:`_parse_expression` does, each distinct value once: a date column
    holds a few thousand days, so looking them up is ~4x cheaper than parsing every cell."""

    def parse(values: pl.Series) -> pl.Series:
        return (
            values.to_frame().select(_parse_expression(cells.name, spec, date_formats)).to_series()
        )

    distinct = cells.unique().drop_nulls()
    if 2 * distinct.len() > cells.len():  # mostly distinct (timestamps): parse every cell
        parsed = parse(cells)
    else:
        parsed = cells.replace_strict(
            distinct, parse(distinct), default=None, return_dtype=spec.dtype
        )
    return chunked_like(parsed, cells)


def chunked_like(values: pl.Series, layout: pl.Series) -> pl.Series:
    """``values`` in the chunks of ``layout`` (no copy). The parquet writer's row groups follow
    the table's chunks: a column in other chunks would change the bytes of the file."""
    lengths = layout.chunk_lengths()
    if values.chunk_lengths() == lengths:
        return values
    starts = itertools.accumulate(lengths, initial=0)
    return pl.concat(
        [values.slice(start, length) for start, length in zip(starts, lengths, strict=False)],
        rechunk=False,
    )


def read_typed(
    path: Path, separator: str, mapping: Mapping[str, str], dataset: DatasetContract
) -> pl.DataFrame | None:
    """The typed raw table read in one pass, numbers parsed by the CSV reader itself and dates
    by distinct value; None when anything is amiss (the reader raised, a cell is empty,
    unparsable or out of range), and the caller reads the file as text to name the line and
    value (:func:`parse_strings`).

    The reader's numbers are a subset of what the text path accepts (no trailing blanks, no
    ``1e3`` integers) with bit-identical values, so a table read here is the text path's table.
    """
    specs = {name: dataset.columns[name] for name in mapping.values()}
    native = {raw: specs[name].dtype for raw, name in mapping.items() if specs[name].type in NATIVE}
    present = [name for name in dataset.columns if name in specs]
    dates = [name for name in present if specs[name].type in TEMPORAL]
    texts = [name for name in present if specs[name].type not in (*NATIVE, *TEMPORAL)]
    kept_raw = [*dates, *(name for name in texts if specs[name].nullable)]
    query = (
        _scan(path, separator, native)
        .filter(~pl.all_horizontal(pl.all().is_null()))  # blank lines carry no data
        .select(pl.col(raw).alias(name) for raw, name in mapping.items())
        .with_columns(pl.col(name).alias(_raw(name)) for name in kept_raw)
        .with_columns(
            _parse_expression(name, specs[name], specs[name].date_formats[:1]).alias(name)
            for name in texts
        )
    )
    try:
        parsed = query.collect()
    except (pl.exceptions.PolarsError, OSError):
        return None
    if parsed.height == 0:
        return None
    parsed = parsed.with_columns(
        parse_distinct(parsed.get_column(name), specs[name], specs[name].date_formats[:1])
        for name in dates
    )
    parsed = _retry_dates(parsed, dates, dataset)
    checks = [
        _typed_is_bad(n, specs[n]) if specs[n].type in NATIVE else _is_bad(n, specs[n])
        for n in present
    ]
    checks += [check for _, check, _ in _range_checks(present, dataset, "", quick=True)]
    if parsed.select(pl.any_horizontal(check.any() for check in checks)).item():
        return None
    return parsed.select(present)


def read_csv_table(path: Path, dataset: DatasetContract, contract_source: str = "") -> pl.DataFrame:
    """Read ``path`` into the typed raw table (the contract's names and types, file row order);
    ``contract_source`` names the contract file in messages.

    One typed pass (:func:`read_typed`); a file it cannot read cleanly is read again as text,
    cell by cell, so that the error names the line, column and value."""
    separator, mapping = open_csv(path, dataset)
    typed = read_typed(path, separator, mapping, dataset)
    if typed is not None:
        return typed
    log.debug("%s: typed read failed; reading every cell as text", path)
    return parse_strings(path, _strings(path, separator, mapping), dataset, contract_source)
