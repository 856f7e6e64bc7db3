"""Stage validate: check the feature table before any model is trained on it."""

from __future__ import annotations

import argparse
from pathlib import Path

from features_pipeline.features.plan_file import read_plan_summary
from features_pipeline.io import read_parquet_input, write_atomic, write_json_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.params import load_yaml, parse_section
from features_pipeline.paths import FEATURE_TABLE as FEATURES
from features_pipeline.paths import PLAN_FILE as PLAN
from features_pipeline.runner import StageFacts, main_for
from features_pipeline.validation.metrics import validation_metrics
from features_pipeline.validation.params import ValidateParams, read_model_inputs
from features_pipeline.validation.validator import validate_feature_table, validation_error

METRICS = Path("metrics/validation.json")
FAILURES = Path("reports/validation_failures.csv")
log = get_logger("stages.validate")


def run(args: argparse.Namespace) -> StageFacts:
    raw = load_yaml(args.params)
    params = parse_section(raw, "validate", ValidateParams, args.params)
    plan = read_plan_summary(PLAN)
    inputs = read_model_inputs(raw, plan, args.params)
    frame = read_parquet_input(FEATURES, "features")
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
