"""Stage validate: check the feature table before any model is trained on it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from features_pipeline.errors import UserError
from features_pipeline.io import write_atomic, write_json_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.params import load_yaml, parse_section
from features_pipeline.runner import StageFacts, main_for
from features_pipeline.validation.metrics import validation_metrics
from features_pipeline.validation.params import ValidateParams, read_model_inputs
from features_pipeline.validation.plan import FeaturePlan, parse_plan
from features_pipeline.validation.validator import validate_feature_table, validation_error

FEATURES = Path("data/features/features.parquet")
PLAN = Path("data/features/plan.json")
METRICS = Path("metrics/validation.json")
FAILURES = Path("reports/validation_failures.csv")
log = get_logger("stages.validate")


def read_plan(path: Path) -> FeaturePlan:
    """The features stage's plan.json; missing or malformed is a UserError."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found; run `dvc repro features` first") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    return parse_plan(payload, str(path))


def read_features(path: Path) -> pl.DataFrame:
    """The feature table; a missing file is a UserError."""
    if not path.exists():
        raise UserError(f"{path}: file not found; run `dvc repro features` first")
    return pl.read_parquet(path)


def run(args: argparse.Namespace) -> StageFacts:
    raw = load_yaml(args.params)
    params = parse_section(raw, "validate", ValidateParams, args.params)
    plan = read_plan(PLAN)
    inputs = read_model_inputs(raw, plan, args.params)
    frame = read_features(FEATURES)
    with (
        timed(log, "validate", rows=frame.height, cols=frame.width) as fields,
        status("validating the feature table"),
    ):
        result = validate_feature_table(frame, plan, inputs, params)
        fields.update(checks=result.checks_run, failed=result.checks_failed)
    # Written on failure too, for inspection; DVC records them only when the stage passes.
    write_json_atomic(validation_metrics(result), METRICS)
    write_atomic(FAILURES, lambda tmp: result.cases.write_csv(tmp))
    for column, check, value, row in result.warnings.iter_rows():
        where = f" (row {row})" if row is not None else ""
        log.warning("column %r: %s: %r%s", column, check, value, where)
    if not result.passed:
        raise validation_error(result, str(FEATURES), str(FAILURES))
    log.info(
        "%d checks passed, %d warning(s); wrote %s",
        result.checks_run - result.checks_warned,
        result.checks_warned,
        METRICS,
    )
    return {"rows": frame.height, "cols": frame.width, "checks": result.checks_run}


if __name__ == "__main__":
    main_for("validate", run, __doc__ or "")
