"""Text normalisation and language detection shared by the index and the queries."""

from __future__ import annotations

import re
import unicodedata

_REPEATS = re.compile(r"([^\W\d_])\1{2,}")  # letters only: "1000" stays
_NON_WORD = re.compile(r"[^\w]+")
_CYRILLIC = re.compile(r"[а-яё]")
_LATIN = re.compile(r"[a-z]")
# ASCII text's shortcuts: the same result as the patterns above, a plain scan first.
_ASCII_REPEAT = re.compile(r"([a-z])\1\1")
#: Non-alphanumeric ASCII to a space, as a byte table (bytes.translate is several times
#: faster than str.translate with a dict).
_ASCII_NON_WORD = bytes(c if chr(c).isalnum() else 32 for c in range(256))
# Letters glued to digits ("12th" -> "12 th"): the runs of digits and of other word
# characters (words here hold nothing else).
_RUNS = re.compile(r"\d+|[^\d ]+")
_GLUED = re.compile(r"\d[^\d ]|[^\d ]\d")


def normalize(text: str) -> str:
    """Case, Unicode form, ё/е, punctuation, underscores and letters repeated 3+ times.

    "Hoooow much is the ДОРМ, ёлки?!" -> "hoow much is the дорм елки"
    """
    if text.isascii():
        # NFKC, casefold and NFKD change nothing in ASCII text but its case (the KB's English
        # phrasings: 10,000 entries are read twice as fast), and the patterns run only where
        # a scan finds something for them to do (about three times faster again).
        text = text.lower()
        if "\0" not in text:
            if _ASCII_REPEAT.search(text):
                text = _REPEATS.sub(r"\1\1", text)
            text = text.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii")
            return _join_runs(text.split())
        text = text.replace("\0", "й")
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = text.replace("ё", "е")
        # Drop combining marks (accents) but keep й, which NFKD splits.
        text = unicodedata.normalize("NFKD", text.replace("й", "\0"))
        if any(map(unicodedata.combining, text)):
            text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.replace("\0", "й")
    return _clean(text)


def _clean(text: str) -> str:
    """Repeated letters, punctuation and underscores, letters glued to digits."""
    text = _REPEATS.sub(r"\1\1", text)
    return _join_runs(_NON_WORD.sub(" ", text.replace("_", " ")).split())


def _join_runs(words: list[str]) -> str:
    """The words joined by single spaces, each split where letters meet digits."""
    joined = " ".join(words)
    if joined.replace(" ", "").isalpha() or not _GLUED.search(joined):  # most text
        return joined
    return " ".join(_RUNS.findall(joined))


#: A Latin or Cyrillic letter or an ASCII digit: normalize keeps at least that much of it.
_SURE_WORD = re.compile(r"[0-9A-Za-zА-яЁё]")


def has_words(text: str) -> bool:
    """``normalize(text) != ""`` ("?!", "👍" have none), read without normalising the text
    when it has a Latin or Cyrillic letter or a digit (what nearly every question has)."""
    return _SURE_WORD.search(text) is not None or bool(normalize(text))


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def detect_language(text: str, hint: str | None = None, default: str = "en") -> str:
    """Script decides; with no letters of either script the user's language hint does."""
    lowered = text.casefold()
    cyr = len(_CYRILLIC.findall(lowered))
    lat = len(_LATIN.findall(lowered))
    if cyr or lat:
        return "ru" if cyr >= lat else "en"
    if hint:
        hint = hint.lower().split("-")[0]
        if hint in ("ru", "be", "uk", "kk"):
            return "ru"
        if hint == "en":
            return "en"
    return default


_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_SENTENCE_END = re.compile(r"[.!?…]\s*$")


def proper_names(text: str) -> list[str]:
    """Normalised words written as names: capitalised inside a sentence ("apply to
    Harvard"), or acronyms anywhere ("МГУ"). Sentence-initial capitals are not names."""
    out = []
    for m in _WORD.finditer(text):
        word = m.group()
        letters = [c for c in word if c.isalpha()]
        if len(letters) >= 2 and all(c.isupper() for c in letters):
            out.append(normalize(word))
        elif word[0].isupper():
            before = text[:m.start()].rstrip()
            if before and not _SENTENCE_END.search(before):
                out.append(normalize(word))
    return out


def clip(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` characters with an ellipsis (names in messages: Telegram's
    own limit is 64, so anything longer did not come from a real account)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
