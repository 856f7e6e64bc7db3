"""features-pipeline: a reproducible DVC pipeline from a tabular CSV (described by a dataset
contract) to a trained, evaluated model; Sales Records / Total Profit by default.

Importing the package pins the numeric kernels of numpy and scipy (see
:mod:`features_pipeline.kernels`) when they are not loaded yet: the same bits on every CPU.

The library API (:mod:`features_pipeline.api`) is available at the top level and loads on first
use, so ``import features_pipeline`` stays cheap:

- :func:`build_features` (a table, a feature spec, a dataset contract -> :class:`Features`: the
  table with its features and the fitted state), :func:`apply_features` (new rows + state),
  :func:`plan_features`, :func:`read_table`, :func:`read_contract`, :func:`save_state`,
  :func:`load_state`;
- :func:`train` (-> :class:`Model`), :meth:`Model.predict`, :meth:`Model.save`,
  :func:`load_model`.
"""

from features_pipeline import kernels as _kernels

_kernels.pin()

import importlib  # noqa: E402  (after the kernels are pinned)
from typing import Any  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "DatasetContract",
    "Features",
    "FittedState",
    "Model",
    "__version__",
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


def __getattr__(name: str) -> Any:
    """The library API's names, imported on first use (``features_pipeline.api``)."""
    if name in __all__:
        # imported by name at first use: the stages never touch these names, so they never load
        # the API (nor does tests/test_dvc_yaml.py count it in their code); __init__.pyi gives
        # type checkers the names with their types
        api = importlib.import_module(f"{__name__}.api")
        return getattr(api, name)
    raise AttributeError(f"module 'features_pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
