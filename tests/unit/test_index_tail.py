"""The index's tail (the KB's news items): searched with the entries by ``rank_all`` after
one reading of the question, while ``rank`` ranks the entries exactly as an index without
the tail would."""

import numpy as np
import pytest

from bot.matching.analyzer import Analyzer
from bot.matching.index import Index

DOCS = [
    ("fees", "How much is the tuition fee?"), ("fees", "cost of studying"),
    ("dorm", "Is there a dormitory?"), ("dorm", "hostel for students"),
    ("visa", "Do I need a visa to study in Belarus?"), ("visa", "учебная виза"),
    ("empty", "the"),
]
TAIL = [("news:open", "Open day in March"), ("news:open", "news open day"),
        ("news:dorm", "A new dormitory opened"), ("news:dorm", "новое общежитие")]
# Questions without a word only the tail has.
HEAD_QUERIES = ["how much is tuition", "dormitary", "виза", "Harvard", "", "weather forecast",
                "is there a hostel for students?"]


def build(tail=()):
    return Index(DOCS, Analyzer([["dormitory", "hostel"]]), negatives=["weather forecast"],
                 tail=list(tail))


def test_rank_leaves_the_tail_out_and_is_unchanged_by_it():
    plain, with_tail = build(), build(TAIL)
    for q in HEAD_QUERIES:
        a, b = plain.rank(q, 8), with_tail.rank(q, 8)
        assert [(h.key, round(h.score, 9)) for h in a.hits] == \
            [(h.key, round(h.score, 9)) for h in b.hits], q
        assert (a.out_of_scope, round(a.positive, 9), round(a.negative, 9)) == \
            (b.out_of_scope, round(b.positive, 9), round(b.negative, 9)), q
        assert not any(h.key.startswith("news:") for h in b.hits)


def test_the_tail_is_weighed_by_the_entries_words():
    index = build(TAIL)
    plain = build()
    assert np.allclose(index.idf[[index.vocab[f] for f in plain.vocab]],
                       plain.idf[list(plain.vocab.values())])
    # A word only the tail has weighs as much as a word the entries never saw.
    assert index.idf[index.vocab["wmarch"]] == pytest.approx(plain.max_idf)


def test_rank_all_finds_tail_keys_after_one_reading():
    index = build(TAIL)
    ranking = index.rank("any news about the open day in march?", 8)
    assert all(not h.key.startswith("news:") for h in ranking.hits)
    together = index.rank_all(ranking, 8)
    assert together[0].key == "news:open" and together[0].score > 0.5
    dorm = index.rank_all(index.rank("new dormitory opened", 8), 8)
    assert dorm[0].key == "news:dorm" and "dorm" in {h.key for h in dorm}
    # Nothing to rank for a question the index could not read.
    assert index.rank_all(index.rank("", 8), 8) == []


def test_tail_words_are_not_typos_of_entry_words():
    # "march" is a tail word: it stays as written instead of being "corrected".
    index = build(TAIL)
    assert "march" in index.query_words("open day in march")


def test_tail_keys_must_be_new():
    with pytest.raises(ValueError):
        Index(DOCS, tail=[("fees", "price")])
