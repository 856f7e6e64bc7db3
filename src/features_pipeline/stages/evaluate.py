"""Stage evaluate: model on the test split -> metrics + gates, plot data, offline report."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from features_pipeline.contracts import paths
from features_pipeline.contracts.card import ModelCard, read_card
from features_pipeline.contracts.dataset import read_contract
from features_pipeline.contracts.metrics_files import read_train_metrics
from features_pipeline.contracts.params import read_params
from features_pipeline.contracts.split import SPLIT, TEST, split_rows
from features_pipeline.engines.budget import bounded
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.registry import capabilities
from features_pipeline.errors import UserError
from features_pipeline.io import (
    atomic_dir,
    write_csv_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from features_pipeline.logs import get_logger, timed
from features_pipeline.model.artifacts import load_model_checked
from features_pipeline.model.evaluate import Evaluation, evaluate_model, require_columns
from features_pipeline.model.gates import failure_line
from features_pipeline.model.params import EvaluateParams, TrainParams
from features_pipeline.model.threads import model_threads
from features_pipeline.runner import StageFacts, main_for

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = get_logger("stages.evaluate")


def validation_metrics() -> dict[str, Any] | None:
    """metrics/validation.json for the report's data-quality summary (None when absent: the
    stage run on its own, outside the pipeline)."""
    metrics = paths.VALIDATION_METRICS
    return metrics.read_json() if metrics.path.exists() else None


def evaluate_on_cluster(
    engine: EngineParams,
    model: Pipeline,
    *,
    needed: list[str],
    features: list[str],
    target: str,
    params: EvaluateParams,
    key: Sequence[str],
) -> Evaluation:
    """Score every test row on the cluster (the model shipped to the executors), metrics as
    distributed aggregates, the predictions written to the warehouse (their manifest at
    data/predictions/); plot points and permutation importance on seeded samples."""
    import narwhals.stable.v2 as nw

    from features_pipeline.engines.base import ROW
    from features_pipeline.engines.registry import open_executor
    from features_pipeline.model.cluster import distributed_metrics, score_spark
    from features_pipeline.model.evaluate import ACTUAL, PREDICTED, points_table
    from features_pipeline.model.gates import check_gates
    from features_pipeline.model.importance import permutation_importance
    from features_pipeline.model.sampling import seeded_sample

    with open_executor(engine) as executor:
        table = executor.scan_parquet(paths.FEATURE_TABLE.path).select(ROW, *needed)
        test = executor.materialize(table.filter(nw.col(SPLIT) == TEST))
        if not test.select(nw.len()).collect().item():
            raise UserError(f"{paths.FEATURE_TABLE}: no {TEST!r} rows")
        ids = [name for name in key if name in needed]
        scored = score_spark(test.to_native(), model, features, target, [ROW, *ids])
        executor.write_parquet(nw.from_native(scored), paths.TEST_PREDICTIONS.path)
        predictions = executor.scan_parquet(paths.TEST_PREDICTIONS.path)  # scored once, stored
        metrics = distributed_metrics(predictions.to_native())
        points = seeded_sample(predictions, params.plot_points, params.seed, list(key))
        sample = seeded_sample(test, params.importance.rows, params.seed, list(key))
    importance = permutation_importance(
        model,
        sample.select(features),
        sample.get_column(target).cast(pl.Float64).to_numpy(),
        repeats=params.importance.repeats,
        seed=params.seed,
    )
    return Evaluation(
        metrics=metrics,
        gates=check_gates(metrics, params.gates),
        predictions=pl.DataFrame(),  # in cluster storage
        points=points_table(
            points.get_column(ACTUAL).to_numpy(), points.get_column(PREDICTED).to_numpy()
        ),
        importance=importance,
    )


def evaluate_in_batches(
    model: Pipeline,
    *,
    needed: list[str],
    features: list[str],
    target: str,
    params: EvaluateParams,
    key: Sequence[str],
) -> Evaluation:
    """Score the test rows a batch at a time (bounded in memory: an out-of-core engine or a
    memory budget), appending the predictions to their file; metrics from exact per-batch
    sums, plot points and permutation importance on seeded samples (as on a cluster)."""
    from features_pipeline.model.cluster import combine_partials
    from features_pipeline.model.evaluate import ACTUAL, PREDICTED, points_table
    from features_pipeline.model.gates import check_gates
    from features_pipeline.model.importance import permutation_importance
    from features_pipeline.model.sampling import sample_file

    source, output = paths.FEATURE_TABLE.path, paths.TEST_PREDICTIONS.path
    ids = [name for name in key if name in needed]
    partials = score_batches(
        model, source, output, needed=needed, features=features, target=target, ids=ids
    )
    if not partials:
        raise UserError(f"{paths.FEATURE_TABLE}: no {TEST!r} rows")
    metrics = combine_partials(partials)
    points, _ = sample_file(
        output, params.plot_points, params.seed, ids, split=None, columns=[ACTUAL, PREDICTED]
    )
    sample, _ = sample_file(
        source, params.importance.rows, params.seed, key, split=TEST, columns=needed
    )
    importance = permutation_importance(
        model,
        sample.select(features),
        sample.get_column(target).cast(pl.Float64).to_numpy(),
        repeats=params.importance.repeats,
        seed=params.seed,
    )
    return Evaluation(
        metrics=metrics,
        gates=check_gates(metrics, params.gates),
        predictions=pl.DataFrame(),  # written a batch at a time
        points=points_table(
            points.get_column(ACTUAL).to_numpy(), points.get_column(PREDICTED).to_numpy()
        ),
        importance=importance,
    )


def score_batches(
    model: Pipeline,
    source: Path,
    output: Path,
    *,
    needed: list[str],
    features: list[str],
    target: str,
    ids: list[str],
) -> list[tuple[int, float]]:
    """Predict the test rows of ``source`` a batch at a time into ``output`` (the row key,
    actual, predicted), atomically; returns the
    exact partial sums of the metrics (none: no test rows)."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    from features_pipeline.model.cluster import batch_partials
    from features_pipeline.model.evaluate import ACTUAL, PREDICTED, predict
    from features_pipeline.model.sampling import file_batches

    partials: list[tuple[int, float]] = []
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    writer = None
    try:
        for batch in file_batches(source, needed):
            test = batch.filter(pl.col(SPLIT) == TEST)
            if test.height == 0:
                continue
            actual = test.get_column(target).cast(pl.Float64).to_numpy()
            predicted = predict(model, test, features)
            partials.extend(batch_partials(actual, predicted))
            scored = test.select(*ids, pl.Series(ACTUAL, actual), pl.Series(PREDICTED, predicted))
            arrow = scored.to_arrow()
            writer = writer or pq.ParquetWriter(temporary, arrow.schema, compression="zstd")
            writer.write_table(arrow)
        if writer is not None:
            writer.close()
            os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)
    return partials


def run(args: argparse.Namespace) -> StageFacts:
    params = read_params(args.params)
    evaluate = params.section("evaluate", EvaluateParams)
    train = params.section("train", TrainParams)
    card = read_card(paths.MODEL_CARD.path)
    model = load_model_checked(paths.MODEL_FILE.path, card, str(paths.MODEL_CARD))
    key = read_contract(params).row_key
    features, target = list(card.features), card.target
    needed = [*dict.fromkeys([*features, target, *key, SPLIT])]
    schema = paths.FEATURE_TABLE.parquet_schema()
    require_columns(
        schema, needed, str(paths.FEATURE_TABLE), f"model inputs named in {paths.MODEL_CARD}"
    )
    engine = params.section("engine", EngineParams)
    with (
        timed(log, "evaluate", features=len(features), engine=engine.name) as fields,
        model_threads(train.threads),
    ):
        evaluation = score_test_rows(
            engine, model, needed=needed, features=features, target=target, params=evaluate, key=key
        )
        rows = int(evaluation.metrics["rows"] or 0)
        fields.update(rows=rows)
    log.info("test %s", " ".join(f"{k}={v}" for k, v in evaluation.metrics.items()))
    write_outputs(evaluation, card, train=train, evaluate=evaluate)
    failed = failure_line(evaluation.gates)
    if failed and evaluate.fail_on_gate:
        raise UserError(f"{failed} (evaluate.fail_on_gate is true)")
    return {"rows": rows, "cols": len(features)}


def score_test_rows(
    engine: EngineParams,
    model: Pipeline,
    *,
    needed: list[str],
    features: list[str],
    target: str,
    params: EvaluateParams,
    key: Sequence[str],
) -> Evaluation:
    """The test rows scored where the engine keeps the table: on its cluster for an engine with
    warehouse tables, else in memory (only the test rows read, filtered while reading; the split
    column is there: require_columns; split_rows still refuses a table without any)."""
    if capabilities(engine.name).warehouse_tables:
        return evaluate_on_cluster(
            engine, model, needed=needed, features=features, target=target, params=params, key=key
        )
    if bounded(engine):
        return evaluate_in_batches(
            model, needed=needed, features=features, target=target, params=params, key=key
        )
    test_rows = paths.FEATURE_TABLE.read_parquet(needed, where=pl.col(SPLIT) == TEST)
    test = split_rows(test_rows, TEST, str(paths.FEATURE_TABLE))
    evaluation = evaluate_model(model, test, features, target, params, key)
    write_parquet_atomic(evaluation.predictions, paths.TEST_PREDICTIONS.path)
    return evaluation


def write_outputs(
    evaluation: Evaluation, card: ModelCard, *, train: TrainParams, evaluate: EvaluateParams
) -> None:
    """Gate lines in the log; plot data, the HTML and Markdown report and metrics.json."""
    # the report draws its plots with matplotlib: imported when the stage runs, not on import
    from features_pipeline.report.build import report_data
    from features_pipeline.report.content import gate_log
    from features_pipeline.report.html import render_html
    from features_pipeline.report.markdown import figure_files, render_markdown

    for gate in evaluation.gates:
        log.log(*gate_log(gate))
    write_csv_atomic(evaluation.points, paths.PREDICTION_POINTS.path)
    write_csv_atomic(evaluation.importance, paths.IMPORTANCE.path)
    with timed(log, "report"):
        report = report_data(
            evaluation,
            cv_summary=read_train_metrics(paths.TRAIN_METRICS).cv,
            cv_folds=pl.read_csv(paths.CV_FOLDS.require()),
            card=card,
            params={
                "train": train.model_dump(mode="json"),
                "evaluate": evaluate.model_dump(mode="json"),
            },
            quality=validation_metrics(),
        )
        write_text_atomic(render_html(report), paths.REPORT_HTML.path)
        with atomic_dir(paths.REPORT_FIGURES.path) as folder:
            for name, svg in figure_files(report).items():
                (folder / name).write_text(svg, encoding="utf-8")
        write_text_atomic(render_markdown(report), paths.REPORT_MD.path)
    write_json_atomic(evaluation.metrics_record(), paths.TEST_METRICS.path)
    written = (paths.TEST_METRICS, paths.REPORT_HTML, paths.REPORT_MD)
    log.info("wrote %s (+ %s/)", ", ".join(map(str, written)), paths.REPORT_FIGURES)


def main() -> None:
    main_for("evaluate", run, __doc__ or "")
