"""The shape the stage modules keep: thin bodies, keyword-only parameters past the third."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

from features_pipeline.model.registry import ModelSpec
from features_pipeline.model.train import train_model

STAGES = Path(__file__).resolve().parents[1] / "src" / "features_pipeline" / "stages"
MAX_BODY_LINES = 40
MAX_POSITIONAL = 3


def functions(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def body_lines(function: ast.FunctionDef) -> int:
    """Lines from the first statement after the docstring to the end."""
    body = function.body
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(body) > 1:
        first = body[1]
    return (function.end_lineno or first.lineno) - first.lineno + 1


@pytest.mark.parametrize("path", sorted(STAGES.glob("*.py")), ids=lambda path: path.name)
def test_stage_bodies_are_short_and_take_keywords(path: Path) -> None:
    for function in functions(path):
        assert body_lines(function) <= MAX_BODY_LINES, f"{function.name}: {body_lines(function)}"
        positional = [*function.args.posonlyargs, *function.args.args]
        assert len(positional) <= MAX_POSITIONAL, f"{function.name}: {len(positional)} positional"


def test_wide_signatures_are_keyword_only() -> None:
    kinds = [p.kind for p in inspect.signature(train_model).parameters.values()]
    assert kinds.count(inspect.Parameter.POSITIONAL_OR_KEYWORD) == MAX_POSITIONAL
    assert all(field.kw_only for field in dataclasses.fields(ModelSpec))
    with pytest.raises(TypeError):
        ModelSpec("m", "sklearn.linear_model.Ridge", True, False, 0.1)  # type: ignore[misc]
