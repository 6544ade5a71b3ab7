"""The search index: built once from phrasings, then queried without touching them again.

Scoring, for a query q and an entry e with phrasings p:
    base(e)  = B * max_p cos(q, p) + (1 - B) * cos(q, centroid(e))
    final(e) = (1 - G) * base(e) + G * fuzzy(e)        (for the top candidates only)
and the winner gets M * (its lead over the runner-up) on top: a clear winner is more
trustworthy than the best of a flat field. cos mixes two TF-IDF blocks, words (weight A;
function words count F times a content word) and character 3-5-grams (1 - A). IDF counts
*entries*, so a word every phrasing of one entry shares is still rare. Features the index
has never seen keep their weight in the query's norm, so a question about something else
scores low instead of being stretched to fit. ``fuzzy`` is rapidfuzz's token-sort ratio
on the normalised words, which rewards near-identical phrasing and word order.

Scores are then multiplied by (share of the question's content words, by IDF, the index
knows) ^ P and by N per name the index does not know. The question's words are read by
``query_words``: typos corrected to KB words, other forms of a KB word's root folded to it
("стоматологическом" -> "стоматология"), and names the KB does not know (capitalised
inside a sentence or acronyms, not neutral, no KB word starting with them) turned into one
``NAME`` token. Out-of-scope examples are vectors on the same columns: a question whose
best example's cosine is at least the best phrasing's plus ``negative_margin`` is out of
scope (``Ranking.out_of_scope``; ``search`` then scores every entry 0).

``tail`` phrasings (the KB's news items) are indexed with the entries but weighed by the
entries' IDF and left out of ``rank``: one analysis of a question ranks the entries exactly
as if the tail were not there, and ``rank_all`` then ranks entries and tail together.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse

from bot.matching.analyzer import FUNCTION, GRAM, NAME, WORD, Analyzer
from bot.matching.typos import Corrector
from bot.text.normalize import proper_names

# In very large indexes, features that occur in more than this share of all phrasings are
# left out of the scoring sum (they still count in the query's norm): they add little to
# any score and would dominate the time of a query.
DENSE_SHARE = 0.05
DENSE_MIN_DOCS = 5_000
MIN_NAME_PREFIX = 4
MIN_ROOT = 6
_CHUNK = 20_000  # phrasings normalised at a time while building


@dataclass(frozen=True)
class Params:
    word_weight: float = 0.7  # A
    max_weight: float = 0.4  # B
    fuzzy_weight: float = 0.2  # G
    function_weight: float = 1.0  # F
    margin_weight: float = 0.5  # M
    unknown_penalty: float = 0.0  # P: scores times (share of content known to the index)^P
    name_penalty: float = 1.0  # N: scores times N per name the index does not know
    rerank: int = 12  # candidates that get the fuzzy score
    # Out of scope when the best out-of-scope example's cosine is at least the best
    # phrasing's plus this.
    negative_margin: float = 0.05


@dataclass(frozen=True)
class Scored:
    key: str
    score: float  # 0..1


@dataclass(frozen=True, eq=False)
class Query:
    """One question as the index read it, shared by ``rank`` and ``rank_all``."""
    words: list[str]
    features: list[str]  # distinct
    best: np.ndarray  # per key (docs' and tail's), the best phrasing's cosine
    centroid: np.ndarray  # per key, the cosine with its centroid
    word_cols: frozenset[int] = frozenset()  # the columns of its content words
    fuzzy: dict[int, float] = field(default_factory=dict)  # per key, once computed
    explained: dict[int, frozenset[int]] = field(default_factory=dict)  # likewise


@dataclass(frozen=True)
class Ranking:
    hits: list[Scored]
    out_of_scope: bool = False  # closer to an out-of-scope example than to any phrasing
    positive: float = 0.0  # the best phrasing's cosine
    negative: float = 0.0  # the best out-of-scope example's cosine
    query: Query | None = field(default=None, repr=False, compare=False)


class Index:
    def __init__(self, docs: Sequence[tuple[str, str]], analyzer: Analyzer | None = None,
                 params: Params | None = None, negatives: Sequence[str] = (), *,
                 tail: Sequence[tuple[str, str]] = ()):
        """``docs`` are (key, phrasing) pairs; a key (entry id) may have many phrasings;
        ``negatives`` are out-of-scope examples; ``tail`` are more (key, phrasing) pairs with
        keys of their own, searched only by ``rank_all`` and not counted in the weights."""
        self.analyzer = analyzer or Analyzer()
        self.params = params or Params()
        grouped: dict[str, list[str]] = defaultdict(list)
        for key, text in docs:
            grouped[key].append(text)
        self.n_head = len(grouped)  # the docs' keys come first, then the tail's
        if any(key in grouped for key, _ in tail):
            raise ValueError("the tail's keys must differ from the docs' keys")
        for key, text in tail:
            grouped[key].append(text)
        self.keys: list[str] = list(grouped)
        self._key_index = {k: i for i, k in enumerate(self.keys)}
        self.vocab: dict[str, int] = {}
        self._sorted: list[str] = []
        word_freq: Counter[str] = Counter()
        # Each phrasing's feature columns, one flat array (a phrasing's may repeat: two of
        # its words share an n-gram; _build drops the repeats), and where each one ends.
        cols = array("i")
        ends = array("q")
        owner = array("i")
        word_cols: dict[str, array] = {}  # a word's feature columns, looked up once per word
        vocab, word_features = self.vocab, self.analyzer.word_features
        for k, texts in enumerate(grouped.values()):
            for text in texts:
                words = self.analyzer.words(text)
                word_freq.update(words)
                # token_sort_ratio(q, p) is ratio(sorted tokens of q, sorted tokens of p):
                # the phrasings' side is sorted once here instead of in every comparison.
                self._sorted.append(" ".join(sorted(words)))
                for w in words:
                    ids = word_cols.get(w)
                    if ids is None:
                        ids = word_cols[w] = array("i", [vocab.setdefault(f, len(vocab))
                                                         for f in word_features(w)])
                    cols += ids
                ends.append(len(cols))
                owner.append(k)
        del word_cols, grouped
        self.n_docs = len(self._sorted)
        self.owner = np.frombuffer(owner, dtype=np.int32).copy()
        self.starts = np.searchsorted(self.owner, np.arange(len(self.keys))).astype(np.int64)
        self.ends = np.append(self.starts[1:], self.n_docs).astype(np.int64)
        self.corrector = Corrector(word_freq, word_freq)
        # A name is known when a KB word starts with its form without case ending
        # ("Азербайджана" -> "азербайджан", the start of "азербайджанский").
        self._name_prefixes = {w[:n] for w in word_freq if not w.isdigit()
                               for n in range(MIN_NAME_PREFIX, len(w) + 1)}
        # Stems of the KB's words, for words of other forms of the same root
        # ("стоматологическом" -> "стоматология": the stem "стоматолог" starts it).
        self._by_stem: dict[str, str] = {}
        for w, _ in word_freq.most_common():
            if not w.isdigit():
                self._by_stem.setdefault(self.analyzer.stem(w), w)
        del word_freq
        # Handed over in a list _build empties, so the arrays are freed as soon as it is done
        # with them, not when this frame ends.
        self._build([cols, ends])
        self._build_negatives(negatives)

    # -- building ---------------------------------------------------------------------------
    def _build(self, features: list[array]) -> None:
        """The matrices from each phrasing's feature columns: ``features`` holds the columns
        of all phrasings, one after the other (a phrasing's may repeat), and where each
        phrasing ends. Built from flat arrays in place, temporaries freed as soon as they
        are used: at 10,000 entries the arrays hold ~9 million features."""
        n_keys, n_docs, n_feats = len(self.keys), self.n_docs, len(self.vocab)
        flat, ends = features
        features.clear()
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        indptr[1:] = np.frombuffer(ends, dtype=np.int64)
        # Each phrasing's distinct features, sorted (the counts in ``data`` are not used).
        x = sparse.csr_matrix((np.ones(len(flat), dtype=np.int8),
                               np.frombuffer(flat, dtype=np.int32).copy(), indptr),
                              shape=(n_docs, n_feats))
        del flat, ends
        x.sum_duplicates()
        cols, indptr = x.indices, x.indptr
        # Entry-level document frequency: the distinct features of all an entry's phrasings.
        per_entry = sparse.csr_matrix(
            (np.ones(len(cols), dtype=np.int8), cols.copy(),
             indptr[np.append(self.starts, n_docs)]), shape=(n_keys, n_feats))
        per_entry.sum_duplicates()
        # Counted over the docs' keys only: the tail is weighed as the entries weigh words.
        df = np.bincount(per_entry.indices[:per_entry.indptr[self.n_head]], minlength=n_feats)
        self.in_head = df > 0  # features of the docs (the others only the tail has)
        self.max_idf = math.log(self.n_head + 1) + 1.0
        self.idf = np.log((self.n_head + 1) / (df + 1)) + 1.0
        prefixes = np.empty(n_feats, dtype="U1")
        for f, i in self.vocab.items():
            prefixes[i] = f[0]
        # Each key's word columns (sorted), for what of a question an entry explains.
        is_word = (prefixes == WORD)[per_entry.indices]
        rows = np.repeat(np.arange(n_keys, dtype=np.int32), np.diff(per_entry.indptr))
        self._key_words = per_entry.indices[is_word].astype(np.int32)
        self._key_words_at = np.zeros(n_keys + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[is_word], minlength=n_keys), out=self._key_words_at[1:])
        del per_entry, is_word, rows
        self.is_gram = prefixes == GRAM
        self.factor = np.where(prefixes == FUNCTION, self.params.function_weight, 1.0)
        self.weight = self.idf * self.factor  # a feature's weight in the vectors
        del prefixes
        data = self.weight[cols]
        # Each phrasing's vector, normalised per block (words, grams); a slice of phrasings
        # at a time, so the temporaries stay small.
        share = np.sqrt([self.params.word_weight, 1 - self.params.word_weight])
        for d0 in range(0, n_docs, _CHUNK):
            d1 = min(n_docs, d0 + _CHUNK)
            p0, p1 = int(indptr[d0]), int(indptr[d1])
            rows = np.repeat(np.arange(d1 - d0), np.diff(indptr[d0:d1 + 1]))
            gram = self.is_gram[cols[p0:p1]]
            part = data[p0:p1]
            square = part * part
            norms = np.stack([
                np.bincount(rows, weights=np.where(gram, 0.0, square), minlength=d1 - d0),
                np.bincount(rows, weights=np.where(gram, square, 0.0), minlength=d1 - d0)])
            block = gram.astype(np.intp)
            part[:] = part * share[block] / np.sqrt(np.maximum(norms[block, rows], 1e-12))
            del rows, gram, part, square, norms, block
        x = sparse.csr_matrix((data, cols, indptr), shape=(n_docs, n_feats))
        del data, cols, indptr
        # Feature-major layouts: a query reads only the postings of its own features.
        self._xt = x.T.tocsr()
        del x
        # Entry centroids: the sum of an entry's phrasing vectors, normalised.
        member_t = sparse.csr_matrix((np.ones(n_docs), self.owner, np.arange(n_docs + 1)),
                                     shape=(n_docs, n_keys))
        ct = (self._xt @ member_t).tocsr()
        del member_t
        slices = [slice(p0, p0 + _CHUNK * 20) for p0 in range(0, len(ct.data), _CHUNK * 20)]
        norms = np.zeros(n_keys)
        for part in slices:
            norms += np.bincount(ct.indices[part], weights=ct.data[part] ** 2, minlength=n_keys)
        norms = np.sqrt(norms)
        norms[norms == 0] = 1.0
        scale = 1.0 / norms
        for part in slices:
            ct.data[part] *= scale[ct.indices[part]]
        self._ct = ct
        dense = np.diff(self._xt.indptr) > DENSE_SHARE * n_docs
        self._skip = dense if n_docs > DENSE_MIN_DOCS else np.zeros(n_feats, dtype=bool)

    # -- out-of-scope examples --------------------------------------------------------------
    def _build_negatives(self, negatives: Sequence[str]) -> None:
        """Out-of-scope examples as vectors on the entries' weights and columns (features
        the entries do not have get columns after theirs and weigh as much as the rarest
        word); names the entries do not know become one ``NAME`` token, so "apply to
        Harvard" teaches "apply to <another name>"."""
        self._neg_extra: dict[str, int] = {}
        self.negatives: list[str] = []
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        n_feats = len(self.vocab)
        for text in negatives:
            feats, c, v = self.query_vector(self.query_words(text))
            if not feats:
                continue
            c = c.copy()
            for i in np.flatnonzero(c < 0).tolist():
                c[i] = n_feats + self._neg_extra.setdefault(feats[i], len(self._neg_extra))
            rows.append(np.full(len(c), len(self.negatives)))
            cols.append(c)
            vals.append(v)
            self.negatives.append(text)
        shape = (len(self.negatives), n_feats + len(self._neg_extra))
        if self.negatives:
            m = sparse.csr_matrix((np.concatenate(vals),
                                   (np.concatenate(rows), np.concatenate(cols))), shape=shape)
        else:
            m = sparse.csr_matrix(shape)
        self._nt = m.T.tocsr()

    # -- querying ---------------------------------------------------------------------------
    def query_words(self, text: str) -> list[str]:
        """The question's words as the index reads them: synonyms and neutral phrases
        folded, typos corrected, names the index does not know as one ``NAME`` token."""
        raw = self.analyzer.words(text)
        names = ({w for name in proper_names(text) for w in name.split()}
                 if any(c.isupper() for c in text) else ())
        canonical = self.analyzer.canonical  # synonym-group tokens are not typos
        known = self.corrector.words
        out = []
        for w in raw:
            if w in canonical or w in known or self.analyzer.in_synonyms(w):
                out.append(w)
                continue
            fixed = self.corrector.correct(w)
            if fixed == w:
                fixed = self._same_root(w)
            if (w in names and fixed == w and w not in self.analyzer.synonyms
                    and self.analyzer.name_key(w) not in self._name_prefixes
                    and not self.analyzer.is_neutral(w)):
                out.append(NAME)
            else:
                out.append(fixed)
        return out

    def _same_root(self, word: str) -> str:
        """A KB word whose stem begins the stem of ``word`` (at least ``MIN_ROOT`` letters:
        another form or derivative of the same root), else ``word``."""
        stem = self.analyzer.stem(word)
        for n in range(len(stem), MIN_ROOT - 1, -1):
            hit = self._by_stem.get(stem[:n])
            if hit is not None:
                return hit
        return word

    def query_vector(self, words: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The query's features, their columns (-1: the index has never seen it) and their
        weights, normalised per block (words, grams) over all of them."""
        feats = list(self.analyzer.features(words))
        get = self.vocab.get
        c = np.fromiter((get(f, -1) for f in feats), dtype=np.int64, count=len(feats))
        if not feats:
            return feats, c, np.zeros(0)
        known = c >= 0
        kc = np.where(known, c, 0)
        w = np.where(known, self.weight[kc], self.max_idf)
        gram = np.where(known, self.is_gram[kc], False)
        unknown = np.flatnonzero(~known)
        for i in unknown.tolist():
            kind = feats[i][0]
            gram[i] = kind == GRAM
            if kind == FUNCTION:
                w[i] *= self.params.function_weight
        g = gram.astype(np.int64)
        norm2 = np.bincount(g, weights=w * w, minlength=2)
        share = np.where(gram, 1 - self.params.word_weight, self.params.word_weight)
        return feats, c, w * np.sqrt(share) / np.sqrt(np.maximum(norm2, 1e-12))[g]

    def explained(self, query: Query, key: str) -> frozenset[int]:
        """The query's content words (their word columns) that ``key``'s phrasings have."""
        k = self._key_index.get(key)
        if k is None:
            return frozenset()
        known = query.explained.get(k)
        if known is not None:
            return known
        row = self._key_words[self._key_words_at[k]:self._key_words_at[k + 1]]
        known = query.explained[k] = query.word_cols.intersection(row.tolist())
        return known

    def explained_share(self, query: Query, key: str) -> float:
        """Share (by IDF) of the query's content words that ``key`` explains, a word the
        index has never seen weighing as much as the rarest, numbers left out: "how to
        prepare for the USMLE step 1 in 3 months" shares a word or two with the diploma
        entry, and is about something else."""
        get = self.vocab.get
        return self._idf_share((get(f) for f in query.features
                                if f[0] == WORD and not f[1:].isdigit()),
                               self.explained(query, key))

    def falls_back(self, ranking: Ranking, key: str, min_explained: float) -> bool:
        """The question is not ``key``'s, its best entry: it is closer to an out-of-scope
        example than to any phrasing, or ``key`` explains less than ``min_explained`` of
        it (``matching.min_explained``; 0 = off)."""
        return ranking.out_of_scope or (
            min_explained > 0 and ranking.query is not None
            and self.explained_share(ranking.query, key) < min_explained)

    def _idf_share(self, cols: Iterable[int | None],
                   known: frozenset[int] | None = None) -> float:
        """Share (by IDF) of content words, given by their columns, that are ``known`` (by
        default: every word the index has); a word the index has never seen (None) weighs
        as much as the rarest."""
        total = got = 0.0
        for col in cols:
            weight = self.max_idf if col is None else self.idf[col]
            total += weight
            if col is not None and (known is None or col in known):
                got += weight
        return got / total if total else 1.0

    def unknown_names(self, words: list[str]) -> int:
        """How many names of the question the index has never seen: "Harvard", "МГУ"."""
        return sum(1 for w in words if w == NAME)

    def coverage(self, words: list[str], tail: bool = False) -> float:
        """Share (by IDF) of the query's content words the index knows (the entries', or
        with ``tail`` the tail's too). "How do I apply to Harvard?" is not a question about
        applying here: the unknown word is the subject."""
        def columns() -> Iterator[int | None]:
            for w in set(words):
                feats = self.analyzer.word_features(w)
                if not feats or feats[0][0] == FUNCTION or w.isdigit():
                    continue
                col = self.vocab.get(feats[0])
                yield col if col is not None and (tail or self.in_head[col]) else None

        return self._idf_share(columns())

    @staticmethod
    def _scores(matrix: sparse.csr_matrix, cols: np.ndarray, w: np.ndarray, n: int):
        """sum_f w_f * matrix[f] over the query's features, reading only their postings."""
        starts = matrix.indptr[cols]
        lengths = matrix.indptr[cols + 1] - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(n)
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        pos = shift + np.arange(total)
        return np.bincount(matrix.indices[pos], weights=matrix.data[pos] * np.repeat(w, lengths),
                           minlength=n)

    def _fuzzy(self, words: list[str], entries: list[int]) -> np.ndarray:
        """Per entry, the best token-sort ratio (0..1) of the query against its phrasings:
        one rapidfuzz call over all the candidates' phrasings, then a max per entry."""
        choices: list[str] = []
        offsets: list[int] = []
        for e in entries:
            offsets.append(len(choices))
            choices += self._sorted[self.starts[e]:self.ends[e]]
        if not choices:
            return np.zeros(len(entries))
        query = " ".join(sorted(" ".join(words).split()))
        ratios = process.cdist([query], choices, scorer=fuzz.ratio, dtype=np.float64)[0]
        # Every entry has at least one phrasing (keys come from the docs), so no offset
        # is empty and reduceat takes each entry's own slice.
        return np.maximum.reduceat(ratios, offsets) / 100

    def search(self, text: str, limit: int = 5) -> list[Scored]:
        """The best entries; every score is 0 when the question is out of scope."""
        ranking = self.rank(text, limit)
        if ranking.out_of_scope:
            return [Scored(h.key, 0.0) for h in ranking.hits]
        return ranking.hits

    def rank(self, text: str, limit: int = 5) -> Ranking:
        """The best of the docs' keys (the tail left out), and whether the question is out
        of scope."""
        if not self.n_head:
            return Ranking([])
        words = self.query_words(text)
        feats, all_cols, weights = self.query_vector(words)
        keep = all_cols >= 0
        cols, w = all_cols[keep], weights[keep]
        dense = self._skip[cols]
        if dense.any():
            cols, w = cols[~dense], w[~dense]
        if not len(cols):
            return Ranking([])
        best = np.maximum.reduceat(self._scores(self._xt, cols, w, self.n_docs), self.starts)
        word_cols = frozenset(c for f, c in zip(feats, all_cols.tolist(), strict=True)
                              if c >= 0 and f[0] == WORD)
        query = Query(words, feats, best, self._scores(self._ct, cols, w, len(self.keys)),
                      word_cols)
        head = best[:self.n_head]
        positive = float(head.max())
        hits = self._ranked(query, self.n_head,
                            self.coverage(words) ** self.params.unknown_penalty, limit)
        negative = 0.0
        if self.negatives:
            ncols = all_cols.copy()
            extra = self._neg_extra
            for i in np.flatnonzero(~keep).tolist():
                col = extra.get(feats[i])
                ncols[i] = -1 if col is None else len(self.vocab) + col
            nkeep = ncols >= 0
            negative = float(self._scores(self._nt, ncols[nkeep], weights[nkeep],
                                          len(self.negatives)).max())
        out = negative > 0 and negative >= positive + self.params.negative_margin
        return Ranking(hits, out, positive, negative, query)

    def rank_all(self, ranking: Ranking, limit: int = 5) -> list[Scored]:
        """The best keys of the docs and the tail together, for the question ``rank`` read
        (no second analysis; no out-of-scope test: the tail is what the gate left out)."""
        query = ranking.query
        if query is None:
            return []
        return self._ranked(query, len(self.keys),
                            self.coverage(query.words, tail=True) ** self.params.unknown_penalty,
                            limit)

    def _ranked(self, query: Query, n: int, coverage: float, limit: int) -> list[Scored]:
        """The first ``n`` keys scored: base, the fuzzy score of the best, the penalties and
        the winner's lead."""
        if self.params.name_penalty < 1.0:
            coverage *= self.params.name_penalty ** self.unknown_names(query.words)
        B, G = self.params.max_weight, self.params.fuzzy_weight
        base = B * query.best[:n] + (1 - B) * query.centroid[:n]
        k = min(self.params.rerank, len(base))
        top = np.argpartition(-base, k - 1)[:k] if k < len(base) else np.arange(len(base))
        candidates = [e for e in top.tolist() if base[e] > 0]
        known = query.fuzzy  # rank_all's candidates are mostly rank's
        missing = [e for e in candidates if e not in known]
        if missing:
            fuzzy = self._fuzzy(query.words, missing) if G else np.zeros(len(missing))
            known.update(zip(missing, fuzzy.tolist(), strict=True))
        scored = [Scored(self.keys[e], float(((1 - G) * base[e] + G * known[e]) * coverage))
                  for e in candidates]
        scored.sort(key=lambda s: -s.score)
        if scored:
            lead = scored[0].score - (scored[1].score if len(scored) > 1 else 0.0)
            top_score = min(1.0, scored[0].score + self.params.margin_weight * lead)
            scored[0] = Scored(scored[0].key, top_score)
        return scored[:limit]

def build(docs: Iterable[tuple[str, str]], synonyms=(), params: Params | None = None,
          negatives: Sequence[str] = ()) -> Index:
    return Index(list(docs), Analyzer(synonyms), params, negatives)
