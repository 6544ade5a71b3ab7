"""Text -> features: stemmed content words (synonyms folded), function words, and character
n-grams of the content words. The same analyzer builds the index and reads queries, so
both sides agree; per-word results are cached because words repeat far more than texts."""

from __future__ import annotations

from collections.abc import Iterable

import Stemmer

from bot.matching import stopwords
from bot.text.normalize import normalize

CHAR_N = (3, 4, 5)
WORD, FUNCTION, GRAM = "w", "f", "c"  # feature-key prefixes
_CACHE_LIMIT = 300_000


def is_cyrillic(word: str) -> bool:
    return any("а" <= ch <= "я" for ch in word)


def char_grams(word: str) -> list[str]:
    padded = f" {word} "
    out = []
    for n in CHAR_N:
        out.extend(padded[i:i + n] for i in range(max(1, len(padded) - n + 1)))
    return out


class Analyzer:
    def __init__(self, synonym_groups: Iterable[Iterable[str]] = (),
                 neutral: Iterable[str] = ()):
        self._en = Stemmer.Stemmer("english")
        self._ru = Stemmer.Stemmer("russian")
        # Words that say nothing about the topic ("I am from Nigeria"): no features at all.
        self.neutral = frozenset(self.stem(normalize(w)) for w in neutral if normalize(w))
        self._features: dict[str, tuple[str, ...]] = {}
        # Phrase (normalised) -> canonical token; longest phrases are replaced first.
        self.synonyms: dict[str, str] = {}
        for i, group in enumerate(synonym_groups):
            canonical = f"syn{i}"
            for phrase in group:
                key = normalize(phrase)
                if key:
                    self.synonyms.setdefault(key, canonical)
        self.canonical = set(self.synonyms.values())
        self._multi = sorted((p for p in self.synonyms if " " in p), key=len, reverse=True)
        # Single words also fold by stem, so "hostels" joins the group of "hostel".
        self._stem_synonyms = {self.stem(p): c for p, c in self.synonyms.items() if " " not in p}

    def stem(self, word: str) -> str:
        if word.isdigit():
            return word
        return (self._ru if is_cyrillic(word) else self._en).stemWord(word)

    def words(self, text: str) -> list[str]:
        """Normalised words of ``text``, multi-word synonyms folded to their group token."""
        norm = normalize(text)
        if self._multi and " " in norm:
            padded = f" {norm} "
            for phrase in self._multi:
                if f" {phrase} " in padded:
                    padded = padded.replace(f" {phrase} ", f" {self.synonyms[phrase]} ")
            norm = padded.strip()
        return norm.split()

    def word_features(self, word: str) -> tuple[str, ...]:
        """Feature keys of one word: its (synonym-folded) stem, then its character n-grams.
        Function words ("my", "you", "где") stay, as their own low-weight kind: "what is
        my name" and "what is your name" differ only in them."""
        feats = self._features.get(word)
        if feats is None:
            if word in stopwords.ALL:
                feats = (FUNCTION + word,)
            elif self.neutral and self.stem(word) in self.neutral:
                feats = ()
            elif word in self.canonical:
                feats = (WORD + word,)
            else:
                stem = self.stem(word)
                canonical = self.synonyms.get(word) or self._stem_synonyms.get(stem) or stem
                feats = (WORD + canonical, *(GRAM + g for g in char_grams(word)))
            if len(self._features) < _CACHE_LIMIT:
                self._features[word] = feats
        return feats

    def is_neutral(self, word: str) -> bool:
        return word in stopwords.ALL or self.word_features(word) == ()

    def features(self, words: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for w in words:
            out.update(self.word_features(w))
        return out
