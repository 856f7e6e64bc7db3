"""Typed ``features:`` section of params.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator

from features_pipeline.contracts.params import StrictModel, plain_error
from features_pipeline.contracts.paths import inside_project

Mode = Literal["planned", "sequential"]


class FeaturesParams(StrictModel):
    spec: Path = Path("config/features.yaml")
    mode: Mode = "planned"

    @field_validator("spec")
    @classmethod
    def _inside_the_project(cls, spec: Path) -> Path:
        """The spec is a project file (DVC tracks it as a params file): never outside it."""
        if str(spec) in ("", "."):
            raise plain_error("expected the path of a YAML file, e.g. config/features.yaml")
        if not inside_project(spec):
            raise plain_error(
                f"'{spec}' is outside the project; keep the feature spec in the project "
                "(e.g. config/features.yaml)"
            )
        return spec
