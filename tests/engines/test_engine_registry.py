"""Engines are described by capabilities: the registry is the one list of engines, and stages,
planning and the CLI ask it what an engine can do instead of comparing its name."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import narwhals.stable.v2 as nw
import polars as pl
import pytest

from features_pipeline.cli.parser import build_parser
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.engines import registry
from features_pipeline.engines.base import Capabilities, Executor
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import build_plan
from features_pipeline.features.spec import parse_features

SRC = Path(__file__).resolve().parents[2] / "src" / "features_pipeline"
# modules that choose what to do by engine: they must ask for a capability
DECIDERS = [
    *sorted((SRC / "stages").glob("*.py")),
    *(SRC / name for name in ("features/plan.py", "cli/parser.py", "cli/commands.py")),
    SRC / "predict" / "run.py",
]


def engine_name_comparisons(path: Path) -> list[str]:
    """Comparisons of anything with a registered engine's name, and tuples of engine names."""
    names = set(registry.engine_names())
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in names for o in operands):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Tuple | ast.List)
            and sum(isinstance(e, ast.Constant) and e.value in names for e in node.elts) > 1
        ):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", DECIDERS, ids=lambda path: path.name)
def test_no_stage_or_planner_compares_an_engine_name(path: Path) -> None:
    assert engine_name_comparisons(path) == []


def test_every_engine_declares_its_capabilities() -> None:
    assert registry.engine_names() == ("polars", "duckdb", "spark")
    for name, executor in registry.EXECUTORS.items():
        assert executor.name == name
        assert "capabilities" in vars(executor), f"{name} inherits its capabilities"
    assert registry.capabilities("polars").keeps_time_zones
    assert registry.capabilities("spark").warehouse_tables
    assert registry.capabilities("duckdb").out_of_core


def test_the_checker_sees_a_comparison(tmp_path: Path) -> None:
    module = tmp_path / "stage.py"
    module.write_text('if engine.name == "spark":\n    pass\nx = ("polars", "spark")\n')
    assert len(engine_name_comparisons(module)) == 2


# ---- a new engine: one module (an Executor subclass) plus its line in the registry -----------


class EagerExecutor(PolarsExecutor):
    """A toy engine: Polars without native fast paths and without time zones."""

    name = "eager"
    capabilities = Capabilities(in_memory=True)

    def __init__(self) -> None:
        super().__init__(native=False)


@pytest.fixture
def eager_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.EXECUTORS, EagerExecutor.name, EagerExecutor)


@pytest.mark.usefixtures("eager_registered")
def test_a_registered_engine_is_known_everywhere() -> None:
    params = EngineParams.model_validate({"name": "eager"})
    executor = registry.open_executor(params)
    assert isinstance(executor, EagerExecutor)
    assert not executor.runs_polars
    parser = build_parser()
    args = parser.parse_args(["predict", "--engine", "eager", "--input", "a", "--output", "b"])
    assert args.engine == "eager"
    frame = pl.DataFrame({"n": [1.0, 2.0], "t": [0.5, 1.5], SPLIT: [TRAIN, TEST]})
    features = parse_features([{"name": "log_n", "type": "log", "column": "n"}], "spec")
    plan = build_plan(features, dict(frame.schema), "t", "spec", "eager")
    table, _ = fit_transform(frame, plan, executor=executor)
    assert table.get_column("log_n").to_list() == pytest.approx([math.log1p(1.0), math.log1p(2.0)])
    zoned = {"at": pl.Datetime("us", "Europe/Paris"), "t": pl.Float64()}
    with pytest.raises(UserError, match=r"engine 'eager' keeps datetimes in UTC only"):
        build_plan([], zoned, "t", "spec", "eager")


def test_an_unknown_engine_names_the_registered_ones() -> None:
    with pytest.raises(ValueError, match=re.escape("'polars', 'duckdb' or 'spark'")):
        EngineParams.model_validate({"name": "dask"})


def test_the_local_executor_is_the_default_engine() -> None:
    executor: Executor = registry.local_executor()
    frame = executor.from_polars(pl.DataFrame({"a": [3, 1]}))
    assert executor.to_polars(frame).to_dict(as_series=False) == {"a": [3, 1]}
    assert isinstance(frame, nw.LazyFrame)
