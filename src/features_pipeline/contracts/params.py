"""params.yaml: read once per stage process, each section validated into its typed model.

Section models live with the code that owns them (``ingest.params``, ``features.params``,
``validation.params``, ``model.params``); the keys two stages share (``train.features``, read
by validate and train) are one model here, :class:`ModelInputsParams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError

SECTIONS: tuple[str, ...] = (
    "dataset",
    "engine",
    "ingest",
    "split",
    "features",
    "validate",
    "train",
    "evaluate",
)


class StrictModel(BaseModel):
    """Unknown keys are errors; values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


T = TypeVar("T", bound=BaseModel)

# Limits of every YAML file the project reads (params, dataset contract, feature spec): DVC parses
# params files itself, aliases expanded, before any stage runs (`features-pipeline params check`)
MAX_ALIAS_NODES = 1_000  # nodes YAML aliases may add: plenty for reuse, far below a "bomb"
MAX_YAML_DEPTH = 100  # nesting levels (a params file needs fewer than 10)
MAX_YAML_BYTES = 1 << 20  # 1 MiB (params.yaml is about 6 KiB)
PLAIN_MESSAGE = "plain_message"  # a validation error whose message already says what was given


def plain_error(message: str) -> PydanticCustomError:
    """A validator's error shown as is (no ``(got ...)`` suffix): the message quotes the value."""
    return PydanticCustomError(PLAIN_MESSAGE, message)


class _AliasBombError(Exception):
    """The aliases of a YAML document expand to more than :data:`MAX_ALIAS_NODES` nodes."""


class _TooDeepError(Exception):
    """A YAML document nests deeper than :data:`MAX_YAML_DEPTH` levels."""


def _alias_nodes(root: yaml.Node) -> int:
    """Nodes the aliases of ``root`` add when expanded: expanded size minus distinct nodes.

    Sizes are memoised per node, so a "billion laughs" document is measured, never expanded;
    a node that contains itself (``&a [*a]``) expands without end. Nesting deeper than
    :data:`MAX_YAML_DEPTH` levels is refused on the way down.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _AliasBombError
        if depth > MAX_YAML_DEPTH:
            raise _TooDeepError
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        active.discard(key)
        sizes[key] = total
        return total

    return size(root, 1) - len(sizes)


class _CheckedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys and alias expansion beyond a small limit."""

    def construct_document(self, node: yaml.Node) -> Any:
        if _alias_nodes(node) > MAX_ALIAS_NODES:
            raise _AliasBombError
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping safely; a missing, unreadable or malformed file is a UserError.

    Duplicate keys are refused (PyYAML would silently keep the last one), as are aliases that
    expand to more than :data:`MAX_ALIAS_NODES` nodes, nesting deeper than
    :data:`MAX_YAML_DEPTH` levels and files over :data:`MAX_YAML_BYTES`.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a YAML file") from None
    except PermissionError:
        raise UserError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_YAML_BYTES:
        raise UserError(
            f"{path}: {len(data) / 1024:,.0f} KiB, more than the {MAX_YAML_BYTES // 1024:,} KiB "
            "a YAML file of the project may have"
        )
    if b"\0" in data:
        raise UserError(f"{path}: a binary file, not YAML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        loaded = yaml.load(text, Loader=_CheckedLoader)  # a SafeLoader subclass
    except _AliasBombError:
        raise UserError(
            f"{path}: YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes; "
            "write the values out"
        ) from None
    except (RecursionError, _TooDeepError):
        raise UserError(
            f"{path}: YAML nested too deeply to read (more than {MAX_YAML_DEPTH} levels)"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{path}:{where}: invalid YAML: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def _keys_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys the (nested) model at ``loc`` accepts, or none when ``loc`` leaves the models."""
    for part in loc:
        field = model.model_fields.get(str(part)) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return list(model.model_fields) if model is not None else []


def describe_validation_error(
    error: ValidationError, prefix: str, model: type[BaseModel] | None = None
) -> str:
    """One line for the first problem: ``ingest.rows: Input should be greater than 0 (got -5)``;
    an unknown key of ``model`` gets a suggestion (``— did you mean 'rows'?``)."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        key = str(first["loc"][-1]) if first["loc"] else ""
        message = f"unknown key{did_you_mean(key, _keys_at(model, tuple(first['loc'][:-1])))}"
    elif "input" in first and first["type"] not in ("missing", PLAIN_MESSAGE):
        message = f"{message} (got {first['input']!r})"
    return f"{location}: {message}" if location else message


def validated(model: type[T], payload: Any, source: str, prefix: str = "", hint: str = "") -> T:
    """``payload`` validated into ``model``; a mistake is one UserError line naming the key."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise UserError(
            f"{source}: {describe_validation_error(exc, prefix, model)}{hint}"
        ) from None


@dataclass(frozen=True)
class ParamsFile:
    """A loaded params file: its path (for messages) and its sections, parsed on request."""

    path: Path
    raw: dict[str, Any]

    def section(self, name: str, model: type[T]) -> T:
        """Validate section ``name`` into ``model`` (a missing section takes the defaults)."""
        values = self.raw.get(name, {})
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise UserError(f"{self.path}: {name}: expected a mapping, got {type(values).__name__}")
        return validated(model, values, str(self.path), prefix=name)


def read_params(path: Path) -> ParamsFile:
    """Load the params file at ``path``; an unknown section or an empty file is a UserError."""
    raw = load_yaml(path)
    if not raw:  # an empty (or truncated) file would silently run on the defaults
        raise UserError(f"{path}: no sections; expected some of {', '.join(SECTIONS)}")
    for name in raw:
        if name not in SECTIONS:
            raise UserError(
                f"{path}: unknown section {name!r}{did_you_mean(str(name), SECTIONS)} "
                f"(sections: {', '.join(SECTIONS)})"
            )
    return ParamsFile(path, raw)


class ModelInputsParams(BaseModel):
    """``train.features``: what validate and train both read (the target is the contract's).

    ``features`` omitted means every feature of the plan not derived from the target
    (:meth:`ModelInputs.resolve`). Other ``train`` keys are ignored here: the train stage's
    :class:`~features_pipeline.model.params.TrainParams` extends this model and forbids them.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    features: tuple[str, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _no_target(cls, data: Any) -> Any:
        """``train.target`` of older params files: the target now lives in the contract."""
        if isinstance(data, dict) and "target" in data:
            raise PydanticCustomError(
                PLAIN_MESSAGE,
                "the target is declared in the dataset contract (key 'target' of the file "
                "dataset.contract names); remove train.target",
            )
        return data

    @field_validator("features")
    @classmethod
    def _no_duplicates(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        seen: set[str] = set()
        for name in names or ():
            if name in seen:
                raise ValueError(f"{name!r} is listed twice")
            seen.add(name)
        return names
