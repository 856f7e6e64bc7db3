"""Same bytes on every machine, proved on one by simulating others (slow).

A fresh copy of the project runs ``dvc repro`` as a new clone does: it must reproduce the
committed ``dvc.lock``, ``metrics/`` and ``plots/`` (``git status`` clean). Then the model stages
run again under the kernels other CPUs would get: OpenBLAS's core types (the library picks one
per CPU at load time: ``SkylakeX`` on AVX-512 machines, ``Sandybridge`` on AVX ones, ...) and
numpy's SIMD levels (``NPY_DISABLE_CPU_FEATURES``: numpy as on an AVX2-only or a pre-AVX2 CPU).
Every output must keep its bytes: ``dvc status`` finds nothing changed and ``git status`` stays
clean. Last, a forced ``dvc repro`` of every stage with other thread counts (Polars, OpenMP,
BLAS), another time zone, the C locale and another hash seed changes nothing either.

``test_the_simulated_cpus_really_change_the_kernels`` shows the knobs are not inert: with the
pin switched off (``FEATURES_PIPELINE_NATIVE_KERNELS=1``) they do change the kernels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import command_env, copy_tracked_files, init_git_repo, run_command

from features_pipeline.kernels import (
    NATIVE_SWITCH,
    NUMPY_DISABLE,
    NUMPY_ENABLE,
    OPENBLAS,
    cpu_flags,
)

pytestmark = [pytest.mark.slow, pytest.mark.machines]

FLAGS = cpu_flags() or frozenset()
X86_WITH_AVX2 = {"avx2", "fma"} <= FLAGS

# What OpenBLAS and numpy would pick on other CPUs (each is what that CPU's own detection gives)
SIMULATED_CPUS: dict[str, dict[str, str]] = {
    "openblas-skylakex": {"OPENBLAS_CORETYPE": "SkylakeX"},  # AVX-512 (this CPU must have it)
    "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},  # AVX, no FMA
    "openblas-prescott": {"OPENBLAS_CORETYPE": "Prescott"},  # SSE3
    "numpy-avx2": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
    "numpy-sse4": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"},
}
NEEDS = {"openblas-skylakex": "avx512f"}  # a CPU flag the simulated kernels execute

# Knobs that change code paths but must not change bits, for every stage at once
OTHER_RUN_SETTINGS = {
    "POLARS_MAX_THREADS": "1",
    "OMP_NUM_THREADS": "2",
    "OPENBLAS_NUM_THREADS": "2",
    "SKLEARN_WORKING_MEMORY": "1",  # MiB: scikit-learn's chunked computations in small chunks
    "TZ": "Pacific/Chatham",  # +12:45 / +13:45: any date maths done in local time would move
    "LC_ALL": "C",
    "PYTHONHASHSEED": "4242",
}


def machine_env(settings: dict[str, str]) -> dict[str, str]:
    """The commands' environment on the simulated machine: ``settings`` over a shell that has
    none of the kernel variables (this test process pinned its own when it imported the
    package, and its children would inherit them)."""
    base = {
        name: value
        for name, value in command_env().items()
        if name not in (OPENBLAS, NUMPY_ENABLE, NUMPY_DISABLE, NATIVE_SWITCH)
    }
    return {**base, **settings}


def run_in(repo: Path, args: list[str], extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=repo, env=machine_env(extra), capture_output=True, text=True)
    assert result.returncode == 0, f"{args} with {extra}: {result.stdout}{result.stderr}"
    return result


def assert_outputs_unchanged(repo: Path, settings: dict[str, str]) -> None:
    """dvc status: every output has its dvc.lock hash; git status: metrics/ and plots/ (and
    dvc.lock) are the committed bytes."""
    status = run_command(["dvc", "status", "--json"], repo).stdout
    changed = json.loads(status or "{}")
    git = run_command(["git", "status", "--porcelain"], repo).stdout
    assert not changed, f"under {settings}: outputs differ from dvc.lock: {changed}"
    assert git == "", f"under {settings}: files differ from the commit:\n{git}"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the project after its first ``dvc repro`` (every stage runs: the data
    outputs are not in git)."""
    repo = init_git_repo(copy_tracked_files(tmp_path_factory.mktemp("clone")))
    run_command(["dvc", "repro"], repo)
    return repo


def test_a_fresh_clone_reproduces_the_committed_lock(clone: Path) -> None:
    assert_outputs_unchanged(clone, {})


@pytest.mark.parametrize("cpu", sorted(SIMULATED_CPUS))
def test_the_model_stages_give_the_same_bytes_on_other_cpus(clone: Path, cpu: str) -> None:
    if not X86_WITH_AVX2:
        pytest.skip("the simulated CPUs are x86-64 ones; this machine is not (or lacks AVX2)")
    if cpu in NEEDS and NEEDS[cpu] not in FLAGS:
        pytest.skip(f"this CPU cannot run the {cpu} kernels (no {NEEDS[cpu]})")
    settings = SIMULATED_CPUS[cpu]
    for stage in ("train", "evaluate"):
        run_in(clone, [sys.executable, f"stages/{stage}.py"], settings)
    assert_outputs_unchanged(clone, settings)


def test_every_stage_gives_the_same_bytes_with_other_threads_zone_locale_and_hash_seed(
    clone: Path,
) -> None:
    run_in(clone, ["dvc", "repro", "--force"], OTHER_RUN_SETTINGS)
    assert_outputs_unchanged(clone, OTHER_RUN_SETTINGS)


KERNELS_SCRIPT = (
    "import json, features_pipeline; from features_pipeline.kernels import in_effect; "
    "print(json.dumps(in_effect()))"
)


def kernels_under(settings: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", KERNELS_SCRIPT],
        env=machine_env(settings),
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, str] = json.loads(result.stdout)
    return found


@pytest.mark.skipif(not X86_WITH_AVX2, reason="x86-64 kernels (this machine lacks AVX2/FMA)")
def test_the_simulated_cpus_really_change_the_kernels() -> None:
    """Without the pin, each simulated CPU loads other kernels (so the tests above can fail);
    with it, every process of the project loads the pinned ones."""
    native = {NATIVE_SWITCH: "1"}
    prescott = kernels_under({**native, **SIMULATED_CPUS["openblas-prescott"]})
    assert prescott["openblas (numpy)"] == prescott["openblas (scipy)"] != "Haswell"
    assert kernels_under({**native, **SIMULATED_CPUS["numpy-sse4"]})["numpy simd"] == "baseline"
    for settings in SIMULATED_CPUS.values():
        assert kernels_under(settings) == {
            "numpy simd": "X86_V3",
            "openblas (numpy)": "Haswell",
            "openblas (scipy)": "Haswell",
        }
