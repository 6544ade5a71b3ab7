"""YAML parsing that keeps line numbers, so every error can name file and line."""

from __future__ import annotations

import re
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


# libyaml's parser (when PyYAML was built with it) composes the same nodes, marks included,
# some 20 times faster than the pure-Python one: 10,000 entries in 1 s instead of 10 s.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
# Characters the two parsers read differently: tabs, and line breaks other than \r and \n
# (the lines would be counted differently).
_PURE_ONLY = ("\t", "\x85", "\u2028", "\u2029")
# A block scalar's header with a comment not after a space ("text: >#"): libyaml allows it.
_BLOCK_HEADER_COMMENT = re.compile(r"[|>][-+0-9]*#")


def _fast_reads_alike(text: str) -> bool:
    """libyaml reads ``text`` as the pure-Python parser would (its nodes checked after)."""
    # Without a final line break an empty value at the very end gets another line.
    return (text.endswith("\n") and not any(c in text for c in _PURE_ONLY)
            and _BLOCK_HEADER_COMMENT.search(text) is None)


def parse(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document; return the Python data and its node tree.

    libyaml reads first; the pure-Python parser reads a file libyaml rejects (its error
    messages are the ones shown) and the files where the two disagree, so a file is accepted
    or refused exactly as before libyaml was used: libyaml also takes tabs as spaces and
    a '?' inside a plain scalar of a flow list or mapping ("[why? because]"), the
    pure-Python parser refuses both; lines are counted alike only with \r and \n breaks
    and a final one."""
    if _FAST_LOADER is not None and _fast_reads_alike(text):
        loader = _FAST_LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None or not _flow_question(node):
                return (loader.construct_document(node) if node is not None else None), node
        except yaml.YAMLError:
            pass  # read again below
        finally:
            loader.dispose()
    return _parse_pure(text)


def _flow_question(node: yaml.Node) -> bool:
    """A plain (unquoted) scalar in a flow collection contains '?'."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            continue
        children = n.value if isinstance(n, yaml.SequenceNode) else [
            c for pair in n.value for c in pair]
        if n.flow_style and any(isinstance(c, yaml.ScalarNode) and not c.style
                                and "?" in c.value for c in children):
            return True
        stack.extend(children)
    return False


def _parse_pure(text: str) -> tuple[Any, yaml.Node | None]:
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
