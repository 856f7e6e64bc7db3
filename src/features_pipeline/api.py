"""The library API: the pipeline's feature engine and models, without DVC or the stage scripts.

Everything here is importable from the package top level (``import features_pipeline as fp``).
A table may be a Polars ``DataFrame`` or ``LazyFrame``, a pandas ``DataFrame`` or a path (a CSV
read and typed by the dataset contract, or a parquet file); a feature spec is a YAML file (with
a ``features`` list, as ``config/features.yaml``) or the list itself; a dataset contract is a
YAML file, a mapping with the same keys or a :class:`DatasetContract`.

Fitted features (group aggregates, frequency encodings, buckets) learn only from rows whose
``split`` column is ``"train"``; a table without a ``split`` column is all training rows.

>>> import polars as pl
>>> import features_pipeline as fp
>>> orders = pl.DataFrame({"region": ["N", "S", "N", "S"], "units": [1, 2, 3, 4]})
>>> contract = {"name": "orders", "target": "units",
...             "columns": {"region": {"type": "category"}, "units": {"type": "integer"}}}
>>> spec = [{"name": "units_by_region", "type": "group_agg", "column": "units",
...          "by": "region", "agg": "mean"}]
>>> fp.build_features(orders, spec, contract).table["units_by_region"].to_list()
[2.0, 3.0, 2.0, 3.0]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from features_pipeline.contracts.card import ModelCard, read_card
from features_pipeline.contracts.dataset import (
    ROW_NUMBER,
    DatasetContract,
    load_contract,
    parse_contract,
)
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.engines.registry import DEFAULT_ENGINE
from features_pipeline.features import state as _state
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import load_features, parse_features
from features_pipeline.features.state import FittedState
from features_pipeline.features.types import RowOrder

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "DatasetContract",
    "Features",
    "FittedState",
    "Model",
    "apply_features",
    "build_features",
    "load_model",
    "load_state",
    "plan_features",
    "read_contract",
    "read_table",
    "save_state",
    "train",
]

TableLike = Any  # pl.DataFrame | pl.LazyFrame | pandas.DataFrame | str | os.PathLike[str]
SpecLike = str | os.PathLike[str] | Sequence[Mapping[str, Any]]
ContractLike = str | os.PathLike[str] | Mapping[str, Any] | DatasetContract
MODEL_FILE, CARD_FILE, STATE_DIR = "model.skops", "model_card.json", "state"


def read_contract(contract: ContractLike) -> DatasetContract:
    """A dataset contract from a YAML file, a mapping of its keys, or as it is.

    >>> read_contract({"name": "t", "target": "y", "columns": {"y": {"type": "float"}}}).target
    'y'
    """
    if isinstance(contract, DatasetContract):
        return contract
    if isinstance(contract, Mapping):
        return parse_contract(contract, "dataset contract")
    return load_contract(Path(contract))


def read_table(data: TableLike, contract: ContractLike) -> pl.DataFrame:
    """``data`` as a Polars frame: a CSV path read and typed by the contract (as ingest reads
    it), a parquet path, a Polars ``LazyFrame`` (collected) or a pandas ``DataFrame``; with a
    ``row_number`` (1, 2, ...) as ingest adds it when the contract declares no one-column key.

    >>> import polars as pl
    >>> contract = {"name": "t", "target": "y", "columns": {"y": {"type": "float"}}}
    >>> read_table(pl.LazyFrame({"y": [1.5, 2.5]}), contract).rows()
    [(1.5, 1), (2.5, 2)]
    """
    from features_pipeline.ingest.table import with_row_number

    dataset = read_contract(contract)
    frame = _polars(data, dataset)
    return frame if ROW_NUMBER in frame.columns else with_row_number(frame, dataset)


def _polars(data: TableLike, dataset: DatasetContract) -> pl.DataFrame:
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        from features_pipeline.ingest.csv_reader import read_csv_table

        return read_csv_table(path, dataset)
    if type(data).__module__.split(".")[0] == "pandas":
        frame = pl.from_pandas(data)
        assert isinstance(frame, pl.DataFrame)
        return frame
    raise TypeError(
        f"a table is a Polars DataFrame or LazyFrame, a pandas DataFrame or a path, not "
        f"{type(data).__name__}"
    )


def plan_features(
    spec: SpecLike,
    contract: ContractLike,
    *,
    schema: Mapping[str, pl.DataType] | None = None,
    engine: str = DEFAULT_ENGINE,
) -> Plan:
    """Validate ``spec`` against the table (``schema``; default: the contract's columns and
    ``split``) and ``engine`` and order it into dependency levels; no data is read.

    >>> contract = {"name": "t", "target": "y", "columns": {"y": {"type": "float"}}}
    >>> plan = plan_features([{"name": "log_y", "type": "log", "column": "y"}], contract)
    >>> [(planned.name, planned.level) for planned in plan.features]
    [('log_y', 0)]
    """
    from features_pipeline.features.plan import input_schema_of

    dataset = read_contract(contract)
    if isinstance(spec, str | os.PathLike):
        source, features = str(spec), load_features(Path(spec))
    else:
        source, features = "feature spec", parse_features(list(spec), "feature spec")
    columns = dict(schema) if schema is not None else input_schema_of(dataset)
    order = RowOrder(dataset.order_by or "", dataset.tie_breaker)
    absent = dataset.absent(columns)
    return build_plan(features, columns, dataset.target, source, engine, order=order, absent=absent)


@dataclass(frozen=True)
class Features:
    """The table with every feature added (input row order) and the fitted state that computes
    the same features for new rows (:func:`apply_features`, :func:`save_state`)."""

    table: pl.DataFrame
    state: FittedState


def build_features(data: TableLike, spec: SpecLike, contract: ContractLike) -> Features:
    """Compute every feature of ``spec`` on ``data``, fitting on its training rows.

    >>> import polars as pl
    >>> contract = {"name": "t", "target": "y",
    ...             "columns": {"g": {"type": "category"}, "y": {"type": "float"}}}
    >>> spec = [{"name": "n_g", "type": "frequency", "column": "g"}]
    >>> table = pl.LazyFrame({"g": ["a", "a", "b"], "y": [1.0, 2.0, 3.0]})
    >>> built = build_features(table, spec, contract)
    >>> built.table["n_g"].to_list()  # each value's share of the training rows
    [0.666666666667, 0.666666666667, 0.333333333333]
    """
    from features_pipeline.features.engine import fit_transform

    frame = read_table(data, contract)
    has_split = SPLIT in frame.columns
    if not has_split:
        frame = frame.with_columns(pl.lit(TRAIN).alias(SPLIT))
    plan = plan_features(spec, contract, schema=frame.schema)
    table, state = fit_transform(frame, plan)
    return Features(table if has_split else table.drop(SPLIT), state)


def apply_features(data: TableLike, state: FittedState, contract: ContractLike) -> pl.DataFrame:
    """Add the features of ``state`` to new rows ``data`` (nothing is refit): the learned tables
    of training answer for the new rows, as at prediction time.

    >>> import polars as pl
    >>> contract = {"name": "t", "target": "y",
    ...             "columns": {"g": {"type": "category"}, "y": {"type": "float"}}}
    >>> spec = [{"name": "n_g", "type": "frequency", "column": "g"}]
    >>> built = build_features(pl.DataFrame({"g": ["a", "a", "b"], "y": [1.0, 2, 3]}), spec,
    ...                        contract)
    >>> apply_features(pl.DataFrame({"g": ["b", "c"]}), built.state, contract)["n_g"].to_list()
    [0.333333333333, None]
    """
    from features_pipeline.features.engine import transform

    return transform(read_table(data, contract), state)


def save_state(state: FittedState, folder: str | os.PathLike[str]) -> Path:
    """Write the fitted state (the plan and its learned tables, as parquet) to ``folder``.

    >>> import polars as pl, tempfile
    >>> contract = {"name": "t", "target": "y",
    ...             "columns": {"g": {"type": "category"}, "y": {"type": "float"}}}
    >>> spec = [{"name": "n_g", "type": "frequency", "column": "g"}]
    >>> built = build_features(pl.DataFrame({"g": ["a", "b"], "y": [1.0, 2.0]}), spec, contract)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     again = load_state(save_state(built.state, folder))
    >>> [planned.name for planned in again.plan.features]
    ['n_g']
    """
    path = Path(folder)
    _state.save_state(state, path)
    return path


def load_state(folder: str | os.PathLike[str]) -> FittedState:
    """The fitted state :func:`save_state` (or the features stage) wrote to ``folder`` (see
    :func:`save_state`); a folder without one is a one-line error.

    >>> load_state("no-such-folder")
    Traceback (most recent call last):
    ...
    features_pipeline.errors.UserError: no-such-folder: no fitted feature state (state.json missing)
    """
    return _state.load_state(Path(folder))


@dataclass(frozen=True)
class Model:
    """A fitted scikit-learn pipeline with its card (target, inputs, versions, hashes) and the
    feature state that computes its inputs from raw rows."""

    pipeline: Pipeline
    card: ModelCard
    state: FittedState

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(self.card.features)

    def predict(self, data: TableLike, contract: ContractLike) -> pl.DataFrame:
        """The key columns, the prediction and the ``unseen_category`` flag of each row of
        ``data`` (raw columns as the contract declares them; features computed from the state).
        """
        from features_pipeline.predict.inputs import model_inputs, predict_rows

        dataset = read_contract(contract)
        rows = read_table(data, dataset)
        inputs = model_inputs(self.card, self.state, rows, dataset)
        return predict_rows(self.pipeline, self.card.target, rows, inputs, dataset.row_key)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``model.skops`` (no code runs on load), ``model_card.json`` and ``state/``
        into ``folder``, each atomically; returns the folder (for :func:`load_model`)."""
        from features_pipeline.io import write_json_atomic
        from features_pipeline.model.artifacts import save_model

        target = Path(folder)
        data = save_model(self.pipeline, target / MODEL_FILE)
        card = self.card.model_copy(
            update={"artifact": self.card.artifact.model_copy(
                update={"sha256": hashlib.sha256(data).hexdigest()})}
        )  # fmt: skip
        write_json_atomic(card.to_json(), target / CARD_FILE)
        save_state(self.state, target / STATE_DIR)
        return target


def train(
    features: Features,
    contract: ContractLike,
    *,
    model: str = "ridge",
    inputs: Sequence[str] | None = None,
    seed: int = 42,
    cv_folds: int = 3,
) -> Model:
    """Cross-validate and fit the registered ``model`` on the training rows of
    ``features.table`` (``inputs``: default every feature not derived from the target).

    >>> import polars as pl
    >>> contract = {"name": "t", "target": "y",
    ...             "columns": {"x": {"type": "float"}, "y": {"type": "float"}}}
    >>> table = pl.DataFrame({"x": [float(i) for i in range(12)],
    ...                       "y": [2.0 * i + 1 for i in range(12)]})
    >>> built = build_features(table, [{"name": "log_x", "type": "log", "column": "x"}],
    ...                        contract)
    >>> model = train(built, contract, model="linear", inputs=["x", "log_x"])
    >>> model.predict(pl.DataFrame({"x": [20.0]}), contract)["Predicted y"].round(6).to_list()
    [41.0]
    """
    from features_pipeline.model.card import build_card, data_sha256
    from features_pipeline.model.params import TrainParams
    from features_pipeline.model.train import prepare, train_model, training_data, training_rows

    dataset = read_contract(contract)
    frame = features.table
    if SPLIT not in frame.columns:
        frame = frame.with_columns(pl.lit(TRAIN).alias(SPLIT))
    params = TrainParams.model_validate(
        {"model": {"name": model}, "features": inputs, "seed": seed, "cv_folds": cv_folds}
    )
    plan = features.state.plan.to_plan_file()
    setup = prepare(frame.schema, params, plan, dataset, "train()")
    result = train_model(frame, params, plan, dataset=dataset, source="train()", setup=setup)
    rows = training_data(training_rows(frame, setup, plan, "table"), setup)
    card = build_card(
        result=result,
        schema=frame.schema,
        plan=plan,
        training_sha256=data_sha256(rows),
        seed=seed,
        cv=result.cv.summary(),
        model_sha256="",  # set by Model.save
    )
    return Model(result.model, card, features.state)


def load_model(folder: str | os.PathLike[str]) -> Model:
    """The model :meth:`Model.save` wrote to ``folder`` (its file checked against the card's
    sha256 and loaded through an allow-list of types).

    >>> import polars as pl, tempfile
    >>> contract = {"name": "t", "target": "y",
    ...             "columns": {"x": {"type": "float"}, "y": {"type": "float"}}}
    >>> table = pl.DataFrame({"x": [float(i) for i in range(9)], "y": [3.0 * i for i in range(9)]})
    >>> model = train(build_features(table, [], contract), contract, model="linear", inputs=["x"])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     loaded = load_model(model.save(folder))
    >>> loaded.features, loaded.card.target
    (('x',), 'y')
    """
    from features_pipeline.model.artifacts import load_model_checked

    root = Path(folder)
    card = read_card(root / CARD_FILE)
    pipeline = load_model_checked(root / MODEL_FILE, card, str(root / CARD_FILE))
    return Model(pipeline, card, load_state(root / STATE_DIR))
