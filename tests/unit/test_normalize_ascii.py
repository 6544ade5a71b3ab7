"""normalize's shortcut for ASCII text gives what the full Unicode path gives: a combining
mark added at the end sends the same text down the full path, and the mark is dropped. And
has_words, which does not normalise text with a Latin or Cyrillic letter or a digit, says what
normalising would."""

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.normalize import has_words, normalize


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_shortcut_matches_the_unicode_path(text):
    assert normalize(text) == normalize(text + "\u0301")


def test_examples():
    assert normalize("Hoooow much is the DORM?!") == "hoow much is the dorm"
    assert normalize("How much is the DORM\u0301?!") == "how much is the dorm"
    assert normalize("ЁЛКИ, déjà vu, MBBS2024") == "елки deja vu mbbs 2024"
    assert normalize(string.punctuation + "A_b") == "a b"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aAb1 _.-\0\t", max_size=40))
def test_shortcut_on_repeats_digits_and_nul(text):
    # Few characters, so letters repeat, touch digits and sit beside NUL and underscores.
    assert normalize(text) == normalize(text + "\u0301")


def test_letters_and_digits_are_split_where_they_meet():
    assert normalize("12th marksheet, MBBS2025") == "12 th marksheet mbbs 2025"
    assert normalize("abc123def 45 6g") == "abc 123 def 45 6 g"
    assert normalize("в 2025году, 1-й курс") == "в 2025 году 1 й курс"
    # Decimal digits of any script are digits; other numerals (Ethiopic ፩) are not.
    assert normalize("٣x ፩1") == "٣ x ፩ 1"


# The rule as a pattern (what normalize did before its faster form): a break wherever a
# decimal digit meets another word character.
_SPLIT = re.compile(r"(?<=\d)(?=[^\W\d])|(?<=[^\W\d])(?=\d)")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab1٣፩ аё2_ -", max_size=40))
def test_digit_split_follows_the_rule(text):
    expected = " ".join(_SPLIT.sub(" ", normalize(text)).split())
    assert normalize(text) == expected


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
       | st.text(alphabet="aZ9 ?!_ЁёжЖ\u0301\u0483\u2122👍", max_size=12))
def test_has_words_is_whether_anything_is_left_after_normalising(text):
    assert has_words(text) == bool(normalize(text))


def test_has_words_examples():
    assert has_words("fees?") and has_words("Ёлки") and has_words("2025")
    assert not has_words("?!  ...") and not has_words("👍👍") and not has_words("___")
    assert not has_words("\u0483\u0301")  # combining marks alone: nothing left
    assert has_words("™")  # not a letter itself, but NFKC makes it "tm"
