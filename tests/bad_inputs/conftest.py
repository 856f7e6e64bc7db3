"""A project that has run the whole pipeline once (module-scoped: built once per test module),
with what each bad-input case edits restored after it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import copy_tracked_files, init_git_repo, run_command

EDITED = ("params.yaml", "config", "data/raw")  # what cases may change; restored after each
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every case here starts a Python process (and its dvc variant a dvc repro): the suite is
    slow, so it runs with `pytest -m slow` (and in .ci/run), not in the everyday `pytest`."""
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of the project after one `dvc repro` (every output present)."""
    root = init_git_repo(copy_tracked_files(tmp_path_factory.mktemp("ran") / "repo"))
    run_command(["dvc", "repro", "-q"], root)
    pristine = root.parent / "pristine"
    for name in EDITED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, pristine / name)
        else:
            pristine.mkdir(exist_ok=True)
            shutil.copy2(source, pristine / name)
    return root


@pytest.fixture
def case_project(ran_project: Path) -> Iterator[Path]:
    """The ran project for one case: params, config and data/raw restored afterwards."""
    yield ran_project
    pristine = ran_project.parent / "pristine"
    for name in EDITED:
        target = ran_project / name
        if (pristine / name).is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(pristine / name, target)
        else:
            shutil.copy2(pristine / name, target)
