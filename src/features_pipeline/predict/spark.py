"""``features-pipeline predict --engine spark``: new rows at a storage URI scored on the cluster.

The rows never come to this machine: Spark reads the CSV parts (a file, folder or glob of a URI
Spark can read: ``s3a://``, ``hdfs://``, ``file://``, or a local path), checks them against the
raw contract, computes the model's features with the fitted state of the features stage, scores
them on the executors (the model shipped in a ``mapInArrow`` closure, as evaluate does) and
writes the predictions back to storage. What comes back to the driver is small: the header line
of each part, one row per file split, one row of check counts, and on failure a few examples.

Invalid rows (``--on-invalid``): a cell that does not parse or is out of range stops the run on
Spark whatever the choice (the Spark reader names its first line). Rows failing a check of the
raw contract (not-null, the contract's row rules) stop the run with ``fail`` (one line naming the
first failing check) and are left out with ``skip``: counted per check on the cluster and
reported in one warning, never written anywhere (``--rejected`` is refused on Spark). A row key
shared by several rows stops the run either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import polars as pl

from features_pipeline.contracts.card import read_card
from features_pipeline.contracts.dataset import DatasetContract, DatasetParams, load_contract
from features_pipeline.contracts.params import read_params
from features_pipeline.contracts.paths import CARD_NAME, DEFAULT_PARAMS, FEATURE_STATE, is_uri
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.engines.base import ROW
from features_pipeline.engines.params import EngineParams
from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import FIRST_DATA_LINE
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.model.artifacts import load_model_checked
from features_pipeline.predict.inputs import (
    UNSEEN,
    check_state_matches,
    known_categories,
    needed_raw_columns,
    prediction_column,
)
from features_pipeline.predict.new_rows import OnInvalid

if TYPE_CHECKING:
    import narwhals.stable.v2 as nw
    from pyspark.sql import DataFrame

    from features_pipeline.engines.spark import SparkExecutor

log = get_logger("predict.spark")
SHOWN_CHECKS = 3


@dataclass(frozen=True)
class SparkPredictResult:
    """What a Spark predict run wrote: where, in which format, and the row counts."""

    output: str  # the URI written
    format: str  # "csv" or "parquet"
    rows_read: int
    predicted: int
    skipped: dict[str, int]  # rows left out per failing check ("'Units Sold' fails ...")


def spark_location(location: str) -> str:
    """A location Spark reads or writes: a URI as it is, a local path made absolute (resolved
    against the current folder: the client's, which a Connect server must share to read it)."""
    if is_uri(location):
        return location
    return str((Path.cwd() / location).resolve())


def normalized(location: str) -> str:
    """``location`` comparable with another: ``scheme://host/path`` (``file:/x`` and
    ``file:///x`` alike, local paths as ``file:///absolute``), no trailing slash, unquoted."""
    if not is_uri(location):
        location = (Path.cwd() / location).resolve().as_uri()
    parts = urlsplit(location)
    return f"{parts.scheme.lower()}://{parts.netloc}{unquote(parts.path).rstrip('/')}"


def output_format(output: str) -> str:
    """``csv`` for an output ending in ``.csv`` (a Spark CSV folder with a header), else
    ``parquet``."""
    return "csv" if urlsplit(output).path.rstrip("/").lower().endswith(".csv") else "parquet"


def check_spark_output(output: str, input_location: str, sources: Sequence[str] = ()) -> None:
    """The output may not be the input, nor a folder holding it (Spark's overwrite mode deletes
    the output folder first): one line each."""
    target = normalized(output)
    if target == normalized(input_location) or target in map(normalized, sources):
        raise UserError(f"{output}: --output is the input; it would be overwritten")
    inside = [source for source in sources if normalized(source).startswith(target + "/")]
    if inside:
        raise UserError(
            f"{output}: --output holds the input {inside[0]}; writing it would delete the input"
        )


def for_columns(dataset: DatasetContract, required: Sequence[str]) -> DatasetContract:
    """``dataset`` with exactly ``required`` as its required columns (new rows need only the
    columns the model reads, and the row key; not the target)."""
    needed = set(required)
    columns = {
        name: spec.model_copy(update={"required": name in needed})
        for name, spec in dataset.columns.items()
    }
    return dataset.model_copy(update={"columns": columns})


def unseen_sql(model: Any, columns: Sequence[str]) -> str:
    """Spark SQL true where a categorical model input holds a (non-null) value unseen in
    training, compared as text as :func:`~features_pipeline.predict.inputs.unseen_flags` does."""
    from features_pipeline.engines.spark import sql_name, sql_string

    present = set(columns)
    terms = []
    for name, values in known_categories(model).items():
        if name not in present:
            continue
        seen = pl.Series(values, dtype=pl.String, strict=False).drop_nulls().unique().sort()
        column = sql_name(name)
        literals = ", ".join(sql_string(value) for value in seen.to_list())
        unseen = f"NOT (CAST({column} AS STRING) IN ({literals}))" if literals else "TRUE"
        terms.append(f"({column} IS NOT NULL AND {unseen})")
    return f"coalesce({' OR '.join(terms)}, FALSE)" if terms else "FALSE"


@dataclass(frozen=True)
class Screened:
    """New rows after the raw contract: the rows to predict and the counts."""

    rows: nw.LazyFrame[Any]
    rows_read: int
    valid: int
    skipped: dict[str, int]  # rows left out per failing check


def screen_rows(
    frame: nw.LazyFrame[Any],
    source: str,
    dataset: DatasetContract,
    on_invalid: OnInvalid,
    first_row: int,
    row_word: str,
) -> Screened:
    """The rows of ``frame`` (typed raw rows with ROW) that pass the raw contract, with the rows
    read and the rows left out per failing check, counted in one aggregate on the cluster.

    ``fail``: the first failing check is one UserError line (as ingest words it). ``skip``: rows
    failing a not-null or row-rule check are left out; a row key shared by several rows, or no
    row left, is an error either way."""
    import narwhals.stable.v2 as nw

    from features_pipeline.ingest.contract_on_engine import check_raw_contract_lazy, raw_checks

    checks = raw_checks(dataset, frame.collect_schema().names())
    failing = [check.failing.fill_null(False) for check in checks]
    bad = nw.any_horizontal(*failing, ignore_nulls=True) if failing else nw.lit(False)
    counts = frame.select(
        nw.len().alias("rows"),
        bad.cast(nw.Int64).sum().alias("bad"),
        *(flag.cast(nw.Int64).sum().alias(f"c{i}") for i, flag in enumerate(failing)),
    )
    total, bad_rows, *per_check = counts.collect().rows()[0]
    total, bad_rows = int(total), int(bad_rows or 0)
    if on_invalid == "fail" or not bad_rows:  # the first failing check as one line; unique keys
        check_raw_contract_lazy(frame, source, dataset, first_row, row_word)
        return Screened(frame, total, total, {})
    skipped = {
        f"{check.column!r} fails {check.name!r}": int(n)
        for check, n in zip(checks, per_check, strict=True)
        if n
    }
    if bad_rows == total:
        raise UserError(f"{source}: every row fails the raw contract ({describe(skipped)})")
    kept = frame.filter(~bad)
    check_raw_contract_lazy(kept, source, dataset, first_row, row_word)  # the unique keys
    log.warning(
        "%s: skipped %d row(s) failing the raw contract (%s)", source, bad_rows, describe(skipped)
    )
    return Screened(kept, total, total - bad_rows, skipped)


def describe(skipped: dict[str, int]) -> str:
    """``'Units Sold' fails 'Units Sold > 0': 2 row(s), ...`` (the first few checks)."""
    shown = [f"{check}: {rows} row(s)" for check, rows in list(skipped.items())[:SHOWN_CHECKS]]
    return ", ".join(shown) + (", ..." if len(skipped) > SHOWN_CHECKS else "")


def warn_unseen(frame: DataFrame, model: Any, columns: Sequence[str], source: str) -> None:
    """One warning with the rows holding a category unseen in training (counted on the
    cluster, per column)."""
    names = [name for name in known_categories(model) if name in set(columns)]
    if not names:
        return
    counts = frame.selectExpr(
        f"count_if({UNSEEN}) AS n",
        *(f"count_if({unseen_sql(model, [name])}) AS c{i}" for i, name in enumerate(names)),
    ).collect()[0]
    if not counts["n"]:
        return
    per_column = ", ".join(
        f"{name!r}: {counts[f'c{i}']}" for i, name in enumerate(names) if counts[f"c{i}"]
    )
    log.warning(
        "%s: %d row(s) hold a category unseen in training (%s); the model has no data for "
        "them, so their predictions are guesses (column %s = true)",
        source,
        counts["n"],
        per_column,
        UNSEEN,
    )


def write_predictions(frame: DataFrame, output: str) -> str:
    """Write ``frame`` to ``output`` with Spark (overwriting): a CSV folder with a header for
    an output ending in ``.csv``, else parquet. Returns the format."""
    fmt = output_format(output)
    writer = frame.write.mode("overwrite")
    location = spark_location(output)
    if fmt == "csv":
        writer.option("header", "true").csv(location)
    else:
        writer.parquet(location)
    return fmt


def predict_spark(
    model_path: Path,
    input_location: str,
    output: str,
    *,
    card_path: Path | None = None,
    state_path: Path = FEATURE_STATE.path,
    params_path: Path = DEFAULT_PARAMS,
    on_invalid: OnInvalid = "skip",
    executor: SparkExecutor | None = None,
) -> SparkPredictResult:
    """Predict every valid row of the CSV(s) at ``input_location`` (a storage URI: file, folder
    or glob; or a local path) into ``output`` (a URI or local path: a Spark CSV folder for a
    ``.csv`` name, else parquet), all on the Spark of ``engine.spark`` in ``params_path``.

    The columns are those of the Polars ``predict``: the row key, ``Predicted <target>`` and
    ``unseen_category``; rows are in no particular order (join on the row key). ``executor``
    (tests) runs on a given session instead of opening one from the params."""
    from features_pipeline.engines.spark import SparkExecutor

    check_spark_output(output, input_location)
    if model_path.is_dir():
        raise UserError(
            f"{model_path}: --model is a folder; give the model file (e.g. models/model.skops)"
        )
    params = read_params(params_path)
    engine = params.section("engine", EngineParams)
    contract_path = params.section("dataset", DatasetParams).contract
    dataset = load_contract(contract_path)
    card_path = card_path or model_path.with_name(CARD_NAME)
    card = read_card(card_path)
    model = load_model_checked(model_path, card, str(card_path))
    from features_pipeline.features.state import load_state

    state = load_state(state_path)
    check_state_matches(card, state, str(card_path))
    features, target = list(card.features), card.target
    subplan = state.plan.restricted_to(features)
    window = subplan.names_of(Kind.WINDOW)
    if window:
        raise UserError(
            f"{card_path}: the model uses window feature(s) {', '.join(map(repr, window))} "
            "that need earlier orders; predict --engine spark does not read a history table: "
            "use --engine polars with --history"
        )
    required = needed_raw_columns(state.plan, features, dataset)
    opened = executor is None
    executor = executor or SparkExecutor(params=engine.spark)
    try:
        result = _predict_on(
            executor,
            model=model,
            state=state,
            subplan=subplan,
            dataset=dataset,
            contract_path=contract_path,
            required=required,
            features=features,
            target=target,
            input_location=input_location,
            output=output,
            on_invalid=on_invalid,
        )
    finally:
        if opened:
            executor.close()
    log.info("wrote %s (%s, %d predictions of %s)", output, result.format, result.predicted, target)
    return result


def _predict_on(
    executor: SparkExecutor,
    *,
    model: Any,
    state: Any,
    subplan: Any,
    dataset: DatasetContract,
    contract_path: Path,
    required: list[str],
    features: list[str],
    target: str,
    input_location: str,
    output: str,
    on_invalid: OnInvalid,
) -> SparkPredictResult:
    import narwhals.stable.v2 as nw

    from features_pipeline.features.engine import run_planned
    from features_pipeline.ingest.spark_csv import (
        list_csv_parts,
        read_csv_spark,
        with_row_number_spark,
    )
    from features_pipeline.model.cluster import score_spark
    from features_pipeline.model.evaluate import PREDICTED

    spark = executor.spark
    with status(f"listing {input_location}"):
        sources = list_csv_parts(spark, spark_location(input_location))
    check_spark_output(output, input_location, sources)
    contract = for_columns(dataset, required)
    with timed(log, "read_new_rows", path=input_location, files=len(sources)) as fields:
        read = read_csv_spark(spark, sources, contract, str(contract_path))
        raw = executor.materialize(nw.from_native(with_row_number_spark(read, dataset)))
        one_file = len(sources) == 1
        screened = screen_rows(
            raw,
            input_location,
            contract,
            on_invalid,
            first_row=FIRST_DATA_LINE if one_file else 1,
            row_word="line" if one_file else "row",
        )
        fields.update(rows=screened.rows_read, valid=screened.valid)
    key = list(dataset.row_key)
    columns = list(dict.fromkeys([*required, *key, ROW]))
    with timed(log, "predict", rows=screened.valid, engine="spark"):
        substate = dataclasses.replace(state, plan=subplan)
        computed, _ = run_planned(screened.rows.select(columns), subplan, executor, substate)
        inputs = computed.to_native()
        flagged = inputs.selectExpr("*", f"{unseen_sql(model, features)} AS {UNSEEN}")
        warn_unseen(flagged, model, features, input_location)
        scored = score_spark(flagged, model, features, None, [*key, UNSEEN])
        predictions = scored.selectExpr(
            *(f"`{name}`" for name in key),
            f"{PREDICTED} AS `{prediction_column(target)}`",
            UNSEEN,
        )
        fmt = write_predictions(predictions, output)
    return SparkPredictResult(output, fmt, screened.rows_read, screened.valid, screened.skipped)
