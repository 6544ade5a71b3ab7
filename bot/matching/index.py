"""The search index: built once from phrasings, then queried without touching them again.

Scoring, for a query q and an entry e with phrasings p:
    base(e)  = B * max_p cos(q, p) + (1 - B) * cos(q, centroid(e))
    final(e) = (1 - G) * base(e) + G * fuzzy(e)        (for the top candidates only)
where cos mixes two TF-IDF blocks, stemmed words (weight A) and character 3-5-grams (1 - A),
IDF counts *entries* (a word every phrasing of one entry shares is still rare), and words
unknown to the index keep their weight in the query's norm, so a question about something
else scores low instead of being stretched to fit. ``fuzzy`` is rapidfuzz's token-sort
ratio on content words, which rewards word order and near-identical phrasing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from scipy import sparse

from bot.matching.analyzer import Analysis, Analyzer


@dataclass(frozen=True)
class Params:
    word_weight: float = 0.55  # A
    max_weight: float = 0.6  # B
    fuzzy_weight: float = 0.2  # G
    rerank: int = 12  # candidates that get the fuzzy score


@dataclass(frozen=True)
class Scored:
    key: str
    score: float  # 0..1


def _typo_budget(word: str) -> int:
    n = len(word)
    return 0 if n < 4 else 1 if n < 8 else 2


class Index:
    def __init__(self, docs: Sequence[tuple[str, str]], analyzer: Analyzer | None = None,
                 params: Params | None = None):
        """``docs`` are (key, phrasing) pairs; a key (entry id) may have many phrasings."""
        self.analyzer = analyzer or Analyzer()
        self.params = params or Params()
        grouped: dict[str, list[str]] = defaultdict(list)
        for key, text in docs:
            grouped[key].append(text)
        self.keys: list[str] = list(grouped)
        analyses: list[Analysis] = []
        owner: list[int] = []
        for k, key in enumerate(self.keys):
            for text in grouped[key]:
                analyses.append(self.analyzer.analyse(text))
                owner.append(k)
        self.owner = np.asarray(owner, dtype=np.int32)
        self.starts = np.searchsorted(self.owner, np.arange(len(self.keys)))
        self.contents = [a.content for a in analyses]
        self._build_vocab(analyses)
        self._build_matrices(analyses)
        self._build_lexicon(analyses)

    # -- building ---------------------------------------------------------------------------
    def _build_vocab(self, analyses: list[Analysis]) -> None:
        df: dict[str, int] = defaultdict(int)
        per_entry: dict[int, set[str]] = defaultdict(set)
        for a, k in zip(analyses, self.owner.tolist(), strict=True):
            per_entry[k].update(self._features(a))
        for feats in per_entry.values():
            for f in feats:
                df[f] += 1
        n = max(1, len(self.keys))
        self.max_idf = math.log(n + 1) + 1.0
        self.vocab: dict[str, int] = {}
        idf = []
        for f, d in df.items():
            self.vocab[f] = len(idf)
            idf.append(math.log((n + 1) / (d + 1)) + 1.0)
        self.idf = np.asarray(idf, dtype=np.float64)

    @staticmethod
    def _features(a: Analysis) -> set[str]:
        return {"w" + s for s in a.stems} | {"c" + g for g in a.grams}

    def _vector(self, a: Analysis) -> tuple[list[int], list[float]]:
        """Columns and weights of known features; unknown ones count in the norms."""
        A = self.params.word_weight
        cols: list[int] = []
        vals: list[float] = []
        for block, feats, weight in (("w", set(a.stems), A), ("c", set(a.grams), 1 - A)):
            known: list[tuple[int, float]] = []
            norm2 = 0.0
            for f in feats:
                col = self.vocab.get(block + f)
                w = self.idf[col] if col is not None else self.max_idf
                norm2 += w * w
                if col is not None:
                    known.append((col, w))
            if norm2 > 0:
                scale = math.sqrt(weight) / math.sqrt(norm2)
                for col, w in known:
                    cols.append(col)
                    vals.append(w * scale)
        return cols, vals

    def _build_matrices(self, analyses: list[Analysis]) -> None:
        rows, cols, vals = [], [], []
        for i, a in enumerate(analyses):
            c, v = self._vector(a)
            rows.extend([i] * len(c))
            cols.extend(c)
            vals.extend(v)
        shape = (len(analyses), len(self.vocab))
        x = sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float64)
        # Centroid of each entry's phrasings, renormalised.
        member = sparse.csr_matrix(
            (np.ones(len(analyses)), (self.owner, np.arange(len(analyses)))),
            shape=(len(self.keys), len(analyses)))
        c = (member @ x).tocsr()
        norms = np.sqrt(np.asarray(c.multiply(c).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        c = sparse.diags(1.0 / norms) @ c
        # Feature-major layouts: a query only touches the rows of its own features.
        self._xt = x.T.tocsr()
        self._ct = c.T.tocsr()

    def _build_lexicon(self, analyses: list[Analysis]) -> None:
        words = {w for a in analyses for w in a.words}
        self.lexicon = words
        by_len: dict[int, list[str]] = defaultdict(list)
        for w in words:
            by_len[len(w)].append(w)
        self._by_len = dict(by_len)
        self._corrections: dict[str, str | None] = {}

    # -- querying ---------------------------------------------------------------------------
    def correct(self, word: str) -> str:
        """The closest known word within a small edit budget, else the word itself."""
        if word in self.lexicon or word.isdigit():
            return word
        if word in self._corrections:
            return self._corrections[word] or word
        budget = _typo_budget(word)
        best: tuple[int, str] | None = None
        for n in range(len(word) - budget, len(word) + budget + 1):
            pool = self._by_len.get(n)
            if not pool or budget == 0:
                continue
            hit = process.extractOne(word, pool, scorer=Levenshtein.distance,
                                     score_cutoff=budget)
            if hit and (best is None or hit[1] < best[0]):
                best = (hit[1], hit[0])
        if len(self._corrections) < 50_000:
            self._corrections[word] = best[1] if best else None
        return best[1] if best else word

    def analyse_query(self, text: str) -> Analysis:
        words = [self.correct(w) for w in self.analyzer.words(text)]
        return self.analyzer.analyse_words(words)

    def search(self, text: str, limit: int = 5) -> list[Scored]:
        if not self.keys:
            return []
        a = self.analyse_query(text)
        cols, vals = self._vector(a)
        if not cols:
            return []
        w = np.asarray(vals)
        phr = self._xt[cols].T @ w
        best_phr = np.maximum.reduceat(phr, self.starts)
        cen = self._ct[cols].T @ w
        B = self.params.max_weight
        base = B * best_phr + (1 - B) * cen
        k = min(self.params.rerank, len(base))
        top = np.argpartition(-base, k - 1)[:k] if k < len(base) else np.arange(len(base))
        G = self.params.fuzzy_weight
        q = a.content
        scored = []
        for e in top.tolist():
            if base[e] <= 0:
                continue
            lo = self.starts[e]
            hi = self.starts[e + 1] if e + 1 < len(self.starts) else len(self.contents)
            fz = 0.0
            if G and q:
                hit = process.extractOne(q, self.contents[lo:hi], scorer=fuzz.token_sort_ratio)
                fz = hit[1] / 100 if hit else 0.0
            scored.append(Scored(self.keys[e], float((1 - G) * base[e] + G * fz)))
        scored.sort(key=lambda s: -s.score)
        return scored[:limit]


def build(docs: Iterable[tuple[str, str]], synonyms=(), params: Params | None = None) -> Index:
    return Index(list(docs), Analyzer(synonyms), params)
