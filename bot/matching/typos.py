"""Typo correction against the index's own words, by symmetric deletes (the SymSpell idea):
two words within one edit (substitution, insertion, deletion or swap of neighbours) share
a one-letter deletion. Long words also get a second edit through rapidfuzz."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

MIN_LEN = 4  # shorter words are too ambiguous to correct
LONG = 8  # from this length two edits are allowed
SHORT = 5  # below this length only substitutions and swaps are corrected
_DOUBLE = re.compile(r"(\w)\1")


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Corrector:
    def __init__(self, words: Iterable[str], frequency: dict[str, int] | None = None):
        self.words = set(words)
        self.freq = frequency or {}
        self._deleted: dict[str, list[str]] = defaultdict(list)
        self._long: dict[tuple[str, int], list[str]] = defaultdict(list)
        for w in self.words:
            if len(w) < MIN_LEN - 1 or w.isdigit():
                continue
            self._deleted[w].append(w)
            for d in _deletes(w):
                self._deleted[d].append(w)
            if len(w) >= LONG - 2:
                self._long[(w[0], len(w))].append(w)
        self._cache: dict[str, str] = {}

    def correct(self, word: str) -> str:
        if word in self.words or len(word) < MIN_LEN or word.isdigit():
            return word
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        # Letters typed twice for emphasis ("heyy", "pleease" after normalisation).
        squeezed = _DOUBLE.sub(r"\1", word)
        if squeezed != word and squeezed in self.words:
            return squeezed
        candidates: set[str] = set(self._deleted.get(word, ()))
        for d in _deletes(word):
            candidates.update(self._deleted.get(d, ()))
        best = word
        if len(word) < SHORT:
            # A short word one letter longer or shorter than a KB word is as likely another
            # word ("cold" is not "old"): short words are corrected letter for letter only.
            candidates = {c for c in candidates if len(c) == len(word)}
        if candidates:
            scored = [(OSA.distance(word, c), -self.freq.get(c, 0), c) for c in candidates]
            dist, _, cand = min(scored)
            if dist <= 1:
                best = cand
        if best == word and len(word) >= LONG:
            pool = [w for n in range(len(word) - 2, len(word) + 3)
                    for w in self._long.get((word[0], n), ())]
            found = process.extract(word, pool, scorer=OSA.distance, score_cutoff=2,
                                    limit=None)
            if found:
                # Ties broken as above (frequency, then the word), never by the pool's
                # order: that follows set iteration, which differs from process to process,
                # and instances would answer the same question differently.
                best = min((d, -self.freq.get(w, 0), w) for w, d, _ in found)[2]
        if len(self._cache) < 50_000:
            self._cache[word] = best
        return best
