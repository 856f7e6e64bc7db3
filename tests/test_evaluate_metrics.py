"""Metrics with known answers, the zero-target guard, and metric gates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from features_pipeline.model.cluster import batch_partials, combine_partials
from features_pipeline.model.evaluate import points_table
from features_pipeline.model.gates import check_gates, failure_line, gates_record
from features_pipeline.model.metrics import noise_floor, regression_metrics, round_sig
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


def exact_fit_with_rounding_noise(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets of Sales Records' size and predictions off by a few ulps, as an exact fit gives
    (which ulps depends on the kernels and the engine: ``seed`` stands for one of them)."""
    rng = np.random.default_rng(0)
    truth = np.round(rng.uniform(-50_000, 1_700_000, 2_000), 2)
    ulps = np.random.default_rng(seed).integers(-4, 5, truth.size)
    return truth, truth + ulps * np.spacing(truth)


def test_rounding_noise_of_an_exact_fit_reports_zero_error_on_every_machine() -> None:
    """Two machines (or engines) whose predictions differ only in the last bits: the same
    metrics, no error and a perfect r2, instead of two different tiny numbers."""
    first, second = (regression_metrics(*exact_fit_with_rounding_noise(seed)) for seed in (1, 2))
    assert first == second
    assert (first["rmse"], first["mae"], first["mape"], first["r2"]) == (0.0, 0.0, 0.0, 1.0)


def test_the_cluster_metrics_apply_the_same_noise_floor() -> None:
    truth, predicted = exact_fit_with_rounding_noise(3)
    halves = [
        batch_partials(truth[:700], predicted[:700]),
        batch_partials(truth[700:], predicted[700:]),
    ]
    combined = combine_partials([row for half in halves for row in half])
    assert combined == regression_metrics(truth, predicted)
    assert combined["rmse"] == 0.0


def test_an_error_just_above_the_noise_floor_is_reported() -> None:
    truth = np.array([3.0, 4.0])  # root mean square sqrt(12.5)
    floor = noise_floor(math.sqrt(12.5))
    above = regression_metrics(truth, truth + 2 * floor, digits=None)
    below = regression_metrics(truth, truth + floor / 2, digits=None)
    assert above["rmse"] == pytest.approx(2 * floor)
    assert above["mae"] == pytest.approx(2 * floor)
    assert (below["rmse"], below["mae"], below["r2"]) == (0.0, 0.0, 1.0)


def test_plot_residuals_below_the_noise_floor_are_zero() -> None:
    truth, predicted = exact_fit_with_rounding_noise(4)
    predicted[0] = truth[0] + 100.0  # one real error stays
    residuals = points_table(truth, predicted).get_column("residual")
    assert residuals[0] == pytest.approx(-100.0)
    assert (residuals[1:] == 0.0).all()
