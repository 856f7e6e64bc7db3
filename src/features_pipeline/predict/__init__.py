"""Predict for new orders: parse the CSV as ingest does, apply the saved feature state and model.

:mod:`.new_rows` reads and checks the new orders (and the history window features need),
:mod:`.inputs` computes the model's inputs and predicts, :mod:`.run` is the command.
"""

from features_pipeline.predict.inputs import (
    check_state_matches,
    model_inputs,
    needed_raw_columns,
    predict_in_batches,
    predict_rows,
    prediction_column,
)
from features_pipeline.predict.new_rows import NewRows, OnInvalid, read_history, read_new_rows
from features_pipeline.predict.run import PredictResult, predict_csv, run

__all__ = [
    "NewRows",
    "OnInvalid",
    "PredictResult",
    "check_state_matches",
    "model_inputs",
    "needed_raw_columns",
    "predict_csv",
    "predict_in_batches",
    "predict_rows",
    "prediction_column",
    "read_history",
    "read_new_rows",
    "run",
]
