"""Engine conformance: every feature type with every option gives on DuckDB and Spark what it
gives on Polars (the oracle), on an edge-case table and on the shipped spec at 50k rows.

Rows are matched by a row key, never by position: integers, strings and dates must be equal,
floats within 1e-9 relative with nulls, NaNs and infinities (and their signs) in the same places.
Each engine's learned tables must match Polars' too, and a state fitted on an engine must
transform new rows (on Polars) exactly as the Polars-fitted state does. Each engine runs the
whole conformance spec at once (a few big queries, not one job per case); the per-feature tests
then compare its columns. Spark cases are marked ``spark`` (``pytest -m spark``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from edge_table import (
    BUILDERS,
    KEY,
    PARTS,
    ZONE,
    ZONED,
    all_train,
    conformance_spec,
    edge_table,
    new_rows,
    no_train,
)
from polars.testing import assert_frame_equal
from sales_columns import SALES, SALES_ORDER
from sales_columns import sales_plan as shipped_plan

from features_pipeline.engines.base import Executor
from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.engines.registry import DEFAULT_ENGINE, capabilities, engine_names
from features_pipeline.errors import UserError
from features_pipeline.features.catalog import example_spec, spec_keys
from features_pipeline.features.engine import fit_transform, transform
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.features.state import FittedState
from features_pipeline.features.types import FEATURE_TYPES
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales

RELATIVE = 1e-9
SHOWN = 5
TARGET = "n"  # the edge table has no Total Profit; any column will do
# "narwhals": the Polars engine without the features' native Polars fast paths (their portable
# definition run on Polars), so each fast path is proven equal to the definition it stands for
# Every registered engine that is not in memory runs the suite (a new engine's conformance run is
# its fixture ``<name>_executor``); engines on a cluster need a JVM-backed session (mark spark).
ENGINES = [
    "narwhals",
    *(
        pytest.param(name, marks=pytest.mark.spark)
        if capabilities(name).cluster
        else pytest.param(name, marks=pytest.mark.duckdb)
        if name == "duckdb"
        else name
        for name in engine_names(lambda can: not can.in_memory)
    ),
]
TABLES: dict[str, Callable[[], pl.DataFrame]] = {
    "mixed": edge_table,
    "all_train": lambda: all_train(edge_table()),  # the empty test split
    "no_train": lambda: no_train(edge_table()),  # fitted features learn from no rows
}
# Engine-specific inputs are refused when planning (test_zoned_datetimes_are_refused...): the
# DuckDB and Spark runs leave out the time-zone-aware column and the cases that read it.
ZONED_CASES = [f"date_part__{part}__{ZONED}" for part in PARTS] + [f"date_diff__{ZONED}__Ship_Date"]
SPEC = conformance_spec()
FEATURES = [case["name"] for case in SPEC]
SQL_ENGINES = engine_names(lambda can: not can.keeps_time_zones)
SQL_SPEC = [case for case in SPEC if case["name"] not in ZONED_CASES]
ENGINE_FEATURES = [
    pytest.param(name, case["name"], marks=getattr(engine, "marks", ()))
    for engine in ENGINES
    for name in [engine.values[0] if hasattr(engine, "values") else engine]
    for case in (SQL_SPEC if name in SQL_ENGINES else SPEC)
]
Run = tuple[pl.DataFrame, FittedState]


# ---- comparison -------------------------------------------------------------------------------


def mismatch(expected: pl.Expr, actual: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True on rows where ``actual`` differs from ``expected`` (the Polars value)."""
    if not dtype.is_float():
        return ~expected.eq_missing(actual)
    infinite = expected.is_infinite() | actual.is_infinite()
    close = (expected - actual).abs() <= RELATIVE * pl.max_horizontal(expected.abs(), actual.abs())
    same = (expected == actual) | (~infinite & close)
    return (
        (expected.is_null() != actual.is_null())
        | (expected.is_nan().fill_null(False) != actual.is_nan().fill_null(False))
        | (expected.is_not_null() & ~expected.is_nan() & ~same).fill_null(False)
    )


def differing_rows(
    expected: pl.DataFrame, actual: pl.DataFrame, keys: Sequence[str], columns: Sequence[str]
) -> pl.DataFrame:
    """Rows (by ``keys``) where any of ``columns`` differs: keys, then ``column`` (Polars) and
    ``column [engine]`` side by side. A row missing on either side counts as differing."""
    joined = expected.select(*keys, *columns).join(
        actual.select(*keys, *columns),
        on=list(keys),
        how="full",
        coalesce=True,
        nulls_equal=True,
        suffix=" [engine]",
    )
    bad = pl.lit(False)
    for name in columns:
        bad = bad | mismatch(pl.col(name), pl.col(f"{name} [engine]"), expected.schema[name])
    return joined.filter(bad)


def assert_columns_match(
    expected: pl.DataFrame,
    actual: pl.DataFrame,
    columns: Sequence[str],
    key: str = KEY,
    context: Sequence[str] = (),
) -> None:
    """``columns`` of ``actual`` equal those of ``expected`` row by row, matched on ``key``."""
    assert actual[key].sort().equals(expected[key].sort()), "the engine returned other rows"
    assert {name: actual.schema[name] for name in columns} == {
        name: expected.schema[name] for name in columns
    }
    bad = differing_rows(expected, actual, [key], columns)
    if bad.height:
        shown = bad.head(SHOWN).join(
            expected.select(key, *[c for c in context if c not in columns]), on=key, how="left"
        )
        with pl.Config(tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=40):
            pytest.fail(f"{bad.height} row(s) differ from Polars, e.g.\n{shown}", pytrace=False)


def assert_tables_match(expected: FittedState, actual: FittedState) -> None:
    """The same learned tables (keys, features, columns, rows), values within 1e-9 (dtypes:
    :func:`assert_table_dtypes_match`)."""
    assert [(t.keys, t.features) for t in actual.tables] == [
        (t.keys, t.features) for t in expected.tables
    ]
    for polars_table, engine_table in zip(expected.tables, actual.tables, strict=True):
        mine, theirs = polars_table.table, engine_table.table
        assert theirs.columns == mine.columns, polars_table.features
        assert theirs.height == mine.height, polars_table.features
        values = [name for name in mine.columns if name not in polars_table.keys]
        if polars_table.keys:
            bad = differing_rows(mine, theirs, polars_table.keys, values)
        else:  # one global row
            with_row = [frame.with_row_index("__row") for frame in (mine, theirs)]
            bad = differing_rows(*with_row, ["__row"], values)
        if bad.height:
            with pl.Config(tbl_cols=-1, tbl_width_chars=200):
                pytest.fail(
                    f"learned table by {polars_table.keys} differs from Polars:\n{bad}",
                    pytrace=False,
                )


def assert_table_dtypes_match(expected: FittedState, actual: FittedState) -> None:
    for polars_table, engine_table in zip(expected.tables, actual.tables, strict=True):
        mine, theirs = polars_table.table.schema, engine_table.table.schema
        assert {n: d for n, d in theirs.items() if d != mine[n]} == {}, polars_table.keys


# ---- running every engine once per table --------------------------------------------------------


@pytest.fixture(scope="module")
def duckdb_executor() -> Iterator[DuckDbExecutor]:
    """One DuckDB connection for the whole module."""
    with DuckDbExecutor() as executor:
        yield executor  # type: ignore[misc]


def executor_for(engine: str, request: pytest.FixtureRequest) -> Executor:
    """The shared executor of ``engine`` (Spark: the session fixture of tests/engines)."""
    if engine == "narwhals":
        return PolarsExecutor(native=False)
    executor: Executor = request.getfixturevalue(f"{engine}_executor")
    return executor


def plan_of(specs: Sequence[dict[str, Any]], frame: pl.DataFrame, engine: str) -> Plan:
    engine = DEFAULT_ENGINE if engine == "narwhals" else engine  # Polars, without fast paths
    return build_plan(parse_features(list(specs), "conformance"), dict(frame.schema), TARGET,
                      "conformance", engine, order=SALES_ORDER)  # fmt: skip


class Runs:
    """Each (engine, table) computed once and kept; a failed run fails every test that reads it."""

    def __init__(self) -> None:
        self.done: dict[tuple[str, str], Run | BaseException] = {}

    def get(self, engine: str, table: str, request: pytest.FixtureRequest) -> Run:
        if (engine, table) not in self.done:
            frame, spec = TABLES[table](), SPEC
            if engine in SQL_ENGINES:  # a zoned datetime is refused there (see below)
                frame, spec = frame.drop(ZONED), SQL_SPEC
            executor = None if engine == "polars" else executor_for(engine, request)
            try:
                plan = plan_of(spec, frame, DEFAULT_ENGINE if engine == "narwhals" else engine)
                self.done[engine, table] = fit_transform(frame, plan, executor=executor)
            except Exception as error:
                self.done[engine, table] = error
        run = self.done[engine, table]
        if isinstance(run, BaseException):
            raise run
        return run


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs()


def inputs_of(name: str) -> list[str]:
    case = next(case for case in SPEC if case["name"] == name)
    feature = parse_features([case], "conformance")[0]
    return list(feature.inputs())


# ---- the edge table: every type, every option ---------------------------------------------------


@pytest.mark.parametrize(("engine", "feature"), ENGINE_FEATURES)
@pytest.mark.parametrize("table", list(TABLES))
def test_feature_matches_polars(
    engine: str, table: str, feature: str, runs: Runs, request: pytest.FixtureRequest
) -> None:
    expected, _ = runs.get("polars", table, request)
    actual, _ = runs.get(engine, table, request)
    assert_columns_match(expected, actual, [feature], context=inputs_of(feature))


@pytest.mark.parametrize("column", [n for n in edge_table().columns if n not in (KEY, ZONED)])
@pytest.mark.parametrize("engine", ENGINES)
def test_input_columns_come_back_unchanged(
    engine: str, column: str, runs: Runs, request: pytest.FixtureRequest
) -> None:
    frame = edge_table().drop(ZONED)
    actual, _ = runs.get(engine, "mixed", request)
    assert_columns_match(frame, actual, [column])


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("engine", ENGINES)
def test_learned_tables_match_polars(
    engine: str, table: str, runs: Runs, request: pytest.FixtureRequest
) -> None:
    _, expected = runs.get("polars", table, request)
    _, actual = runs.get(engine, table, request)
    assert expected.tables, "the spec has fitted features"
    assert_tables_match(expected, actual)


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("engine", ENGINES)
def test_learned_table_dtypes_match_polars(
    engine: str, table: str, runs: Runs, request: pytest.FixtureRequest
) -> None:
    _, expected = runs.get("polars", table, request)
    _, actual = runs.get(engine, table, request)
    assert_table_dtypes_match(expected, actual)


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("engine", ENGINES)
def test_state_fitted_on_engine_transforms_new_rows_like_polars(
    engine: str, table: str, runs: Runs, request: pytest.FixtureRequest
) -> None:
    _, polars_state = runs.get("polars", table, request)
    _, engine_state = runs.get(engine, table, request)
    rows = new_rows(edge_table())
    expected = transform(rows, polars_state)
    if engine in SQL_ENGINES:  # the zoned datetime and its features are refused there
        rows, expected = rows.drop(ZONED), expected.drop(ZONED, *ZONED_CASES)
    assert_frame_equal(transform(rows, engine_state), expected, check_exact=True)


@pytest.mark.parametrize("table", list(TABLES))
def test_polars_results_do_not_depend_on_row_order(
    table: str, runs: Runs, request: pytest.FixtureRequest
) -> None:
    """The oracle itself: reversed input rows give every feature the same value per key."""
    expected, _ = runs.get("polars", table, request)
    frame = TABLES[table]().reverse()
    actual, _ = fit_transform(frame, plan_of(SPEC, frame, "polars"))
    assert_columns_match(expected, actual, FEATURES)


@pytest.mark.parametrize("engine", ENGINES)
def test_log_refuses_negative_values_with_the_polars_message(
    engine: str, request: pytest.FixtureRequest
) -> None:
    frame = edge_table().drop(ZONED)
    plan = plan_of([{"name": "log_n", "type": "log", "column": "n"}], frame, engine)
    with pytest.raises(UserError) as on_polars:
        fit_transform(frame, plan)
    with pytest.raises(UserError) as on_engine:
        fit_transform(frame, plan, executor=executor_for(engine, request))
    assert str(on_engine.value) == str(on_polars.value)
    assert "row 3: -3" in str(on_polars.value)


@pytest.mark.parametrize("engine", SQL_ENGINES)
def test_zoned_datetimes_are_refused_on_sql_engines(engine: str) -> None:
    """DuckDB and Spark hold a time-zone-aware datetime as UTC (dates and parts would be those of
    the UTC clock): refused when planning, before any data is read, naming the column."""
    with pytest.raises(UserError) as refused:
        plan_of(SPEC, edge_table(), engine)
    assert str(refused.value) == (
        f"conformance: input column {ZONED!r} is Datetime(time_unit='us', time_zone="
        f"'{ZONE}'): engine {engine!r} keeps datetimes in UTC only; convert it to UTC or to a "
        "date first, or use engine 'polars'"
    )


@pytest.mark.parametrize("agg", ["sum", "count", "min", "max"])
def test_a_fractional_fill_of_an_integer_feature_is_refused(agg: str) -> None:
    """Engines round a fractional fill cast to an integer differently (DuckDB half to even,
    Polars and Spark toward zero): refused when planning."""
    case = {"name": "f", "type": "group_agg", "agg": agg, "column": "n", "by": "g", "fill": -1.5}
    with pytest.raises(UserError) as refused:
        plan_of([case], edge_table(), "polars")
    assert str(refused.value) == (
        "conformance: feature 'f' (group_agg): key 'fill': -1.5 is not a whole number, but the "
        "feature is Int64"
    )


def test_every_type_and_every_option_has_a_conformance_case() -> None:
    """Each type has cases; each of its keys takes every choice (Literal), both booleans and a
    non-default value somewhere; ``by`` is absent, one key and several keys where allowed."""
    assert set(BUILDERS) <= set(FEATURE_TYPES)  # a type without a builder declares its cases
    for kind, model in FEATURE_TYPES.items():
        cases = [model.model_validate(case) for case in SPEC if case["type"] == kind]
        assert cases, kind
        for key in spec_keys(model):
            used = [getattr(case, key.name) for case in cases]
            wanted = set(key.choices) or ({False, True} if isinstance(used[0], bool) else set())
            assert wanted <= set(used), (kind, key.name, wanted - set(used))
            if not key.required:
                assert any(value != key.default for value in used), (kind, key.name)
        if "by" in model.model_fields:
            sizes = {min(len(case.by), 2) for case in cases}  # type: ignore[attr-defined]
            assert sizes >= {1, 2}, kind
            assert kind == "group_agg" or 0 in sizes, kind  # group_agg needs a key


def test_edge_table_has_the_edge_cases() -> None:
    frame = edge_table()
    assert frame[KEY].n_unique() == frame.height
    assert not frame[KEY].equals(pl.Series(KEY, range(frame.height)))
    values = [name for name in frame.columns if name not in (KEY, "Order ID", "split")]
    assert all(frame[name].null_count() for name in values)
    assert frame["x"].is_nan().any()
    assert frame["d_float"].is_nan().any()
    dates = frame["Order Date"].drop_nulls()
    assert (dates.dt.weekday() == 7).any()
    assert dates.dt.strftime("%m-%d").is_in(["02-29", "12-31", "01-01"]).sum() >= 3
    ties = frame.group_by("g", "Order Date").len().filter(pl.col("len") > 1)
    assert ties.height >= 3
    train = set(frame.filter(pl.col("split") == "train")["g"].drop_nulls())
    assert set(frame["g"].drop_nulls()) - train == {"solo", "new"}


# ---- the shipped spec and the catalog's examples on 50k generated rows ------------------------


@pytest.fixture(scope="module")
def sales() -> pl.DataFrame:
    """~50k generated orders with a random 80/20 split; Order ID is the row key."""
    frame = assign_split(generate_sales(50_000, seed=3), "random", 0.2, 42, SALES)
    return frame.sample(fraction=1.0, shuffle=True, seed=1)  # no order the engines could rely on


SHIPPED_SPEC = Path(__file__).resolve().parents[2] / "config" / "features.yaml"
SALES_SPECS = ("shipped", "examples")  # config/features.yaml, every type's docstring example


@pytest.fixture(scope="module")
def sales_runs() -> dict[tuple[str, str], Run]:
    return {}


def sales_plan(spec: str, frame: pl.DataFrame, engine: str) -> Plan:
    engine = DEFAULT_ENGINE if engine == "narwhals" else engine  # Polars, without fast paths
    if spec == "shipped":
        return shipped_plan(SHIPPED_SPEC, dict(frame.schema), engine=engine)
    features = parse_features(example_spec(), "catalog examples")
    return build_plan(
        features, dict(frame.schema), TARGET, "catalog examples", engine, order=SALES_ORDER
    )


def sales_run(
    spec: str, engine: str, sales: pl.DataFrame, cache: dict[tuple[str, str], Run],
    request: pytest.FixtureRequest,
) -> Run:  # fmt: skip
    if (spec, engine) not in cache:
        executor = None if engine == "polars" else executor_for(engine, request)
        cache[spec, engine] = fit_transform(
            sales, sales_plan(spec, sales, engine), executor=executor
        )
    return cache[spec, engine]


@pytest.mark.parametrize("spec", SALES_SPECS)
@pytest.mark.parametrize("engine", ENGINES)
def test_spec_on_50k_rows_matches_polars(
    engine: str,
    spec: str,
    sales: pl.DataFrame,
    sales_runs: dict[tuple[str, str], Run],
    request: pytest.FixtureRequest,
) -> None:
    expected, polars_state = sales_run(spec, "polars", sales, sales_runs, request)
    actual, engine_state = sales_run(spec, engine, sales, sales_runs, request)
    assert actual.columns == expected.columns
    assert_columns_match(expected, actual, polars_state.plan.names, key="Order ID")
    assert_tables_match(polars_state, engine_state)
    assert_table_dtypes_match(polars_state, engine_state)
    rows = generate_sales(2000, seed=99)
    assert_frame_equal(transform(rows, engine_state), transform(rows, polars_state),
                       check_exact=True)  # fmt: skip
