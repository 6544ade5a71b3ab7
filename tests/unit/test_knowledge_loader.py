"""Loader and validator: a good KB loads; every kind of mistake is reported with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import KBError, load_knowledge
from bot.knowledge.check import run_check
from tests.support.kb import CATEGORIES, ENTRIES, write_kb


def errors_of(directory: Path) -> list:
    _, problems = load_knowledge(directory, strict=False)
    return [p for p in problems if p.level == "error"]


def test_good_kb_loads(small_kb_dir: Path) -> None:
    kb, problems = load_knowledge(small_kb_dir)
    assert set(kb.entries) == {"about.overview", "housing.dormitory"}
    assert [c.id for c in kb.ordered_categories()] == ["about", "housing"]
    entry = kb.entries["housing.dormitory"]
    assert entry.verified is False and entry.keywords["ru"] == ["общага"]
    assert entry.line == 12 and entry.file.endswith("entries.yaml")
    assert not [p for p in problems if p.level == "error"]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = ENTRIES.replace('en: ["Is there a dormitory?"', 'en: ["Is there a dormitory?"]]')
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": broken})
    errs = errors_of(d)
    assert len(errs) == 1
    assert errs[0].file.endswith("entries.yaml") and errs[0].line == 15
    assert "YAML syntax error" in errs[0].message
    with pytest.raises(KBError) as info:
        load_knowledge(d)
    assert "entries.yaml:15" in str(info.value)


def test_schema_error_names_line_and_entry(tmp_path: Path) -> None:
    bad = ENTRIES.replace("    verified: false", "    verified: maybe\n    colour: red")
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": bad})
    errs = errors_of(d)
    messages = {e.message.split(":")[0]: e for e in errs}
    assert set(messages) == {"verified", "colour"}
    assert all(e.entry == "housing.dormitory" for e in errs)
    assert messages["verified"].line == 21 and messages["colour"].line == 22
    assert "unknown field" in messages["colour"].message


def test_duplicate_id_across_files(tmp_path: Path) -> None:
    other = ENTRIES.split("  - id: housing.dormitory")[0].replace(
        '"What is BSMU?", "tell me about the university", "about bsmu"', '"bsmu info"').replace(
        '"Что такое БГМУ?", "расскажите об университете", "о БГМУ"', '"инфо о БГМУ"')
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES,
                            "more.yaml": other})
    errs = errors_of(d)
    assert len(errs) == 1 and errs[0].entry == "about.overview"
    assert "duplicate id" in errs[0].message and "entries.yaml:2" in errs[0].message


def test_unknown_related_and_category(tmp_path: Path) -> None:
    bad = ENTRIES.replace("related: [housing.dormitory]", "related: [housing.nope]").replace(
        "category: housing", "category: dorms")
    errs = errors_of(write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": bad}))
    texts = sorted(e.message for e in errs)
    assert texts == ["related id 'housing.nope' does not exist", "unknown category 'dorms'"]


def test_missing_language_version(tmp_path: Path) -> None:
    bad = ENTRIES.replace('      ru: "О местах в общежитии спросите приёмную комиссию."\n', "")
    errs = errors_of(write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": bad}))
    assert [(e.entry, e.message) for e in errs] == [
        ("housing.dormitory", "missing ru version of 'answer'")]


@pytest.mark.parametrize("answer,fragment", [
    ("<b>bold", "<b> is never closed"),
    ("line<br>break", "unsupported tag <br>"),
    ("1 < 2", "bare '<'"),
    ("Q&A", "bare '&'"),
    ("<b>x</i></b>", "unbalanced </i>"),
    ("<span class='red'>x</span>", 'class="tg-spoiler"'),
])
def test_html_telegram_would_reject(tmp_path: Path, answer: str, fragment: str) -> None:
    bad = ENTRIES.replace("<b>BSMU</b> is a medical university in Minsk.", answer)
    errs = errors_of(write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": bad}))
    assert errs and all(e.entry == "about.overview" for e in errs)
    assert any(fragment in e.message for e in errs), [e.message for e in errs]


def test_answer_too_long(tmp_path: Path) -> None:
    bad = ENTRIES.replace("<b>BSMU</b> is a medical university in Minsk.", "x" * 4097)
    errs = errors_of(write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": bad}))
    assert len(errs) == 1 and "4097 characters" in errs[0].message


def test_long_answer_counts_visible_text_only(tmp_path: Path) -> None:
    ok = ENTRIES.replace("<b>BSMU</b> is a medical university in Minsk.",
                         "<b>" + "x" * 4000 + "</b> &amp;")
    assert errors_of(write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": ok})) == []


def test_same_phrasing_in_two_entries(tmp_path: Path) -> None:
    bad = ENTRIES.replace('"where will I live"', '"About BSMU!"')
    errs = errors_of(write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": bad}))
    assert sorted(e.entry for e in errs) == ["about.overview", "housing.dormitory"]
    assert all("'about bsmu'" in e.message for e in errs)


def test_not_a_mapping_and_unknown_top_key(tmp_path: Path) -> None:
    d = write_kb(tmp_path, {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES,
                            "list.yaml": "- a\n- b\n", "typo.yaml": "entires: []\n"})
    errs = sorted(str(e) for e in errors_of(d))
    assert any("list.yaml:1" in e and "must be a mapping" in e for e in errs)
    assert any("typo.yaml:1" in e and "unknown top-level key 'entires'" in e for e in errs)


def test_check_command_summary_and_exit_codes(small_kb_dir: Path, tmp_path: Path, capsys) -> None:
    assert run_check(small_kb_dir) == 0
    out = capsys.readouterr().out
    assert "2 entries in 2 categories" in out
    assert "phrasings: en 6, ru 6" in out
    assert "unverified entries (staff to confirm): 1" in out
    assert "0 error(s)" in out
    broken = ENTRIES.replace("category: about", "category: x")
    bad = write_kb(tmp_path / "bad", {"categories.yaml": CATEGORIES, "entries.yaml": broken})
    assert run_check(bad) == 1
    assert "1 error(s)" in capsys.readouterr().out


def test_missing_directory() -> None:
    with pytest.raises(KBError, match="not a directory"):
        load_knowledge("/nonexistent/kb")
