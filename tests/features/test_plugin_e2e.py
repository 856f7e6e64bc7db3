"""The plug-in promise end to end: in a temp git copy of the project, one new file under
``features/types/`` (plus its test module) is a feature type that the registry-generated tests,
``features-pipeline features check`` and ``dvc repro features`` use, with no other file of the
package, stages, tests or dvc.yaml edited (only the spec, to use it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from support import command_env

TYPE_FILE = Path("src/features_pipeline/features/types/square.py")
SQUARE = '''\
"""``square``: a numeric column squared."""

from __future__ import annotations

from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.features.types.base import Feature, Schema, require_numeric


class Square(Feature):
    """``column * column`` of a numeric column (integers stay integers).

    ```yaml
    - name: units_squared
      type: square
      column: Units Sold
    ```
    """

    type: Literal["square"]
    column: str

    def column_keys(self) -> dict[str, tuple[str, ...]]:
        return {"column": (self.column,)}

    def check_types(self, schema: Schema) -> None:
        require_numeric(schema, "column", self.column)

    def output_dtype(self, schema: Schema) -> pl.DataType:
        return pl.Int64() if schema[self.column].is_integer() else pl.Float64()

    def expression(self) -> nw.Expr:
        return nw.col(self.column) * nw.col(self.column)
'''
TEST_FILE = Path("tests/features/test_type_square.py")
SQUARE_TEST = '''\
"""square: a numeric column squared."""

import polars as pl

from features.helpers import column, compute


def test_values_and_dtype() -> None:
    spec = {"name": "s", "type": "square", "column": "x"}
    out = compute(pl.DataFrame({"x": [2, -3, None]}), spec)
    assert column(out, "s") == [4, 9, None]
    assert out.schema["s"] == pl.Int64
'''
ENTRY = "  - {name: units_squared, type: square, column: Units Sold}\n"
GENERATED_TESTS = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "square"]


def run_in(repo: Path, args: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """``args`` in ``repo`` importing the copy's package (the venv's editable install points at
    the original tree), with a wide console so plan lines do not wrap."""
    env = command_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo / "src"), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "200"
    result = subprocess.run(
        list(args), cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


@pytest.mark.slow
def test_a_new_type_is_one_file(project_repo: Path) -> None:
    repo = project_repo
    imported = run_in(
        repo, ["python", "-c", "import features_pipeline; print(features_pipeline.__file__)"]
    )
    assert Path(imported.stdout.strip()).is_relative_to(repo / "src")

    (repo / TYPE_FILE).write_text(SQUARE, encoding="utf-8")
    catalog_tests = [*GENERATED_TESTS, "tests/features/test_catalog.py"]
    untested = run_in(repo, catalog_tests, check=False)
    assert untested.returncode == 1, untested.stdout  # the registry-generated tests found it
    assert "1 failed" in untested.stdout, untested.stdout
    assert f"add {TEST_FILE.as_posix()}" in untested.stdout
    (repo / TEST_FILE).write_text(SQUARE_TEST, encoding="utf-8")
    tested = run_in(repo, [*catalog_tests, TEST_FILE.as_posix()]).stdout
    assert " passed" in tested, tested

    spec = repo / "config" / "features.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + ENTRY, encoding="utf-8")

    checked = run_in(repo, ["features-pipeline", "features", "check"]).stdout
    assert "units_squared square row-wise -> Int64 (Units Sold)" in checked, checked

    typo = repo / "typo.yaml"
    typo.write_text("features:\n  - {name: sq, type: squre, column: Units Sold}\n", "utf-8")
    refused = run_in(repo, ["features-pipeline", "features", "check", "--spec", "typo.yaml"], False)
    assert refused.returncode == 1
    assert "unknown type 'squre' — did you mean 'square'?" in refused.stderr, refused.stderr
    known = re.search(r"\(known: ([^)]*)\)", refused.stderr)
    assert known is not None, refused.stderr
    assert "square" in known.group(1).split(", ")  # the registry lists it

    run_in(repo, ["dvc", "repro", "features"])
    table = pl.read_parquet(repo / "data" / "features" / "features.parquet")
    units = table.get_column(c.UNITS_SOLD)
    assert table.get_column("units_squared").to_list() == (units * units).to_list()
    assert table.schema["units_squared"] == pl.Int64
    plan = json.loads((repo / "data" / "features" / "plan.json").read_text(encoding="utf-8"))
    entry = plan["features"]["units_squared"]
    assert (entry["type"], entry["kind"], entry["inputs"]) == ("square", "row-wise", ["Units Sold"])

    typo.unlink()
    status = run_in(repo, ["git", "status", "--porcelain", "--untracked-files=all"]).stdout
    changed = {line[3:] for line in status.splitlines()} - {"dvc.lock"}
    changed = {path for path in changed if not path.startswith("metrics/timing/")}
    assert changed == {"config/features.yaml", TYPE_FILE.as_posix(), TEST_FILE.as_posix()}
