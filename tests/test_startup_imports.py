"""Start-up: importing a stage module loads no heavy library it does not need at once.

Each stage module is imported in a fresh interpreter and the top-level packages it loaded are
listed. scikit-learn (which loads scipy and pandas), skops (which loads pytest through
scikit-learn's testing helpers) and matplotlib cost 0.5-1.5 s each: train and evaluate import
them inside the functions that fit, save, load and plot, so ``--help``, a failing params check
and the stages that never model pay nothing for them.

pandera (with pandas and pyarrow, ~0.5 s) likewise loads only when a schema is built or checked
(``ingest/contract.py``, ``validation/schema.py``, ``validation/validator.py`` import it inside
their functions), so no stage module loads pandas, pandera or pyarrow at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from features_pipeline.stages import STAGES

SRC = Path(__file__).resolve().parents[1] / "src"
MODELLING = frozenset({"sklearn", "scipy", "skops", "matplotlib"})
DATAFRAME = frozenset({"pandas", "pandera", "pyarrow", "pytest"})


@cache
def loaded_by(module: str) -> frozenset[str]:
    """Top-level packages loaded by ``import <module>`` in a fresh interpreter."""
    code = (
        "import json, sys\n"
        f"import {module}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return frozenset(json.loads(done.stdout.splitlines()[-1]))


def test_stages_are_the_five() -> None:
    assert set(STAGES) == {"ingest", "features", "validate", "train", "evaluate"}


@pytest.mark.parametrize("stage", STAGES)
def test_importing_a_stage_loads_no_modelling_or_plotting_library(stage: str) -> None:
    loaded = loaded_by(f"features_pipeline.stages.{stage}")
    assert not loaded & MODELLING, f"stage {stage} imports {sorted(loaded & MODELLING)}"


@pytest.mark.parametrize("stage", STAGES)
def test_importing_a_stage_loads_no_dataframe_library(stage: str) -> None:
    """No pandas, pandera, pyarrow (or pytest) either, ingest and validate included."""
    loaded = loaded_by(f"features_pipeline.stages.{stage}")
    assert not loaded & DATAFRAME, f"stage {stage} imports {sorted(loaded & DATAFRAME)}"


def test_predict_command_loads_no_modelling_library_before_it_runs() -> None:
    loaded = loaded_by("features_pipeline.predict.run")
    assert not loaded & MODELLING, sorted(loaded & MODELLING)


def test_what_train_needs_is_loaded_when_it_fits() -> None:
    """The other side: building and saving a pipeline does import scikit-learn and skops (the
    imports moved into functions, they did not vanish)."""
    code = (
        "import sys\n"
        "from features_pipeline.model.pipeline import build_pipeline, column_roles\n"
        "from features_pipeline.model.registry import build_estimator, REGISTRY\n"
        "import polars as pl\n"
        "roles = column_roles({'x': pl.Float64()}, ['x'])\n"
        "build_pipeline(roles, REGISTRY['ridge'], build_estimator('ridge', {}, 0))\n"
        "print('sklearn' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "True"


def run_fresh(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def test_pandera_is_loaded_when_the_raw_contract_is_checked() -> None:
    """The other side for ingest and validate: building the raw contract's schema (what the ingest
    stage checks, and what validate extends) does import pandera."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from features_pipeline.contracts.dataset import load_contract\n"
        "from features_pipeline.ingest.contract import raw_schema\n"
        f"dataset = load_contract(Path({str(SRC.parent / 'config' / 'dataset.yaml')!r}))\n"
        "before = 'pandera' in sys.modules\n"
        "raw_schema(dataset)\n"
        "print(before, 'pandera' in sys.modules)\n"
    )
    assert run_fresh(code) == "False True"


def test_the_params_check_command_loads_no_dataframe_library() -> None:
    """`features-pipeline params check` runs before `dvc repro`, in well under a second: the
    command line and the check load YAML and pydantic, not Polars (0.5 s) or pandas."""
    loaded = loaded_by("features_pipeline.cli, features_pipeline.params_check")
    assert not loaded & {"polars", "narwhals", *DATAFRAME, *MODELLING}, sorted(loaded)
