"""The catalog of feature types, read from the registry: what each type computes and takes.

A type documents itself: the first line of its class docstring is its summary and the first
fenced ``yaml`` block of the docstring is its example (a list of spec entries of that type).
The example is the contract of a type: the tests plan and run every type's example on generated
data, so a type whose example is missing or does not plan fails them. Examples stand alone (they
read input columns only) and use output names no other type's example uses, so that
:func:`example_spec` is one spec covering every type.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError
from features_pipeline.features.spec import parse_features
from features_pipeline.features.types import FEATURE_TYPES, Feature

Registry = Mapping[str, type[Feature]]
COMMON_KEYS = ("name", "type")
"""Keys every type takes (not listed per type)."""
_EXAMPLE = re.compile(r"^```yaml[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


class CatalogError(UserError):
    """A feature type without a summary line or without a valid YAML example."""


@dataclass(frozen=True)
class SpecKey:
    """One spec key of a type: required or with its default, and its choices (if a Literal)."""

    name: str
    required: bool
    default: Any = None
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TypeInfo:
    """What the catalog says of one feature type."""

    name: str
    kinds: tuple[Kind, ...]  # the kinds its example shows, in Kind order
    summary: str
    keys: tuple[SpecKey, ...]
    example: tuple[dict[str, Any], ...]


def _label(name: str, model: type[Feature]) -> str:
    return f"feature type {name!r} ({model.__module__}.{model.__qualname__})"


def docstring(model: type[Feature]) -> str:
    """The class's own docstring, dedented (not inherited from a base class)."""
    return inspect.cleandoc(model.__dict__.get("__doc__") or "")


def summary(name: str, model: type[Feature]) -> str:
    """The first line of the docstring."""
    lines = docstring(model).splitlines()
    if not lines or not lines[0].strip():
        raise CatalogError(f"{_label(name, model)}: no docstring (its first line is the summary)")
    return lines[0].strip()


def example(name: str, model: type[Feature]) -> tuple[dict[str, Any], ...]:
    """The spec entries of the docstring's ```yaml block, each of type ``name``."""
    label = _label(name, model)
    found = _EXAMPLE.search(docstring(model))
    if found is None:
        raise CatalogError(f"{label}: no ```yaml example in the docstring")
    try:
        entries = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{label}: example is not valid YAML: {problem}") from None
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{label}: example must be a non-empty list of spec entries")
    for index, entry in enumerate(entries):
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind != name:
            raise CatalogError(
                f"{label}: example entry #{index + 1} has type {kind!r}, expected {name!r}"
            )
    return tuple(entries)


def _choices(annotation: Any) -> tuple[Any, ...]:
    """The values of a Literal annotation (also inside ``X | None``); empty otherwise."""
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)
    if origin in (Union, types.UnionType):
        return tuple(value for arg in get_args(annotation) for value in _choices(arg))
    return ()


def spec_keys(model: type[Feature]) -> tuple[SpecKey, ...]:
    """The keys of ``model`` besides ``name`` and ``type``: required first, then the optional
    keys the class declares, then those it inherits (e.g. ``fill``, ``order_by``)."""
    own = inspect.get_annotations(model)
    keys = []
    for key, field in model.model_fields.items():
        if key in COMMON_KEYS:
            continue
        required = field.is_required()
        default = None if required else field.get_default(call_default_factory=True)
        keys.append(SpecKey(key, required, default, _choices(field.annotation)))
    return tuple(sorted(keys, key=lambda k: (not k.required, k.name not in own)))


def describe(name: str, model: type[Feature]) -> TypeInfo:
    """The catalog entry of one type; its example must parse as spec entries (else CatalogError)."""
    entries = example(name, model)
    try:
        features = parse_features(list(entries), f"{_label(name, model)} example")
    except UserError as exc:
        raise CatalogError(str(exc)) from None
    shown = {feature.kind for feature in features}
    return TypeInfo(
        name=name,
        kinds=tuple(kind for kind in Kind if kind in shown),
        summary=summary(name, model),
        keys=spec_keys(model),
        example=entries,
    )


def catalog(registry: Registry = FEATURE_TYPES) -> list[TypeInfo]:
    """Every registered type, in registry order (alphabetical)."""
    return [describe(name, model) for name, model in registry.items()]


def example_spec(registry: Registry = FEATURE_TYPES) -> list[dict[str, Any]]:
    """Every type's example entries: one spec using every type."""
    return [dict(entry) for info in catalog(registry) for entry in info.example]


def _plain(value: Any) -> Any:
    """Tuples as lists (what YAML shows); other values unchanged."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def flow_yaml(value: Any) -> str:
    """``value`` as one line of YAML, e.g. ``{name: a, type: log, column: Units Sold}``."""
    text = yaml.safe_dump(
        _plain(value), default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True
    )
    return text.strip().removesuffix("...").strip()


ROW_ORDER_KEYS = {"order_by": "order_by", "tie_breaker": "key"}  # "" until planned


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _key_text(key: SpecKey) -> str:
    notes = []
    if key.choices:
        notes.append("/".join(str(choice) for choice in key.choices))
    if key.name in ROW_ORDER_KEYS and key.default == "":
        notes.append(f"default: the dataset contract's {ROW_ORDER_KEYS[key.name]}")
    elif not key.required:
        notes.append(f"default `{flow_yaml(key.default)}`")
    return f"`{key.name}`" + (f" ({'; '.join(notes)})" if notes else "")


def catalog_markdown(registry: Registry = FEATURE_TYPES) -> str:
    """A Markdown table of every type: kind, summary, keys (besides name and type), example."""
    lines = [
        "| type | kind | computes | keys (besides `name`, `type`) | example |",
        "|---|---|---|---|---|",
    ]
    for info in catalog(registry):
        keys = ", ".join(_key_text(key) for key in info.keys)
        examples = "<br>".join(f"`{flow_yaml(entry)}`" for entry in info.example)
        kinds = " / ".join(str(kind) for kind in info.kinds)
        computes = info.summary.replace("``", "`")  # reST literals as Markdown code
        cells = [f"`{info.name}`", kinds, computes, keys, examples]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"
