"""Start-up: importing a stage module loads no heavy library it does not need at once.

Each stage module is imported in a fresh interpreter and the top-level packages it loaded are
listed. scikit-learn (which loads scipy and pandas), skops (which loads pytest through
scikit-learn's testing helpers) and matplotlib cost 0.5-1.5 s each: train and evaluate import
them inside the functions that fit, save, load and plot, so ``--help``, a failing params check
and the stages that never model pay nothing for them.

TODO (not this module's files): ingest and validate still load pandas, pandera and pyarrow at
import, through ``features_pipeline/pandera_polars.py`` (imported by ``ingest/contract.py`` and
``validation/validator.py``); for them only the modelling and plotting libraries are asserted.
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
# stages that may still load DATAFRAME at import (see the module docstring's TODO)
STILL_LOADING_PANDAS = frozenset({"ingest", "validate"})


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


@pytest.mark.parametrize("stage", sorted(set(STAGES) - STILL_LOADING_PANDAS))
def test_importing_a_stage_loads_no_dataframe_library(stage: str) -> None:
    """features, train and evaluate: no pandas, pandera, pyarrow (or pytest) either."""
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
