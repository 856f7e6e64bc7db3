"""Metric gates: declared thresholds on test metrics that decide whether a model passes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from features_pipeline.model.params import Gate, MetricName


@dataclass(frozen=True)
class GateResult:
    metric: str
    min: float | None
    max: float | None
    value: float | None
    passed: bool

    def describe(self) -> str:
        """``r2 = 0.82 < min 0.9`` (or ``... within [min, max]`` when it passed)."""
        if self.value is None:
            return f"{self.metric} is undefined on the test rows"
        if self.min is not None and self.value < self.min:
            return f"{self.metric} = {self.value:g} < min {self.min:g}"
        if self.max is not None and self.value > self.max:
            return f"{self.metric} = {self.value:g} > max {self.max:g}"
        bounds = [f"min {self.min:g}"] if self.min is not None else []
        bounds += [f"max {self.max:g}"] if self.max is not None else []
        return f"{self.metric} = {self.value:g} within {', '.join(bounds)}"


def check_gates(metrics: Mapping[str, Any], gates: Mapping[MetricName, Gate]) -> list[GateResult]:
    """Each gate against its metric, in the order the gates are declared."""
    results = []
    for metric, gate in gates.items():
        value = metrics.get(metric)
        passed = value is not None
        if value is not None and gate.min is not None:
            passed = passed and value >= gate.min
        if value is not None and gate.max is not None:
            passed = passed and value <= gate.max
        results.append(GateResult(metric, gate.min, gate.max, value, passed))
    return results


def gates_record(results: list[GateResult]) -> dict[str, Any]:
    """``gates_passed`` plus each gate's bounds, value and outcome, for metrics.json."""
    return {
        "gates_passed": all(result.passed for result in results),
        "gates": {
            result.metric: {
                key: value
                for key, value in (
                    ("min", result.min),
                    ("max", result.max),
                    ("value", result.value),
                    ("passed", result.passed),
                )
                if value is not None or key == "value"
            }
            for result in results
        },
    }


def failure_line(results: list[GateResult]) -> str | None:
    """``metric gate(s) failed: r2 = 0.82 < min 0.9; ...`` or None when all passed."""
    failed = [result.describe() for result in results if not result.passed]
    if not failed:
        return None
    return f"metric gate(s) failed on the test split: {'; '.join(failed)}"
