"""Answer quality on an evaluation set written independently of the KB's phrasings."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from bot.knowledge import load_knowledge
from bot.knowledge.validate import REQUIRED_IDS
from bot.matching import AnswerEngine
from bot.text.normalize import normalize
from tests.support.kb import ROOT

# questions.yaml guided the KB's coverage and the thresholds (dev); holdout.yaml was written
# by another author and never looked at while tuning (test); titles_only.yaml was written by
# someone who saw only the entries' ids and titles, never tuned on. All must pass.
EVAL = ROOT / "tests" / "eval"
SETS = {name: yaml.safe_load((EVAL / f"{name}.yaml").read_text("utf-8"))
        for name in ("questions", "titles_dev", "holdout", "titles_only")
        if (EVAL / f"{name}.yaml").exists()}
# Per topic and language, after removing questions that coincide with KB phrasings (the
# held-out set is smaller, and its short greetings all coincide: "Привет"; the titles-only
# set has 80 questions for 32 entries).
MIN_PER_TOPIC = {"questions": 5, "titles_dev": 0, "holdout": 0, "titles_only": 0}
# Size: in-scope questions, out-of-scope questions per language and in all.
MIN_SIZE = {"questions": (200, 20, 40), "titles_dev": (100, 10, 30), "holdout": (200, 20, 40),
            "titles_only": (75, 8, 20)}
# Floors: top-1, answered outright, out-of-scope rejected; and at most this many in-scope
# questions answered with a wrong entry. The first two sets keep the 90% floors they always
# had, with floors for the rest at the measurement of 2026-12-03 (after the runner-up rule of
# AnswerEngine._in_doubt and matching.min_explained) less a small margin: questions 98.8% /
# 95.3% / 95.2% / 0 wrong, holdout 96.6% / 93.7% / 90.0% / 1 wrong. The titles-only set's
# floors are its measurements (91.1% / 87.3% / 90.0% / 0 wrong the first time the engine ever
# saw it, 2026-12-03; 88.6% answered and 95.0% rejected with the two rules) less a small margin.
# titles_dev (a second titles-only set, written 2026-12-03 to tune generalisation on; 101 in
# scope / 30 out of scope): 96.0% / 91.1% / 90.0% / 0 wrong, less a small margin; titles-only
# 92.4% / 89.9% after the entry explaining more came first (AnswerEngine._explaining_first).
FLOORS = {"questions": (0.90, 0.93, 0.93, 1), "titles_dev": (0.93, 0.88, 0.86, 1),
          "holdout": (0.90, 0.92, 0.90, 2), "titles_only": (0.89, 0.87, 0.90, 1)}


@pytest.fixture(scope="module")
def engine() -> AnswerEngine:
    from bot.config import load_config

    kb, _ = load_knowledge(ROOT / "knowledge")
    return AnswerEngine(kb, load_config(ROOT / "config.yaml").matching)


@pytest.fixture(scope="module", params=sorted({*SETS, "titles_only"}))
def eval_set(request) -> tuple[str, dict]:
    if request.param not in SETS:  # written by another person, committed by them
        pytest.skip(f"tests/eval/{request.param}.yaml is not there")
    return request.param, SETS[request.param]


@pytest.fixture
def in_scope(engine: AnswerEngine, eval_set: tuple[str, dict]) -> list[dict]:
    """The evaluation questions that are not (after normalisation) phrasings of the KB: the
    set was written without looking at the KB, and the few natural coincidences ("Where is
    BSMU located?") would measure recall of the KB's own text, not understanding."""
    kb_phrasings = {normalize(q) for e in engine.kb.entries.values()
                    for qs in e.questions.values() for q in qs}
    return [q for q in eval_set[1]["in_scope"] if normalize(q["q"]) not in kb_phrasings]


@pytest.fixture
def out_of_scope(engine: AnswerEngine, eval_set: tuple[str, dict]) -> list[dict]:
    """The out-of-scope questions that are not examples of knowledge/out_of_scope.yaml (the
    same rule: those would measure recall of the KB's own text)."""
    examples = {normalize(x.text) for x in engine.kb.out_of_scope}
    return [q for q in eval_set[1]["out_of_scope"] if normalize(q["q"]) not in examples]


def test_eval_set_is_big_enough(in_scope: list[dict], eval_set: tuple[str, dict]) -> None:
    name, data = eval_set
    counts = Counter((q["id"], q["lang"]) for q in in_scope)
    for rid in REQUIRED_IDS:
        for lang in ("en", "ru"):
            assert counts[(rid, lang)] >= MIN_PER_TOPIC[name], (rid, lang)
    min_in, min_lang, min_oos = MIN_SIZE[name]
    assert len(in_scope) >= min_in
    oos = Counter(q["lang"] for q in data["out_of_scope"])
    assert oos["en"] >= min_lang and oos["ru"] >= min_lang and sum(oos.values()) >= min_oos


def test_in_scope_top1_and_out_of_scope_rejection(engine: AnswerEngine, in_scope: list[dict],
                                                   out_of_scope: list[dict],
                                                   eval_set: tuple[str, dict]) -> None:
    name, _ = eval_set
    top1 = answered = 0
    wrong = []
    misses = []
    for item in in_scope:
        r = engine.match(item["q"], hint=item["lang"])
        best = r.id or (r.suggestions[0].id if r.suggestions else None)
        if best == item["id"]:
            top1 += 1
            answered += r.kind == "answer"
        else:
            misses.append((item["q"], item["id"], r.kind, r.candidates[:2]))
            if r.kind == "answer":
                wrong.append(misses[-1])
    rejected = 0
    leaks = []
    for item in out_of_scope:
        r = engine.match(item["q"], hint=item["lang"])
        if r.kind == "fallback":
            rejected += 1
        else:
            leaks.append((item["q"], r.kind, r.candidates[:1]))
    n_in, n_out = len(in_scope), len(out_of_scope)
    print(f"\n{name}: in-scope top-1 {top1 / n_in:.1%} (answered outright {answered / n_in:.1%}, "
          f"{len(wrong)} wrong), out-of-scope rejection {rejected / n_out:.1%}")
    min_top1, min_answered, min_rejected, max_wrong = FLOORS[name]
    assert top1 / n_in >= min_top1, misses[:40]
    assert answered / n_in >= min_answered, misses[:40]
    assert rejected / n_out >= min_rejected, leaks
    assert len(wrong) <= max_wrong, wrong


def test_action_entries_report_their_action(engine: AnswerEngine) -> None:
    assert engine.match("latest news of the university").action == "show_news"
    assert engine.match("подписаться на новости").action == "subscribe"
