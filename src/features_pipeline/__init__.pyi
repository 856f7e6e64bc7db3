"""Types of the package's top level: the library API of :mod:`features_pipeline.api`, which
``__init__.py`` imports on first use."""

from features_pipeline.api import DatasetContract as DatasetContract
from features_pipeline.api import Features as Features
from features_pipeline.api import FittedState as FittedState
from features_pipeline.api import Model as Model
from features_pipeline.api import apply_features as apply_features
from features_pipeline.api import build_features as build_features
from features_pipeline.api import load_model as load_model
from features_pipeline.api import load_state as load_state
from features_pipeline.api import plan_features as plan_features
from features_pipeline.api import read_contract as read_contract
from features_pipeline.api import read_table as read_table
from features_pipeline.api import save_state as save_state
from features_pipeline.api import train as train

__version__: str
__all__: list[str]
