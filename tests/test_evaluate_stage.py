"""The train and evaluate stages in-process: outputs, reproducibility, gates and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
from model_support import DEFAULT_FEATURES, PLAN_JSON, PROFIT_SHARE, SMALL_MODELS, feature_table
from support import Project, default_params, error_line, load_stage_module

from features_pipeline.io import write_json_atomic, write_parquet_atomic
from features_pipeline.runner import run_stage

FEATURES = Path("data/features/features.parquet")
PLAN = Path("data/features/plan.json")
OUTPUTS = (
    "models/model.skops",
    "models/model_card.json",
    "metrics/train.json",
    "plots/cv_folds.csv",
    "metrics/metrics.json",
    "data/predictions/test.parquet",
    "plots/predictions.csv",
    "plots/importance.csv",
    "reports/evaluation.html",
    "reports/evaluation.md",
)
TRAIN = {
    "features": list(DEFAULT_FEATURES),
    "model": {"name": "hist_gradient_boosting", "params": SMALL_MODELS},
    "cv_folds": 3,
    "seed": 1,
}
EVALUATE = {
    "gates": {"r2": {"min": 0.5}, "mape": {"max": 1.0}},
    "plot_points": 50,
    "importance": {"rows": 100, "repeats": 2},
}

Run = Callable[..., tuple[int, str]]


@pytest.fixture(scope="module")
def stages() -> dict[str, ModuleType]:
    return {name: load_stage_module(name) for name in ("train", "evaluate")}


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(500, seed=8)


@pytest.fixture
def run(
    stages: dict[str, ModuleType],
    project: Project,
    table: pl.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """``run(stage, train=..., evaluate=...) -> (exit code, stderr)`` in the project dir."""
    write_parquet_atomic(table, project.root / FEATURES)
    write_json_atomic(PLAN_JSON, project.root / PLAN)

    def run_one(
        stage: str, train: dict[str, Any] | None = None, evaluate: dict[str, Any] | None = None
    ) -> tuple[int, str]:
        params = default_params(train={**TRAIN, **(train or {})})
        params["evaluate"] = {**EVALUATE, **(evaluate or {})}
        project.write_params(params)
        capsys.readouterr()
        module = stages[stage]
        argv = ["--params", project.params.name]
        code = run_stage(stage, module.run, module.__doc__ or "", argv=argv)
        return code, capsys.readouterr().err

    return run_one


def read_json(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def test_train_and_evaluate_write_every_output(run: Run, table: pl.DataFrame) -> None:
    assert run("train")[0] == 0
    assert run("evaluate")[0] == 0
    for output in OUTPUTS:
        assert Path(output).is_file(), output
    metrics = read_json("metrics/metrics.json")
    test_rows = table.filter(pl.col("split") == "test").height
    assert metrics["rows"] == test_rows
    assert metrics["r2"] > 0.5
    assert metrics["gates_passed"] is True
    assert metrics["gates"]["r2"] == {"min": 0.5, "value": metrics["r2"], "passed": True}
    assert set(read_json("metrics/train.json")["cv"]) >= {"rmse_mean", "rmse_std", "r2_mean"}
    assert pl.read_csv("plots/predictions.csv").height == 50
    assert pl.read_csv("plots/importance.csv").get_column("feature").sort().to_list() == sorted(
        DEFAULT_FEATURES
    )
    predictions = pl.read_parquet("data/predictions/test.parquet")
    assert predictions.columns == ["Order ID", "actual", "predicted"]
    assert predictions.height == test_rows
    card = read_json("models/model_card.json")
    assert card["features"] == list(DEFAULT_FEATURES)
    assert card["training"]["rows"] == table.height - test_rows
    assert read_json("metrics/timing/train.json")["fit_seconds"] >= 0


def test_two_runs_write_byte_identical_outputs(run: Run) -> None:
    contents = []
    for _ in range(2):
        assert run("train")[0] == 0
        assert run("evaluate")[0] == 0
        contents.append({output: Path(output).read_bytes() for output in OUTPUTS})
    assert contents[0] == contents[1]


def test_a_failed_gate_fails_the_stage_when_fail_on_gate(run: Run) -> None:
    assert run("train")[0] == 0
    code, stderr = run("evaluate", evaluate={"gates": {"r2": {"min": 0.999999}}})
    line = error_line(code, stderr)
    assert line.startswith("error: metric gate(s) failed on the test split: r2 = ")
    assert "< min 0.999999" in line
    assert "evaluate.fail_on_gate" in line
    # the outcome is recorded (and the report written) before the stage fails
    metrics = read_json("metrics/metrics.json")
    assert metrics["gates_passed"] is False
    assert metrics["gates"]["r2"]["passed"] is False
    assert "FAIL" in Path("reports/evaluation.html").read_text(encoding="utf-8")


def test_a_failed_gate_is_only_recorded_without_fail_on_gate(run: Run) -> None:
    assert run("train")[0] == 0
    code, stderr = run(
        "evaluate", evaluate={"gates": {"rmse": {"max": 1.0}}, "fail_on_gate": False}
    )
    assert code == 0, stderr
    assert read_json("metrics/metrics.json")["gates_passed"] is False
    assert "gate FAILED: rmse" in stderr


def test_leaky_inputs_fail_train_before_any_output(run: Run) -> None:
    code, stderr = run("train", train={"features": [*DEFAULT_FEATURES, PROFIT_SHARE]})
    line = error_line(code, stderr)
    assert f"train.features: {PROFIT_SHARE!r} is computed row by row" in line
    assert not Path("models/model.skops").exists()
    assert not Path("metrics/train.json").exists()


def test_bad_model_params_fail_train_with_one_line(run: Run) -> None:
    code, stderr = run("train", train={"model": {"name": "gbm"}})
    assert "train.model.name: unknown model 'gbm'" in error_line(code, stderr)
    code, stderr = run("train", train={"model": {"name": "ridge", "params": {"ridge": {"a": 1}}}})
    assert "unknown hyperparameter 'a'" in error_line(code, stderr)


def test_missing_inputs_are_one_line(run: Run) -> None:
    FEATURES.unlink()
    code, stderr = run("train")
    assert error_line(code, stderr) == (
        "error: data/features/features.parquet: file not found; run `dvc repro features` first"
    )
    code, stderr = run("evaluate")
    assert error_line(code, stderr) == (
        "error: models/model_card.json: file not found; run `dvc repro train` first"
    )


def test_evaluate_refuses_a_model_that_does_not_match_its_card(run: Run) -> None:
    assert run("train")[0] == 0
    card = read_json("models/model_card.json")
    card["artifact"]["sha256"] = "0" * 64
    Path("models/model_card.json").write_text(json.dumps(card), encoding="utf-8")
    code, stderr = run("evaluate")
    assert "artifact.sha256 does not match models/model.skops" in error_line(code, stderr)


def test_auto_trains_the_best_candidate_and_records_them_all(run: Run) -> None:
    """train.model.name: auto through the stages: every candidate in metrics/train.json and the
    card, the choice logged, evaluate scores the chosen model; a re-run is byte-identical."""
    auto = {"model": {"name": "auto", "params": SMALL_MODELS}, "auto": {"budget_s": 100}}
    outputs = []
    for _ in range(2):
        code, stderr = run("train", train=auto)
        assert code == 0, stderr
        assert run("evaluate", train=auto)[0] == 0
        outputs.append({output: Path(output).read_bytes() for output in OUTPUTS})
    assert outputs[0] == outputs[1]
    record = read_json("metrics/train.json")
    candidates = record["auto"]["candidates"]
    assert set(candidates) == {
        "linear",
        "ridge",
        "lasso",
        "elastic_net",
        "random_forest",
        "hist_gradient_boosting",
    }
    best = min(candidates, key=lambda name: candidates[name]["cv"]["rmse_mean"])
    assert record["model"] == record["auto"]["chosen"] == best
    assert record["cv"] == candidates[best]["cv"]
    card = read_json("models/model_card.json")
    assert card["model"]["name"] == best
    assert card["auto"] == record["auto"]
    assert f"auto chose {best}" in stderr
    timing = read_json("metrics/timing/train.json")  # measured seconds only here
    assert {f"auto_cv_seconds_{name}" for name in candidates} <= set(timing)
