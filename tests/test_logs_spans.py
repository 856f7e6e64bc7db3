"""DEBUG spans (-v, LOG_LEVEL=debug) per feature, learned table and CV fold; INFO stays short."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sales_columns import SALES, sales_plan
from support import Project, default_params, load_stage_module

from features_pipeline import logs
from features_pipeline.features.engine import computing_levels
from features_pipeline.features.state import load_state
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.model.cv import cross_validate
from features_pipeline.runner import run_stage

REPO_ROOT = Path(__file__).resolve().parents[1]
SPAN = re.compile(r"(?P<step>\w+)\{(?P<fields>[^}]*)\} took (?P<seconds>\d+\.\d{3}) s$")
FEATURE_FIELDS = ["index", "name", "type", "kind", "level", "rows", "seconds"]


@pytest.fixture(autouse=True)
def _clean_logger() -> Iterator[None]:
    yield
    logging.getLogger(logs.LOGGER_NAME).handlers.clear()


def spans(lines: list[str], step: str) -> list[dict[str, str]]:
    """The fields of each ``step{k=v ...} took N s`` line (values may hold spaces: column names)."""
    found = []
    for line in lines:
        match = SPAN.search(line)
        if match and match["step"] == step:
            pairs = re.findall(r"(\w+)=(.*?)(?= \w+=|$)", match["fields"])
            found.append({**dict(pairs), "took": match["seconds"]})
    return found


@pytest.fixture
def features_project(project: Project) -> Project:
    """A project holding a 300-row interim table and the shipped feature spec."""
    interim = project.root / "data" / "interim" / "sales.parquet"
    interim.parent.mkdir(parents=True)
    assign_split(generate_sales(300, seed=9), "random", 0.2, 42, SALES).write_parquet(interim)
    (project.root / "config").mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "config" / "features.yaml", project.root / "config" / "features.yaml")
    project.write_params(default_params(features={"spec": "config/features.yaml"}))
    return project


def run_features(capsys: pytest.CaptureFixture[str], *flags: str) -> list[str]:
    stage = load_stage_module("features")
    argv = ["--params", "params.yaml", *flags]
    code = run_stage("features", stage.run, stage.__doc__ or "", argv=argv)
    err = capsys.readouterr().err
    assert code == 0, err
    return err.splitlines()


def test_verbose_logs_one_span_per_feature_and_learned_table(
    features_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run_features(capsys, "-v")
    plan = sales_plan(Path("config/features.yaml"))
    features = spans(lines, "feature")
    assert [span["name"] for span in features] == plan.names
    levels_run = computing_levels(plan)
    computed_in = {p.name: depth for depth, level in enumerate(levels_run) for p in level}
    assert (
        computed_in["prev_units_country_item"]
        == len(levels_run) - 1
        > plan["prev_units_country_item"].level
    )
    for index, (span, planned) in enumerate(zip(features, plan.features, strict=True), start=1):
        assert list(span)[: len(FEATURE_FIELDS)] == FEATURE_FIELDS
        assert span["index"] == str(index)
        assert span["type"] == planned.feature.type
        assert span["kind"] == planned.kind.value
        assert span["level"] == str(computed_in[planned.name])  # leaf windows: the last level
        assert span["rows"] == "300"
        assert span["seconds"] == "level"  # one with_columns per level: the level's seconds
    levels = spans(lines, "level")
    assert [span["level"] for span in levels] == [str(n) for n in range(len(levels_run))]
    by_level = {span["level"]: span["took"] for span in levels}
    assert all(span["took"] == by_level[span["level"]] for span in features)

    state = load_state(features_project.root / "data" / "features" / "state")
    learned = spans(lines, "learned_table")
    assert len(learned) == len(state.tables)
    for span, table in zip(learned, state.tables, strict=True):
        assert span["keys"] == (",".join(table.keys) or "-")
        assert span["features"] == ",".join(table.features)
        assert span["rows"] == str(table.table.height)


def normalised(lines: list[str]) -> list[str]:
    """Lines without their clock time and durations."""
    return [re.sub(r"\d+\.\d{3} s", "N s", line.split("] ", 1)[1]) for line in lines]


def test_log_level_debug_is_verbose_and_the_default_output_stays_short(
    features_project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    verbose = run_features(capsys, "-v")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    debug = run_features(capsys)
    debug_lines = [line for line in normalised(debug) if line.startswith("DEBUG")]
    assert debug_lines == [line for line in normalised(verbose) if line.startswith("DEBUG")]
    assert len(spans(debug, "feature")) == len(sales_plan(Path("config/features.yaml")).names)

    monkeypatch.delenv("LOG_LEVEL")
    default = run_features(capsys)
    assert not [line for line in default if "DEBUG" in line]
    # plan, run_feature_engineering, wrote, stage: the per-level lines moved to -v
    assert len(default) <= 5, "\n".join(default)


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog on the package logger (which does not propagate once a stage set it up)."""
    logger = logging.getLogger(logs.LOGGER_NAME)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.DEBUG)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(level)
    logger.propagate = propagate


def cv_data() -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    target = 2 * frame["a"].to_numpy() - frame["b"].to_numpy() + rng.normal(scale=0.1, size=60)
    return frame, target


def cv_pipeline() -> object:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("model", LinearRegression())])


def test_each_cv_fold_logs_a_debug_span(captured: pytest.LogCaptureFixture) -> None:
    frame, target = cv_data()
    result = cross_validate(cv_pipeline(), frame, target, folds=4, seed=1)  # type: ignore[arg-type]
    folds = [r for r in captured.records if r.getMessage().startswith("cv_fold{")]
    assert [r.levelno for r in folds] == [logging.DEBUG] * 4
    fields = spans([r.getMessage() for r in folds], "cv_fold")
    assert [span["fold"] for span in fields] == ["1/4", "2/4", "3/4", "4/4"]
    assert [int(span["rows"]) for span in fields] == [15, 15, 15, 15]
    assert [int(span["train_rows"]) for span in fields] == [45, 45, 45, 45]
    table = result.fold_table()
    assert [float(span["rmse"]) for span in fields] == pytest.approx(table["rmse"].to_list())
    assert all(float(span["took"]) >= 0 for span in fields)


def test_at_info_the_spans_cost_no_line(captured: pytest.LogCaptureFixture) -> None:
    logging.getLogger(logs.LOGGER_NAME).setLevel(logging.INFO)
    frame, target = cv_data()
    cross_validate(cv_pipeline(), frame, target, folds=3, seed=1)  # type: ignore[arg-type]
    assert captured.records == []


def test_span_formats_fields_on_one_line(captured: pytest.LogCaptureFixture) -> None:
    logs.span(logs.get_logger("x"), "learned_table", 0.5, keys=("Country", "Item Type"), rows=7)
    logs.span(logs.get_logger("x"), "learned_table", 0.5, keys=(), share=1 / 3)
    assert [r.getMessage() for r in captured.records] == [
        "learned_table{keys=Country,Item Type rows=7} took 0.500 s",
        "learned_table{keys=- share=0.333333} took 0.500 s",
    ]
    with logs.timed(logs.get_logger("x"), "step", at=logging.DEBUG, rows=3):
        pass
    assert captured.records[-1].levelno == logging.DEBUG
