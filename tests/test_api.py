"""The public library API: its docstring examples run (the fast suite, so in CI on every
Python), and ``import features_pipeline`` gives the documented names without loading them."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import polars as pl
import pytest

import features_pipeline
from features_pipeline import api

SRC = Path(__file__).resolve().parents[1] / "src"
EXAMPLES = {test.name: test for test in doctest.DocTestFinder().find(api) if test.examples}


def test_every_public_function_has_an_example() -> None:
    documented = {name.rpartition(".")[2] for name in EXAMPLES}
    functions = {name for name in api.__all__ if callable(getattr(api, name))}
    classes = {"DatasetContract", "Features", "FittedState", "Model"}
    assert functions - classes <= documented, sorted(functions - classes - documented)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_docstring_example_runs(name: str) -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(EXAMPLES[name], out=lambda text: sys.stdout.write(text))
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_the_top_level_names_are_the_api() -> None:
    assert set(features_pipeline.__all__) == {*api.__all__, "__version__"}
    for name in api.__all__:
        assert getattr(features_pipeline, name) is getattr(api, name)
    with pytest.raises(AttributeError):
        _ = features_pipeline.no_such_name  # type: ignore[attr-defined]


def test_importing_the_package_is_cheap_and_typed() -> None:
    """A fresh interpreter: the documented names listed, the API (and polars, numpy) not
    loaded until used; the package ships py.typed."""
    code = (
        "import json, sys, features_pipeline as fp\n"
        "loaded = sorted({'polars', 'numpy', 'features_pipeline.api'} & set(sys.modules))\n"
        "print(json.dumps([sorted(fp.__all__), loaded, fp.Model.__name__]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    names, loaded, model = json.loads(done.stdout)
    assert names == sorted(features_pipeline.__all__)
    assert loaded == []
    assert model == "Model"
    assert (SRC / "features_pipeline" / "py.typed").is_file()


def test_a_table_from_a_path_or_a_frame_gives_the_same_features(tmp_path: Path) -> None:
    contract = {"name": "t", "target": "y",
                "columns": {"g": {"type": "category"}, "y": {"type": "float"}}}  # fmt: skip
    spec = [{"name": "y_by_g", "type": "group_agg", "column": "y", "by": "g", "agg": "sum"}]
    frame = pl.DataFrame({"g": ["a", "b", "a"], "y": [1.0, 2.0, 3.0]})
    frame.write_csv(tmp_path / "t.csv")
    frame.write_parquet(tmp_path / "t.parquet")
    expected = api.build_features(frame, spec, contract).table
    tables: list[object] = [tmp_path / "t.csv", str(tmp_path / "t.parquet"), frame.lazy()]
    if find_spec("pandas") and find_spec("pyarrow"):  # the all extra (CI); not the light set-up
        tables.append(frame.to_pandas())
    for data in tables:
        assert api.build_features(data, spec, contract).table.equals(expected), type(data)
    with pytest.raises(TypeError, match="a table is"):
        api.read_table([1, 2], contract)
