"""Text -> weighted features: stemmed content words (synonyms folded) and character
n-grams. The same analyzer builds the index and reads queries, so both sides agree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import Stemmer

from bot.matching import stopwords
from bot.matching.normalize import normalize

CHAR_N = (3, 4, 5)


@dataclass(frozen=True)
class Analysis:
    words: tuple[str, ...]  # normalised content words (after synonym folding)
    stems: tuple[str, ...]  # their stems (a synonym group becomes one token)
    grams: tuple[str, ...]  # character n-grams of the content words

    @property
    def content(self) -> str:
        return " ".join(self.words)


def is_cyrillic(word: str) -> bool:
    return any("а" <= ch <= "я" for ch in word)


def char_grams(word: str) -> list[str]:
    padded = f" {word} "
    out = []
    for n in CHAR_N:
        out.extend(padded[i:i + n] for i in range(max(1, len(padded) - n + 1)))
    return out


class Analyzer:
    def __init__(self, synonym_groups: Iterable[Iterable[str]] = ()):
        self._en = Stemmer.Stemmer("english")
        self._ru = Stemmer.Stemmer("russian")
        self._stem_cache: dict[str, str] = {}
        # Phrase (normalised) -> canonical token; longest phrases are replaced first.
        self.synonyms: dict[str, str] = {}
        for i, group in enumerate(synonym_groups):
            canonical = f"syn{i}"
            for phrase in group:
                key = normalize(phrase)
                if key:
                    self.synonyms.setdefault(key, canonical)
        self._multi = sorted((p for p in self.synonyms if " " in p), key=len, reverse=True)
        # Single words also fold by stem, so "hostels" joins the group of "hostel".
        self._stem_synonyms = {self.stem(p): c for p, c in self.synonyms.items() if " " not in p}

    def stem(self, word: str) -> str:
        stem = self._stem_cache.get(word)
        if stem is None:
            if (word.startswith("syn") and word[3:].isdigit()) or word.isdigit():
                stem = word
            else:
                stemmer = self._ru if is_cyrillic(word) else self._en
                stem = stemmer.stemWord(word)
            if len(self._stem_cache) < 200_000:
                self._stem_cache[word] = stem
        return stem

    def words(self, text: str) -> list[str]:
        """Normalised content words of ``text``, synonyms folded to their group token."""
        norm = normalize(text)
        if self._multi and " " in norm:
            padded = f" {norm} "
            for phrase in self._multi:
                if f" {phrase} " in padded:
                    padded = padded.replace(f" {phrase} ", f" {self.synonyms[phrase]} ")
            norm = padded.strip()
        out = []
        for w in norm.split():
            if w in stopwords.ALL:
                continue
            out.append(w)
        return out

    def analyse_words(self, words: list[str]) -> Analysis:
        stems = []
        grams: list[str] = []
        for w in words:
            stem = self.stem(w)
            stems.append(self.synonyms.get(w) or self._stem_synonyms.get(stem) or stem)
            if not w.startswith("syn") or not w[3:].isdigit():
                grams.extend(char_grams(w))
        return Analysis(tuple(words), tuple(stems), tuple(grams))

    def analyse(self, text: str) -> Analysis:
        return self.analyse_words(self.words(text))
