"""Draft a dataset contract from a CSV: types, date formats, nullability, key, order, target.

The draft is a starting point the user reads and edits (``features-pipeline dataset infer``):
every guess that can be wrong carries a ``# check`` comment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from features_pipeline.contracts.dataset import DEFAULT_YEARS
from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import (
    check_readable,
    detect_separator,
    find_malformed_line,
    header_fields,
)

INFER_ROWS = 10_000  # rows read to infer types (the whole file is checked by ingest later)
CATEGORY_MAX_DISTINCT = 50  # at most this many distinct values (or < half the rows): a category
DATE_FORMATS = (  # tried in this order; the first that reads every value wins
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%Y",
    "%d-%m-%Y",
)
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M")
RATE_MAX = 1.0  # numbers all within [-1, 1]: a share or rate (float), not money
SHOWN_VALUES = 3  # sample values quoted as evidence in a "# check" note
TWO_DIGIT_PIVOT = 70  # %y: 00-69 -> 2000s, 70-99 -> 1900s (a draft default: check it)
_BOOLEAN_WORDS = {"true", "false", "yes", "no", "t", "f", "y", "n"}
_INTEGER = r"^[+-]?\d+$"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_CENTS = r"^[+-]?\d+(\.\d{1,2})?$"
_TWO_DECIMALS = r"\.\d{2}$"


@dataclass(frozen=True)
class InferredColumn:
    """One column of the draft: its type and what the sample showed."""

    name: str
    type: str
    nullable: bool
    unique: bool
    distinct: int
    formats: tuple[str, ...] = ()
    note: str = ""
    outcome: bool = False  # recorded with the target: never a model input

    def yaml(self) -> str:
        keys = [f"type: {self.type}"]
        if self.formats:
            keys.append(f"formats: [{', '.join(json.dumps(fmt) for fmt in self.formats)}]")
            if any("%y" in fmt for fmt in self.formats):
                keys.append(f"two_digit_year_pivot: {TWO_DIGIT_PIVOT}")
        if self.nullable:
            keys.append("nullable: true")
        if self.outcome:
            keys.append("outcome: true")
        line = f"  {json.dumps(self.name)}: {{{', '.join(keys)}}}"
        return f"{line}  # {self.note}" if self.note else line


def _all_match(values: pl.Series, pattern: str) -> bool:
    return bool(values.str.contains(pattern).all())


def _date_formats(values: pl.Series, formats: Sequence[str], datetime: bool) -> tuple[str, ...]:
    """The formats of ``formats`` that read every value with a plausible year (``%Y`` reads
    ``1/27/11`` as year 11: not a fit), in order; more than one: the draft says it is ambiguous."""
    first, last = DEFAULT_YEARS
    fits = []
    for fmt in formats:
        parsed = (
            values.str.to_datetime(fmt, strict=False, time_unit="us")
            if datetime
            else values.str.to_date(fmt, strict=False)
        )
        if parsed.null_count() == 0 and parsed.dt.year().is_between(first, last).all():
            fits.append(fmt)
    return tuple(fits)


def read_sample(path: Path, rows: int = INFER_ROWS) -> pl.DataFrame:
    """The first ``rows`` data rows of the CSV at ``path``, every cell as text (empty: null);
    a file that is not a readable CSV is one UserError line."""
    check_readable(path)
    with path.open("rb") as handle:
        header = handle.readline().removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    if not header.strip():
        raise UserError(f"{path}: file is empty (expected a header line and data rows)")
    separator = detect_separator(header)
    names = header_fields(header, separator)
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise UserError(f"{path}: line 1: column {duplicated[0]!r} appears twice in the header")
    try:
        sample = pl.read_csv(
            path,
            separator=separator,
            infer_schema=False,
            n_rows=rows,
            encoding="utf8-lossy",
            empty_string_is_null=True,
            new_columns=names,
        )
    except pl.exceptions.PolarsError as exc:
        malformed = find_malformed_line(path, separator, until=rows + 1)
        problem = f"line {malformed[0]}: {malformed[1]}" if malformed else str(exc).splitlines()[0]
        raise UserError(f"{path}: cannot read as CSV: {problem}") from None
    if sample.height == 0:
        raise UserError(f"{path}: header only, no data rows")
    return sample


def _samples(values: pl.Series, shown: int = SHOWN_VALUES) -> str:
    """``'a', 'b', 'c'``: the first distinct values of ``values`` in file order."""
    return ", ".join(repr(value) for value in values.unique(maintain_order=True).head(shown))


def _range(values: pl.Series) -> str:
    """``0 to 0.8``: the smallest and largest number of text cells that all parse."""
    numbers = values.cast(pl.Float64)
    return f"{float(numbers.min()):g} to {float(numbers.max()):g}"  # type: ignore[arg-type]


def infer_column(name: str, column: pl.Series) -> InferredColumn:
    """Guess the contract type of one column of text cells (empty cells already null); a guess
    that may well be wrong carries a ``check:`` note with the evidence (range, distinct count,
    sample values)."""
    values = column.drop_nulls().str.strip_chars()
    values = values.filter(values != "")
    nullable = values.len() < column.len()
    distinct = values.n_unique()
    unique = distinct == column.len() and not nullable

    def made(kind: str, formats: tuple[str, ...] = (), note: str = "") -> InferredColumn:
        return InferredColumn(name, kind, nullable, unique, distinct, formats, note)

    if values.len() == 0:
        return made("text", note="check: every sampled cell is empty")
    if _all_match(values, _INTEGER):
        if set(values.unique().to_list()) <= {"0", "1"}:
            return made("integer", note="check: only 0 and 1 seen (boolean?)")
        return made("integer")
    if _all_match(values, _NUMBER):
        numbers = values.cast(pl.Float64)
        if numbers.abs().max() <= RATE_MAX:  # type: ignore[operator]
            cents = _all_match(values, _CENTS) and bool(values.str.contains(_TWO_DECIMALS).any())
            guess = "a share or rate, not money" if cents else "a share or rate"
            return made("float", note=f"check: range {_range(values)} ({guess}?)")
        cents = _all_match(values, _CENTS) and bool(values.str.contains(_TWO_DECIMALS).any())
        return made("money") if cents else made("float")
    if set(values.str.to_lowercase().unique().to_list()) <= _BOOLEAN_WORDS:
        return made("boolean")
    for kind, formats in (("date", DATE_FORMATS), ("datetime", DATETIME_FORMATS)):
        fits = _date_formats(values, formats, kind == "datetime")
        if fits:
            note = (
                f"check: {fits[0]!r} and {fits[1]!r} both read every sampled value "
                f"(e.g. {_samples(values)})"
                if len(fits) > 1
                else ""
            )
            return made(kind, fits[:1], note)
    is_id = "id" in name.lower().replace("_", " ").split()
    evidence = f"{distinct:,} distinct values in {values.len():,} rows (e.g. {_samples(values)})"
    if not is_id and (distinct <= CATEGORY_MAX_DISTINCT or distinct * 2 < values.len()):
        if distinct > CATEGORY_MAX_DISTINCT:
            return made("category", note=f"check: {evidence}: an identifier? (type: text)")
        return made("category")
    if not is_id and not unique and distinct > 1:
        return made("text", note=f"check: {evidence}: a category? (type: category)")
    return made("text")


def _key_column(columns: Sequence[InferredColumn]) -> InferredColumn | None:
    """A unique, never-empty integer or text column, preferring names with 'id' in them."""
    candidates = [c for c in columns if c.unique and c.type in ("integer", "text", "category")]
    named = [c for c in candidates if "id" in c.name.lower().replace("_", " ").split()]
    return next(iter(named or candidates), None)


def _group_column(columns: Sequence[InferredColumn], key: InferredColumn | None) -> str | None:
    """A repeated id column (e.g. an order of several rows): rows sharing it share a split."""
    for column in columns:
        words = column.name.lower().replace("_", " ").split()
        if column is not key and not column.unique and "id" in words and column.distinct > 1:
            return column.name
    return None


def draft_contract(
    table: pl.DataFrame,
    name: str,
    target: str | None = None,
    outcomes: Mapping[str, str] | None = None,
) -> str:
    """The YAML text of a draft contract for ``table`` (all cells text, as read); ``outcomes``
    (column -> evidence) are marked ``outcome: true`` with a check note."""
    columns = [infer_column(column, table.get_column(column)) for column in table.columns]
    found = outcomes or {}
    columns = [
        replace(c, outcome=True, note=f"check: {found[c.name]}") if c.name in found else c
        for c in columns
    ]
    numeric = [c.name for c in columns if c.type in ("integer", "float", "money")]
    target_name = target or (numeric[-1] if numeric else columns[-1].name)
    key = _key_column(columns)
    group = _group_column(columns, key)
    dates = [c.name for c in columns if c.type in ("date", "datetime")]
    lines = [
        f"# A draft contract inferred from {table.height:,} sampled row(s): read every line,",
        "# fix the '# check' guesses, add value rules, then set dataset.contract to this file.",
        f"name: {json.dumps(name)}",
        "",
        "columns:",
        *(column.yaml() for column in columns),
        "",
        f"key: [{json.dumps(key.name)}]" if key else "key: []  # none unique: rows are numbered",
    ]
    if group:
        lines.append(f"split_by: [{json.dumps(group)}]  # rows sharing it land in the same split")
    if dates:
        lines.append(f"order_by: {json.dumps(dates[0])}  # window features read rows by date")
    guessed = "" if target else "  # check: the last numeric column"
    lines += [f"target: {json.dumps(target_name)}{guessed}", ""]
    lines += [
        "rules: []  # e.g. - {type: compare, left: Ship Date, op: '>=', right: Order Date}",
        "           #      - {type: product, column: Revenue, of: [Quantity, Price]}",
        "",
    ]
    return "\n".join(lines)
