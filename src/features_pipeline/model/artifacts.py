"""Save and load fitted pipelines with skops: no code runs on load, types are allow-listed.

skops writes object ids, random file names and the current time into its zip archive; the
archive is rewritten canonically (ids and files numbered in order of appearance, fixed
timestamps) so the same model always gives the same bytes and DVC sees no change.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from features_pipeline.contracts.card import ModelCard
from features_pipeline.errors import UserError
from features_pipeline.io import write_atomic
from features_pipeline.model.model_check import ArchiveError, check_archive
from features_pipeline.model.registry import REGISTRY

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

SCHEMA_FILE = "schema.json"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

ENCODER_TYPE = "features_pipeline.model.encoding.FrameEncoder"
# Types skops does not trust by default that our registered pipelines need, exactly
# (``skops.io.get_untrusted_types`` on a model of each registry name): our frame encoder
# (strings, lists and float64 arrays only; its state is checked after loading, before use) and
# each registered model's ``trusted_types`` (model/registry.py: our LinearRegression subclass,
# the two tree types, whose node arrays model_check validates before anything is built).
# Anything else is refused.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {ENCODER_TYPE, *(name for spec in REGISTRY.values() for name in spec.trusted_types)}
)
# What skops and numpy raise on a malformed archive: reduce payloads (TypeError), unknown
# loaders, missing entries, pickled arrays (numpy), bad zips. Never shown as a traceback.
BASE_LOAD_ERRORS: tuple[type[Exception], ...] = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
    OSError,
    EOFError,
    RecursionError,
    zipfile.BadZipFile,
)


def load_errors() -> tuple[type[Exception], ...]:
    """BASE_LOAD_ERRORS and skops' refusal of an untrusted type (skops imported now)."""
    from skops.io.exceptions import UntrustedTypesFoundException

    return (*BASE_LOAD_ERRORS, UntrustedTypesFoundException)


def _canonical_schema(schema: Any, files: dict[str, bytes]) -> tuple[Any, dict[str, str]]:
    """The schema with ``__id__`` values and file names renumbered in order of appearance."""
    ids: dict[int, int] = {}
    names: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        result: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                result[key] = ids.setdefault(value, len(ids) + 1)
            elif key == "file" and isinstance(value, str) and value in files:
                suffix = Path(value).suffix
                result[key] = names.setdefault(value, f"{len(names) + 1:06d}{suffix}")
            else:
                result[key] = walk(value)
        return result

    return walk(schema), names


def canonical_skops_bytes(data: bytes) -> bytes:
    """Rewrite a skops archive deterministically (same model -> same bytes)."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read(SCHEMA_FILE))
        files = {name: source.read(name) for name in source.namelist() if name != SCHEMA_FILE}
    schema, names = _canonical_schema(schema, files)
    if set(names) != set(files):
        raise ValueError(
            f"skops archive holds files its schema does not name: {set(files) - set(names)}"
        )
    entries = [(SCHEMA_FILE, json.dumps(schema, indent=2).encode("utf-8"))]
    entries += sorted((new, files[old]) for old, new in names.items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as target:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return buffer.getvalue()


def model_bytes(model: Pipeline) -> bytes:
    """The canonical skops bytes of ``model``."""
    import skops.io as sio

    return canonical_skops_bytes(sio.dumps(model))


def save_model(model: Pipeline, path: Path) -> bytes:
    """Write ``model`` to ``path`` atomically in skops format; returns the bytes written."""
    data = model_bytes(model)
    write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return data


def not_our_model(source: str, reason: str) -> UserError:
    """The one-line error for a model file the train stage did not write."""
    return UserError(
        f"{source}: not a model this pipeline wrote ({reason}); re-run the train stage"
    )


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0].strip()}" if lines else type(exc).__name__


def load_model_bytes(data: bytes, source: str) -> Pipeline:
    """Load a pipeline from skops bytes: the tree arrays are validated (model_check) and any
    type outside skops' defaults and the allow-list is refused before anything is built; the
    frame encoder's state is checked before the pipeline is returned."""
    import skops.io as sio
    from sklearn.pipeline import Pipeline

    errors = load_errors()
    try:
        check_archive(data)
        needed = sio.get_untrusted_types(data=data)
    except ArchiveError as exc:
        raise not_our_model(source, str(exc)) from None
    except errors as exc:
        raise not_our_model(source, _reason(exc)) from None
    refused = sorted(set(needed) - TRUSTED_TYPES)
    if refused:
        raise UserError(
            f"{source}: refusing to load untrusted type(s) {', '.join(refused)} "
            "(not in features_pipeline.model.artifacts.TRUSTED_TYPES); re-run the train stage"
        )
    try:
        model = sio.loads(data, trusted=sorted(needed))
    except errors as exc:
        raise not_our_model(source, _reason(exc)) from None
    if not isinstance(model, Pipeline):
        raise not_our_model(source, f"holds a {type(model).__name__}, not a sklearn Pipeline")
    try:
        check_pipeline(model)
    except ValueError as exc:
        raise not_our_model(source, str(exc)) from None
    return model


def check_pipeline(model: Pipeline) -> None:
    """ValueError unless ``model`` is (frame encoder, fitted regressor) with a sound encoder
    whose output width is what the regressor was fitted on."""
    from features_pipeline.model.encoding import FrameEncoder

    steps = getattr(model, "steps", None)
    if not (isinstance(steps, list) and len(steps) == 2):
        raise ValueError("not a pipeline of an encoder and a model")
    encoder, estimator = steps[0][1], steps[1][1]
    if type(encoder) is not FrameEncoder:
        raise ValueError(f"first step is a {type(encoder).__name__}, not our frame encoder")
    encoder.check_fitted()
    if getattr(estimator, "n_features_in_", None) != encoder.n_output_:
        raise ValueError("the model's input count differs from the encoder's output")


def load_model(path: Path) -> Pipeline:
    """Load the pipeline saved at ``path`` (see ``load_model_bytes``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: model file not found (run the train stage first)") from None
    return load_model_bytes(data, str(path))


def load_model_checked(path: Path, card: ModelCard, card_source: str) -> Pipeline:
    """Load ``path`` after checking it is the file ``card`` describes (same sha256)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: model file not found (run the train stage first)") from None
    if hashlib.sha256(data).hexdigest() != card.artifact.sha256:
        raise UserError(
            f"{card_source}: artifact.sha256 does not match {path}; the card belongs to another "
            "model (re-run the train stage)"
        )
    return load_model_bytes(data, str(path))
