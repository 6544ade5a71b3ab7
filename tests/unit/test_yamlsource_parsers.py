"""yamlsource.parse reads with libyaml when it can, and accepts, refuses and places lines
exactly as the pure-Python parser does (whose messages are the ones shown)."""

from pathlib import Path

import pytest
import yaml

from bot.knowledge import yamlsource
from bot.knowledge.yamlsource import YAMLSyntaxError, parse

ROOT = Path(__file__).resolve().parents[2]


def _tree(node):
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value, node.start_mark.line)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, node.start_mark.line, [_tree(c) for c in node.value])
    return (node.tag, node.start_mark.line, [(_tree(k), _tree(v)) for k, v in node.value])


def _outcome(fn, text):
    try:
        data, node = fn(text)
    except YAMLSyntaxError as exc:
        return ("error", exc.line, exc.message)
    return ("ok", data, None if node is None else _tree(node))


@pytest.mark.parametrize("path", sorted((ROOT / "knowledge").rglob("*.yaml")),
                         ids=lambda p: p.name)
def test_the_knowledge_base_reads_alike(path):
    text = path.read_text(encoding="utf-8")
    assert _outcome(parse, text) == _outcome(yamlsource._parse_pure, text)


@pytest.mark.parametrize("text", [
    "entries:\n  - id: ab\tout\n",  # a tab: libyaml takes it, the pure parser does not
    "a: 1\t# tab before a comment\n",
    "aliases: [why? because]\n",  # '?' inside a flow scalar
    "title: {en: what? yes}\n",
    "text: >#comment\n  folded\n",  # a block header's comment without a space
    "a: 1\n# line\u2028break\nb:\n  - [x\n",
    "a: 1\nb: [1, 2\n",  # libyaml refuses too: the message is the pure parser's
    "entries:\n  - k: v\n? ",  # no final line break
    "a: [1, 2]\nb: 'it''s'\n",
    "",
])
def test_where_the_parsers_differ_the_pure_one_decides(text):
    assert _outcome(parse, text) == _outcome(yamlsource._parse_pure, text)


def test_libyaml_is_used_when_available(monkeypatch):
    if yamlsource._FAST_LOADER is None:
        pytest.skip("PyYAML without libyaml")
    monkeypatch.setattr(yamlsource, "_parse_pure", lambda text: pytest.fail("pure parser used"))
    data, node = parse("entries:\n  - id: a.b\n    questions: {en: [x, y]}\n")
    assert data == {"entries": [{"id": "a.b", "questions": {"en": ["x", "y"]}}]}
    assert yamlsource.line_of(node, ["entries", 0, "questions"]) == 3
