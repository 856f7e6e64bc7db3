"""Every spec mistake is one line naming the file, feature, type and key; the stage exits 1."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sales_columns import SALES, sales_plan
from support import Project, default_params, load_stage_module

from features_pipeline.errors import UserError
from features_pipeline.features.types import FEATURE_TYPES
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.runner import run_stage

SPEC = "config/features.yaml"
TYPES = ", ".join(FEATURE_TYPES)  # the registry, alphabetical: a new type joins the lists
MARGIN = """
  - name: margin
    type: ratio
    numerator: Total Profit
    denominator: Total Revenue
"""


def load(tmp_path: Path, text: str) -> str:
    """The error line of planning ``text`` as config/features.yaml (fails if it plans)."""
    path = tmp_path / SPEC
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(UserError) as info:
        sales_plan(path)
    message = str(info.value)
    assert "\n" not in message
    prefix = f"{path}: "
    assert message.startswith(prefix)
    return message.removeprefix(prefix)


def features(body: str) -> str:
    return "features:\n" + textwrap.dedent(body)


CASES: list[tuple[str, str, str]] = [
    (
        "unknown-type",
        features("- {name: margin, type: ratoi, numerator: Total Profit}"),
        f"feature 'margin' (ratoi): key 'type': unknown type 'ratoi' — did you mean 'ratio'? "
        f"(known: {TYPES})",
    ),
    (
        "unknown-type-no-suggestion",
        features("- {name: margin, type: 42}"),
        f"feature 'margin': key 'type': unknown type 42 (known: {TYPES})",
    ),
    (
        "missing-type",
        features("- {name: margin, numerator: Total Profit}"),
        f"feature 'margin': key 'type': missing (one of {TYPES})",
    ),
    (
        "unknown-key",
        features(MARGIN.replace("denominator:", "denom:")),
        "feature 'margin' (ratio): key 'denom': unknown key — did you mean 'denominator'? "
        "(allowed: name, numerator, denominator, on_zero)",
    ),
    (
        "unknown-key-no-suggestion",
        features("- {name: lg, type: log, column: Units Sold, base: 10}"),
        "feature 'lg' (log): key 'base': unknown key (allowed: name, column)",
    ),
    (
        "missing-key",
        features("- {name: margin, type: ratio, numerator: Total Profit}"),
        "feature 'margin' (ratio): key 'denominator': missing",
    ),
    (
        "missing-name",
        features("- {type: log, column: Units Sold}"),
        "feature #1 (log): key 'name': missing",
    ),
    (
        "name-not-a-string",
        features("- {name: 5, type: log, column: Units Sold}"),
        "feature #1 (log): key 'name': expected a string (got 5)",
    ),
    (
        "wrong-value-type-int",
        features("- {name: roll, type: rolling, column: Units Sold, window: five}"),
        "feature 'roll' (rolling): key 'window': Input should be a valid integer, unable to "
        "parse string as an integer (got 'five')",
    ),
    (
        "wrong-value-type-column",
        features("- {name: lg, type: log, column: [Units Sold]}"),
        "feature 'lg' (log): key 'column': Input should be a valid string (got ['Units Sold'])",
    ),
    (
        "wrong-value-type-bool",
        features("- {name: r, type: rank, column: Units Sold, percentile: maybe}"),
        "feature 'r' (rank): key 'percentile': Input should be a valid boolean, unable to "
        "interpret input (got 'maybe')",
    ),
    (
        "duplicate-name",
        features(MARGIN + "  - {name: margin, type: log, column: Units Sold}\n"),
        "feature 'margin' (log): key 'name': duplicate output name 'margin'",
    ),
    (
        "collides-with-input",
        features("- {name: Total Profit, type: log, column: Units Sold}"),
        "feature 'Total Profit' (log): key 'name': 'Total Profit' collides with an input "
        "column; choose another name",
    ),
    (
        "collides-with-split",
        features("- {name: split, type: log, column: Units Sold}"),
        "feature 'split' (log): key 'name': 'split' collides with an input column; "
        "choose another name",
    ),
    (
        "unknown-column-did-you-mean",
        features(MARGIN.replace("numerator: Total Profit", "numerator: Total Proffit")),
        "feature 'margin' (ratio): key 'numerator': unknown column 'Total Proffit'"
        " — did you mean 'Total Profit'?",
    ),
    (
        "unknown-column-in-by-list",
        features(
            "- {name: f, type: group_agg, column: Units Sold, by: [Region, Contry], agg: mean}"
        ),
        "feature 'f' (group_agg): key 'by': unknown column 'Contry' — did you mean 'Country'?",
    ),
    (
        "unknown-feature-reference",
        features(MARGIN + "  - {name: lg, type: log, column: xyzzy}\n"),
        "feature 'lg' (log): key 'column': unknown column 'xyzzy'",
    ),
    (
        "misspelt-feature-reference",
        features(MARGIN + "  - {name: band, type: bucket, column: margn, edges: [0.1]}\n"),
        "feature 'band' (bucket): key 'column': unknown column 'margn' — did you mean 'margin'?",
    ),
    (
        "cycle",
        features(
            """
            - {name: a, type: log, column: b}
            - {name: b, type: arithmetic, op: add, left: Units Sold, right: a}
            """
        ),
        "feature 'a' (log): key 'column': dependency cycle a -> b -> a",
    ),
    (
        "unsupported-agg",
        features("- {name: f, type: group_agg, column: Units Sold, by: Country, agg: avg}"),
        "feature 'f' (group_agg): key 'agg': Input should be 'mean', 'sum', 'count', 'min', "
        "'max', 'median' or 'std' (got 'avg')",
    ),
    (
        "unsupported-part",
        features("- {name: f, type: date_part, column: Order Date, part: week}"),
        "feature 'f' (date_part): key 'part': Input should be 'year', 'quarter', 'month', "
        "'day', 'weekday' or 'day_of_year' (got 'week')",
    ),
    (
        "unsupported-op",
        features("- {name: f, type: arithmetic, op: modulo, left: Units Sold, constant: 2}"),
        "feature 'f' (arithmetic): key 'op': Input should be 'add', 'subtract', 'multiply' or "
        "'divide' (got 'modulo')",
    ),
    (
        "wrong-column-dtype",
        features("- {name: f, type: date_diff, start: Order Date, end: Units Sold}"),
        "feature 'f' (date_diff): key 'end': column 'Units Sold' is Int64, not a date",
    ),
    (
        "wrong-dtype-of-a-feature",
        features(MARGIN + "  - {name: f, type: date_part, column: margin, part: year}\n"),
        "feature 'f' (date_part): key 'column': column 'margin' is Float64, not a date",
    ),
    (
        "item-not-a-mapping",
        features("- just a string"),
        "feature #1: expected a mapping with 'name' and 'type'",
    ),
    (
        "features-not-a-list",
        "features: {name: margin}\n",
        "key 'features': expected a list of features",
    ),
    (
        "features-missing",
        "feature: []\n",
        "unknown top-level key 'feature' — did you mean 'features'? (expected 'features')",
    ),
    ("empty-file", "", "key 'features': missing (a list of features)"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_one_line_naming_feature_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert load(tmp_path, text) == expected


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    assert load(tmp_path, "features:\n  - {name: a, type: log\n").startswith(
        "line 3: invalid YAML: "
    )


def test_a_missing_spec_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(UserError) as info:
        sales_plan(path)
    assert str(info.value) == f"{path}: file not found"


def test_the_first_bad_feature_is_reported_in_spec_order(tmp_path: Path) -> None:
    text = features(
        """
        - {name: ok, type: log, column: Units Sold}
        - {name: bad1, type: log, colum: Units Sold}
        - {name: bad2, type: nope}
        """
    )
    assert load(tmp_path, text) == (
        "feature 'bad1' (log): key 'colum': unknown key — did you mean 'column'? "
        "(allowed: name, column)"
    )


def test_a_valid_spec_plans(tmp_path: Path) -> None:
    path = tmp_path / SPEC
    path.parent.mkdir(parents=True)
    path.write_text(features(MARGIN), encoding="utf-8")
    assert sales_plan(path).names == ["margin"]


def test_the_stage_exits_1_with_one_line_and_writes_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    interim = project.root / "data" / "interim" / "sales.parquet"
    interim.parent.mkdir(parents=True)
    assign_split(generate_sales(50, seed=1), "random", 0.2, 42, SALES).write_parquet(interim)
    spec = project.root / SPEC
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(
        features(MARGIN.replace("numerator: Total Profit", "numerator: Total Proffit")),
        encoding="utf-8",
    )
    project.write_params(default_params(features={"spec": SPEC}))
    stage = load_stage_module("features")
    argv = ["--params", str(project.params)]

    code = run_stage("features", stage.run, stage.__doc__ or "", argv=argv)

    stderr = capsys.readouterr().err
    assert code == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: config/features.yaml: feature 'margin' (ratio): key 'numerator': "
        "unknown column 'Total Proffit' — did you mean 'Total Profit'?"
    ]
    assert not (project.root / "data" / "features").exists()
