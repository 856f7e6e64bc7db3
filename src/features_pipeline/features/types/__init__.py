"""The registry of feature types: ``type:`` in the spec -> class. One module per type."""

from __future__ import annotations

from features_pipeline.features.types.arithmetic import Arithmetic
from features_pipeline.features.types.base import Feature, FittedFeature, Kind, SpecError
from features_pipeline.features.types.bucket import Bucket
from features_pipeline.features.types.cumulative import Cumulative
from features_pipeline.features.types.date_diff import DateDiff
from features_pipeline.features.types.date_part import DatePart
from features_pipeline.features.types.frequency import Frequency
from features_pipeline.features.types.group_agg import GroupAgg
from features_pipeline.features.types.lag import Lag
from features_pipeline.features.types.log import Log1p
from features_pipeline.features.types.rank import Rank
from features_pipeline.features.types.ratio import Ratio
from features_pipeline.features.types.rolling import Rolling

FEATURE_TYPES: dict[str, type[Feature]] = {
    "group_agg": GroupAgg,
    "frequency": Frequency,
    "ratio": Ratio,
    "arithmetic": Arithmetic,
    "date_part": DatePart,
    "date_diff": DateDiff,
    "log": Log1p,
    "bucket": Bucket,
    "rank": Rank,
    "lag": Lag,
    "rolling": Rolling,
    "cumulative": Cumulative,
}

__all__ = ["FEATURE_TYPES", "Feature", "FittedFeature", "Kind", "SpecError"]
