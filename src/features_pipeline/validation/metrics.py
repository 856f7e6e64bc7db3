"""The data-quality metrics of a validation run (``metrics/validation.json``)."""

from __future__ import annotations

from typing import Any

from features_pipeline.validation.validator import ValidationResult


def validation_metrics(result: ValidationResult) -> dict[str, Any]:
    """Rows per split, checks run/passed/failed/warned, failure cases, null/NaN per feature."""
    return {
        "rows": dict(result.rows),
        "checks": {
            "run": result.checks_run,
            "passed": result.checks_run - result.checks_failed - result.checks_warned,
            "failed": result.checks_failed,
            "warned": result.checks_warned,
        },
        "failure_cases": result.failure_cases,
        "nulls": dict(result.missing),
    }
