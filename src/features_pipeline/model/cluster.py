"""Evaluation on a Spark cluster: scoring on the executors, exact metrics, a seeded row sample.

:func:`score_spark` ships the fitted pipeline to the executors in the closure of a
``mapInArrow`` function (pyspark cloudpickles it: it is the pipeline this process trained or
loaded through skops, never an untrusted pickle). Each Arrow batch becomes a Polars frame and
:func:`~features_pipeline.model.evaluate.predict` scores it, as on one machine; the executors'
Python must import ``features_pipeline`` (installed there, or on their ``PYTHONPATH``: a local
master and a local Connect server inherit this process's environment).

:func:`distributed_metrics` gives the metrics of
:func:`~features_pipeline.model.metrics.regression_metrics` from per-batch partial sums, and the
same bits however the rows are split into partitions and batches and whatever order the tasks
end in. Every per-row term (error², |error|, |error|/|actual|) is one IEEE operation on the row
alone; each batch sends the *exact* sum of its terms as a short list of floats (an expansion:
floats whose real sum is exactly the batch's sum, built by repeated correctly rounded
``math.fsum`` of the remainder), and the driver adds all the expansions with ``math.fsum``
(correctly rounded, so independent of the order of its inputs) or with exact fractions. Sums
are thus the exact real sums rounded once: no result depends on batch boundaries or on which
task finished first. ``r2`` needs the spread of the actual values; it comes exactly from
Σactual and Σactual² (each square split into exact float products, Veltkamp's split) as
``Σa² - (Σa)²/n`` in fractions, so there is no second pass over the data.

:func:`seeded_sample` takes the rows with the smallest
:func:`~features_pipeline.ingest.split.stable_unit_interval` hash of the row key (of ROW when
the key is not one integer column), ties by ROW: the same rows on every engine and for any
partitioning, chosen on Spark by a distributed top-k.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from features_pipeline.model.evaluate import ACTUAL, PREDICTED, predict, require_columns
from features_pipeline.model.metric_registry import DISTRIBUTED, Sums
from features_pipeline.model.metrics import SIGNIFICANT_DIGITS, Metrics, metrics_record

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from sklearn.pipeline import Pipeline

Batch = Any  # a pyarrow.RecordBatch (pyarrow ships no type information)

QUANTITY, TERM = "quantity", "term"  # columns of the partial sums distributed_metrics collects

# The sums distributed_metrics needs, by code: row counts and float sums alike travel as exact
# float terms (counts below 2**53 are exact floats).
ROWS, MAPE_ROWS, SUM_ACTUAL, SUM_ACTUAL_SQUARED, SQUARED, ABSOLUTE, RELATIVE = range(7)

_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's split of a float64 into two 26-bit halves
_SQUARE_MAX = 2.0**510  # beyond: the square overflows (or nearly); kept as numpy gives it
_SQUARE_MIN = 2.0**-480  # below: the low half's square is subnormal (not exact); rounded


def quoted(name: str) -> str:
    """``name`` as a Spark column reference (backticks: names with dots or spaces)."""
    return "`" + name.replace("`", "``") + "`"


# ---------------------------------------------------------------------------------------------
# Exact sums


def exact_terms(values: np.ndarray) -> list[float]:
    """Floats whose exact real sum is the exact real sum of ``values`` (largest first; none for
    a zero sum). Non-finite values give one term: their sum (inf, -inf or NaN)."""
    finite = np.isfinite(values)
    if not finite.all():
        return [float(sum(values[~finite].tolist()))]
    items = values.tolist()
    terms: list[float] = []
    try:
        while True:  # each term is the correctly rounded remainder: ~53 more bits per round
            rest = math.fsum([*items, *(-term for term in terms)])
            if rest == 0.0:
                return terms
            terms.append(rest)
    except OverflowError:  # the sum exceeds the float range: what numpy gives
        with np.errstate(over="ignore"):
            return [float(np.sum(values))]


def square_terms(values: np.ndarray) -> np.ndarray:
    """Floats whose exact sum is the exact sum of the squares of ``values`` (for magnitudes in
    [2**-480, 2**510] and zero; outside, the rounded square of that value, as numpy gives it).

    Veltkamp's split writes x = hi + lo with 26-bit halves, so hi², 2·hi·lo and lo² are exact."""
    magnitude = np.abs(values)
    safe = np.isfinite(values) & (magnitude <= _SQUARE_MAX)
    safe &= (magnitude >= _SQUARE_MIN) | (values == 0.0)
    x = values[safe]
    scaled = _SPLITTER * x
    hi = scaled - (scaled - x)
    lo = x - hi
    with np.errstate(over="ignore", invalid="ignore"):
        rest = np.square(values[~safe])
    return np.concatenate([hi * hi, 2.0 * hi * lo, lo * lo, rest])


def batch_partials(actual: np.ndarray, predicted: np.ndarray) -> list[tuple[int, float]]:
    """(quantity, term) rows of one batch: the exact sums :func:`combine_partials` needs."""
    truth = np.asarray(actual, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        error = pred - truth
        nonzero = truth != 0  # as regression_metrics: NaN targets count, zero targets do not
        sums = {
            ROWS: [float(truth.size)],
            MAPE_ROWS: [float(np.count_nonzero(nonzero))],
            SUM_ACTUAL: exact_terms(truth),
            SUM_ACTUAL_SQUARED: exact_terms(square_terms(truth)),
            SQUARED: exact_terms(error**2),
            ABSOLUTE: exact_terms(np.abs(error)),
            RELATIVE: exact_terms(np.abs(error[nonzero]) / np.abs(truth[nonzero])),
        }
    return [(quantity, term) for quantity, terms in sums.items() for term in terms]


def _total(terms: Sequence[float]) -> float:
    """The exact sum of ``terms``, rounded once (non-finite terms: their sum)."""
    special = [term for term in terms if not math.isfinite(term)]
    if special:
        return float(sum(special))
    try:
        return math.fsum(terms)
    except OverflowError:
        return math.copysign(math.inf, sum(math.copysign(1.0, term) for term in terms))


def _exact(terms: Sequence[float]) -> Fraction | None:
    """The exact sum of finite ``terms`` (None if any is not finite)."""
    if not all(math.isfinite(term) for term in terms):
        return None
    return sum(map(Fraction, terms), Fraction(0))


def combine_partials(
    partials: Iterable[tuple[int, float]], digits: int | None = SIGNIFICANT_DIGITS
) -> Metrics:
    """The metrics of :func:`~features_pipeline.model.metrics.regression_metrics` from the
    (quantity, term) rows of every batch, in any order: each sum is exact, rounded once."""
    terms: dict[int, list[float]] = {code: [] for code in range(7)}
    for quantity, term in partials:
        terms[int(quantity)].append(float(term))
    rows, mape_rows = int(_total(terms[ROWS])), int(_total(terms[MAPE_ROWS]))
    if rows == 0:
        raise ValueError("no rows to score")
    first, second = _exact(terms[SUM_ACTUAL]), _exact(terms[SUM_ACTUAL_SQUARED])
    spread = math.nan if first is None or second is None else float(second - first * first / rows)
    with np.errstate(all="ignore"):  # NaN and infinity propagate as in regression_metrics
        target_rms = math.sqrt(_total(terms[SUM_ACTUAL_SQUARED]) / rows)
    sums = Sums(
        squared=_total(terms[SQUARED]),
        absolute=_total(terms[ABSOLUTE]),
        relative=_total(terms[RELATIVE]),
        spread=spread,
        target_rms=target_rms,
        mape_rows=mape_rows,
        rows=rows,
    )  # no per-row errors: the registry's distributed formulas read only sums
    return metrics_record(sums, DISTRIBUTED, digits)


# ---------------------------------------------------------------------------------------------
# Spark


def arrow() -> Any:
    """pyarrow, imported when a Spark function runs (on the executors: pyspark has it)."""
    import pyarrow  # type: ignore[import-untyped]

    return pyarrow


def _batch_frame(batch: Batch) -> pl.DataFrame:
    frame = pl.from_arrow(batch)
    assert isinstance(frame, pl.DataFrame)
    return frame


def score_spark(
    frame: DataFrame,
    model: Pipeline,
    features: Sequence[str],
    target: str | None,
    keep: Sequence[str],
) -> DataFrame:
    """Every row of ``frame`` with its ``keep`` columns (say the row key and ROW), ``actual``
    (the target as float64) and ``predicted`` (float64), scored on the executors: each Arrow
    batch is a Polars frame for :func:`~features_pipeline.model.evaluate.predict`. With
    ``target`` None (new rows to predict, no known outcome) there is no ``actual`` column.

    Works on classic Spark and on Spark Connect (the function and the model travel pickled in
    the plan; the executors' Python must import ``features_pipeline``). Lazy: every action on the
    result scores again, so ``localCheckpoint`` it before using it twice. Tree models score each
    row alone (bit-identical to Polars); a linear model's BLAS ``X @ coef`` may round the last
    ``n % 4`` rows of a batch differently by an ulp, as ``predict`` on slices of a Polars frame
    does, so its scores can differ in the last bit with the batching."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    features, keep = list(features), list(keep)
    targets = [] if target is None else [target]
    require_columns(frame.columns, [*keep, *features, *targets], "score_spark", "to score")
    source = frame.schema
    actuals = [] if target is None else [StructField(ACTUAL, DoubleType(), True)]
    schema = StructType(
        [
            *(source[name] for name in keep),
            *actuals,
            StructField(PREDICTED, DoubleType(), True),
        ]
    )
    names = [*keep, *(field.name for field in actuals), PREDICTED]

    def score(batches: Iterator[Batch]) -> Iterator[Batch]:
        pa = arrow()
        for batch in batches:
            if batch.num_rows == 0:  # scikit-learn refuses empty inputs
                continue
            rows = _batch_frame(batch)
            actual = [rows.get_column(name).cast(pl.Float64).to_arrow() for name in targets]
            predicted = pa.array(predict(model, rows, features), type=pa.float64())
            kept = [batch.column(name) for name in keep]  # the Arrow types Spark sent
            yield pa.RecordBatch.from_arrays([*kept, *actual, predicted], names=names)

    inputs = list(dict.fromkeys([*keep, *features, *targets]))
    return frame.select(*map(quoted, inputs)).mapInArrow(score, schema)


def distributed_metrics(scored: DataFrame, digits: int | None = SIGNIFICANT_DIGITS) -> Metrics:
    """rmse, mae, r2, mape, mape_rows and rows of the ``actual`` and ``predicted`` columns of
    ``scored`` (as :func:`~features_pipeline.model.metrics.regression_metrics` defines them).

    Each Arrow batch sends the exact sums of its terms (a few floats per sum) to the driver,
    which adds them exactly and rounds once: the same bits for the same rows on every run,
    whatever the partitioning or task timing, and within rounding of ``regression_metrics``."""
    from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

    require_columns(scored.columns, [ACTUAL, PREDICTED], "distributed_metrics", "to score")
    schema = StructType(
        [StructField(QUANTITY, IntegerType(), False), StructField(TERM, DoubleType(), False)]
    )

    def partial_sums(batches: Iterator[Batch]) -> Iterator[Batch]:
        pa = arrow()
        for batch in batches:
            if batch.num_rows == 0:
                continue
            rows = _batch_frame(batch)
            actual = rows.get_column(ACTUAL).cast(pl.Float64).to_numpy()
            predicted = rows.get_column(PREDICTED).cast(pl.Float64).to_numpy()
            partials = batch_partials(actual, predicted)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([code for code, _ in partials], type=pa.int32()),
                    pa.array([term for _, term in partials], type=pa.float64()),
                ],
                names=[QUANTITY, TERM],
            )

    table = scored.select(quoted(ACTUAL), quoted(PREDICTED)).mapInArrow(partial_sums, schema)
    collected = table.toArrow()
    codes = collected.column(QUANTITY).to_pylist()
    values = collected.column(TERM).to_pylist()
    return combine_partials(zip(codes, values, strict=True), digits)
