"""``features-pipeline params check``: the YAML files DVC parses before any stage runs (params.yaml,
dvc.yaml, the params files dvc.yaml names), read with the stages' reader and limits, so an alias
bomb that would keep `dvc repro` busy for minutes is refused in milliseconds, in one line."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support import REPO_ROOT, VENV_BIN, command_env, error_lines

from features_pipeline import cli
from features_pipeline.contracts.params import MAX_YAML_BYTES
from features_pipeline.params_check import declared_params_files, resolve

BOMB = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n" for level in range(1, 9)
)  # 10**9 strings once expanded


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files DVC reads before any stage runs, as a clone has them; the current folder."""
    root = tmp_path / "repo"
    (root / "config").mkdir(parents=True)
    for name in ("dvc.yaml", "params.yaml", "config/dataset.yaml", "config/features.yaml"):
        shutil.copy(REPO_ROOT / name, root / name)
    monkeypatch.chdir(root)
    return root


def prepend(path: Path, text: str) -> None:
    path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")


def test_the_files_dvc_reads_are_the_params_files_dvc_yaml_declares() -> None:
    pipeline = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert declared_params_files(pipeline, params) == [
        "config/dataset.yaml",
        "config/features.yaml",
    ]
    assert resolve("${features.spec}", {"features": {"spec": "a.yaml"}}) == "a.yaml"
    assert resolve("${features.spec}", {}) is None  # DVC says so itself


def test_a_clean_project_passes_in_one_line(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["params", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "params check: ok: params.yaml, dvc.yaml, config/dataset.yaml, config/features.yaml ("
    )
    assert out.count("\n") == 1


@pytest.mark.parametrize("victim", ["params.yaml", "config/features.yaml", "config/dataset.yaml"])
def test_an_alias_bomb_is_refused_in_well_under_a_second(
    clone: Path, capsys: pytest.CaptureFixture[str], victim: str
) -> None:
    prepend(clone / victim, BOMB)
    start = time.perf_counter()
    assert cli.main(["params", "check"]) == 1
    assert time.perf_counter() - start < 1.0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert error_lines(err) == [
        f"error: {victim}: YAML aliases expand to more than 1,000 nodes; write the values out"
    ]


def test_deep_nesting_and_huge_files_are_refused(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = clone / "params.yaml"
    original = params.read_text(encoding="utf-8")
    params.write_text("x: " + "[" * 101 + "]" * 101 + "\n" + original, encoding="utf-8")
    assert cli.main(["params", "check"]) == 1
    assert error_lines(capsys.readouterr().err) == [
        "error: params.yaml: YAML nested too deeply to read (more than 100 levels)"
    ]
    params.write_text(original + "#" * MAX_YAML_BYTES + "\n", encoding="utf-8")
    assert cli.main(["params", "check"]) == 1
    [line] = error_lines(capsys.readouterr().err)
    size_kib = round(
        params.stat().st_size / 1024
    )  # the file's own size, whatever params.yaml holds
    assert line.startswith(f"error: params.yaml: {size_kib:,} KiB, more than the 1,024 KiB")


def test_the_installed_command_from_a_sub_folder(clone: Path) -> None:
    prepend(clone / "params.yaml", BOMB)
    done = subprocess.run(
        [str(VENV_BIN / "features-pipeline"), "params", "check"],
        cwd=clone / "config",
        env=command_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        "error: params.yaml: YAML aliases expand to more than 1,000 nodes; write the values out"
    ]
    assert "Traceback" not in done.stderr


def test_ci_runs_it_before_dvc_does() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.index("\nfeatures-pipeline params check\n") < ci.index("pytest -m")
    assert ci.index("\nfeatures-pipeline params check\n") < ci.index("dvc repro --force")
    workflow = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert workflow.index("features-pipeline params check") < workflow.index("dvc repro\n")
