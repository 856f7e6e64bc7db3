"""Typed ``features:`` section of params.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from features_pipeline.contracts.params import StrictModel

Mode = Literal["planned", "sequential"]


class FeaturesParams(StrictModel):
    spec: Path = Path("config/features.yaml")
    mode: Mode = "planned"
