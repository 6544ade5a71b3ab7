"""normalize's shortcut for ASCII text gives what the full Unicode path gives: a combining
mark added at the end sends the same text down the full path, and the mark is dropped."""

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.normalize import normalize


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
