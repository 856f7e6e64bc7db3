"""Running ``dvc exp show --json``: the arguments, and clear errors when DVC is not usable."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from features_pipeline.errors import UserError


def exp_show_command(num: int = 1, all_commits: bool = False) -> list[str]:
    """The ``dvc exp show`` arguments: ``num`` commits back from HEAD, or every commit."""
    scope = ["--all-commits"] if all_commits else ["--num", str(num)]
    return ["exp", "show", "--json", *scope]


def read_exp_show(
    project: Path = Path("."), num: int = 1, all_commits: bool = False
) -> list[dict[str, Any]]:
    """Run ``dvc exp show --json`` in ``project``; clear errors when DVC is not usable."""
    if not (project / ".dvc").is_dir():
        raise UserError(
            f"{project.resolve()}: not a DVC project (no .dvc/ folder); `dvc init` it first"
        )
    dvc = shutil.which("dvc")
    if dvc is None:
        raise UserError("compare: the `dvc` command is not on PATH; activate the project's venv")
    result = subprocess.run(
        [dvc, *exp_show_command(num, all_commits)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"compare: dvc exp show failed: {problem.removeprefix('ERROR: ')}")
    return parse_exp_show(result.stdout)


def parse_exp_show(stdout: str) -> list[dict[str, Any]]:
    """The JSON list ``dvc exp show --json`` printed (anything but a list: no entries)."""
    try:
        loaded = json.loads(stdout or "[]")
    except json.JSONDecodeError as exc:
        raise UserError(f"compare: dvc exp show printed no JSON ({exc.msg})") from None
    return loaded if isinstance(loaded, list) else []
