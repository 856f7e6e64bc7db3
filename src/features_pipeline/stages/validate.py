"""Stage validate: check the feature table before any model is trained on it."""

from __future__ import annotations

import argparse

from features_pipeline.contracts import paths
from features_pipeline.contracts.dataset import read_contract
from features_pipeline.contracts.params import ModelInputsParams, read_params
from features_pipeline.contracts.plan_file import model_inputs, read_plan_file
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError
from features_pipeline.io import write_csv_atomic, write_json_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.runner import StageFacts, main_for
from features_pipeline.validation.metrics import validation_metrics
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.quality import null_summary
from features_pipeline.validation.validator import (
    validate_feature_table,
    validation_error,
    warning_lines,
)

log = get_logger("stages.validate")


def run(args: argparse.Namespace) -> StageFacts:
    params = read_params(args.params)
    validate = params.section("validate", ValidateParams)
    plan = read_plan_file(paths.PLAN_FILE)
    dataset = read_contract(params)
    columns = list(paths.FEATURE_TABLE.parquet_schema())
    train = params.section("train", ModelInputsParams)
    inputs = model_inputs(train, plan, str(args.params), dataset.target, dataset.absent(columns))
    for name in inputs.features:  # a typo in params (a planned feature missing from the table is
        if name not in columns and name not in plan:  # the table's fault: its schema check says so)
            raise UserError(
                f"{args.params}: train.features: unknown column {name!r}"
                f"{did_you_mean(name, columns)} (not in {paths.FEATURE_TABLE})"
            )
    frame = paths.FEATURE_TABLE.read_parquet()
    with (
        timed(log, "validate", rows=frame.height, cols=frame.width) as fields,
        status("validating the feature table"),
    ):
        result = validate_feature_table(frame, plan, inputs, validate, dataset)
        fields.update(checks=result.checks_run, failed=result.checks_failed)
    # Written on failure too, for inspection; DVC records them only when the stage passes.
    # nulls: two totals as metrics, the per-column counts as a list (not a metric: see null_summary)
    metrics = {**validation_metrics(result), "nulls": null_summary(result.missing)}
    write_json_atomic(metrics, paths.VALIDATION_METRICS.path)
    write_csv_atomic(result.cases, paths.VALIDATION_FAILURES.path)
    for line in warning_lines(result.warnings):
        log.warning("%s", line)
    if not result.passed:
        raise validation_error(result, str(paths.FEATURE_TABLE), str(paths.VALIDATION_FAILURES))
    log.info(
        "%d checks passed, %d warning(s); wrote %s",
        result.checks_run - result.checks_warned,
        result.checks_warned,
        paths.VALIDATION_METRICS,
    )
    return {"rows": frame.height, "cols": frame.width, "checks": result.checks_run}


def main() -> None:
    main_for("validate", run, __doc__ or "")
