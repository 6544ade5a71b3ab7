"""Index.extended (the news index built on the entries' index) is the index a fresh build of
all the phrasings gives: same words, typo corrections, weights and scores."""

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
EXTRA = [("news:open", "Open day in March"), ("news:open", "news open day"),
         ("news:dorm", "A new dormitory opened"), ("news:dorm", "новое общежитие")]
QUERIES = ["how much is tuition", "dormitary", "any news about the open day", "виза",
           "new dorm opened?", "Harvard", "", "open"]


def test_extended_is_the_fresh_build():
    analyzer = Analyzer([["dormitory", "hostel"]])
    base = Index(DOCS, analyzer, negatives=["weather today"])
    fresh = Index(DOCS + EXTRA, analyzer)
    ext = base.extended(EXTRA)
    assert ext.keys == fresh.keys and ext._sorted == fresh._sorted
    assert set(ext.vocab) == set(fresh.vocab)
    assert ext.corrector.words == fresh.corrector.words and ext._by_stem == fresh._by_stem
    feats = sorted(fresh.vocab)
    a = np.array([fresh.vocab[f] for f in feats])
    b = np.array([ext.vocab[f] for f in feats])
    assert abs(fresh._xt[a] - ext._xt[b]).max() < 1e-12
    assert abs(fresh._ct[a] - ext._ct[b]).max() < 1e-12
    for q in QUERIES:
        assert ([(h.key, round(h.score, 9)) for h in ext.search(q, 8)]
                == [(h.key, round(h.score, 9)) for h in fresh.search(q, 8)]), q


def test_extended_needs_new_keys():
    with pytest.raises(ValueError):
        Index(DOCS).extended([("fees", "price")])
