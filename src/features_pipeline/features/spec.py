"""Load ``config/features.yaml`` into typed features, rejecting mistakes with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from features_pipeline.contracts.params import load_yaml
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError
from features_pipeline.features.types import FEATURE_TYPES, Feature

SPEC_KEY = "features"


def feature_label(source: str, item: Any, index: int) -> str:
    """``config/features.yaml: feature 'margin' (ratio)`` (or ``feature #3`` without a name)."""
    if isinstance(item, dict):
        name = item.get("name")
        kind = item.get("type")
        label = f"feature {name!r}" if isinstance(name, str) else f"feature #{index + 1}"
        return f"{source}: {label}" + (f" ({kind})" if isinstance(kind, str) else "")
    return f"{source}: feature #{index + 1}"


def describe_item_error(error: ValidationError, model: type[Feature]) -> str:
    """``key 'agg': Input should be 'mean', ... (got 'avg')`` for the first problem.

    An unknown key is reported before a missing one: a misspelt key causes both.
    """
    errors = error.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"key {key!r}: missing"
    if first["type"] == "extra_forbidden":
        allowed = [name for name in model.model_fields if name != "type"]
        return (
            f"key {key!r}: unknown key{did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})"
        )
    message = first["msg"].removeprefix("Value error, ")
    got = f" (got {first['input']!r})" if "input" in first and key else ""
    return f"key {key!r}: {message}{got}" if key else message


def parse_feature(item: Any, index: int, source: str) -> Feature:
    """One spec entry -> its typed feature class (a tagged union on ``type``)."""
    label = feature_label(source, item, index)
    if not isinstance(item, dict):
        raise UserError(f"{label}: expected a mapping with 'name' and 'type'")
    if "name" not in item:
        raise UserError(f"{label}: key 'name': missing")
    if not isinstance(item["name"], str):
        raise UserError(f"{label}: key 'name': expected a string (got {item['name']!r})")
    kind = item.get("type")
    if kind is None:
        raise UserError(f"{label}: key 'type': missing (one of {', '.join(FEATURE_TYPES)})")
    model = FEATURE_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise UserError(
            f"{label}: key 'type': unknown type {kind!r}{did_you_mean(str(kind), FEATURE_TYPES)}"
            f" (known: {', '.join(FEATURE_TYPES)})"
        )
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise UserError(f"{label}: {describe_item_error(exc, model)}") from None


def parse_features(items: Any, source: str) -> list[Feature]:
    """The typed features of a loaded spec mapping; duplicate names are errors."""
    if not isinstance(items, list):
        raise UserError(f"{source}: key {SPEC_KEY!r}: expected a list of features")
    features = [parse_feature(item, index, source) for index, item in enumerate(items)]
    seen: set[str] = set()
    for feature in features:
        if feature.name in seen:
            raise UserError(
                f"{source}: feature {feature.name!r} ({feature.type}): key 'name': "
                f"duplicate output name {feature.name!r}"
            )
        seen.add(feature.name)
    return features


def load_features(path: Path) -> list[Feature]:
    """Read and type-check the spec file at ``path``: a YAML mapping with one key, ``features``.

    A missing, unreadable, binary or malformed file, or one that is not a mapping, is a UserError
    naming it (:func:`~features_pipeline.contracts.params.load_yaml`).
    """
    raw = load_yaml(path)
    unknown = sorted((key for key in raw if key != SPEC_KEY), key=str)
    if unknown:
        hint = did_you_mean(str(unknown[0]), [SPEC_KEY])
        raise UserError(
            f"{path}: unknown top-level key {unknown[0]!r}{hint} (expected {SPEC_KEY!r})"
        )
    if SPEC_KEY not in raw:
        raise UserError(f"{path}: key {SPEC_KEY!r}: missing (a list of features)")
    return parse_features(raw[SPEC_KEY], str(path))
