"""Property: any text a user (or the KB) can put into a message gives valid Telegram HTML.

Whatever the Unicode and whatever the length, a message built from user or KB text is never
``{???}`` (Fluent's answer to a placeable over 2,500 characters), keeps the value whole, and
splits into parts Telegram accepts: balanced supported tags, no bare ``<`` or ``&``, at most
4,096 characters each.
"""

from __future__ import annotations

from html import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.i18n import LANGUAGES, Translator
from bot.text import tghtml
from bot.text.normalize import clip
from bot.text.split import split_message

TRANSLATOR = Translator()

# Every message with a placeable that carries user or KB text, and how the code fills it.
BUILDERS = {
    "handoff-confirm": lambda v: {"question": escape(v)},
    "staff-handoff-header": lambda v: {
        "name": f'<a href="tg://user?id=1">{escape(clip(v, 64))}</a>', "user_id": 1,
        "lang": "en", "question": escape(v), "guess": "none"},
    "staff-followup": lambda v: {"name": escape(clip(v, 64)), "user_id": 1},
    "welcome": lambda v: {"name": escape(clip(v, 64))},
    "staff-unanswered-group": lambda v: {"count": 3, "example": escape(v), "lang": "ru",
                                         "closest": "none"},
    "staff-reload-failed": lambda v: {"count": 50, "errors": escape(v)},
    "staff-reload-ok": lambda v: {"changes": escape(v)},
    "staff-not-delivered": lambda v: {"error": escape(v)},
}

# Any code point but surrogates (a Python str from Telegram's UTF-8 has none), any length
# up to well past Telegram's own limit, with HTML-like text on purpose.
values = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=6000),
    st.builds(lambda s, n: (s or "x") * n,
              st.text(st.sampled_from("<>&;\"' abcéя😀\n"), max_size=12),
              st.integers(1, 1200)),
)


def squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", sorted(BUILDERS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
def test_any_value_gives_valid_messages(key: str, lang: str, value: str) -> None:
    args = BUILDERS[key](value)
    text = TRANSLATOR.get(lang, key, **args)
    assert "{???}" not in text
    parts = split_message(text)
    assert parts
    for part in parts:
        assert tghtml.problems(part) == [], (key, part[:200])
        assert tghtml.visible_length(part) <= tghtml.MAX_MESSAGE
    shown = squash("".join(tghtml.plain_text(p) for p in parts))
    for name, filled in args.items():
        if isinstance(filled, str):
            assert squash(tghtml.plain_text(filled)) in shown, (key, name)
