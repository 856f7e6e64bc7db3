"""Read raw CSV parts with Spark into the typed raw table of the dataset contract.

The same table as the Polars reader (:func:`~features_pipeline.ingest.csv_reader.read_csv_table`):
the contract's column names and types, the same values, rows in file and line order (by
:data:`~features_pipeline.engines.base.ROW`), and the same one-line errors naming the file (or
URI), line, column and value. Only Spark SQL text is used (``selectExpr``, ``where``), no RDDs and
no ``pyspark.sql.functions``, so it runs on classic Spark and on Spark Connect alike.

How a part is read:

* Each source is read with Spark's text reader (one row per line, LF, CRLF or CR; Hadoop's line
  reader drops a UTF-8 BOM) and each line is split by ``from_csv`` with an explicit all-string
  schema (never inferred) of one field per header field plus one to catch longer lines. Quoted
  fields may hold the separator and doubled quotes (``""``); they may not span lines.
* The header line is the first line of the file (fetched by a ``limit(1)`` query, one line read):
  separator ``;`` or ``,`` as the Polars reader detects it, names matched to the contract in any
  case and spacing, the same header checks.
* Cells are trimmed of Unicode whitespace (as Polars' ``strip_chars``) and cast with ``try_cast``
  guarded by the number syntax Polars accepts, ``try_to_date``/``try_to_timestamp`` with the
  declared formats (strftime translated to Spark patterns), ``%y`` years moved to the contract's
  ``two_digit_year_pivot`` (70 without one, as chrono), and the plausible ``years``.

ROW, the 0-based position of a data row across all parts, is computed without a global sort or a
single-partition window: a data row's position within its file split (``_metadata.
file_block_start``) is ``monotonically_increasing_id()`` minus the smallest id of the split (a split
is read by one task, line by line, so its ids are consecutive), and each split's offset is the
number of data rows of the splits before it (earlier parts, then earlier byte offsets), collected
as a small aggregate (one row per split). The same aggregate counts the bad cells of every check,
so a clean read costs one pass over the data before the caller's own query; a failing read adds
two bounded queries (the first failing rows, and their line numbers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from features_pipeline.contracts.dataset import ROW_NUMBER, TEMPORAL, ColumnSpec, DatasetContract
from features_pipeline.engines.base import ROW
from features_pipeline.engines.spark import sql_string
from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import (
    MAX_MONEY,
    MAX_TEXT_CHARS,
    SHOWN_EXAMPLES,
    SHOWN_HEADERS,
    _problem,
    _range_checks,
    canonical_names,
    check_header,
    detect_separator,
    header_fields,
)
from features_pipeline.logs import get_logger
from features_pipeline.schema_report import clipped, shown

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = get_logger(__name__)

PART = "__part__"  # index of the source in the list
BLOCK = "__block__"  # byte offset of the file split the line was read from
LINE_ID = "__line_id__"  # monotonically_increasing_id of the line (all lines)
DATA_ID = "__data_id__"  # monotonically_increasing_id of the data row (data rows only)
FILE = "__file__"  # the file Spark read (to refuse a source that names several files)
EXTRA = "__extra__"  # a field beyond the header's: the line is longer than the header
NOT_UTF8 = "__not_utf8__"  # the line holds bytes that are not UTF-8
OPEN_QUOTE = "__open_quote__"  # a quoted field is not closed on its line
LINE_FLAGS = (NOT_UTF8, OPEN_QUOTE)
# Unicode White_Space, the characters Polars' str.strip_chars() removes
WHITESPACE = (
    " \t\n\x0b\x0c\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
INTEGER_SYNTAX = r"^[+-]?[0-9]+$"  # what Polars casts to Int64 (no 1e3, no 42.0)
FLOAT_SYNTAX = r"(?i)^[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)$"
CHRONO_PIVOT = 70  # chrono's %y: 70-99 -> 19yy, 00-69 -> 20yy (when the contract sets no pivot)
BOOLEANS = {"true": True, "t": True, "yes": True, "y": True, "1": True}
BOOLEANS.update({"false": False, "f": False, "no": False, "n": False, "0": False})
SPARK_TYPES = {
    "text": "STRING",
    "category": "STRING",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "money": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP_NTZ",
    "boolean": "BOOLEAN",
}
# strftime directives (chrono) -> Spark datetime pattern letters; numbers without padding parse
# one or two digits in both
_DIRECTIVES = {
    "Y": "yyyy",
    "y": "yy",
    "m": "M",
    "-m": "M",
    "d": "d",
    "-d": "d",
    "e": "d",
    "H": "H",
    "-H": "H",
    "I": "h",
    "-I": "h",
    "M": "m",
    "S": "s",
    "p": "a",
    "b": "MMM",
    "h": "MMM",
    "B": "MMMM",
    "j": "D",
    "F": "yyyy-MM-dd",
    "T": "HH:mm:ss",
    "%": "%",
}


def quoted(name: str) -> str:
    """A column name as a Spark SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def spark_pattern(date_format: str, where: str) -> str:
    """``date_format`` (strftime, as the contract declares it) as a Spark datetime pattern;
    a UserError naming ``where`` for a directive Spark cannot parse."""
    pattern: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            pattern.append("'" + "".join(literal).replace("'", "''") + "'")
            literal.clear()

    for token in re.findall(r"%-?.|[^%]", date_format):
        if token.startswith("%"):
            letters = _DIRECTIVES.get(token[1:])
            if letters is None:
                raise UserError(
                    f"{where}: format {date_format!r}: {token} is not read by the Spark CSV "
                    f"reader (known: {', '.join('%' + d for d in _DIRECTIVES)})"
                )
            if letters == "%":
                literal.append("%")
            else:
                flush()
                pattern.append(letters)
        elif token.isalpha() or token == "'":
            literal.append(token)
        else:
            flush()
            pattern.append(token)
    flush()
    return "".join(pattern)


def _cell(raw: str) -> str:
    """A cell trimmed as Polars strips it (empty cells are null)."""
    characters = "'" + "".join(f"\\u{ord(c):04x}" for c in WHITESPACE) + "'"
    return f"trim(BOTH {characters} FROM NULLIF({raw}, ''))"


def _temporal(cell: str, spec: ColumnSpec, date_format: str, where: str) -> str:
    pattern = sql_string(spark_pattern(date_format, where))
    if spec.type == "date":
        parsed = f"try_to_date({cell}, {pattern})"
    else:
        parsed = f"CAST(try_to_timestamp({cell}, {pattern}) AS TIMESTAMP_NTZ)"
    if "%y" not in date_format:
        return parsed
    pivot = CHRONO_PIVOT if spec.two_digit_year_pivot is None else spec.two_digit_year_pivot
    years = f"(CASE WHEN year(p) % 100 < {pivot} THEN 2000 ELSE 1900 END + year(p) % 100 - year(p))"
    moved = (
        f"add_months(p, 12 * {years})" if spec.type == "date" else f"timestampadd(YEAR, {years}, p)"
    )
    return f"transform(array({parsed}), p -> {moved})[0]"


def parse_sql(raw: str, spec: ColumnSpec, where: str) -> str:
    """Spark SQL casting the string column ``raw`` to the type of ``spec`` as the Polars reader
    does (null where a cell is empty or does not parse)."""
    cell = _cell(raw)
    if spec.type in ("text", "category"):
        return cell
    if spec.type == "integer":
        syntax = sql_string(INTEGER_SYNTAX)
        return f"CASE WHEN {cell} RLIKE {syntax} THEN try_cast({cell} AS BIGINT) END"
    if spec.type in ("float", "money"):
        return (
            f"CASE WHEN {cell} RLIKE {sql_string(FLOAT_SYNTAX)} THEN try_cast({cell} AS DOUBLE) END"
        )
    if spec.type == "boolean":
        cases = " ".join(
            f"WHEN {sql_string(text)} THEN {str(value).upper()}" for text, value in BOOLEANS.items()
        )
        return f"CASE lower({cell}) {cases} END"
    formats = [_temporal(cell, spec, fmt, where) for fmt in spec.date_formats]
    return f"coalesce({', '.join(formats)})" if len(formats) > 1 else formats[0]


def _raw(name: str) -> str:
    return f"__raw__{name}"


def _flag(index: int) -> str:
    return f"__bad{index}__"


def _field(position: int) -> str:
    return f"__c{position}__"


@dataclass
class Part:
    """One source as read: its URI, separator, header fields and where each contract column is."""

    index: int
    uri: str
    separator: str
    fields: list[str]
    header_id: int  # LINE_ID of the header line
    raw: dict[str, str] = field(default_factory=dict)  # contract name -> raw field column


@dataclass(frozen=True)
class Check:
    """A condition no data row may meet: its column (None: the line itself), the problem as the
    Polars reader words it, and its SQL given the column's parsed and raw names."""

    column: str | None
    problem: str
    sql: str  # with {value} and {raw} placeholders (a column check) or none (a line check)

    def on(self, part: Part) -> str:
        """The SQL of this check on ``part`` (FALSE for a column the part lacks)."""
        if self.column is None:
            return self.sql
        if self.column not in part.raw:
            return "FALSE"
        return self.sql.format(value=quoted(self.column), raw=quoted(_raw(self.column)))


def _is_bad(spec: ColumnSpec) -> str:
    """True where the parsed cell is missing (the Polars reader's ``_is_bad``)."""
    if spec.type in ("text", "category"):
        return "FALSE" if spec.nullable else "({value} IS NULL OR {value} = '')"
    if spec.nullable:
        return "({value} IS NULL AND coalesce(" + _cell("{raw}") + ", '') != '')"
    return "({value} IS NULL)"


def _range_sql(spec: ColumnSpec) -> list[str]:
    """The Polars reader's range checks of one column, in its order."""
    checks = []
    if spec.type in ("float", "money"):
        checks.append("coalesce(isnan({value}) OR abs({value}) = double('inf'), FALSE)")
    if spec.type == "money":
        checks.append(f"coalesce(abs({{value}}) > {MAX_MONEY!r}, FALSE)")
    elif spec.type in ("text", "category"):
        checks.append(f"coalesce(char_length({{value}}) > {MAX_TEXT_CHARS}, FALSE)")
    elif spec.type in TEMPORAL:
        first, last = spec.years
        checks.append(f"coalesce(NOT year({{value}}) BETWEEN {first} AND {last}, FALSE)")
    return checks


def contract_checks(
    present: Sequence[str], dataset: DatasetContract, contract_source: str
) -> list[Check]:
    """The Polars reader's checks in its order: a line longer than the header, every column's
    parse check, then the range checks (their messages are the Polars reader's own)."""
    checks = [
        Check(None, "not valid UTF-8; save the file as UTF-8", NOT_UTF8),
        Check(
            None,
            "a double quote is not closed (a quoted field may not span lines on Spark)",
            OPEN_QUOTE,
        ),
        Check(None, "more than {width} field(s), the header has {width}", f"{EXTRA} IS NOT NULL"),
    ]
    checks += [
        Check(name, _problem(dataset.columns[name]), _is_bad(dataset.columns[name]))
        for name in present
    ]
    ranges = [(name, sql) for name in present for sql in _range_sql(dataset.columns[name])]
    source = contract_source or "the dataset contract"
    worded = _range_checks(present, dataset, source)
    assert [name for name, _ in ranges] == [name for name, _, _ in worded]
    checks += [
        Check(name, problem, sql)
        for (name, sql), (_, _, problem) in zip(ranges, worded, strict=True)
    ]
    return checks


def _fail(uri: str, error: Exception) -> UserError:
    """A Spark failure while opening ``uri`` as one line."""
    text = str(error).strip()
    if "PATH_NOT_FOUND" in text or "does not exist" in text.lower():
        return UserError(f"{uri}: file not found")
    first = text.splitlines()[0] if text else type(error).__name__
    return UserError(f"{uri}: cannot read: {clipped(first)}")


def _lines(spark: Any, part_index: int, uri: str) -> DataFrame:
    """The lines of ``uri`` with their part index, file, split offset and line id."""
    lines: DataFrame = spark.read.text(uri).selectExpr(
        "value",
        f"CAST({part_index} AS INT) AS {PART}",
        f"_metadata.file_path AS {FILE}",
        f"_metadata.file_block_start AS {BLOCK}",
        f"monotonically_increasing_id() AS {LINE_ID}",
    )
    return lines


def open_part(spark: Any, index: int, uri: str, dataset: DatasetContract) -> Part:
    """Read the header line of ``uri`` (one line) and check it as the Polars reader does; every
    required column of the contract must be there."""
    from pyspark.errors import PySparkException

    try:
        lines = _lines(spark, index, uri)
        first = lines.limit(1).collect()
        if first and first[0][BLOCK] != 0:  # the first task read another split: ask for split 0
            first = lines.where(f"{BLOCK} = 0").orderBy(LINE_ID).limit(1).collect()
    except PySparkException as error:
        raise _fail(uri, error) from None
    if not first or not (first[0]["value"] or "").lstrip("\ufeff").strip():
        raise UserError(f"{uri}: file is empty (expected a header line and data rows)")
    text = first[0]["value"].lstrip("\ufeff")
    if "\x00" in text:
        raise UserError(
            f"{uri}: line 1, header: contains NUL bytes (UTF-16 text or a binary file?); "
            "save the file as UTF-8 CSV"
        )
    header = text.encode("utf-8")
    separator = detect_separator(header)
    check_header(uri, header, separator, dataset)
    fields = header_fields(header, separator)
    mapping = canonical_names(uri, fields, dataset)
    part = Part(index, uri, separator, fields, first[0][LINE_ID])
    for position, name in enumerate(fields):
        if name in mapping:
            part.raw[mapping[name]] = _field(position)
    missing = [name for name in dataset.required_columns if name not in part.raw]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        seen = ", ".join(shown(name) for name in fields[:SHOWN_HEADERS])
        more = f" and {len(fields) - SHOWN_HEADERS} more" if len(fields) > SHOWN_HEADERS else ""
        raise UserError(
            f"{uri}: line 1: required column(s) {names} missing from the header "
            f"(read with separator {separator!r}: {seen}{more})"
        )
    return part


def _typed_part(
    spark: Any,
    part: Part,
    present: Sequence[str],
    checks: Sequence[Check],
    dataset: DatasetContract,
    contract_source: str,
) -> DataFrame:
    """The data rows of ``part``: ids, raw cells, typed contract columns, one flag per check."""
    cells = [_field(i) for i in range(len(part.fields))]
    schema = ", ".join(f"{cell} STRING" for cell in [*cells, EXTRA])
    options = f"map('sep', {sql_string(part.separator)}, 'escape', '\"')"
    ids = [PART, FILE, BLOCK, LINE_ID, *LINE_FLAGS]
    opens = sql_string(f'(^|{re.escape(part.separator)})[{WHITESPACE}]*"')
    rows = (
        _lines(spark, part.index, part.uri)
        .where(f"NOT ({BLOCK} = 0 AND {LINE_ID} = {part.header_id})")
        .selectExpr(
            *ids[:4],
            f"NOT is_valid_utf8(value) AS {NOT_UTF8}",
            # an odd number of quotes on a line where a field opens with one
            f"value RLIKE {opens} AND (length(value) - length(replace(value, '\"'))) % 2 = 1 "
            f"AS {OPEN_QUOTE}",
            "value",
        )
        .selectExpr(*ids, f"from_csv(value, {sql_string(schema)}, {options}) AS r")
        .selectExpr(*ids, *[f"NULLIF(r.{cell}, '') AS {cell}" for cell in [*cells, EXTRA]])
        .where(f"coalesce({', '.join([*cells, EXTRA])}) IS NOT NULL")  # blank lines: no data
        .selectExpr("*", f"monotonically_increasing_id() AS {DATA_ID}")
    )
    where = contract_source or "the dataset contract"
    columns = []
    for name in present:
        spec = dataset.columns[name]
        if name in part.raw:
            sql = parse_sql(part.raw[name], spec, f"{where}: columns.{name}")
        else:
            sql = "NULL"
        columns.append(f"CAST({sql} AS {SPARK_TYPES[spec.type]}) AS {quoted(name)}")
    raws = [f"{raw} AS {quoted(_raw(name))}" for name, raw in part.raw.items()]
    typed = rows.selectExpr(*ids, DATA_ID, EXTRA, *raws, *columns)
    flags = [f"{check.on(part)} AS {_flag(i)}" for i, check in enumerate(checks)]
    return typed.selectExpr("*", *flags)


@dataclass(frozen=True)
class Split:
    """The data rows of one file split (a task's share of a part) and their bad rows per check."""

    part: int
    block: int
    rows: int
    first_id: int
    files: int
    bad: tuple[int, ...]


def _split_counts(typed: DataFrame, n_checks: int) -> list[Split]:
    """One pass over the data: per (part, split) the data rows, the smallest DATA_ID, the number
    of files and the bad rows of every check; one row per split comes back."""
    counts = "".join(f", count_if({_flag(i)}) AS {_flag(i)}" for i in range(n_checks))
    query = (
        f"SELECT {PART}, {BLOCK}, count(1) AS n, min({DATA_ID}) AS first_id, "
        f"count(DISTINCT {FILE}) AS files{counts} FROM {{typed}} GROUP BY {PART}, {BLOCK}"
    )
    rows = typed.sparkSession.sql(query, typed=typed).collect()
    splits = [
        Split(
            row[PART],
            row[BLOCK],
            row["n"],
            row["first_id"],
            row["files"],
            tuple(row[_flag(i)] for i in range(n_checks)),
        )
        for row in rows
    ]
    return sorted(splits, key=lambda split: (split.part, split.block))


def _row_sql(splits: Sequence[Split]) -> str:
    """SQL of ROW: the data rows of the splits before a row's split plus its place in the split
    (its DATA_ID less the split's first); one map literal per part."""
    offsets: dict[int, list[str]] = {}
    total = 0
    for split in splits:
        offsets.setdefault(split.part, []).extend([str(split.block), str(total - split.first_id)])
        total += split.rows
    cases = " ".join(
        f"WHEN {part} THEN map({', '.join(pairs)})[{BLOCK}]" for part, pairs in offsets.items()
    )
    return f"CASE {PART} {cases} END + {DATA_ID}" if offsets else "CAST(NULL AS BIGINT)"


def _check_parts(parts: Sequence[Part], splits: Sequence[Split]) -> None:
    """A source naming several files, or holding no data row, is an error."""
    for part in parts:
        own = [split for split in splits if split.part == part.index]
        if any(split.files > 1 for split in own):
            raise UserError(
                f"{part.uri}: names several files; list each CSV part as a source of its own"
            )
        if not own:
            raise UserError(f"{part.uri}: header only, no data rows")


def _line_numbers(lines: DataFrame, part: int, ids: Sequence[tuple[int, int]]) -> list[int]:
    """The 1-based file line of each (split, LINE_ID) of ``part``: one small aggregate over the
    lines of the part (error path only)."""
    query = (
        f"SELECT {BLOCK}, count(1) AS n, min({LINE_ID}) AS first_id FROM {{lines}} GROUP BY {BLOCK}"
    )
    counts = sorted(lines.sparkSession.sql(query, lines=lines).collect())
    start, total = {}, 0
    for block, n, first_id in counts:
        start[block] = total - first_id
        total += n
    return [start[block] + line_id + 1 for block, line_id in ids]


def _raise_first_failure(
    spark: Any,
    frame: DataFrame,
    parts: Sequence[Part],
    splits: Sequence[Split],
    checks: Sequence[Check],
) -> None:
    """The UserError of the first failing check of the first failing part, as the Polars reader
    words it: the count and the first lines with their values (a bounded query)."""
    for part in parts:
        bad = [
            sum(split.bad[i] for split in splits if split.part == part.index)
            for i in range(len(checks))
        ]
        failing = next((i for i, count in enumerate(bad) if count), None)
        if failing is None:
            continue
        check = checks[failing]
        shown_raw = f"{quoted(_raw(check.column))}" if check.column else "CAST(NULL AS STRING)"
        first = (
            frame.where(f"{PART} = {part.index} AND {_flag(failing)}")
            .orderBy(ROW)
            .limit(SHOWN_EXAMPLES)
            .selectExpr(BLOCK, LINE_ID, f"{shown_raw} AS v")
            .collect()
        )
        lines = _line_numbers(
            _lines(spark, part.index, part.uri), part.index, [(r[BLOCK], r[LINE_ID]) for r in first]
        )
        if check.column is None:
            problem = check.problem.format(width=len(part.fields))
            raise UserError(f"{part.uri}: line {lines[0]}: {problem}")
        examples = ", ".join(
            f"line {line}: {shown(row['v'])}" for line, row in zip(lines, first, strict=True)
        )
        raise UserError(
            f"{part.uri}: column {check.column!r}: {bad[failing]} value(s) {check.problem} "
            f"({examples})"
        )


GLOB_CHARS = frozenset("*?[{")


def list_csv_parts(spark: Any, uri: str) -> list[str]:
    """The CSV files a storage URI names, listed by Spark where the storage is (no file content
    is read; works through Spark Connect): the file itself, every ``*.csv`` of a folder, or the
    matches of a glob, in name order. Missing or empty is a one-line UserError."""
    reader = spark.read.format("binaryFile")
    glob = bool(GLOB_CHARS & set(uri.rsplit("/", 1)[-1]))
    if not glob:
        reader = reader.option("pathGlobFilter", "*.csv")
    empty = UserError(f"{uri}: no CSV file there (an empty folder, or a glob matching none)")
    try:
        listed = reader.load(uri).selectExpr("path").collect()
    except Exception as error:  # a pyspark error, or Py4JJavaError (e.g. no s3a connector)
        failure = _fail(uri, error)
        raise (empty if glob and str(failure).endswith("file not found") else failure) from None
    files = sorted(str(row["path"]) for row in listed)
    if not files:
        raise empty
    return files


def read_csv_spark(
    spark: Any, sources: Sequence[str], dataset: DatasetContract, contract_source: str = ""
) -> DataFrame:
    """The typed raw table of the CSV ``sources`` (parts, read in the given order) as a Spark
    DataFrame: the contract's columns present in the files, in contract order, typed as the
    Polars reader types them (bigint, double, date, timestamp_ntz, boolean, string), plus
    :data:`ROW` (bigint), the row's 0-based position across all parts in file and line order.
    ``sources`` are paths or URIs Spark can read (``file:///``, ``s3a://``, ``hdfs://``, absolute
    paths), one CSV file each; ``contract_source`` names the contract file in messages.

    A one-line :class:`UserError` names the source, line, column and value of the first problem:
    a header without a required column, an empty or unparsable cell, a value out of range (a date
    outside the plausible years), a line longer than the header, an empty or header-only file.
    The checks cost one aggregate pass (which also yields ROW's offsets); nothing is collected but
    one row per file split and, on failure, the first failing rows."""
    if not sources:
        raise UserError("no CSV source to read (expected one or more CSV files)")
    parts = [open_part(spark, index, uri, dataset) for index, uri in enumerate(sources)]
    present = [name for name in dataset.columns if any(name in part.raw for part in parts)]
    checks = contract_checks(present, dataset, contract_source)
    typed = _typed_part(spark, parts[0], present, checks, dataset, contract_source)
    for part in parts[1:]:
        typed = typed.unionByName(
            _typed_part(spark, part, present, checks, dataset, contract_source)
        )
    splits = _split_counts(typed, len(checks))
    _check_parts(parts, splits)
    framed = typed.selectExpr("*", f"CAST({_row_sql(splits)} AS BIGINT) AS {ROW}")
    _raise_first_failure(spark, framed, parts, splits, checks)
    return framed.selectExpr(*[quoted(name) for name in present], ROW)


def with_row_number_spark(frame: DataFrame, dataset: DatasetContract) -> DataFrame:
    """``frame`` with ``row_number`` (ROW + 1: 1, 2, ... in source order) when the contract has
    no single-column key, as :func:`~features_pipeline.ingest.table.with_row_number` on Polars."""
    if not dataset.adds_row_number:
        return frame
    return frame.selectExpr("*", f"{ROW} + 1 AS {ROW_NUMBER}")
