"""The features-pipeline command: help with defaults, exit codes, one error line, shared stages."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from pathlib import Path

import pytest
from support import (
    REPO_ROOT,
    VENV_BIN,
    Project,
    RunIngest,
    command_env,
    error_lines,
    write_sales_csv,
)

from features_pipeline import cli
from features_pipeline.cli import commands
from features_pipeline.cli.parser import STAGE_HELP, build_parser
from features_pipeline.ingest.synthetic import generate_sales
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
    ["params", "check"],
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


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux's /proc")
@pytest.mark.parametrize("option", ["--output", "--rejected"])
def test_predict_to_a_path_where_no_file_can_be_made_is_one_error_line(
    in_project: Project, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    """/proc/version exists, but no temp file can be made beside it: refused before any work,
    naming the path (was a FileNotFoundError traceback on the temp file)."""
    args = ["predict", "--input", "new.csv", "--output", "out.csv", option, "/proc/version"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert error_lines(err) == [
        f"error: /proc/version: {option}: cannot write a file in '/proc' (No such file or "
        "directory)"
    ]


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
        f"error: {os.path.realpath(tmp_path)}: not inside a features-pipeline project (no "
        "dvc.yaml here or in a parent folder); cd into the project first"
    ]


def test_features_types_lists_every_registered_type(capsys: pytest.CaptureFixture[str]) -> None:
    from features_pipeline.features.types import FEATURE_TYPES

    assert cli.main(["features", "types"]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(FEATURE_TYPES)


PROJECT_SUBCOMMANDS = (
    ["ingest"],
    ["features"],
    ["validate"],
    ["train"],
    ["evaluate"],
    ["features", "check"],
    ["compare"],
    ["doctor", "--check"],
    ["predict", "--input", "new.csv", "--output", "out.csv"],
    ["params", "check"],
)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Every subcommand body replaced by one that records its folder and arguments."""
    seen: dict[str, object] = {}

    def record(args: argparse.Namespace) -> int:
        seen.update(cwd=Path.cwd(), args=args)
        return 0

    monkeypatch.setattr(commands, "stage_command", record)
    bodies = ("features_check", "compare_command", "predict_command", "doctor_command")
    for body in (*bodies, "params_check"):
        monkeypatch.setattr(commands, body, record)
    return seen


@pytest.mark.parametrize("argv", PROJECT_SUBCOMMANDS, ids=" ".join)
def test_every_project_subcommand_runs_in_the_project_root_from_a_sub_folder(
    argv: list[str],
    in_project: Project,
    recorded: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One rule (contracts.paths.find_project_root): walk up to dvc.yaml, run there, come
    back."""
    monkeypatch.chdir(in_project.raw)  # data/raw/, two levels below the root
    assert cli.main(argv) == 0
    assert recorded["cwd"] == in_project.root.resolve()
    assert Path.cwd() == in_project.raw  # main returns to the folder it started in
    args = recorded["args"]
    assert isinstance(args, argparse.Namespace)
    if argv[0] == "predict":  # given paths: from the sub-folder; defaults: project paths
        assert (args.input, args.output) == ("data/raw/new.csv", "data/raw/out.csv")
        assert args.model == Path("models/model.skops")
    if hasattr(args, "params"):
        assert args.params == Path("params.yaml")


@pytest.mark.parametrize(
    "argv",
    [["predict", "--input", "new.csv", "--output", "out.csv"], ["features", "check"]],
    ids=" ".join,
)
def test_predict_and_features_check_outside_any_project_run_where_they_are(
    argv: list[str],
    tmp_path: Path,
    recorded: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every input of these two can be given as an option (a model copied anywhere)."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 0
    assert recorded["cwd"] == tmp_path
    args = recorded["args"]
    assert isinstance(args, argparse.Namespace)
    assert args.params == Path("params.yaml")
    assert getattr(args, "input", "new.csv") == "new.csv"


def test_paths_given_in_a_sub_folder_are_read_from_it(
    in_project: Project, recorded: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(in_project.raw)
    outside = in_project.root.parent / "elsewhere.yaml"
    assert cli.main(["features", "check", "--spec", "my.yaml", "--params", str(outside)]) == 0
    args = recorded["args"]
    assert isinstance(args, argparse.Namespace)
    assert args.spec == Path("data/raw/my.yaml")
    assert args.params == outside.resolve()  # outside the project: absolute
    assert cli.main(["ingest", "--params", "../../params.yaml"]) == 0
    assert recorded["args"].params == Path("params.yaml")  # type: ignore[attr-defined]


def test_features_check_and_dataset_infer_work_from_a_sub_folder(
    in_project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two commands of the issue that failed in a sub-folder, for real (no data read)."""
    spec = in_project.root / "config" / "features.yaml"
    spec.write_text((REPO_ROOT / "config" / "features.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(in_project.raw)
    assert cli.main(["features", "check"]) == 0
    assert "expected_profit" in capsys.readouterr().out
    write_sales_csv(in_project.raw / "orders.csv", generate_sales(50, seed=1))
    assert cli.main(["dataset", "infer", "orders.csv"]) == 0  # needs no project: its own folder
    assert 'name: "orders"' in capsys.readouterr().out
    assert cli.main(["features", "types"]) == 0
    assert "| `" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "verbosity"),
    [
        (["compare"], 0),
        (["-v", "compare"], 1),
        (["compare", "-v"], 1),
        (["-q", "train"], -1),
        (["train", "--quiet"], -1),
        (["--verbose", "features", "check"], 1),
        (["features", "check", "-q"], -1),
        (["-v", "dataset", "infer", "x.csv"], 1),
        (["-q", "predict", "--input", "a", "--output", "b"], -1),
    ],
    ids=repr,
)
def test_global_flags_go_before_or_after_the_subcommand(argv: list[str], verbosity: int) -> None:
    assert build_parser().parse_args(argv).verbosity == verbosity


def test_verbose_before_the_subcommand_shows_the_traceback(
    in_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["-v", "ingest", "--params", "missing.yaml"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert error_lines(err) == ["error: missing.yaml: file not found"]
