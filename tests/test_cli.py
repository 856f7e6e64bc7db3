"""The features-pipeline command: help with defaults, exit codes, one error line, shared stages."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from support import REPO_ROOT, VENV_BIN, Project, RunIngest, command_env, error_lines

from features_pipeline import cli
from features_pipeline.cli.parser import STAGE_HELP
from features_pipeline.stages import STAGES

SUBCOMMANDS = (
    ["ingest"],
    ["features"],
    ["features", "check"],
    ["validate"],
    ["train"],
    ["evaluate"],
    ["predict"],
    ["compare"],
)


def help_text(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*args, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.fixture
def in_project(project: Project) -> Project:
    """The ``project`` dir marked as a project root, as a clone is (its dvc.yaml)."""
    (project.root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    return project


def test_there_is_a_subcommand_for_each_stage() -> None:
    assert tuple(STAGE_HELP) == STAGES


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text([], capsys)
    for command in ("ingest", "features", "validate", "train", "evaluate", "predict", "compare"):
        assert re.search(rf"^\s+{command}\s+\S", text, re.MULTILINE), command
    assert "0 ok, 1 user error, 2 usage error" in text
    assert "features-pipeline compare --md" in text  # examples


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_help_shows_its_defaults(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = " ".join(help_text(args, capsys).split())  # argparse wraps lines
    expected = {
        "predict": [
            "--model MODEL skops model file (default: models/model.skops)",
            "(default: skip)",
        ],
        "compare": ["(default: rmse)", "(default: 3)", "(default: metrics/metrics.json)"],
    }.get(args[0], ["--params PARAMS params file (default: params.yaml)"])
    for default in expected:
        assert default in text, text
    assert "-v, --verbose" in text
    assert "-q, --quiet" in text
    assert "(default: None)" not in text
    assert "(default: 0)" not in text


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["nonsense"],
        ["train", "--no-such-option"],
        ["compare", "--md", "--json"],
        ["compare", "-n", "0"],
        ["compare", "-v", "-q"],
        ["predict", "--output", "out.csv"],
    ],
    ids=repr,
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: features-pipeline")
    assert "error:" in err


def test_a_stage_outside_any_project_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train"]) == 1
    assert error_lines(capsys.readouterr().err) == [
        f"error: {tmp_path}: not inside a features-pipeline project (no dvc.yaml here or in a "
        "parent folder); cd into the project first"
    ]


def test_a_stage_runs_from_a_subfolder_of_the_project(
    in_project: Project, run_ingest: RunIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed command finds the project by walking up to dvc.yaml, as git does."""
    assert run_ingest() == 0
    by_script = in_project.output.read_bytes()
    in_project.output.unlink()
    monkeypatch.chdir(in_project.raw)  # data/raw/, two levels below the root
    assert cli.main(["ingest", "-q"]) == 0
    assert in_project.output.read_bytes() == by_script


def test_a_missing_params_file_is_one_error_line(
    in_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ingest", "--params", "missing.yaml"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == ["error: missing.yaml: file not found"]
    assert "Traceback" not in err


def test_bad_params_name_the_key(in_project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    in_project.write_params({"ingest": {"source": "synthetic", "rows": -5}})
    assert cli.main(["ingest"]) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith("error: params.yaml: ingest.rows: ")
    assert not in_project.output.exists()


def test_with_verbose_a_user_error_also_shows_its_traceback(
    in_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ingest", "--params", "missing.yaml", "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert error_lines(err) == ["error: missing.yaml: file not found"]


def test_a_bad_feature_spec_is_one_error_line(
    in_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = in_project.root / "spec.yaml"
    spec.write_text("features:\n  - {name: x, type: nonsense, column: Units Sold}\n")
    assert cli.main(["features", "check", "--spec", str(spec)]) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "spec.yaml" in line
    assert "nonsense" in line


def test_features_check_prints_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    spec = REPO_ROOT / "config" / "features.yaml"
    assert cli.main(["features", "check", "--spec", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "level 0" in out
    assert "expected_profit" in out
    text = " ".join(out.split())  # rich wraps long lines
    assert "target-derived: never a model input" in text  # profit_margin
    assert "uses target 'Total Profit' (fitted on train rows)" in text  # total_profit_by_item


def test_predict_without_a_model_is_a_user_error(
    in_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["predict", "--input", "new.csv", "--output", "out.csv"]
    assert cli.main(args) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "model_card.json" in line
    assert not Path("out.csv").exists()


def test_the_stage_subcommand_runs_the_stage_script_code(
    in_project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    """``features-pipeline ingest`` and ``python stages/ingest.py`` write the same bytes."""
    assert run_ingest() == 0
    by_script = in_project.output.read_bytes()
    in_project.output.unlink()
    capsys.readouterr()
    assert cli.main(["ingest", "-q"]) == 0
    assert in_project.output.read_bytes() == by_script
    assert capsys.readouterr().err == ""  # -q is passed on: no INFO lines
    assert Path("metrics/timing/ingest.json").is_file()


def test_the_installed_command_exit_codes(tmp_path: Path) -> None:
    """The console script itself (not just ``main``): 0 ok, 1 user error, 2 usage error."""
    command = str(VENV_BIN / "features-pipeline")
    env = command_env()

    def code(*args: str, program: tuple[str, ...] = (command,)) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*program, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    version = code("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("features-pipeline ")
    as_module = code("--version", program=(str(VENV_BIN / "python"), "-m", "features_pipeline.cli"))
    assert as_module.stdout == version.stdout  # python -m features_pipeline.cli: the same command
    assert code("nonsense").returncode == 2
    outside = code("compare")
    assert outside.returncode == 1
    assert error_lines(outside.stderr) == [
        f"error: {os.path.realpath(tmp_path)}: not a DVC project (no .dvc/ folder); run "
        "features-pipeline compare from the project root, or `dvc init` a new project"
    ]


def test_features_types_lists_every_registered_type(capsys: pytest.CaptureFixture[str]) -> None:
    from features_pipeline.features.types import FEATURE_TYPES

    assert cli.main(["features", "types"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(FEATURE_TYPES)
