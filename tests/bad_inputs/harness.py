"""Shared checks of the bad-input suite: a user mistake ends with exit 1, one short `error:`
message naming the file and key/column/line, no traceback, and every earlier output unchanged.

Each case runs the stage script as `dvc repro` runs it (`python stages/<stage>.py` in the project
folder, a subprocess) and, where marked, under `dvc repro` itself in a git copy of the project.
Under `dvc repro` a case ends one of three ways: the stage runs and fails (DVC exits 255 and names
the stage's exit code 1; the stage's `error:` line is in DVC's stderr), DVC refuses the file
itself before any stage runs (one `ERROR:` line of DVC's own), or nothing re-runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from support import REPO_ROOT, run_command

OUTPUT_FOLDERS = ("data/interim", "data/features", "data/predictions", "models", "metrics", "plots",
                  "reports")  # fmt: skip
MAX_MESSAGE_LINES = 3
DVC_FAILED = 255  # `dvc repro`'s exit code for any failure, a failing stage command included
DVC_MAX_LINES = 15  # DVC's ERROR line plus its YAML error context (line, column, a caret)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under the output folders of ``root`` (timing files aside), by relative path."""
    files: dict[str, bytes] = {}
    for folder in OUTPUT_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not relative.startswith("metrics/timing/"):
                files[relative] = path.read_bytes()
    return files


def run(args: list[str], root: Path) -> Outcome:
    """``args`` in ``root`` with the test environment, never raising on a non-zero exit."""
    result = run_command(args, root, check=False)
    return Outcome(result.returncode, result.stdout, result.stderr)


def run_stage_script(root: Path, stage: str, *args: str) -> Outcome:
    """``python stages/<stage>.py`` in ``root`` (the repo's stage scripts), as dvc repro runs it."""
    return run([sys.executable, str(REPO_ROOT / "stages" / f"{stage}.py"), *args], root)


def run_cli(root: Path, *args: str) -> Outcome:
    """``features-pipeline <args>`` in ``root``."""
    return run([str(Path(sys.executable).parent / "features-pipeline"), *args], root)


def assert_user_error(outcome: Outcome, *fragments: str) -> str:
    """Exit 1, no traceback, exactly one ``error:`` line containing every fragment, and a short
    message (the error line plus at most a small failure table); returns the line."""
    assert outcome.code == 1, f"exit {outcome.code}: {outcome.stderr}"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    lines = outcome.error_lines
    assert len(lines) == 1, outcome.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_unchanged(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """No output appeared, disappeared or changed."""
    assert sorted(after) == sorted(before), set(after) ^ set(before)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, changed


def dvc_repro(root: Path, *targets: str) -> Outcome:
    """``dvc repro [targets]`` in ``root``."""
    return run([str(Path(sys.executable).parent / "dvc"), "repro", *targets], root)


def assert_stage_error_under_dvc(outcome: Outcome, *fragments: str) -> str:
    """``dvc repro`` ran the stage and it failed as a user mistake: DVC exits 255 naming the
    stage's exit code 1, and the stage's one ``error:`` line holds every fragment."""
    assert outcome.code == DVC_FAILED, f"exit {outcome.code}: {outcome.stderr}"
    assert "exited with 1" in outcome.stderr, outcome.stderr
    return assert_user_error(Outcome(1, outcome.stdout, outcome.stderr), *fragments)


def assert_dvc_refuses(outcome: Outcome, *fragments: str) -> str:
    """DVC stopped before any stage ran: exit 255, no traceback, no stage ``error:`` line, one
    short ``ERROR:`` message holding every fragment; returns the line."""
    assert outcome.code == DVC_FAILED, f"exit {outcome.code}: {outcome.stderr}"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert not outcome.error_lines, outcome.stderr  # the stage never ran
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) <= DVC_MAX_LINES, outcome.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def assert_nothing_ran(outcome: Outcome) -> None:
    """DVC saw no change in what any stage declares: exit 0 and no stage ran."""
    assert outcome.code == 0, f"exit {outcome.code}: {outcome.stderr}"
    assert "Data and pipelines are up to date." in outcome.stdout, outcome.stdout
    assert "Running stage" not in outcome.stdout, outcome.stdout
