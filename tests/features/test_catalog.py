"""The registry and its catalog: tests generated per registered type, so a new type is covered
(and held to its contract: a docstring example that plans and runs, and a test module) without
editing any test here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pytest
import yaml

from features.helpers import parquet_hash, plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.contracts.split import SPLIT
from features_pipeline.features.catalog import (
    CatalogError,
    catalog,
    catalog_markdown,
    describe,
    example,
    example_spec,
    flow_yaml,
    spec_keys,
    summary,
)
from features_pipeline.features.engine import fit_transform, transform
from features_pipeline.features.spec import parse_features
from features_pipeline.features.state import load_state, save_state
from features_pipeline.features.types import FEATURE_TYPES, Feature

HERE = Path(__file__).parent
TYPES = list(FEATURE_TYPES)


@pytest.fixture
def scratch_registry() -> Iterator[None]:
    """Types defined by a test are dropped from the registry afterwards."""
    before = dict(FEATURE_TYPES)
    yield
    FEATURE_TYPES.clear()
    FEATURE_TYPES.update(before)


def documented(doc: str) -> type[Feature]:
    """An unregistered Feature subclass (plain ``type: str``) carrying ``doc``."""
    return type("Documented", (Feature,), {"__doc__": doc, "__module__": __name__})


# ---- the registry ---------------------------------------------------------------------------


def test_the_registry_is_alphabetical() -> None:
    assert sorted(TYPES) == TYPES
    assert len(TYPES) >= 12


@pytest.mark.parametrize("name", TYPES)
def test_every_type_has_a_test_module(name: str) -> None:
    assert (HERE / f"test_type_{name}.py").is_file(), f"add tests/features/test_type_{name}.py"


@pytest.mark.parametrize("name", TYPES)
def test_every_type_is_one_module_named_after_it(name: str) -> None:
    assert FEATURE_TYPES[name].__module__ == f"features_pipeline.features.types.{name}"


def test_a_subclass_registers_itself_and_a_second_one_is_refused(
    scratch_registry: None,
) -> None:
    class Doubled(Feature):
        """Twice a column.

        ```yaml
        - {name: twice_units, type: doubled_for_test, column: Units Sold}
        ```
        """

        type: Literal["doubled_for_test"]
        column: str

    assert FEATURE_TYPES["doubled_for_test"] is Doubled
    (feature,) = parse_features([{"name": "d", "type": "doubled_for_test", "column": "x"}], "s")
    assert isinstance(feature, Doubled)
    assert describe("doubled_for_test", Doubled).summary == "Twice a column."
    with pytest.raises(TypeError, match="'doubled_for_test' is defined twice"):

        class Again(Feature):
            type: Literal["doubled_for_test"]


def test_bases_without_a_literal_type_are_not_registered() -> None:
    assert {model.__name__ for model in FEATURE_TYPES.values()}.isdisjoint(
        {"Feature", "FittedFeature", "WindowFeature"}
    )


# ---- every type's catalog entry and example -------------------------------------------------


@pytest.mark.parametrize("name", TYPES)
def test_every_type_documents_a_summary_kinds_keys_and_an_example(name: str) -> None:
    info = describe(name, FEATURE_TYPES[name])
    assert info.name == name
    assert info.summary
    assert info.kinds
    assert info.example
    keys = {key.name for key in info.keys}
    assert keys == set(FEATURE_TYPES[name].model_fields) - {"name", "type"}
    for entry in info.example:
        assert set(entry) - {"name", "type"} <= keys


@pytest.mark.parametrize("name", TYPES)
def test_every_type_example_plans_and_runs_on_generated_data(
    name: str, interim: pl.DataFrame
) -> None:
    entries = describe(name, FEATURE_TYPES[name]).example
    plan = plan_for(entries, interim)
    out, state = fit_transform(interim, plan)
    for planned in plan.features:
        assert planned.feature.type == name
        assert out.schema[planned.name] == planned.dtype
        assert out[planned.name].null_count() < out.height, planned.name
    assert parquet_hash(fit_transform(interim, plan, mode="sequential")[0]) == parquet_hash(out)
    assert transform(interim.drop(SPLIT), state).equals(out.drop(SPLIT))


def test_the_example_spec_covers_every_type_and_kind(interim: pl.DataFrame) -> None:
    spec = example_spec()
    assert [entry["type"] for entry in spec] == [
        name for info in catalog() for name in [info.name] * len(info.example)
    ]
    plan = plan_for(spec, interim)  # also: no two examples share an output name
    assert {planned.feature.type for planned in plan.features} == set(FEATURE_TYPES)
    assert {planned.kind for planned in plan.features} == set(Kind)


def test_the_example_spec_runs_like_the_shipped_one(tmp_path: Path, interim: pl.DataFrame) -> None:
    """What the engine guarantees for the production spec holds for every type together."""
    plan = plan_for(example_spec(), interim)
    out, state = fit_transform(interim, plan)
    assert out.columns == [*interim.drop(SPLIT).columns, *plan.names, SPLIT]
    assert parquet_hash(fit_transform(interim, plan, mode="sequential")[0]) == parquet_hash(out)
    assert len({parquet_hash(fit_transform(interim, plan)[0]) for _ in range(3)}) == 1
    save_state(state, tmp_path / "state")
    assert transform(interim.drop(SPLIT), load_state(tmp_path / "state")).equals(out.drop(SPLIT))


def test_kinds_come_from_the_example() -> None:
    assert describe("bucket", FEATURE_TYPES["bucket"]).kinds == (Kind.ROW, Kind.FITTED)
    assert describe("lag", FEATURE_TYPES["lag"]).kinds == (Kind.WINDOW,)
    assert describe("group_agg", FEATURE_TYPES["group_agg"]).kinds == (Kind.FITTED,)


def test_spec_keys_give_required_then_defaults_and_choices() -> None:
    keys = {key.name: key for key in spec_keys(FEATURE_TYPES["rolling"])}
    assert [key.name for key in spec_keys(FEATURE_TYPES["rolling"])] == [
        "column",
        "window",
        "agg",
        "min_periods",
        "by",
        "order_by",
        "tie_breaker",
    ]
    assert keys["column"].required
    assert (keys["agg"].required, keys["agg"].default, keys["agg"].choices) == (
        False,
        "mean",
        ("mean", "sum"),
    )
    assert (keys["by"].default, keys["order_by"].default) == ((), "")  # the contract's


# ---- a type without a usable example fails --------------------------------------------------


def test_a_registered_type_without_an_example_fails_the_catalog(scratch_registry: None) -> None:
    class Undocumented(Feature):
        """Doubles a column (no example)."""

        type: Literal["undocumented_for_test"]
        column: str

    with pytest.raises(CatalogError) as info:
        catalog()
    assert str(info.value) == (
        f"feature type 'undocumented_for_test' ({Undocumented.__module__}."
        f"{Undocumented.__qualname__}): no ```yaml example in the docstring"
    )


BAD_EXAMPLES: list[tuple[str, str, str]] = [
    ("no-docstring", "", "no ```yaml example in the docstring"),
    ("no-block", "Logs a column.", "no ```yaml example in the docstring"),
    (
        "invalid-yaml",
        "Logs.\n\n```yaml\n- {name: a, type: log\n```\n",
        "example is not valid YAML: ",
    ),
    (
        "not-a-list",
        "Logs.\n\n```yaml\nname: a\ntype: log\n```\n",
        "example must be a non-empty list of spec entries",
    ),
    ("empty", "Logs.\n\n```yaml\n```\n", "example must be a non-empty list of spec entries"),
    (
        "other-type",
        "Logs.\n\n```yaml\n- {name: a, type: ratio}\n```\n",
        "example entry #1 has type 'ratio', expected 'log'",
    ),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [c[1:] for c in BAD_EXAMPLES], ids=[c[0] for c in BAD_EXAMPLES]
)
def test_a_missing_or_malformed_example_is_a_catalog_error(doc: str, expected: str) -> None:
    with pytest.raises(CatalogError) as info:
        example("log", documented(doc))
    assert f"feature type 'log' ({__name__}.Documented): {expected}" in str(info.value)


def test_an_example_that_does_not_validate_names_the_key() -> None:
    model = documented("Logs.\n\n```yaml\n- {name: a, type: log}\n```\n")
    with pytest.raises(CatalogError) as info:
        describe("log", model)
    assert str(info.value) == (
        f"feature type 'log' ({__name__}.Documented) example: feature 'a' (log): "
        "key 'column': missing"
    )


def test_a_docstring_is_not_inherited() -> None:
    class Plain(Feature):
        pass

    with pytest.raises(CatalogError, match="no docstring"):
        summary("plain", Plain)


# ---- Markdown -------------------------------------------------------------------------------


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of each body row (``\\|`` is a pipe inside a cell)."""
    lines = markdown.splitlines()
    assert lines[1] == "|---|---|---|---|---|"
    return [
        [cell.strip().replace("\\|", "|") for cell in line.strip("|").split(" | ")]
        for line in lines[2:]
    ]


def test_the_markdown_table_has_one_row_per_type_in_registry_order() -> None:
    markdown = catalog_markdown()
    assert markdown.startswith("| type | kind | computes | keys (besides `name`, `type`) |")
    rows = table_rows(markdown)
    assert [row[0] for row in rows] == [f"`{name}`" for name in TYPES]
    assert all(len(row) == 5 for row in rows)
    kinds = {row[0]: row[1] for row in rows}
    assert kinds["`bucket`"] == "row-wise / fitted"
    assert kinds["`rolling`"] == "window"


def test_the_markdown_examples_parse_back_to_the_docstring_examples() -> None:
    for info, row in zip(catalog(), table_rows(catalog_markdown()), strict=True):
        shown = [yaml.safe_load(code.strip("`")) for code in row[4].split("<br>")]
        assert shown == [_as_lists(entry) for entry in info.example]


def test_the_markdown_keys_show_choices_and_defaults() -> None:
    rows = {row[0]: row for row in table_rows(catalog_markdown())}
    assert rows["`ratio`"][3] == (
        "`numerator`, `denominator`, `on_zero` (null/zero/inf; default `'null'`)"
    )
    assert rows["`log`"][2] == (
        "`ln(1 + x)` of a non-negative column (the engine refuses negative values by name)."
    )


def test_flow_yaml_is_one_line_that_parses_back() -> None:
    entry = {"name": "a", "type": "bucket", "column": "Units Sold", "edges": (1, 2.5)}
    assert flow_yaml(entry) == "{name: a, type: bucket, column: Units Sold, edges: [1, 2.5]}"
    assert flow_yaml(None) == "null"
    assert flow_yaml("null") == "'null'"


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, tuple | list) else value
