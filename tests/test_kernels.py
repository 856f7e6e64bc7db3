"""Which kernels the package pins before numpy and scipy load, on which machines."""

from __future__ import annotations

from pathlib import Path

import pytest

from features_pipeline.kernels import (
    NATIVE_SWITCH,
    NUMPY_DISABLE,
    NUMPY_ENABLE,
    OPENBLAS,
    apply,
    cpu_flags,
    pinned_settings,
)

AVX2_CPU = frozenset({"sse4_2", "avx", "avx2", "fma", "avx512f"})


def test_x86_64_gets_the_haswell_kernels_and_numpy_at_x86_v3_whatever_was_set() -> None:
    settings = pinned_settings("x86_64", {OPENBLAS: "SkylakeX", NUMPY_DISABLE: "X86_V3"}, AVX2_CPU)
    assert settings == {OPENBLAS: "Haswell", NUMPY_ENABLE: "X86_V3", NUMPY_DISABLE: None}


def test_arm64_gets_the_generic_armv8_kernels_and_numpy_at_its_baseline() -> None:
    assert pinned_settings("aarch64", {NUMPY_ENABLE: "SVE"}, None) == {
        OPENBLAS: "ARMV8",
        NUMPY_ENABLE: None,
        NUMPY_DISABLE: "ASIMDHP ASIMDDP ASIMDFHM SVE",
    }


@pytest.mark.parametrize(
    ("machine", "environ", "flags"),
    [
        ("x86_64", {NATIVE_SWITCH: "1"}, AVX2_CPU),  # the user opted out
        ("x86_64", {}, frozenset({"sse4_2", "avx"})),  # a CPU that cannot run Haswell kernels
        ("ppc64le", {}, None),  # no pinned kernels known for this machine
    ],
)
def test_no_pin_where_it_is_refused_or_cannot_run(
    machine: str, environ: dict[str, str], flags: frozenset[str] | None
) -> None:
    assert pinned_settings(machine, environ, flags) == {}


def test_apply_sets_and_removes_variables() -> None:
    environ = {NUMPY_DISABLE: "X86_V4", "OTHER": "kept"}
    apply({OPENBLAS: "Haswell", NUMPY_DISABLE: None}, environ)
    assert environ == {OPENBLAS: "Haswell", "OTHER": "kept"}


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n\nflags : ignored\n")
    assert cpu_flags(cpuinfo) == frozenset({"fpu", "sse", "avx2", "fma"})
    assert cpu_flags(tmp_path / "missing") is None
