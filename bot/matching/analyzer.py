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
NEUTRAL = "neutral0"  # the token a multi-word neutral phrase ("sri lanka") folds into
NAME = "name0"  # the token of a name the KB does not know ("Harvard"), see Index
_RU_ENDINGS = "аяеиоуыйью"


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
        self._stems: dict[str, str] = {}
        self._features: dict[str, tuple[str, ...]] = {}
        # Phrase (normalised) -> canonical token.
        self.synonyms: dict[str, str] = {}
        for i, group in enumerate(synonym_groups):
            canonical = f"syn{i}"
            for phrase in group:
                key = normalize(phrase)
                if key:
                    self.synonyms.setdefault(key, canonical)
        self.canonical = set(self.synonyms.values()) | {NEUTRAL, NAME}
        # Single words also fold by stem, so "hostels" joins the group of "hostel".
        self._stem_synonyms = {self.stem(p): c for p, c in self.synonyms.items() if " " not in p}
        # Words that say nothing about the topic ("I am from Nigeria"): no features at all.
        # Matched by stem and by name key, so inflected names count ("из Китая").
        phrases = [normalize(w) for w in neutral]
        self.neutral = frozenset(k for p in phrases if p and " " not in p
                                 for k in (self.stem(p), self.name_key(p)))
        # Multi-word phrases, matched word by word on stems (synonyms: "residence halls") or
        # name keys (neutral: "Шри-Ланки"), longest first: first key -> [(keys, token)].
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        multi = [(tuple(self.stem(w) for w in p.split()), c)
                 for p, c in self.synonyms.items() if " " in p]
        multi += [(tuple(self.name_key(w) for w in p.split()), NEUTRAL)
                  for p in phrases if " " in p]
        for keys, token in sorted(multi, key=lambda m: -len(m[0])):
            self._phrases.setdefault(keys[0], []).append((keys, token))

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = word if word.isdigit() else (
                self._ru if is_cyrillic(word) else self._en).stemWord(word)
            if len(self._stems) < _CACHE_LIMIT:
                self._stems[word] = stem
        return stem

    def cached_stem(self, word: str) -> str:
        """``stem`` without a call for the words already seen (every word of the KB)."""
        stem = self._stems.get(word)
        return stem if stem is not None else self.stem(word)

    def name_key(self, word: str) -> str:
        """A name's form without its case ending: Russian names decline in ways the stemmer
        does not fold ("Китай", "Китая" -> "кит"); other words go by their stem."""
        if is_cyrillic(word):
            bare = word.rstrip(_RU_ENDINGS)
            return bare if len(bare) >= 3 else word
        return self.cached_stem(word)

    def words(self, text: str) -> list[str]:
        """Normalised words of ``text``, multi-word synonyms folded to their group token and
        multi-word neutral phrases to ``NEUTRAL``."""
        words = normalize(text).split()
        if not self._phrases or len(words) < 2:
            return words
        out: list[str] = []
        i, n = 0, len(words)
        while i < n:
            w = words[i]
            for key in (self.cached_stem(w), self.name_key(w)):
                found = None
                for keys, token in self._phrases.get(key, ()):
                    m = len(keys)
                    if i + m <= n and all(
                            (self.name_key(words[i + j]) if token == NEUTRAL
                             else self.cached_stem(words[i + j])) == keys[j]
                            for j in range(m)):
                        found = (m, token)
                        break
                if found:
                    break
            if found:
                out.append(found[1])
                i += found[0]
            else:
                out.append(w)
                i += 1
        return out

    def word_features(self, word: str) -> tuple[str, ...]:
        """Feature keys of one word: its (synonym-folded) stem, then its character n-grams.
        Function words ("my", "you", "где") stay, as their own low-weight kind: "what is
        my name" and "what is your name" differ only in them."""
        feats = self._features.get(word)
        if feats is None:
            if word in stopwords.ALL:
                feats = (FUNCTION + word,)
            elif word == NEUTRAL or (self.neutral and (
                    self.stem(word) in self.neutral or self.name_key(word) in self.neutral)):
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

    def in_synonyms(self, word: str) -> bool:
        """``word`` (or another form of it) is in a synonym group: a word of the KB's
        vocabulary, never a typo ("docs" is not "does")."""
        return word in self.synonyms or self.cached_stem(word) in self._stem_synonyms

    def is_neutral(self, word: str) -> bool:
        return word in stopwords.ALL or self.word_features(word) == ()

    def features(self, words: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for w in words:
            out.update(self.word_features(w))
        return out
