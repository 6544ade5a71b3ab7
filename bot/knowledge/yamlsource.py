"""YAML parsing that keeps line numbers, so every error can name file and line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    level: str  # "error" | "warning"
    file: str
    line: int | None
    entry: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        who = f" [{self.entry}]" if self.entry else ""
        return f"{where}:{who} {self.level}: {self.message}"


class YAMLSyntaxError(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def parse(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document; return the Python data and its node tree."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        if exc.context_mark and "<stream end>" in (exc.problem or ""):
            # "expected ']' but got <stream end>": where the bracket opened is the place to fix.
            msg += f" (the file ended at line {mark.line + 1})"
            mark = exc.context_mark
        line = mark.line + 1 if mark else None
        raise YAMLSyntaxError(line, msg) from exc
    except yaml.YAMLError as exc:
        raise YAMLSyntaxError(None, str(exc)) from exc
    finally:
        loader.dispose()
    return data, node


def line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """1-based line of the deepest node reachable along ``loc`` (keys and list indexes)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == str(part):
                    child = value
                    break
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
