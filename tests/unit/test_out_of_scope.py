"""knowledge/out_of_scope.yaml: loaded with the KB, checked with file and line, and used by
the engine as negative examples."""

from __future__ import annotations

from pathlib import Path

from bot.config import MatchingConfig
from bot.knowledge import load_knowledge
from bot.knowledge.check import run_check
from bot.matching import AnswerEngine
from tests.support.kb import CATEGORIES, ENTRIES, KNOWLEDGE, write_kb

OOS = """\
# negative examples
out_of_scope:
  - {lang: en, text: "How do I apply to Harvard?"}
  - {text: "Какая погода будет завтра?"}
  - {lang: en, text: "Is there a cheap hostel for tourists near the railway station?"}
"""


def test_examples_load_with_language_and_line(tmp_path: Path) -> None:
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES,
                            "out_of_scope.yaml": OOS})
    kb, problems = load_knowledge(d)
    assert [(x.lang, x.line) for x in kb.out_of_scope] == [("en", 3), ("ru", 4), ("en", 5)]
    assert kb.out_of_scope[1].file.endswith("out_of_scope.yaml")
    assert not [p for p in problems if p.level == "error"]


def test_mistakes_are_reported_with_file_and_line(tmp_path: Path, capsys) -> None:
    bad = OOS + ('  - {lang: de, text: "Wie geht es?"}\n'
                 '  - {lang: en, txt: "typo in the key"}\n'
                 '  - "a bare string"\n'
                 '  - {lang: en, text: "Is there a dormitory?"}\n'
                 '  - {lang: en, text: "how do i apply to harvard"}\n'
                 '  - {lang: en, text: "   "}\n')
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES,
                            "out_of_scope.yaml": bad})
    assert run_check(d) == 1
    out = capsys.readouterr().out
    assert "out_of_scope.yaml:6: error: lang:" in out
    assert "out_of_scope.yaml:7: error: txt: unknown field" in out
    assert "out_of_scope.yaml:8: error: an out-of-scope example must be a mapping" in out
    assert "out_of_scope.yaml:9: error: out-of-scope example 'Is there a dormitory?' is a " \
           "phrasing of housing.dormitory" in out
    assert "out_of_scope.yaml:10: warning: out-of-scope example 'how do i apply to harvard' " \
           "is repeated" in out
    assert "out_of_scope.yaml:11: error: text:" in out


def test_shipped_file_has_both_languages() -> None:
    kb, _ = load_knowledge(KNOWLEDGE)
    langs = [x.lang for x in kb.out_of_scope]
    assert langs.count("en") >= 30 and langs.count("ru") >= 30


def test_a_question_closer_to_an_example_falls_back(tmp_path: Path) -> None:
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES})
    # Without the unknown-word penalty and the explained-share rule, so the examples alone
    # make the difference.
    cfg = MatchingConfig(unknown_penalty=0, name_penalty=1, min_explained=0)
    plain = AnswerEngine(load_knowledge(d)[0], cfg)
    question = "cheap hostel for tourists near the station"
    assert plain.match(question).kind != "fallback"
    (d / "out_of_scope.yaml").write_text(OOS, encoding="utf-8")
    guarded = AnswerEngine(load_knowledge(d)[0], cfg)
    assert guarded.match(question).kind == "fallback"
    assert guarded.match("Is there a dormitory for students?").id == "housing.dormitory"
    assert guarded.match("hostel for students?").id == "housing.dormitory"
