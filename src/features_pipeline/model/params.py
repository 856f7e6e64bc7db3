"""Typed ``train:`` and ``evaluate:`` sections of params.yaml."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from features_pipeline.contracts.params import ModelInputsParams, StrictModel
from features_pipeline.model.metric_registry import metric_names, one_of

# a metric name of the registry (model/metric_registry.py) that a gate may bound
MetricName = Annotated[str, AfterValidator(one_of(lambda: metric_names(lambda m: m.gate)))]
# a metric scored in cross-validation (contracts: CvSummary)
AutoMetric = Annotated[str, AfterValidator(one_of(lambda: metric_names(lambda m: m.cv)))]


class ModelParams(StrictModel):
    """``train.model``: the registry name and hyperparameters per model (only ``name``'s used)."""

    name: str = "hist_gradient_boosting"
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: {} if entry is None else entry for name, entry in value.items()}
        return value

    @property
    def selected_params(self) -> dict[str, Any]:
        return dict(self.params.get(self.name, {}))


class AutoParams(StrictModel):
    """``train.auto``: how ``model.name: auto`` chooses (see model/auto.py)."""

    metric: AutoMetric = "rmse"  # the mean CV score deciding, best by the metric's direction
    # estimated seconds (never measured: see model/auto.py) for the candidates' CV plus the
    # final fit of any candidate tried; the cheapest candidate is always tried
    budget_s: float = Field(default=120.0, gt=0)
    models: list[str] | None = None  # candidates; null: every registered model


class TrainParams(ModelInputsParams):
    """``train:``: the model inputs validate reads too, then what only training uses."""

    model_config = StrictModel.model_config

    model: ModelParams = ModelParams()
    auto: AutoParams = AutoParams()
    cv_folds: int = Field(default=5, ge=2, le=50)
    # CV runs on at most this many train rows (seeded sample; null = all): K extra fits on
    # millions of rows would cost K times the final fit, for little better an estimate
    cv_rows: int | None = Field(default=100_000, gt=0)
    # the model is fitted on at most this many train rows (seeded sample; null = all): for tables
    # too big to fit on one machine, e.g. a cluster's (the card records the sample and its source)
    max_rows: int | None = Field(default=None, gt=0)
    seed: int = Field(default=42, ge=0, lt=2**32)
    threads: int = Field(default=1, ge=0)  # OpenMP/BLAS threads of the model; 0 = all cores

    @field_validator("cv_rows", "max_rows")
    @classmethod
    def _enough_rows_for_the_folds(cls, rows: int | None, info: ValidationInfo) -> int | None:
        folds = info.data.get("cv_folds")
        if rows is not None and folds is not None and rows < folds:
            raise ValueError(f"must be at least cv_folds ({folds})")
        return rows


class Gate(StrictModel):
    """A threshold on one test metric: ``{min: 0.9}``, ``{max: 50000}`` or both."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> Gate:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs 'min' and/or 'max'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class ImportanceParams(StrictModel):
    """Permutation importance on a seeded sample of test rows."""

    rows: int = Field(default=2000, gt=0)
    repeats: int = Field(default=3, gt=0, le=50)


class EvaluateParams(StrictModel):
    gates: dict[MetricName, Gate] = Field(default_factory=dict)
    fail_on_gate: bool = True
    plot_points: int = Field(default=1000, gt=0, le=10_000)
    importance: ImportanceParams = ImportanceParams()
    seed: int = Field(default=42, ge=0, lt=2**32)
