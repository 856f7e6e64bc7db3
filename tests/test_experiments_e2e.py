"""DVC experiments: `-S` reaches every params.yaml knob (fast, through DVC's own override code),
and end to end in a temp git copy of the project (slow): the experiment flow CI relies on (only
affected stages re-run; `dvc exp show`, `dvc metrics diff` and `features-pipeline compare` see the
change) and the README walkthrough run exactly as written.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dvc.utils.hydra import apply_overrides, get_hydra_sweeps
from support import REPO_ROOT, command_env, run_command

from features_pipeline.contracts.params import ParamsFile, load_yaml
from features_pipeline.engines.params import EngineParams
from features_pipeline.features.params import FeaturesParams
from features_pipeline.ingest.params import IngestParams, SplitParams
from features_pipeline.model.params import EvaluateParams, TrainParams
from features_pipeline.model.registry import build_estimator, check_model_params
from features_pipeline.validation.params import ValidateParams

WALKTHROUGH_MARK = "<!-- walkthrough -->"
STAGES = ("ingest", "features", "validate", "train", "evaluate")
UPSTREAM_OF_TRAIN = ("ingest", "features", "validate")
OUTPUTS = (
    "models/model.skops",
    "models/model_card.json",
    "metrics/train.json",
    "metrics/metrics.json",
    "plots/cv_folds.csv",
    "plots/predictions.csv",
    "plots/importance.csv",
    "reports/evaluation.html",
    "reports/evaluation.md",
    "data/predictions/test.parquet",
)
# Byte-identical after a forced re-run: everything DVC hashes or commits, and the stage timings
# (rewritten only when a stage's outputs change).
REPRODUCIBLE = ["dvc.lock", "metrics", "plots"]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def walkthrough_blocks(readme: str) -> list[str]:
    """The bash blocks of README.md that follow a ``<!-- walkthrough -->`` line, in order."""
    lines = readme.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if line.strip() != WALKTHROUGH_MARK:
            continue
        assert lines[index + 1].strip() == "```bash", f"README line {index + 2}: not a bash block"
        end = lines.index("```", index + 2)
        blocks.append("\n".join(lines[index + 2 : end]))
    return blocks


def assert_only_train_and_evaluate_ran(output: str) -> None:
    for stage in UPSTREAM_OF_TRAIN:
        assert f"Stage '{stage}' didn't change, skipping" in output, output
        assert f"Running stage '{stage}'" not in output, output
    assert "Running stage 'train'" in output, output
    assert "Running stage 'evaluate'" in output, output


def experiments(shown: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``dvc exp show --json`` -> {experiment name: its rev entry, with the executor state}."""
    found = {}
    for entry in shown:
        for experiment in entry.get("experiments") or []:
            for revision in experiment["revs"]:
                state = (experiment.get("executor") or {}).get("state")
                found[experiment["name"]] = {**revision, "state": state}
    return found


def metric(entry: dict[str, Any], path: str, key: str) -> Any:
    return entry["data"]["metrics"][path]["data"][key]


def leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every ``a.b.c`` key of a params mapping that holds a value (an empty mapping counts)."""
    if isinstance(data, dict) and data:
        return [pair for key, value in data.items() for pair in leaves(value, f"{prefix}{key}.")]
    return [(prefix.removesuffix("."), data)]


def lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def hydra_value(value: Any) -> str:
    """``value`` in Hydra's override syntax (what a user types after ``-S key=``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ",".join(hydra_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}: {hydra_value(item)}" for key, item in value.items()) + "}"
    text = str(value)
    # Hydra reads [ ] { } , = and spaces as syntax: such a string is quoted (as a user must)
    return f"'{text}'" if isinstance(value, str) and re.search(r"[\[\]{},=\s]", text) else text


def check_typed(path: Path) -> dict[str, Any]:
    """Load every section of a params file with the stages' typed models (as each stage does)."""
    raw = load_yaml(path)
    for section, model in (
        ("engine", EngineParams),
        ("ingest", IngestParams),
        ("split", SplitParams),
        ("features", FeaturesParams),
        ("validate", ValidateParams),
        ("evaluate", EvaluateParams),
    ):
        ParamsFile(path, raw).section(section, model)
    train = ParamsFile(path, raw).section("train", TrainParams)
    check_model_params(train.model.params, train.seed, str(path))
    if train.model.name != "auto":  # auto builds each candidate of train.auto.models instead
        build_estimator(train.model.name, train.model.selected_params, train.seed, str(path))
    return raw


def readme_overrides() -> list[list[str]]:
    """The ``-S`` arguments of each ``dvc exp run`` line of README.md, one list per experiment
    (a sweep such as ``a=1,2`` expands to one list per value, as DVC queues them)."""
    runs = []
    for line in (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("dvc exp run") or " -S " not in line:
            continue
        words = shlex.split(line, comments=True)
        overrides = [words[i + 1] for i, word in enumerate(words) if word == "-S"]
        runs += [sweep["params.yaml"] for sweep in get_hydra_sweeps({"params.yaml": overrides})]
    return runs


@pytest.mark.parametrize(
    ("key", "value"), leaves(yaml.safe_load((REPO_ROOT / "params.yaml").read_text()))
)
def test_every_params_key_can_be_set_with_dash_s(key: str, value: Any, tmp_path: Path) -> None:
    """``dvc exp run -S key=value`` (DVC's own override code) reaches every knob, no ``+``."""
    path = tmp_path / "params.yaml"
    shutil.copy(REPO_ROOT / "params.yaml", path)
    apply_overrides(path, [f"{key}={hydra_value(value)}"])
    assert lookup(check_typed(path), key) == value


@pytest.mark.parametrize("overrides", readme_overrides(), ids=" ".join)
def test_every_readme_dash_s_example_gives_valid_params(
    overrides: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "params.yaml"
    shutil.copy(REPO_ROOT / "params.yaml", path)
    apply_overrides(path, overrides)
    raw = check_typed(path)  # a typo in a key or a bad value would raise here
    for override in overrides:
        lookup(raw, override.removeprefix("+").split("=", 1)[0])


def test_the_readme_has_dash_s_examples_for_every_kind_of_knob() -> None:
    keys = {o.removeprefix("+").split("=")[0] for run in readme_overrides() for o in run}
    prefixes = ("train.model.name", "train.model.params.", "split.", "features.spec",
                "train.features", "ingest.")  # fmt: skip
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in keys), prefix
    assert any(o.startswith("+") for run in readme_overrides() for o in run)  # a new key


def test_metrics_plots_and_stage_timings_are_declared_at_the_top_level() -> None:
    pipeline = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    timings = {f"metrics/timing/{stage}.json" for stage in STAGES}
    assert {"metrics/train.json", "metrics/metrics.json", *timings} <= set(pipeline["metrics"])
    plots = {next(iter(plot)) for plot in pipeline["plots"]}
    assert plots == {"predicted_vs_actual", "residuals", "feature_importance", "cv_fold_scores"}
    assert "metrics/validation.json" in pipeline["stages"]["train"]["deps"]


def test_stage_timings_are_tracked_by_git_but_not_hashed_by_dvc() -> None:
    pipeline = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    declared = json.dumps(pipeline["stages"])
    assert "metrics/timing" not in declared  # not an output: dvc.lock never holds a time
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "metrics/timing/train.json"], cwd=REPO_ROOT, check=False
    )
    assert ignored.returncode == 1  # 1: not ignored, so experiments commit it


def test_the_readme_walkthrough_covers_the_daily_loop() -> None:
    blocks = walkthrough_blocks((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    text = "\n".join(blocks)
    for command in (
        "dvc repro",
        "dvc exp run -n ridge -S train.model.name=ridge",
        "features-pipeline compare",
        "features-pipeline compare --sort-by r2 --md",
        "dvc metrics diff HEAD~1 HEAD",
        "dvc params diff HEAD~1 HEAD",
        "dvc exp run --queue -S",
        "dvc exp run --run-all",
        "dvc exp apply",
        "dvc exp branch",
    ):
        assert command in text, command
    assert len(blocks) >= 5


@pytest.mark.slow
def test_a_train_param_experiment_reruns_only_train_and_evaluate_and_is_compared(
    project_repo: Path,
) -> None:
    repo = project_repo
    run_command(["dvc", "repro"], repo)
    for output in OUTPUTS:
        assert (repo / output).is_file(), output
    baseline = read_json(repo / "metrics/metrics.json")
    assert baseline["gates_passed"] is True
    for stage in STAGES:
        timing = read_json(repo / f"metrics/timing/{stage}.json")
        assert timing["seconds"] >= 0, stage
        assert min(timing["rows"], timing["cols"]) > 0, stage
        assert [output["path"] for output in timing["outputs"]], stage
    # a fresh clone's `dvc repro` reproduces the committed results: git stays clean (the stage
    # timings record the outputs' digests and keep the time of the run that made these bytes)
    changed = run_command(["git", "status", "--porcelain"], repo).stdout
    assert changed == "", changed

    train_time = (repo / "metrics/timing/train.json").read_bytes()
    run_command(["dvc", "repro", "--force", "train", "evaluate"], repo)
    changed = run_command(["git", "status", "--porcelain"], repo).stdout
    assert changed == "", changed  # byte-identical model, lock, metrics and plot data
    assert (repo / "metrics/timing/train.json").read_bytes() == train_time  # same outputs

    ran = run_command(["dvc", "exp", "run", "-n", "ridge", "-S", "train.model.name=ridge"], repo)
    assert_only_train_and_evaluate_ran(ran.stdout + ran.stderr)
    ridge_rmse = read_json(repo / "metrics/metrics.json")["rmse"]
    assert ridge_rmse != baseline["rmse"]

    shown = json.loads(run_command(["dvc", "exp", "show", "--json"], repo).stdout)
    found = experiments(shown)
    assert set(found) == {"ridge"}
    ridge = found["ridge"]
    assert metric(ridge, "metrics/metrics.json", "rmse") == ridge_rmse
    assert ridge["data"]["params"]["params.yaml"]["data"]["train"]["model"]["name"] == "ridge"
    assert metric(ridge, "metrics/timing/train.json", "seconds") > 0  # how long it took
    columns = ridge["data"]["metrics"]["metrics/validation.json"]["data"]
    assert set(columns["nulls"]) == {"columns", "total"}  # per-column counts are not metrics
    assert "outputs" not in ridge["data"]["metrics"]["metrics/timing/train.json"]["data"]

    diff = json.loads(run_command(["dvc", "metrics", "diff", "--json"], repo).stdout)
    rmse = diff["metrics/metrics.json"]["rmse"]
    assert (rmse["old"], rmse["new"]) == (baseline["rmse"], ridge_rmse)
    params = json.loads(run_command(["dvc", "params", "diff", "--json"], repo).stdout)
    model = params["params.yaml"]["train.model.name"]
    assert (model["old"], model["new"]) == ("linear", "ridge")

    compared = json.loads(run_command(["features-pipeline", "compare", "--json"], repo).stdout)
    rows = {row["name"]: row for row in compared["rows"]}
    assert {"workspace", "main", "ridge"} <= set(rows)
    assert rows["main"]["metrics"]["rmse"] == baseline["rmse"]
    assert rows["ridge"]["metrics"]["rmse"] == ridge_rmse
    assert rows["ridge"]["params"]["train.model.name"] == "ridge"
    assert compared["params_differing"] == ["train.model.name"]
    best = "ridge" if ridge_rmse < baseline["rmse"] else "main"
    assert compared["rows"][0]["name"] in {best, "workspace"}
    table = run_command(["features-pipeline", "compare"], repo).stdout
    assert re.search(r"│\s*ridge\s*│\s*experiment", table), table
    assert re.search(r"│\s*main\s*│\s*commit", table), table

    run_command(["dvc", "plots", "diff", "HEAD", "ridge", "-o", "dvc_plots_diff"], repo)
    assert (repo / "dvc_plots_diff/index.html").is_file()


@pytest.mark.slow
def test_the_readme_walkthrough_runs_as_written(project_repo: Path) -> None:
    repo = project_repo
    blocks = walkthrough_blocks((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    transcripts = []
    for block in blocks:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=repo,
            env=command_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        transcript = f"$ {block}\n{result.stdout}{result.stderr}"
        assert result.returncode == 0, "\n\n".join([*transcripts, transcript])
        transcripts.append(transcript)
    everything = "\n".join(transcripts)
    assert "Traceback" not in everything

    experiment_run = next(t for t in transcripts if "dvc exp run -n ridge" in t)
    assert_only_train_and_evaluate_ran(experiment_run)
    compare = next(t for t in transcripts if t.startswith("$ features-pipeline compare\n"))
    assert re.search(r"│\s*ridge\s*│\s*experiment", compare), compare

    log = run_command(["git", "log", "--format=%s", "-3"], repo).stdout.splitlines()
    assert log == ["Tune ridge alpha", "Model: ridge", "Project as cloned"]
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    assert params["train"]["model"]["name"] == "ridge"
    assert params["train"]["model"]["params"]["ridge"]["alpha"] in (0.01, 0.1)
    assert run_command(["git", "branch", "--list", "tuned-ridge"], repo).stdout.strip()

    queue = run_command(["dvc", "queue", "status"], repo).stdout
    assert queue.count("Success") == 2, queue
    assert "Failed" not in queue, queue
    shown = json.loads(run_command(["dvc", "exp", "show", "--json", "-n", "2"], repo).stdout)
    swept = [
        found
        for found in experiments(shown).values()
        if found["state"] == "success"
        and found["data"]["params"]["params.yaml"]["data"]["train"]["model"]["params"]["ridge"][
            "alpha"
        ]
        in (0.01, 0.1)
    ]
    assert len(swept) == 2
    dirty = run_command(["git", "status", "--porcelain", "--", *REPRODUCIBLE, "params.yaml"], repo)
    assert dirty.stdout == "", dirty.stdout  # the applied experiment is fully committed


def test_the_ci_workflow_runs_ci_run_with_what_dvc_needs() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["pipeline"]["steps"]
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert steps[0]["with"]["fetch-depth"] == 0  # full history for diffs against the base
    assert workflow["jobs"]["pipeline"]["env"]["DVC_NO_ANALYTICS"] == "1"
    assert "git config user.email" in scripts
    assert "bash .ci/run" in scripts
    # the summary job: cached reproduction, then the diffs against the base (scripts/ci_summary.sh)
    summary = workflow["jobs"]["summary"]["steps"]
    cache = next(step for step in summary if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".dvc/cache"
    assert "hashFiles('dvc.lock')" in cache["with"]["key"]
    reported = "\n".join(step.get("run", "") for step in summary)
    assert reported.index("dvc checkout") < reported.index("dvc repro")
    assert 'scripts/ci_summary.sh "$base" >> "$GITHUB_STEP_SUMMARY"' in reported
    summary_script = (REPO_ROOT / "scripts/ci_summary.sh").read_text(encoding="utf-8")
    assert 'dvc metrics diff "$base" --md' in summary_script
    assert 'dvc params diff "$base" --md' in summary_script
    assert 'dvc plots diff "$base" --json' in summary_script
    ci_run = (REPO_ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "dvc repro --force" in ci_run
    assert "dvc repro --force\ngit diff --exit-code -- dvc.lock metrics/ plots/\n" in ci_run
    assert '[ "$status_after" = "$status_before" ]' in ci_run  # repro leaves git status as it was
    assert "analytics = false" in (REPO_ROOT / ".dvc/config").read_text(encoding="utf-8")
