"""Metrics with known answers, the zero-target guard, and metric gates."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from features_pipeline.model.gates import check_gates, failure_line, gates_record
from features_pipeline.model.metrics import regression_metrics, round_sig
from features_pipeline.model.params import EvaluateParams, Gate


def test_metrics_of_a_tiny_frame_with_a_known_answer() -> None:
    # errors 0, 0, 0, 1: MSE 1/4; target mean 2.5, total sum of squares 5
    metrics = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    assert metrics == {
        "rmse": 0.5,
        "mae": 0.25,
        "r2": 0.8,
        "mape": 0.0625,  # (1/4) / 4 rows
        "mape_rows": 4,
        "rows": 4,
    }


def test_mape_skips_zero_targets_instead_of_exploding() -> None:
    metrics = regression_metrics([0.0, 2.0, 4.0], [1.0, 2.0, 5.0])
    assert metrics["mape"] == 0.125  # (0/2 + 1/4) / 2 non-zero rows
    assert metrics["mape_rows"] == 2
    assert metrics["rows"] == 3
    assert regression_metrics([0.0, 0.0], [1.0, -1.0])["mape"] is None


def test_r2_of_a_constant_target_is_undefined_not_a_number() -> None:
    metrics = regression_metrics([3.0, 3.0, 3.0], [3.0, 2.0, 4.0])
    assert metrics["r2"] is None
    assert metrics["rmse"] == round_sig(math.sqrt(2 / 3))


def test_metrics_are_rounded_to_six_significant_digits() -> None:
    assert round_sig(1234.56789) == 1234.57
    assert round_sig(0.000123456789) == 0.000123457
    assert round_sig(float("nan")) is None
    assert round_sig(1.23456789, digits=None) == 1.23456789


def test_metrics_refuse_mismatched_or_empty_input() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        regression_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="no rows"):
        regression_metrics([], [])


METRICS = {"rmse": 40_000.0, "mae": 20_000.0, "r2": 0.93, "mape": None}


def test_gates_pass_and_fail_on_min_and_max() -> None:
    gates = {
        "r2": Gate(min=0.9),
        "rmse": Gate(max=50_000),
        "mae": Gate(min=0, max=10_000),
    }
    results = check_gates(METRICS, gates)
    assert [(r.metric, r.passed) for r in results] == [("r2", True), ("rmse", True), ("mae", False)]
    record = gates_record(results)
    assert record["gates_passed"] is False
    assert record["gates"]["r2"] == {"min": 0.9, "value": 0.93, "passed": True}
    assert record["gates"]["mae"] == {"min": 0, "max": 10_000, "value": 20_000.0, "passed": False}
    assert failure_line(results) == (
        "metric gate(s) failed on the test split: mae = 20000 > max 10000"
    )


def test_a_gate_on_an_undefined_metric_fails() -> None:
    results = check_gates(METRICS, {"mape": Gate(max=0.1)})
    assert not results[0].passed
    assert "mape is undefined" in (failure_line(results) or "")


def test_no_gates_means_passed() -> None:
    assert gates_record(check_gates(METRICS, {})) == {"gates_passed": True, "gates": {}}
    assert failure_line([]) is None


def test_gate_bounds_are_inclusive() -> None:
    results = check_gates({"r2": 0.9}, {"r2": Gate(min=0.9, max=0.9)})
    assert results[0].passed


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        ({"r2": {}}, "a gate needs 'min' and/or 'max'"),
        ({"r2": {"min": 1, "max": 0}}, "min 1.0 is greater than max 0.0"),
        ({"accuracy": {"min": 0.9}}, "Input should be 'rmse', 'mae', 'r2' or 'mape'"),
        ({"r2": {"minimum": 0.9}}, "Extra inputs are not permitted"),
    ],
)
def test_bad_gate_declarations_are_rejected(gates: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EvaluateParams.model_validate({"gates": gates})
