"""Typed ``features:`` section of params.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator

from features_pipeline.contracts.params import StrictModel, plain_error

Mode = Literal["planned", "sequential"]


def inside_project(path: Path, root: Path | None = None) -> bool:
    """Whether ``path`` (relative to ``root``, default the working directory: the project root
    of every stage) stays inside ``root`` once ``..`` and symlinks are resolved."""
    base = (root or Path.cwd()).resolve()
    return (base / path).resolve().is_relative_to(base)


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
