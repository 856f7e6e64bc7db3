"""The numeric kernels, pinned before numpy and scipy load: the same bits on every CPU.

OpenBLAS (bundled by numpy and by scipy) and numpy's own SIMD loops pick their kernels when the
library loads, from the CPU they find: on an AVX-512 machine OpenBLAS takes its ``SkylakeX``
kernels, on another x86-64 ``Haswell``, ``Zen`` or ``Sandybridge``. The kernels block and order
floating-point sums differently, so one fit gave four different model files on four simulated
CPUs. :func:`pin` removes that choice for every process of the project (stages, the
``features-pipeline`` command, Spark workers they start inherit it): it runs when the package is
imported, before numpy, and sets

- ``OPENBLAS_CORETYPE``: the kernels of one CPU family every supported CPU can run (x86-64:
  ``Haswell``, AVX2 + FMA, which the pinned Polars runtime requires anyway; arm64: ``ARMV8``);
- numpy's dispatched loops at one level: x86-64 ``NPY_ENABLE_CPU_FEATURES=X86_V3`` (no AVX-512
  paths); arm64 ``NPY_DISABLE_CPU_FEATURES`` naming every extension (SVE, ...), so the baseline
  ASIMD loops run. The other variable is removed (numpy refuses both at once).

Settings a user made are replaced: they are exactly the per-CPU choice being removed. Set
``FEATURES_PIPELINE_NATIVE_KERNELS=1`` to leave the libraries to pick (faster on some CPUs;
outputs may then differ from ``dvc.lock`` in the last bits). A CPU without AVX2 and FMA is left
native too (the Haswell kernels would not run there). :func:`in_effect` reports what the loaded
libraries use, for the model card and the tests.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

NATIVE_SWITCH = "FEATURES_PIPELINE_NATIVE_KERNELS"
OPENBLAS = "OPENBLAS_CORETYPE"
NUMPY_ENABLE = "NPY_ENABLE_CPU_FEATURES"
NUMPY_DISABLE = "NPY_DISABLE_CPU_FEATURES"

# numpy's SIMD loops: x86-64 at the AVX2 level (X86_V3: only that level enabled); arm64 at its
# baseline (ASIMD): every dispatched extension off (SVE and the half/dot-product ones)
X86_NUMPY: Mapping[str, str | None] = {NUMPY_ENABLE: "X86_V3", NUMPY_DISABLE: None}
ARM_NUMPY: Mapping[str, str | None] = {
    NUMPY_ENABLE: None,
    NUMPY_DISABLE: "ASIMDHP ASIMDDP ASIMDFHM SVE",
}
# machine -> (OpenBLAS core type, numpy's settings)
PINNED: Mapping[str, tuple[str, Mapping[str, str | None]]] = {
    "x86_64": ("Haswell", X86_NUMPY),
    "amd64": ("Haswell", X86_NUMPY),
    "aarch64": ("ARMV8", ARM_NUMPY),
    "arm64": ("ARMV8", ARM_NUMPY),
}
X86_REQUIRED_FLAGS = frozenset({"avx2", "fma"})  # what the Haswell kernels execute


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str] | None:
    """The CPU's feature flags from ``cpuinfo`` (Linux), or None where it cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return None


def pinned_settings(
    machine: str, environ: Mapping[str, str], flags: frozenset[str] | None
) -> dict[str, str | None]:
    """The environment changes that pin the kernels on ``machine`` (a value None: remove the
    variable); none when the user opted out or the CPU cannot run the pinned kernels."""
    choice = PINNED.get(machine.lower())
    if choice is None or environ.get(NATIVE_SWITCH, "") not in ("", "0"):
        return {}
    core, numpy_settings = choice
    if core == "Haswell" and flags is not None and not flags >= X86_REQUIRED_FLAGS:
        return {}
    return {OPENBLAS: core, **numpy_settings}


def apply(settings: Mapping[str, str | None], environ: MutableMapping[str, str]) -> None:
    """Write ``settings`` into ``environ`` (None removes the variable)."""
    for name, value in settings.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value


def pin() -> bool:
    """Pin the kernels for this process and its children; False when it is too late (numpy
    or scipy already loaded), the user opted out, or this CPU cannot run the pinned kernels."""
    if "numpy" in sys.modules or "scipy" in sys.modules:
        return False
    machine = platform.machine()
    flags = cpu_flags() if machine.lower() in ("x86_64", "amd64") else None
    settings = pinned_settings(machine, os.environ, flags)
    apply(settings, os.environ)
    return bool(settings)


def in_effect() -> dict[str, str]:
    """The kernels the loaded libraries use: OpenBLAS's core type of numpy and of scipy, and
    numpy's highest dispatched SIMD level (imports numpy, scipy and threadpoolctl)."""
    import numpy as np
    import scipy.linalg  # noqa: F401 (loads scipy's OpenBLAS)
    from threadpoolctl import threadpool_info

    found: dict[str, str] = {}
    for pool in threadpool_info():
        if pool.get("internal_api") == "openblas":
            owner = "scipy" if "scipy.libs" in str(pool.get("filepath", "")) else "numpy"
            found[f"openblas ({owner})"] = str(pool.get("architecture"))
    dispatch = np._core._multiarray_umath.__cpu_dispatch__  # type: ignore[attr-defined]
    features = np._core._multiarray_umath.__cpu_features__  # type: ignore[attr-defined]
    enabled = [name for name in dispatch if features.get(name)]
    found["numpy simd"] = enabled[-1] if enabled else "baseline"
    return dict(sorted(found.items()))
