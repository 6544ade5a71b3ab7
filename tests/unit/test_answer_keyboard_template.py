"""An answer's keyboard made from its template (bot/ui/keyboards.py) is the keyboard built in
full: the same buttons, the same request body, the same limits, a new template when the KB
or the labels change."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage

from bot.i18n import LANGUAGES, Translator
from bot.knowledge import load_knowledge
from bot.telegram.session import JsonSession
from bot.ui import callbacks, keyboards
from tests.support.kb import BIG_ID, ROOT


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")[0]


def _full(entry, kb, lang, t, category, q):
    return keyboards._build_answer_keyboard(entry, kb, lang, t, category, q)


def test_every_entry_every_language_and_question_as_built_in_full(kb) -> None:
    bot = Bot("123:abc", session=JsonSession())
    tr = Translator()
    for lang in LANGUAGES:
        t = tr.for_lang(lang)
        for entry in kb.entries.values():
            for category in ("", entry.category):
                for q in (0, 1, 7, 10, 123456, BIG_ID):
                    made = keyboards.answer_keyboard(entry, kb, lang, t, category=category,
                                                     question_id=q)
                    full = _full(entry, kb, lang, t, category, q)
                    assert made == full, (entry.id, lang, category, q)
                    body = [bot.session.json_body(bot, SendMessage(chat_id=1, text="x",
                                                                   reply_markup=m))
                            for m in (made, full)]
                    assert body[0] == body[1]


def test_question_id_in_the_buttons_that_carry_it(kb) -> None:
    t = Translator().for_lang("en")
    entry = kb.entries["accommodation.dormitory"]
    first = keyboards.answer_keyboard(entry, kb, "en", t, question_id=41)
    second = keyboards.answer_keyboard(entry, kb, "en", t, question_id=42)
    data = [b.callback_data for row in second.inline_keyboard for b in row if b.callback_data]
    assert callbacks.Vote(entry=entry.id, up=True, q=42).pack() in data
    assert callbacks.Vote(entry=entry.id, up=False, q=42).pack() in data
    assert callbacks.Ask(q=42).pack() in data
    assert not any(d.endswith(":41") for d in data)
    # the earlier keyboard is not changed by the later one
    assert callbacks.Ask(q=41).pack() in [b.callback_data for row in first.inline_keyboard
                                         for b in row]


def test_callback_over_telegrams_limit_fails_as_pack_does(kb) -> None:
    t = Translator().for_lang("en")
    base = kb.entries["accommodation.dormitory"]
    # 1 fits in 64 bytes, BIG_ID does not
    long_id = "x" * (64 - len(callbacks.Vote(entry="", up=True, q=1).pack()))
    entry = base.model_copy(update={"id": long_id})
    assert keyboards.answer_keyboard(entry, kb, "en", t, question_id=1)
    with pytest.raises(ValueError):
        callbacks.Vote(entry=long_id, up=True, q=BIG_ID).pack()
    with pytest.raises(ValueError, match="too long"):
        keyboards.answer_keyboard(entry, kb, "en", t, question_id=BIG_ID)


def test_new_labels_or_a_reloaded_kb_make_a_new_template(kb) -> None:
    tr = Translator()
    t = tr.for_lang("en")
    entry = kb.entries["accommodation.dormitory"]
    keyboards.answer_keyboard(entry, kb, "en", t, question_id=3)

    def relabelled(key, **kw):
        return "UP!" if key == "btn-vote-up" else t(key, **kw)

    texts = [b.text for row in keyboards.answer_keyboard(entry, kb, "en", relabelled,
                                                          question_id=3).inline_keyboard
             for b in row]
    assert "UP!" in texts

    reloaded = load_knowledge(ROOT / "knowledge")[0]
    changed = reloaded.entries[entry.id].model_copy(update={"related": []})
    reloaded.entries[entry.id] = changed
    data = [b.callback_data for row in keyboards.answer_keyboard(
        changed, reloaded, "en", t, question_id=3).inline_keyboard for b in row]
    assert not any(d and d.startswith("s1:") for d in data)
    assert any(d and d.startswith("s1:") for row in keyboards.answer_keyboard(
        entry, kb, "en", t, question_id=3).inline_keyboard for b in row
        for d in [b.callback_data]) == bool(entry.related)
