"""Scoring and metrics on Spark (``model/cluster.py``): the trained pipeline scores Arrow
batches on the executors with the predictions Polars gives, row for row; the metrics come from
exact per-batch sums (the same bits for any partitioning, within 1e-9 of regression_metrics);
classic Spark and Spark Connect alike; the seeded sample is the same rows on every engine.

Tree models score each row alone: their predictions are bit-identical. A linear model's
``X @ coef`` goes through OpenBLAS ``dgemv``, whose kernel takes rows four at a time and the last
``n % 4`` rows of each call by another path (no FMA): those rows can differ by an ulp with the
batch they are scored in, on Polars alike (``predict`` on a frame against its slices), so linear
predictions are compared within 1e-12 of the predictions' scale."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pytest
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import ORDER_ID, SALES, TOTAL_PROFIT
from spark_support import PANDAS_WARNING

from features_pipeline.contracts.split import SPLIT, TEST
from features_pipeline.engines.base import ROW
from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.engines.params import SparkParams
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.model.cluster import (
    batch_partials,
    combine_partials,
    distributed_metrics,
    exact_terms,
    score_spark,
    square_terms,
)
from features_pipeline.model.evaluate import ACTUAL, PREDICTED, predict
from features_pipeline.model.metric_registry import metric_names
from features_pipeline.model.metrics import regression_metrics
from features_pipeline.model.sampling import sample_hash, seeded_sample
from features_pipeline.model.train import train_model

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from sklearn.pipeline import Pipeline

    from features_pipeline.engines.spark import SparkExecutor

MODELS = ("linear", "hist_gradient_boosting")
ROW_BY_ROW = {"hist_gradient_boosting"}  # models whose prediction of a row is the row's alone
KEEP = (ORDER_ID, ROW)
BATCH = "spark.sql.execution.arrow.maxRecordsPerBatch"


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(2400, seed=7)


@pytest.fixture(scope="module")
def test_rows(table: pl.DataFrame) -> pl.DataFrame:
    """The test split, with ROW as a feature table read by an executor has it."""
    rows = table.filter(pl.col(SPLIT) == TEST)
    return rows.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))


@pytest.fixture(scope="module")
def models(table: pl.DataFrame) -> dict[str, Pipeline]:
    return {
        name: train_model(table, train_params(name), plan(), dataset=SALES).model for name in MODELS
    }


@contextmanager
def batches_of(spark: Any, rows: int) -> Iterator[None]:
    """Arrow batches of at most ``rows`` rows in this block (many batches from few rows)."""
    spark.conf.set(BATCH, str(rows))
    try:
        yield
    finally:
        spark.conf.unset(BATCH)


def relative_gap(left: float | int | None, right: float | int | None) -> float:
    assert left is not None
    assert right is not None
    return abs(left - right) / max(abs(right), 1e-300)


def assert_close_metrics(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got.keys() == expected.keys()
    assert got["rows"] == expected["rows"]
    assert got["mape_rows"] == expected["mape_rows"]
    for name in metric_names():
        if expected[name] is None:
            assert got[name] is None, name
        else:
            assert relative_gap(got[name], expected[name]) <= 1e-9, name


def assert_same_predictions(got: np.ndarray, expected: np.ndarray, name: str) -> None:
    """Bit-identical for tree models; within 1e-12 of the scale for linear ones (BLAS tails)."""
    if name in ROW_BY_ROW:
        assert np.array_equal(got, expected)
    else:
        assert np.abs(got - expected).max() <= 1e-12 * np.abs(expected).max()


def scored_polars(spark_frame: DataFrame) -> pl.DataFrame:
    from features_pipeline.engines.spark import arrow_to_polars

    return arrow_to_polars(spark_frame.toArrow()).sort(ROW)


# ---------------------------------------------------------------------------------------------
# Exact sums, without Spark


def test_exact_terms_sum_exactly() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(0, 1e6, 3000), rng.normal(0, 1e-6, 3000), [1e15, -1e15]])
    exact = sum(map(Fraction, values.tolist()), Fraction(0))
    assert sum(map(Fraction, exact_terms(values)), Fraction(0)) == exact
    squares = sum((Fraction(v) ** 2 for v in values.tolist()), Fraction(0))
    assert sum(map(Fraction, exact_terms(square_terms(values))), Fraction(0)) == squares
    assert exact_terms(np.array([0.5, -0.5])) == []
    assert math.isnan(exact_terms(np.array([1.0, math.inf, -math.inf]))[0])


def test_combined_partials_do_not_depend_on_batches_or_their_order() -> None:
    rng = np.random.default_rng(11)
    actual = rng.normal(500, 200, 4000)
    actual[::37] = 0.0  # zero targets: out of mape, in the rest
    predicted = actual + rng.normal(0, 40, actual.size)
    results = []
    for cuts in (1, 3, 64, 4000):
        partials = [
            row
            for index in np.array_split(rng.permutation(actual.size), cuts)
            for row in batch_partials(actual[index], predicted[index])
        ]
        rng.shuffle(partials)  # type: ignore[arg-type]
        results.append(combine_partials(partials, digits=None))
    assert all(result == results[0] for result in results)
    assert_close_metrics(results[0], regression_metrics(actual, predicted, digits=None))
    assert combine_partials(batch_partials(actual, predicted)) == regression_metrics(
        actual, predicted
    )


def test_combined_partials_treat_zero_and_constant_targets_as_regression_metrics() -> None:
    constant = combine_partials(batch_partials(np.full(5, 3.0), np.arange(5.0)), digits=None)
    assert constant["r2"] is None
    assert_close_metrics(constant, regression_metrics(np.full(5, 3.0), np.arange(5.0), None))
    zeros = combine_partials(batch_partials(np.zeros(4), np.ones(4)), digits=None)
    assert zeros["mape"] is None
    assert zeros["mape_rows"] == 0
    assert zeros["r2"] is None
    with pytest.raises(ValueError, match="no rows"):
        combine_partials([])


def test_seeded_sample_on_polars_takes_the_smallest_key_hashes() -> None:
    frame = pl.DataFrame({"id": np.arange(1000, 0, -1), "x": np.arange(1000) / 7})
    sample = seeded_sample(frame, 50, 9, ["id"])
    hashes = sample_hash(frame.get_column("id"), 9)
    expected = np.sort(np.argsort(hashes, kind="stable")[:50])
    assert sample.get_column(ROW).to_list() == expected.tolist()
    assert sample.columns == [ROW, "id", "x"]
    assert seeded_sample(frame, 5000, 9, ["id"]).height == 1000
    assert seeded_sample(frame, 0, 9, ["id"]).height == 0
    other_seed = seeded_sample(frame, 50, 10, ["id"])
    assert other_seed.get_column(ROW).to_list() != expected.tolist()


@pytest.mark.duckdb
def test_seeded_sample_on_a_narwhals_engine_takes_the_same_rows() -> None:
    frame = pl.DataFrame({"id": np.arange(1000, 0, -1), "x": np.arange(1000) / 7})
    sample = seeded_sample(frame, 50, 9, ["id"])
    with DuckDbExecutor() as duckdb:  # any narwhals engine: the same rows
        assert seeded_sample(duckdb.from_polars(frame), 50, 9, ["id"]).equals(sample)
        by_row = seeded_sample(PolarsExecutor().from_polars(frame), 50, 9, [])
        assert seeded_sample(duckdb.from_polars(frame), 50, 9, []).equals(by_row)


# ---------------------------------------------------------------------------------------------
# On Spark


@pytest.mark.spark
@pytest.mark.filterwarnings(PANDAS_WARNING)
@pytest.mark.parametrize("name", MODELS)
def test_score_spark_predicts_what_polars_predicts(
    spark_executor: SparkExecutor,
    test_rows: pl.DataFrame,
    models: dict[str, Pipeline],
    name: str,
) -> None:
    model = models[name]
    frame = spark_executor.table(test_rows).to_native().repartition(3)
    with batches_of(spark_executor.spark, 64):  # many batches per partition
        scored = scored_polars(score_spark(frame, model, DEFAULT_FEATURES, TOTAL_PROFIT, KEEP))
    assert scored.columns == [ORDER_ID, ROW, ACTUAL, PREDICTED]
    assert scored.get_column(ROW).to_list() == list(range(test_rows.height))
    assert scored.get_column(ORDER_ID).equals(test_rows.get_column(ORDER_ID))
    expected = predict(model, test_rows, DEFAULT_FEATURES)
    assert_same_predictions(scored.get_column(PREDICTED).to_numpy(), expected, name)
    actual = test_rows.get_column(TOTAL_PROFIT).cast(pl.Float64).to_numpy()
    assert np.array_equal(scored.get_column(ACTUAL).to_numpy(), actual)


@pytest.mark.spark
@pytest.mark.filterwarnings(PANDAS_WARNING)
def test_distributed_metrics_are_exact_and_the_same_for_any_partitioning(
    spark_executor: SparkExecutor, test_rows: pl.DataFrame, models: dict[str, Pipeline]
) -> None:
    model = models["hist_gradient_boosting"]
    expected_predictions = predict(model, test_rows, DEFAULT_FEATURES)
    actual = test_rows.get_column(TOTAL_PROFIT).cast(pl.Float64).to_numpy()
    # with zero targets (out of mape) in the scored rows
    scored = spark_executor.table(
        pl.DataFrame({ROW: test_rows.get_column(ROW), ACTUAL: actual}).with_columns(
            pl.when(pl.col(ROW) % 17 == 0).then(0.0).otherwise(pl.col(ACTUAL)).alias(ACTUAL),
            pl.Series(PREDICTED, expected_predictions),
        )
    ).to_native()
    zeroed = np.where(np.arange(actual.size) % 17 == 0, 0.0, actual)
    reference = regression_metrics(zeroed, expected_predictions, digits=None)
    assert reference["mape_rows"] < reference["rows"]

    one = distributed_metrics(scored.repartition(1), digits=None)
    four = distributed_metrics(scored.repartition(4), digits=None)
    with batches_of(spark_executor.spark, 50):
        small = distributed_metrics(scored.repartition(4), digits=None)
    assert one == four == small  # bit-identical: exact sums, rounded once
    assert_close_metrics(one, reference)
    assert distributed_metrics(scored) == regression_metrics(zeroed, expected_predictions)

    # and on the scores of score_spark itself
    frame = spark_executor.table(test_rows).to_native()
    runs = [
        distributed_metrics(
            score_spark(frame.repartition(n), model, DEFAULT_FEATURES, TOTAL_PROFIT, KEEP), None
        )
        for n in (1, 4)
    ]
    assert runs[0] == runs[1]
    assert_close_metrics(runs[0], regression_metrics(actual, expected_predictions, digits=None))


@pytest.mark.spark
@pytest.mark.filterwarnings(PANDAS_WARNING)
@pytest.mark.parametrize("key", [[ORDER_ID], [], ["Region", ORDER_ID]])
def test_seeded_sample_is_the_same_rows_on_polars_and_spark(
    spark_executor: SparkExecutor, test_rows: pl.DataFrame, key: list[str]
) -> None:
    table = test_rows.drop(ROW)
    on_polars = seeded_sample(PolarsExecutor().from_polars(table), 100, 5, key)
    on_spark = spark_executor.from_polars(table)
    shuffled = on_spark.to_native().repartition(4)
    for frame in (on_spark, shuffled):
        sample = seeded_sample(frame, 100, 5, key)
        assert sample.height == 100
        assert sample.equals(on_polars)
    by_rows = seeded_sample(table, 100, 5, key)  # a plain Polars frame: ROW is its position
    assert by_rows.equals(on_polars)


def test_linear_predict_differs_only_in_blas_tails_on_polars_too(
    test_rows: pl.DataFrame, models: dict[str, Pipeline]
) -> None:
    """Why linear predictions are compared within a tolerance: on one machine, ``predict`` on
    slices of a frame may differ from ``predict`` on the whole frame by rounding alone."""
    model = models["linear"]
    whole = predict(model, test_rows, DEFAULT_FEATURES)
    for size in (4, 7, 64, 307):
        sliced = np.concatenate(
            [
                predict(model, test_rows[start : start + size], DEFAULT_FEATURES)
                for start in range(0, test_rows.height, size)
            ]
        )
        assert_same_predictions(sliced, whole, "linear")
    tree = models["hist_gradient_boosting"]
    whole = predict(tree, test_rows, DEFAULT_FEATURES)
    singles = [predict(tree, test_rows[i : i + 1], DEFAULT_FEATURES) for i in range(50)]
    assert np.array_equal(np.concatenate(singles), whole[:50])


@pytest.mark.spark
@pytest.mark.filterwarnings(PANDAS_WARNING)
def test_scoring_metrics_and_sample_through_spark_connect(
    spark_connect_url: str, test_rows: pl.DataFrame, models: dict[str, Pipeline]
) -> None:
    from features_pipeline.engines.spark import SparkExecutor

    actual = test_rows.get_column(TOTAL_PROFIT).cast(pl.Float64).to_numpy()
    table = test_rows.drop(ROW)
    with SparkExecutor(params=SparkParams(remote=spark_connect_url)) as executor:
        frame = executor.from_polars(table).to_native().repartition(2)
        for name, model in models.items():
            expected = predict(model, test_rows, DEFAULT_FEATURES)
            # scored once (kept by the executors), then summed with two partitionings
            scored_frame = score_spark(
                frame, model, DEFAULT_FEATURES, TOTAL_PROFIT, KEEP
            ).localCheckpoint(eager=True)
            scored = scored_polars(scored_frame)
            metrics = [distributed_metrics(scored_frame.repartition(n), None) for n in (1, 4)]
            assert_same_predictions(scored.get_column(PREDICTED).to_numpy(), expected, name)
            assert np.array_equal(scored.get_column(ACTUAL).to_numpy(), actual)
            assert scored.get_column(ROW).to_list() == list(range(test_rows.height))
            assert metrics[0] == metrics[1]
            assert_close_metrics(metrics[0], regression_metrics(actual, expected, digits=None))
        sample = seeded_sample(frame, 60, 3, [ORDER_ID])
    assert sample.equals(seeded_sample(PolarsExecutor().from_polars(table), 60, 3, [ORDER_ID]))
