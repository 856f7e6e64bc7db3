"""Stage validate: check the feature table before any model is trained on it (on the engine of
``engine.name``: Polars validates in memory, DuckDB and Spark where the table lives)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from features_pipeline.contracts import paths
from features_pipeline.contracts.dataset import DatasetContract, read_contract
from features_pipeline.contracts.params import ModelInputsParams, read_params
from features_pipeline.contracts.plan_file import (
    ModelInputs,
    PlanFile,
    model_inputs,
    read_plan_file,
)
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.engines.budget import require_in_budget
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.registry import capabilities, open_executor
from features_pipeline.errors import UserError
from features_pipeline.io import write_csv_atomic, write_json_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.runner import StageFacts, main_for
from features_pipeline.validation.metrics import validation_metrics
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.quality import null_summary
from features_pipeline.validation.validator import (
    ValidationResult,
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
    check_feature_names(inputs.features, columns, plan, source=str(args.params))
    engine = params.section("engine", EngineParams)
    if capabilities(engine.name).in_memory:
        require_in_budget("validate", engine, paths.FEATURE_TABLE.path)
        frame = paths.FEATURE_TABLE.read_parquet()
        rows, cols = frame.height, frame.width
        with (
            timed(log, "validate", rows=rows, cols=cols) as fields,
            status("validating the feature table"),
        ):
            result = validate_feature_table(frame, plan, inputs, validate, dataset)
            fields.update(checks=result.checks_run, failed=result.checks_failed)
    else:
        result = validate_on_engine(engine, plan, inputs=inputs, params=validate, dataset=dataset)
        rows, cols = result.rows["total"], len(columns)
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
    return {"rows": rows, "cols": cols, "checks": result.checks_run}


def check_feature_names(
    features: Sequence[str], columns: Sequence[str], plan: PlanFile, *, source: str
) -> None:
    """A typo in ``train.features`` is the params' fault (a planned feature missing from the
    table is the table's: its schema check says so)."""
    for name in features:
        if name not in columns and name not in plan:
            raise UserError(
                f"{source}: train.features: unknown column {name!r}"
                f"{did_you_mean(name, columns)} (not in {paths.FEATURE_TABLE})"
            )


def validate_on_engine(
    engine: EngineParams,
    plan: PlanFile,
    *,
    inputs: ModelInputs,
    params: ValidateParams,
    dataset: DatasetContract,
) -> ValidationResult:
    """The feature table validated where ``engine`` reads it: aggregates and a bounded sample of
    failure cases come back, never the table (``metrics/validation.json`` counts them all)."""
    from features_pipeline.validation.on_engine import validate_lazy

    fields: dict[str, Any]
    with (
        timed(log, "validate", engine=engine.name) as fields,
        status(f"validating the feature table on {engine.name}"),
        open_executor(engine) as executor,
    ):
        table = executor.scan_parquet(paths.FEATURE_TABLE.require())
        result = validate_lazy(table, plan, inputs, params, dataset)
        fields.update(
            rows=result.rows["total"], checks=result.checks_run, failed=result.checks_failed
        )
    return result


def main() -> None:
    main_for("validate", run, __doc__ or "")
