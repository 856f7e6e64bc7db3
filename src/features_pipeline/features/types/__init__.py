"""Feature types: one module per type, each class registering itself under its ``type:`` name.

Every module of this package is imported here, so a new type is one new file (with its test):
no table to extend, no engine to touch.
"""

from __future__ import annotations

import importlib
import pkgutil

from features_pipeline.features.types.base import (
    FEATURE_TYPES,
    Feature,
    FittedFeature,
    RowOrder,
    SpecError,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
_by_name = sorted(FEATURE_TYPES.items())  # messages list the types alphabetically
FEATURE_TYPES.clear()
FEATURE_TYPES.update(_by_name)

__all__ = ["FEATURE_TYPES", "Feature", "FittedFeature", "RowOrder", "SpecError"]
