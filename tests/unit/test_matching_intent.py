"""Two-topic questions: the intent word beats a topic word the other entry repeats."""

from __future__ import annotations

from dataclasses import replace

from bot.matching.index import Params, build

# The language entry says "english" in almost every phrasing; the fees entry says "fees"
# (or "cost") in every one and mentions English once.
DOCS = [
    ("language", "what is the language of instruction"),
    ("language", "is the programme taught in english"),
    ("language", "english taught programme"),
    ("language", "do you teach in english"),
    ("language", "english medium"),
    ("language", "can i study medicine in english"),
    ("fees", "how much are the fees"),
    ("fees", "tuition fees per year"),
    ("fees", "fees for the english programme"),
    ("fees", "what does one year cost"),
    ("fees", "fees in dollars"),
    ("fees", "total cost of the course"),
    ("fees", "fees for foreigners"),
]
QUESTION = "fees english medium, much?"  # phone style: topic words first


def test_intent_word_outweighs_a_topic_word() -> None:
    assert build(DOCS).search(QUESTION)[0].key == "fees"


def test_without_the_reordering_the_topic_word_wins() -> None:
    """The mechanism is what decides: plain cosines put the language entry first."""
    plain = build(DOCS, params=replace(Params(), intent_window=0.0))
    assert plain.search(QUESTION)[0].key == "language"


def test_the_best_score_never_rises() -> None:
    """Only the order among close candidates changes, so the thresholds and the
    out-of-scope gate see the same best score."""
    plain = build(DOCS, params=replace(Params(), intent_window=0.0, margin_weight=0.0))
    ordered = build(DOCS, params=replace(Params(), margin_weight=0.0))
    before, after = plain.search(QUESTION), ordered.search(QUESTION)
    assert after[0].score == before[0].score
    assert [s.score for s in after] == [s.score for s in before]


def test_clear_winners_are_left_alone() -> None:
    hits = build(DOCS).search("what is the language of instruction")
    assert hits[0].key == "language"
