"""The planner: dependency levels, output dtypes and target dependence, all before any data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.dtypes import dtype_name
from features_pipeline.contracts.plan_file import Kind, PlanEntry, PlanFile
from features_pipeline.contracts.split import SPLIT
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.engines.registry import DEFAULT_ENGINE, capabilities, engine_names
from features_pipeline.errors import UserError
from features_pipeline.features.spec import load_features
from features_pipeline.features.types import Feature, RowOrder, SpecError
from features_pipeline.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class PlannedFeature:
    """A feature with what the planner learned about it."""

    feature: Feature
    level: int
    dtype: pl.DataType
    depends_on_target: bool
    target_derived: bool

    @property
    def name(self) -> str:
        return self.feature.name

    @property
    def kind(self) -> Kind:
        return self.feature.kind


@dataclass(frozen=True)
class Plan:
    """Features in dependency order, grouped into levels that can run in parallel."""

    features: tuple[PlannedFeature, ...]
    input_schema: Mapping[str, pl.DataType]
    target: str
    source: str
    dropped: Mapping[str, str] = field(default_factory=dict)  # feature -> absent column it needs

    @property
    def levels(self) -> list[list[PlannedFeature]]:
        depth = max((planned.level for planned in self.features), default=-1) + 1
        return [[p for p in self.features if p.level == level] for level in range(depth)]

    def __getitem__(self, name: str) -> PlannedFeature:
        for planned in self.features:
            if planned.name == name:
                return planned
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [planned.name for planned in self.features]

    def names_of(self, kind: Kind) -> list[str]:
        return [planned.name for planned in self.features if planned.kind is kind]

    @property
    def window_features(self) -> list[str]:
        return self.names_of(Kind.WINDOW)

    @property
    def target_derived(self) -> list[str]:
        return [planned.name for planned in self.features if planned.target_derived]

    @property
    def output_schema(self) -> dict[str, pl.DataType]:
        return {**self.input_schema, **{p.name: p.dtype for p in self.features}}

    def to_plan_file(self) -> PlanFile:
        """What later stages read of the plan (written beside the features as plan.json)."""
        return PlanFile(
            target=self.target,
            spec=self.source,
            dropped=dict(self.dropped),
            levels=tuple(tuple(planned.name for planned in level) for level in self.levels),
            features={
                planned.name: PlanEntry(
                    name=planned.name,
                    type=planned.feature.type,
                    kind=planned.kind,
                    dtype=dtype_name(planned.dtype),
                    inputs=planned.feature.inputs(),
                    level=planned.level,
                    depends_on_target=planned.depends_on_target,
                    target_derived=planned.target_derived,
                )
                for planned in self.features
            },
        )

    def needed_features(self, inputs: Sequence[str]) -> list[str]:
        """The features among ``inputs`` and every feature a row needs to compute them (fitted
        features: their join keys only), in plan order."""
        names = set(self.names)
        needed: set[str] = set()
        pending = [name for name in inputs if name in names]
        while pending:
            name = pending.pop()
            if name in needed:
                continue
            needed.add(name)
            pending.extend(col for col in self[name].feature.row_inputs() if col in names)
        return [name for name in self.names if name in needed]

    def needed_inputs(self, inputs: Sequence[str]) -> set[str]:
        """Input columns a row must carry to compute ``inputs`` (features or input columns)."""
        raw = {name for name in inputs if name not in self.names}
        for name in self.needed_features(inputs):
            raw.update(col for col in self[name].feature.row_inputs() if col not in self.names)
        return raw

    def restricted_to(self, inputs: Sequence[str]) -> Plan:
        """This plan with only the features ``inputs`` need (new rows need not carry the target)."""
        keep = set(self.needed_features(inputs))
        return replace(self, features=tuple(p for p in self.features if p.name in keep))


def _label(source: str, feature: Feature) -> str:
    return f"{source}: feature {feature.name!r} ({feature.type})"


def check_engine_schema(schema: Mapping[str, pl.DataType], engine: str, source: str) -> None:
    """Input columns ``engine`` cannot carry faithfully: an engine that does not keep time zones
    (DuckDB, Spark) holds a time-zone-aware datetime as UTC, so its dates and date parts would be
    those of the UTC clock."""
    if capabilities(engine).keeps_time_zones:
        return
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone not in (None, "UTC"):
            raise UserError(
                f"{source}: input column {name!r} is {dtype}: engine {engine!r} keeps datetimes "
                "in UTC only; convert it to UTC or to a date first, or use engine "
                f"{' or '.join(map(repr, engine_names(lambda can: can.keeps_time_zones)))}"
            )


def check_names(
    features: Sequence[Feature], schema: Mapping[str, pl.DataType], source: str
) -> None:
    """Output names must not collide with input columns."""
    for feature in features:
        if feature.name in schema:
            raise UserError(
                f"{_label(source, feature)}: key 'name': {feature.name!r} collides with an input "
                "column; choose another name"
            )


def check_references(
    features: Sequence[Feature], schema: Mapping[str, pl.DataType], source: str
) -> None:
    """Every column a feature reads comes from the input or from another feature."""
    known = [*schema, *(feature.name for feature in features)]
    for feature in features:
        for key, columns in feature.column_keys().items():
            for column in columns:
                if column not in known:
                    raise UserError(
                        f"{_label(source, feature)}: key {key!r}: unknown column {column!r}"
                        f"{did_you_mean(column, known)}"
                    )


def _key_naming(feature: Feature, column: str) -> str:
    """The first spec key of ``feature`` that names ``column``."""
    return next(key for key, columns in feature.column_keys().items() if column in columns)


def dependency_levels(features: Sequence[Feature], source: str) -> dict[str, int]:
    """Level of each feature: 0 without feature inputs, else 1 + the deepest input; no cycles."""
    by_name = {feature.name: feature for feature in features}
    levels: dict[str, int] = {}
    visiting: list[str] = []

    def visit(name: str) -> int:
        if name in levels:
            return levels[name]
        if name in visiting:
            cycle = [*visiting[visiting.index(name) :], name]
            raise UserError(
                f"{_label(source, by_name[name])}: key {_key_naming(by_name[name], cycle[1])!r}: "
                f"dependency cycle {' -> '.join(cycle)}"
            )
        visiting.append(name)
        inputs = [column for column in by_name[name].inputs() if column in by_name]
        levels[name] = 1 + max((visit(column) for column in inputs), default=-1)
        visiting.pop()
        return levels[name]

    for feature in features:
        visit(feature.name)
    return levels


def input_schema_of(dataset: DatasetContract) -> dict[str, pl.DataType]:
    """The columns a feature spec may read when planned without data: the contract's + split."""
    return {**dataset.dtypes, SPLIT: pl.String()}


def with_row_order(features: Sequence[Feature], order: RowOrder | None) -> list[Feature]:
    """Window features with unset ``order_by``/``tie_breaker`` given the dataset's row order."""
    return [feature.with_row_order(order) if order else feature for feature in features]


def drop_needing_absent(
    features: Sequence[Feature], absent: Sequence[str], source: str
) -> tuple[list[Feature], dict[str, str]]:
    """Features that (directly or through other features) read a column in ``absent`` (optional
    in the dataset contract, not in this table) are dropped, each with one warning line."""
    missing = set(absent)
    kept: list[Feature] = []
    dropped: dict[str, str] = {}
    for _ in features:  # a fixed point: each pass can only drop more
        kept, changed = [], False
        for feature in features:
            if feature.name in dropped:
                continue
            needs = next((c for c in feature.inputs() if c in missing or c in dropped), None)
            if needs is None:
                kept.append(feature)
                continue
            dropped[feature.name] = dropped.get(needs, needs)
            changed = True
        if not changed:
            break
    for name, column in dropped.items():
        log.warning(
            "%s: feature %r dropped: it needs column %r, which this table does not have "
            "(optional in the dataset contract)",
            source,
            name,
            column,
        )
    return kept, dropped


def build_plan(
    features: Sequence[Feature],
    input_schema: Mapping[str, pl.DataType],
    target: str,
    source: str = "features spec",
    engine: str = DEFAULT_ENGINE,
    order: RowOrder | None = None,
    absent: Sequence[str] = (),
) -> Plan:
    """Validate features against the input schema (and what ``engine`` can run) and order them
    into dependency levels. Window features take unset row-order keys from ``order``; features
    needing a column of ``absent`` (declared optional, missing from the data) are dropped."""
    schema = dict(input_schema)
    features, dropped = drop_needing_absent(with_row_order(features, order), absent, source)
    for feature in features:
        _require_row_order(feature, source)
    check_engine_schema(schema, engine, source)
    check_names(features, schema, source)
    check_references(features, schema, source)
    levels = dependency_levels(features, source)
    ordered = sorted(features, key=lambda feature: levels[feature.name])  # stable: spec order
    dtypes: dict[str, pl.DataType] = dict(schema)
    planned: dict[str, PlannedFeature] = {}
    for feature in ordered:
        try:
            feature.check_types(dtypes)
            dtype = feature.output_dtype(dtypes)
            feature.check_output(dtype)
        except SpecError as exc:
            raise UserError(f"{_label(source, feature)}: key {exc}") from None
        reason = feature.unsupported_on(engine)
        if reason is not None:
            raise UserError(f"{_label(source, feature)}: cannot run on engine {engine!r}: {reason}")
        inputs = feature.inputs()
        upstream = [planned[name] for name in inputs if name in planned]
        # a fitted feature learned from the target is fine (train rows only), unless the row's
        # own target (or a column derived from it) is a join key or the value being binned
        row_inputs = feature.row_inputs()
        planned[feature.name] = PlannedFeature(
            feature=feature,
            level=levels[feature.name],
            dtype=dtype,
            depends_on_target=target in inputs or any(p.depends_on_target for p in upstream),
            target_derived=target in row_inputs
            or any(planned[name].target_derived for name in row_inputs if name in planned),
        )
        dtypes[feature.name] = planned[feature.name].dtype
    return Plan(tuple(planned.values()), schema, target, source, dropped)


def _require_row_order(feature: Feature, source: str) -> None:
    """A window feature needs an order: its own ``order_by`` or the contract's."""
    for key, columns in feature.column_keys().items():
        if key in ("order_by", "tie_breaker") and "" in columns:
            raise UserError(
                f"{_label(source, feature)}: key {key!r}: missing (the dataset contract declares "
                f"no {'order_by' if key == 'order_by' else 'key'}); name a column"
            )


def load_plan(
    spec_path: Path,
    input_schema: Mapping[str, pl.DataType],
    dataset: DatasetContract,
    engine: str = DEFAULT_ENGINE,
) -> Plan:
    """Read the spec file and plan it for ``engine`` and the table ``input_schema`` describes
    (no data is read); row order, target and optional columns come from ``dataset``."""
    order = RowOrder(dataset.order_by or "", dataset.tie_breaker)
    absent = dataset.absent(input_schema)
    return build_plan(
        load_features(spec_path),
        input_schema,
        dataset.target,
        str(spec_path),
        engine,
        order,
        absent,
    )
