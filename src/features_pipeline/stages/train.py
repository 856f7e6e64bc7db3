"""Stage train: feature table -> cross-validated, fitted model (skops) + model card + CV metrics."""

from __future__ import annotations

import argparse
import hashlib
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from features_pipeline.contracts import paths
from features_pipeline.contracts.dataset import DatasetContract, read_contract
from features_pipeline.contracts.metrics_files import TrainMetrics
from features_pipeline.contracts.params import read_params
from features_pipeline.contracts.plan_file import PlanFile, read_plan_file
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.engines.params import EngineParams
from features_pipeline.errors import UserError
from features_pipeline.io import write_csv_atomic, write_json_atomic
from features_pipeline.logs import get_logger, timed
from features_pipeline.model.artifacts import save_model
from features_pipeline.model.card import build_card, data_sha256
from features_pipeline.model.leakage import leakage_columns
from features_pipeline.model.params import TrainParams
from features_pipeline.model.train import (
    TrainingSetup,
    TrainResult,
    prepare,
    timing,
    train_metrics,
    train_model,
    training_data,
    training_rows,
)
from features_pipeline.runner import StageFacts, main_for

log = get_logger("stages.train")


def read_train_rows(
    engine: EngineParams, columns: list[str], *, params: TrainParams, dataset: DatasetContract
) -> tuple[pl.DataFrame, int | None]:
    """The train rows of the feature table (on Spark: from cluster storage), all of them or the
    seeded ``train.max_rows`` sample (the same rows on every engine); (rows, sampled from)."""
    from features_pipeline.engines.base import ROW
    from features_pipeline.engines.budget import bounded
    from features_pipeline.engines.registry import capabilities, local_executor, open_executor
    from features_pipeline.model.sampling import train_rows

    schema = paths.FEATURE_TABLE.parquet_schema()
    key = [name for name in dataset.row_key if name in schema and name not in columns]
    if bounded(engine):
        return bounded_train_rows(engine, columns, params=params, dataset=dataset)
    if not capabilities(engine.name).warehouse_tables:  # the table is a local parquet file
        if params.max_rows is None:  # only the train rows in memory (filtered while reading)
            train = pl.col(SPLIT) == TRAIN if SPLIT in schema else None
            return paths.FEATURE_TABLE.read_parquet(columns, where=train), None
        frame = paths.FEATURE_TABLE.read_parquet([*columns, *key])
        local = local_executor()
        return train_rows(
            local.from_polars(frame), params.max_rows, params.seed, dataset.row_key, local.to_polars
        )
    with open_executor(engine) as executor:
        table = executor.scan_parquet(paths.FEATURE_TABLE.path).select(ROW, *columns, *key)
        return train_rows(table, params.max_rows, params.seed, dataset.row_key, executor.to_polars)


def bounded_train_rows(
    engine: EngineParams, columns: list[str], *, params: TrainParams, dataset: DatasetContract
) -> tuple[pl.DataFrame, int | None]:
    """The train rows read a batch at a time, at most ``train.max_rows`` and at most what a fit
    within ``engine.memory_limit`` takes (the same seeded sample as on every engine); a budget
    too small for any fit is one line naming what it would need."""
    from features_pipeline.engines.budget import budget_rows
    from features_pipeline.model.sampling import sample_file

    try:
        fitting = budget_rows(engine.budget_bytes, len(columns))
    except ValueError as exc:
        message = f"train: engine.memory_limit: {engine.memory_limit} is too small: {exc}"
        raise UserError(message) from None
    sizes = [size for size in (params.max_rows, fitting) if size is not None]
    cap = min(sizes) if sizes else None
    if fitting is not None and cap == fitting:
        log.info("train: at most %s rows fit in engine.memory_limit %s", cap, engine.memory_limit)
    frame, count = sample_file(
        paths.FEATURE_TABLE.path, cap, params.seed, dataset.row_key, split=TRAIN, columns=columns
    )
    return frame, (count if cap is not None and count > cap else None)


def run(args: argparse.Namespace) -> StageFacts:
    params_file = read_params(args.params)
    params = params_file.section("train", TrainParams)
    dataset = read_contract(params_file)
    plan = read_plan_file(paths.PLAN_FILE)
    source = str(args.params)
    schema = paths.FEATURE_TABLE.parquet_schema()
    setup = prepare(schema, params, plan, dataset, source)  # before any data is read
    columns = [*leakage_columns(setup.inputs.features, setup.inputs.target, plan), SPLIT]
    engine = params_file.section("engine", EngineParams)
    with timed(log, "read_train_rows", engine=engine.name) as fields:
        frame, sampled_from = read_train_rows(engine, columns, params=params, dataset=dataset)
        fields.update(rows=frame.height, sampled_from=sampled_from or frame.height)
    result, training_sha256 = fit(
        frame, params, plan, dataset=dataset, source=source, setup=setup, sampled_from=sampled_from
    )
    for warning in result.warnings:
        log.warning("%s", warning)
    metrics = train_metrics(result)
    log_metrics(metrics)
    write_outputs(
        result,
        metrics,
        schema=frame.schema,
        plan=plan,
        training_sha256=training_sha256,
        seed=params.seed,
    )
    # wall-clock fit times go to metrics/timing/train.json with the stage's time (not hashed)
    return {"rows": result.rows, "cols": len(setup.inputs.features), **timing(result)}


def fit(
    frame: pl.DataFrame,
    params: TrainParams,
    plan: PlanFile,
    *,
    dataset: DatasetContract,
    source: str,
    setup: TrainingSetup,
    sampled_from: int | None,
) -> tuple[TrainResult, str]:
    """The trained model and the sha256 of its training data: the card's digest is computed on
    another thread while the model is fitted (hashlib, Polars and LAPACK release the GIL)."""
    table = str(paths.FEATURE_TABLE)
    with (
        ThreadPoolExecutor(max_workers=1) as meanwhile,
        timed(log, "train", model=setup.model_name, folds=params.cv_folds) as fields,
    ):
        digest = meanwhile.submit(
            data_sha256, training_data(training_rows(frame, setup, plan, table), setup)
        )
        result = train_model(
            frame,
            params,
            plan,
            dataset=dataset,
            source=source,
            table=table,
            setup=setup,
            sampled_from=sampled_from,
        )
        fields.update(rows=result.rows, features=len(setup.inputs.features), **timing(result))
        return result, digest.result()


def log_metrics(metrics: TrainMetrics) -> None:
    """The CV scores (and with ``auto``, each candidate's and the choice) in the log."""
    if metrics.auto is not None:
        metric = metrics.auto.metric
        for name, entry in metrics.auto.candidates.items():
            outcome = (
                f"skipped ({entry.skipped})"
                if entry.cv is None
                else (f"cv {metric}_mean={entry.cv.get(f'{metric}_mean')}")
            )
            log.info("auto %s: %s, estimated %ss", name, outcome, entry.estimated_s)
        log.info("auto chose %s (best cv %s_mean)", metrics.auto.chosen, metric)
    log.info("cv %s", " ".join(f"{key}={value}" for key, value in metrics.cv.items()))


def write_outputs(
    result: TrainResult,
    metrics: TrainMetrics,
    *,
    schema: pl.Schema,
    plan: PlanFile,
    training_sha256: str,
    seed: int,
) -> None:
    """The model, its card, metrics/train.json and the CV folds, each written atomically."""
    data = save_model(result.model, paths.MODEL_FILE.path)
    card = build_card(
        result=result,
        schema=schema,
        plan=plan,
        training_sha256=training_sha256,
        seed=seed,
        cv=metrics.cv,
        model_sha256=hashlib.sha256(data).hexdigest(),
    )
    write_json_atomic(card.to_json(), paths.MODEL_CARD.path)
    write_json_atomic(metrics.to_json(), paths.TRAIN_METRICS.path)
    write_csv_atomic(result.cv.fold_table(), paths.CV_FOLDS.path)
    written = (paths.MODEL_FILE, paths.MODEL_CARD, paths.TRAIN_METRICS, paths.CV_FOLDS)
    log.info("wrote %s", ", ".join(map(str, written)))


def main() -> None:
    main_for("train", run, __doc__ or "")
