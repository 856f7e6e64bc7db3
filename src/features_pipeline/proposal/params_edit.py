"""Edit keys of a YAML file's text in place, keeping every other line (and its comments).

Only block-style mappings are edited (params.yaml's style): a key's value is replaced, or a
nested block (a list, a mapping) rewritten; a missing key is added at the end of its parent.
The result is parsed back with ``yaml.safe_load`` and compared with what was meant."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from features_pipeline.errors import UserError

INDENT = 2


@dataclass(frozen=True)
class Edit:
    """Set ``path`` (keys from the top) to ``value``: a YAML scalar text, or the lines of a
    block (relative indentation, comments allowed) when ``block`` is set."""

    path: tuple[str, ...]
    expected: Any  # the value yaml.safe_load must then read at ``path``
    value: str = ""
    block: tuple[str, ...] | None = None
    comment: str = ""  # a comment for the key line, when it has none


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    """A line holding YAML (not blank, not only a comment)."""
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: Sequence[str], start: int, indent: int) -> int:
    """The index after the block of the key at ``start`` (lines indented deeper than it)."""
    end = start + 1
    for index in range(start + 1, len(lines)):
        if lines[index].strip() and _indent(lines[index]) <= indent:
            break
        if lines[index].strip():
            end = index + 1
    return end


def _find(lines: list[str], path: Sequence[str], source: str) -> tuple[int, int]:
    """(line index, indentation) of the key at ``path``; missing keys are added."""
    start, end, parent = 0, len(lines), -1
    index = -1
    for key in path:
        pattern = re.compile(rf"^( *){re.escape(key)}:(\s|$)")
        child = None
        for i in range(start, end):
            if not _content(lines[i]) or _indent(lines[i]) <= parent:
                continue
            child = _indent(lines[i]) if child is None else child
            if _indent(lines[i]) == child and pattern.match(lines[i]):
                index = i
                break
        else:
            indent = child if child is not None else parent + INDENT
            if parent >= 0 and lines[index].split("#")[0].rstrip().endswith(("}", "]")):
                raise UserError(f"{source}: {'.'.join(path)}: cannot add a key to a flow value")
            index = end if parent >= 0 else len(lines)
            lines.insert(index, f"{' ' * indent}{key}:")
        parent = _indent(lines[index])
        start, end = index + 1, _block_end(lines, index, parent)
    return index, parent


def _split_comment(rest: str) -> tuple[str, str]:
    """``value  # note`` -> (``value``, ``  # note``); a ``#`` inside quotes is not a comment."""
    match = re.search(r"""(\s+#.*)$""", rest)
    if match and rest[: match.start()].count('"') % 2 == 0 and "'" not in rest[: match.start()]:
        return rest[: match.start()], match.group(1)
    return rest, ""


def apply_edit(lines: list[str], edit: Edit, source: str) -> None:
    index, indent = _find(lines, edit.path, source)
    key = edit.path[-1]
    rest = lines[index].split(":", 1)[1] if ":" in lines[index] else ""
    _, comment = _split_comment(rest)
    comment = comment or (f"  # {edit.comment}" if edit.comment else "")
    end = _block_end(lines, index, indent)
    body = lines[index + 1 : end]
    leading = []  # the key's own comment continued below it
    for line in body:
        if _content(line):
            break
        leading.append(line)
    if edit.block is None:
        kept = [line for line in body if not _content(line)]
        lines[index:end] = [f"{' ' * indent}{key}: {edit.value}{comment}", *kept]
        return
    child = " " * (indent + INDENT)
    new = [f"{child}{line}" if line else "" for line in edit.block]
    lines[index:end] = [f"{' ' * indent}{key}:{comment}", *leading, *new]


def _at(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return KeyError
        data = data[key]
    return data


def edit_yaml(text: str, edits: Sequence[Edit], source: str) -> str:
    """``text`` with every edit applied; a UserError naming ``source`` if the result would not
    read back as meant (e.g. a flow-style section this editor cannot rewrite)."""
    lines = text.splitlines()
    for edit in edits:
        apply_edit(lines, edit, source)
    result = "\n".join(lines) + "\n"
    try:
        data = yaml.safe_load(result)
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: cannot edit it in place: {str(exc).splitlines()[0]}") from None
    for edit in edits:
        if _at(data, edit.path) != edit.expected:
            raise UserError(
                f"{source}: {'.'.join(edit.path)}: cannot edit it in place (edit that key by "
                f"hand to {edit.expected!r})"
            )
    return result
