"""Russian typed in Latin letters ("skolko stoit obuchenie"), as on a phone without a
Cyrillic keyboard, back to Cyrillic ("сколко стоит обучение"). Informal transliteration has
no standard (ya/ja, kh/h, y for ы and й), so this is a small table of the common spellings,
longest first; what it gets slightly wrong (a missing soft sign) the typo correction of the
index fixes. Whether a question *is* transliterated Russian is decided by the engine: by
which reading has more words the knowledge base knows (``AnswerEngine``).

A maintained library was considered: cyrtranslit (MIT) reads its own strict scheme back
("yazyk" -> "язик", "shch" -> "шч"), not the informal spellings people type.
"""

from __future__ import annotations

import re

_VOWELS = "aeiouy"
# Longest spellings first; each maps to its Cyrillic letters.
_TABLE = sorted({
    "tsya": "тся", "tsja": "тся", "shch": "щ", "sch": "щ", "cz": "ц", "sh": "ш", "ch": "ч",
    "zh": "ж", "kh": "х", "ts": "ц",
    "tz": "ц", "ya": "я", "ja": "я", "yu": "ю", "ju": "ю", "iu": "ю", "yo": "е", "jo": "е",
    "ye": "е", "je": "е", "ia": "я",
    "a": "а", "b": "б", "v": "в", "w": "в", "g": "г", "d": "д", "e": "е", "z": "з",
    "i": "и", "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п",
    "r": "р", "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "c": "ц", "q": "к",
    "x": "кс", "y": "ы", "'": "ь", "’": "ь", "`": "ь",
}.items(), key=lambda kv: -len(kv[0]))
_PATTERN = re.compile("|".join(re.escape(k) for k, _ in _TABLE))
_MAP = dict(_TABLE)
_LATIN_WORD = re.compile(r"[a-z'’`]+")


# Words whose usual spelling drops a letter the table cannot restore.
_WORDS = {"est": "есть", "net": "нет", "mne": "мне", "vse": "все"}


def _word(word: str) -> str:
    if word in _WORDS:
        return _WORDS[word]
    # "y" after a vowel is й (moy, kakoy, novyy -> новый), elsewhere ы ("vy", "yazyk");
    # "ii"/"iy" at the end is ий ("kakii").
    word = re.sub(rf"(?<=[{_VOWELS}])y(?![{_VOWELS}])", "j", word)
    word = re.sub(r"(?<=i)i$", "j", word)
    return _PATTERN.sub(lambda m: _MAP[m.group()], word)


def to_cyrillic(text: str) -> str:
    """Every Latin word of ``text`` (lower-cased) in Cyrillic; other characters stay."""
    return _LATIN_WORD.sub(lambda m: _word(m.group()), text.casefold())
