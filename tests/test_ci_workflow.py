"""CI's shape: the fast suite on every supported Python, least privilege, one run per branch,
dependency updates, a hash-checked lock, strict types."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    return loaded


def test_the_fast_suite_runs_on_every_supported_python() -> None:
    workflow = load(".github/workflows/ci.yml")
    fast = workflow["jobs"]["fast"]
    assert fast["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    scripts = "\n".join(step.get("run", "") for step in fast["steps"])
    assert "pytest" in scripts
    assert "-m slow" not in scripts  # the fast suite (addopts)
    assert "mypy --strict" in scripts
    assert "bash .ci/run" in "\n".join(
        s.get("run", "") for s in workflow["jobs"]["pipeline"]["steps"]
    )


def test_least_privilege_and_one_run_per_branch() -> None:
    workflow = load(".github/workflows/ci.yml")
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]


def locked(lock: str) -> dict[str, str]:
    """{distribution: version} of a requirements/ lock, names normalised (PEP 503)."""
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins}


def test_dependencies_are_updated_and_locked_with_hashes_for_every_python() -> None:
    updates = load(".github/dependabot.yml")["updates"]
    assert {update["package-ecosystem"] for update in updates} == {"pip", "github-actions"}
    everything, light = locked("all.txt"), locked("dev.txt")
    assert len(everything) > 100
    assert {"duckdb", "pyspark", "polars", "scikit-learn", "dvc"} <= everything.keys()
    assert light.items() <= everything.items()  # the light set-up: the same versions, fewer
    assert {"duckdb", "pyspark"}.isdisjoint(light)
    for lock in ("all.txt", "dev.txt"):
        text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
        assert "python_version" not in text  # one resolution for every Python
        # every pin is hash-checked: pip refuses to install a file whose sha256 is not listed
        for entry in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2]):
            assert "--hash=sha256:" in entry, entry.splitlines()[0]
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -r requirements/all.txt && pip install -q --no-deps -e ." in ci_run
    assert "mypy --strict" in ci_run
