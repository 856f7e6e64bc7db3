"""The README's set-up is as light as the default (Polars) path: the heavy engines are extras
whose tests skip with a reason without them; .ci/run installs and runs everything."""

from __future__ import annotations

import re
import tomllib

import pytest
import support
from support import OPTIONAL_ENGINES, REPO_ROOT, missing_engine_reason

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
HEAVY = {"duckdb", "pyspark", "dvc-ssh", "pandas"}  # not needed by the default path
SELF = re.compile(r"^features-pipeline\[([^\]]+)\]$")


def name(requirement: str) -> str:
    """The distribution a requirement names: ``pyspark[connect]>=4.0`` -> ``pyspark``."""
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()


def requirement_names(extra: str) -> set[str]:
    """The distributions an extra installs beyond the core, its own extras resolved."""
    names: set[str] = set()
    for requirement in EXTRAS[extra]:
        own = SELF.match(requirement)
        if own:
            for other in own.group(1).split(","):
                names |= requirement_names(other.strip())
        else:
            names.add(name(requirement))
    return names


def readme_commands() -> list[str]:
    """The lines of the README's first code block: the set-up and the test command."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()


def test_the_readme_starts_with_two_commands_installing_the_dev_extra() -> None:
    setup, tests = readme_commands()
    assert "pip install -r requirements/dev.txt && pip install --no-deps -e ." in setup
    assert setup.endswith("&& dvc repro")
    assert tests == ". .venv/bin/activate && pytest"


def test_the_default_set_up_installs_no_heavy_engine() -> None:
    assert requirement_names("dev").isdisjoint(HEAVY), requirement_names("dev") & HEAVY
    assert {name(r) for r in PYPROJECT["project"]["dependencies"]}.isdisjoint(HEAVY)


def test_ci_installs_everything_and_runs_the_readme_test_command() -> None:
    assert requirement_names("all") >= HEAVY | requirement_names("dev")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -q -r requirements/all.txt && pip install -q --no-deps -e ." in ci
    test_command = readme_commands()[1]
    assert any(line.strip().startswith(test_command + " ") for line in ci.splitlines())


@pytest.mark.parametrize("marker", sorted(OPTIONAL_ENGINES))
def test_an_engine_test_without_its_package_skips_with_the_extra_to_install(
    marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, extra = OPTIONAL_ENGINES[marker]
    monkeypatch.setattr(support, "find_spec", lambda name: None)
    assert missing_engine_reason(marker) == (
        f"{module} is not installed (pip install -r requirements/all.txt: the {extra} extra)"
    )
    monkeypatch.setattr(support, "find_spec", lambda name: object())
    assert missing_engine_reason(marker) is None
