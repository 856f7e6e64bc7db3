"""The dataset contract (``config/dataset.yaml``): what a raw table is, declared in YAML.

Columns with their types, required or optional, the row key, the row order of window features,
value rules and the target. The reader, the raw contract, validation, the feature spec checks,
train and predict all read it; nothing about one dataset lives in Python.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from features_pipeline.contracts.params import (
    ParamsFile,
    StrictModel,
    load_yaml,
    plain_error,
    validated,
)
from features_pipeline.contracts.paths import inside_project
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError

ColumnType = Literal["text", "category", "integer", "float", "money", "date", "datetime", "boolean"]
COLUMN_TYPES: tuple[str, ...] = ColumnType.__args__  # type: ignore[attr-defined]
DTYPES: dict[str, pl.DataType] = {
    "text": pl.String(),
    "category": pl.String(),
    "integer": pl.Int64(),
    "float": pl.Float64(),
    "money": pl.Float64(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "boolean": pl.Boolean(),
}
TEMPORAL = ("date", "datetime")
NUMERIC = ("integer", "float", "money")
DEFAULT_FORMATS = {"date": ("%Y-%m-%d",), "datetime": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")}
DEFAULT_YEARS = (1900, 2100)
ROW_NUMBER = "row_number"  # added by ingest when the contract declares no single-column key
DEFAULT_CONTRACT = Path("config/dataset.yaml")
_EXAMPLE_DAY = dt.datetime(2010, 5, 28, 14, 30, 0)


class ColumnSpec(StrictModel):
    """One raw column: its type and the values it may hold."""

    type: ColumnType
    required: bool = True  # false: a file without this column is accepted
    nullable: bool = False  # true: empty cells are accepted (null)
    unique: bool = False
    outcome: bool = False  # known only together with the target: never a model input
    formats: tuple[str, ...] | None = Field(default=None, min_length=1)  # date/datetime only
    two_digit_year_pivot: int | None = Field(default=None, ge=0, le=100)  # %y: yy < pivot -> 20yy
    years: tuple[int, int] = DEFAULT_YEARS  # plausible years of a date/datetime (inclusive)
    allowed: tuple[str, ...] | None = Field(default=None, min_length=1)  # text/category only
    greater_than: float | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _keys_fit_the_type(self) -> ColumnSpec:
        if self.type not in TEMPORAL:
            for key in ("formats", "two_digit_year_pivot"):
                if getattr(self, key) is not None:
                    raise plain_error(f"{key!r} applies to date and datetime columns only")
        if self.allowed is not None and self.type not in ("text", "category"):
            raise plain_error("'allowed' applies to text and category columns only")
        bounds = ("greater_than", "min", "max")
        if self.type not in NUMERIC and any(getattr(self, key) is not None for key in bounds):
            raise plain_error("'greater_than', 'min' and 'max' apply to numeric columns only")
        if self.years[0] > self.years[1]:
            raise plain_error(f"'years': {self.years[0]} is after {self.years[1]}")
        return self

    @property
    def dtype(self) -> pl.DataType:
        return DTYPES[self.type]

    @property
    def date_formats(self) -> tuple[str, ...]:
        """The formats a date/datetime cell is parsed with, first match wins."""
        return self.formats or DEFAULT_FORMATS.get(self.type, ())

    def example(self) -> str:
        """A valid value as the file would write it (for messages): ``5/28/2010``."""
        if self.type in TEMPORAL:
            unpadded = re.sub(r"%([mdHI])", r"%-\1", self.date_formats[0])
            return _EXAMPLE_DAY.strftime(unpadded)
        return {"integer": "42", "boolean": "true"}.get(self.type, "12.5")


Operator = Literal[">=", ">", "<=", "<", "==", "!="]


class CompareRule(StrictModel):
    """``left op right`` on every row (both columns present): ``Ship Date >= Order Date``."""

    type: Literal["compare"]
    left: str
    op: Operator
    right: str

    @property
    def column(self) -> str:
        return self.left

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.left, self.right)

    def describe(self) -> str:
        return f"{self.left} {self.op} {self.right}"


class ProductRule(StrictModel):
    """``column == of[0] x of[1] x ...`` to the cent when money is involved (else exactly)."""

    type: Literal["product"]
    column: str
    of: tuple[str, ...] = Field(min_length=2)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.of)

    def describe(self) -> str:
        return f"{self.column} == {' x '.join(self.of)}"


class DifferenceRule(StrictModel):
    """``column == of[0] - of[1] - ...`` to the cent when money is involved (else exactly)."""

    type: Literal["difference"]
    column: str
    of: tuple[str, ...] = Field(min_length=2)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.of)

    def describe(self) -> str:
        return f"{self.column} == {' - '.join(self.of)}"


class SumRule(StrictModel):
    """``column == of[0] + of[1] + ...`` to the cent when money is involved (else exactly)."""

    type: Literal["sum"]
    column: str
    of: tuple[str, ...] = Field(min_length=2)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column, *self.of)

    def describe(self) -> str:
        return f"{self.column} == {' + '.join(self.of)}"


Rule = Annotated[CompareRule | ProductRule | DifferenceRule | SumRule, Field(discriminator="type")]
RULE_TYPES = ("compare", "product", "difference", "sum")


class DatasetContract(StrictModel):
    """A raw table: columns in file order, key, row order, rules and target."""

    name: str = Field(min_length=1)
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    key: tuple[str, ...] = ()  # unique per row; empty: ingest numbers the rows (``row_number``)
    split_by: tuple[str, ...] | None = None  # rows sharing these values share a split (def. key)
    order_by: str | None = None  # window features and the time split read rows in this order
    target: str
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _names_are_columns(self) -> DatasetContract:
        known = list(self.columns)
        named: list[tuple[str, str]] = [("target", self.target)]
        named += [("key", name) for name in self.key]
        named += [("split_by", name) for name in self.split_by or ()]
        named += [("order_by", self.order_by)] if self.order_by else []
        named += [
            (f"rules[{index}] ({rule.type})", name)
            for index, rule in enumerate(self.rules)
            for name in rule.columns
        ]
        for where, name in named:
            if name not in self.columns:
                raise plain_error(
                    f"{where}: {name!r} is not a declared column{did_you_mean(name, known)}"
                )
        if self.columns[self.target].type not in NUMERIC:
            raise plain_error(
                f"target: {self.target!r} is a {self.columns[self.target].type} column; "
                "the target must be integer, float or money"
            )
        if self.order_by and self.columns[self.order_by].type not in (*TEMPORAL, *NUMERIC):
            raise plain_error(f"order_by: {self.order_by!r} must be a date, datetime or number")
        for name in self.key:
            if self.columns[name].nullable or not self.columns[name].required:
                raise plain_error(f"key: {name!r} must be required and not nullable")
        return self

    @property
    def dtypes(self) -> dict[str, pl.DataType]:
        """Polars dtype per declared column, file order (plus ``row_number`` when added)."""
        dtypes = {name: spec.dtype for name, spec in self.columns.items()}
        if self.adds_row_number:
            dtypes[ROW_NUMBER] = pl.Int64()
        return dtypes

    @property
    def adds_row_number(self) -> bool:
        """Whether ingest adds ``row_number`` (no key, or a key of several columns)."""
        return len(self.key) != 1

    @property
    def row_key(self) -> tuple[str, ...]:
        """Columns identifying a row: the key, or ``row_number`` when none is declared."""
        return self.key or (ROW_NUMBER,)

    @property
    def tie_breaker(self) -> str:
        """One column ordering rows with equal ``order_by``: the key, else ``row_number``."""
        return self.key[0] if len(self.key) == 1 else ROW_NUMBER

    @property
    def split_key(self) -> tuple[str, ...]:
        """Rows with equal values here land in the same split."""
        return self.split_by or self.row_key

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(name for name, spec in self.columns.items() if spec.required)

    @property
    def outcome_columns(self) -> tuple[str, ...]:
        """The target and the columns known only with it (never model inputs)."""
        return tuple(
            name for name, spec in self.columns.items() if spec.outcome or name == self.target
        )

    def canonical(self, header: str) -> str | None:
        """The declared name of a raw header (spelling-insensitive), or None when undeclared."""
        return self._by_key.get(column_key(header))

    @cached_property
    def _by_key(self) -> dict[str, str]:
        """Declared names by spelling-insensitive key (built once per contract)."""
        return {column_key(name): name for name in self.columns}

    def rules_for(self, column: str) -> list[Rule]:
        """The rules reported under ``column`` (each rule belongs to its first column)."""
        return [rule for rule in self.rules if rule.column == column]

    def absent(self, present: Iterable[str]) -> tuple[str, ...]:
        """Declared (optional) columns missing from a table with columns ``present``."""
        have = set(present)
        return tuple(name for name in self.columns if name not in have)


def column_key(name: str) -> str:
    """Spelling-insensitive header key: ``Item Type``, ``item_type``, ``ITEM-TYPE`` agree."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


class DatasetParams(BaseModel):
    """``dataset:`` section of params.yaml: which contract file describes the raw table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contract: Path = DEFAULT_CONTRACT

    @field_validator("contract")
    @classmethod
    def _inside_the_project(cls, contract: Path) -> Path:
        """The contract is a project file (DVC tracks it as a params file): never outside it."""
        if str(contract) in ("", "."):
            raise plain_error("expected the path of a YAML file, e.g. config/dataset.yaml")
        if not inside_project(contract):
            raise plain_error(
                f"'{contract}' is outside the project; keep the dataset contract in the project "
                "(e.g. config/dataset.yaml)"
            )
        return contract


def _column_error(source: str, name: str, exc: ValidationError) -> UserError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"unknown key{did_you_mean(key, list(ColumnSpec.model_fields))}"
    elif first["type"] == "literal_error" and key == "type":
        given = str(first.get("input"))
        message = (
            f"unknown type {given!r}{did_you_mean(given, COLUMN_TYPES)} "
            f"(known: {', '.join(COLUMN_TYPES)})"
        )
    elif "input" in first and first["type"] not in ("missing", "plain_message"):
        message = f"{message} (got {first['input']!r})"
    where = f"columns.{name}.{key}" if key else f"columns.{name}"
    return UserError(f"{source}: {where}: {message}")


def parse_contract(raw: Mapping[str, Any], source: str) -> DatasetContract:
    """A loaded contract mapping validated; a mistake is one UserError naming file and key."""
    columns = raw.get("columns")
    if isinstance(columns, dict):
        for name, spec in columns.items():
            if not isinstance(name, str):
                raise UserError(f"{source}: columns: column names must be text (got {name!r})")
            if not isinstance(spec, dict):
                raise UserError(
                    f"{source}: columns.{name}: expected a mapping like {{type: integer}}"
                )
            try:
                ColumnSpec.model_validate(spec)
            except ValidationError as exc:
                raise _column_error(source, name, exc) from None
    return validated(DatasetContract, dict(raw), source)


def load_contract(path: Path) -> DatasetContract:
    """Read and validate the contract file at ``path`` (no data is read)."""
    return parse_contract(load_yaml(path), str(path))


def read_contract(params: ParamsFile) -> DatasetContract:
    """The contract named by ``dataset.contract`` in ``params``."""
    return load_contract(params.section("dataset", DatasetParams).contract)
