"""Pure units: message splitting, flood protection, translations, keyboards and callback data."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from fluent.syntax import FluentParser, ast, visitor
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import LANGUAGES, LOCALES, Translator, language_of
from bot.knowledge import load_knowledge
from bot.telegram.flood import FloodGuard, Verdict
from bot.telegram.middlewares import InFlight
from bot.text.split import split_message
from bot.text.tghtml import MAX_MESSAGE, plain_text, problems, visible_length
from bot.ui import callbacks, keyboards
from tests.support.kb import BIG_ID, ROOT


def words(text: str) -> str:
    """The visible text without whitespace: what splitting must preserve."""
    return "".join(plain_text(text).split())


def check_parts(text: str, parts: list[str], limit: int) -> None:
    assert parts, "nothing to send"
    for part in parts:
        assert part.strip(), "an empty part"
        assert not problems(part), (part, problems(part))
        assert visible_length(part) <= limit, (visible_length(part), part)
    assert "".join(words(p) for p in parts) == words(text)


# --- split_message ----------------------------------------------------------------------------


def test_short_text_is_one_part() -> None:
    assert split_message("  <b>Hello</b>, world  ") == ["<b>Hello</b>, world"]
    assert split_message("") == []
    exact = "x" * MAX_MESSAGE
    assert split_message(exact) == [exact]


def test_split_at_paragraph_boundaries() -> None:
    paragraphs = [f"<b>Section {i}</b>\n" + " ".join(["lorem"] * 250) for i in range(6)]
    text = "\n\n".join(paragraphs)  # ~1500 characters a paragraph
    parts = split_message(text)
    check_parts(text, parts, MAX_MESSAGE)
    # Whole paragraphs, as many as fit: 2 + 2 + 2.
    assert parts == ["\n\n".join(paragraphs[i:i + 2]) for i in (0, 2, 4)]


def test_prefers_paragraphs_to_lines_to_spaces() -> None:
    para = "\n".join([" ".join(["line"] * 10)] * 3)  # 3 lines of 49 characters
    text = f"{para}\n\n{para}"
    assert split_message(text, limit=len(para) + 5) == [para, para]
    lines = split_message(para, limit=110)
    assert lines == ["\n".join(para.split("\n")[:2]), para.split("\n")[2]]
    assert split_message("aaa bbb ccc", limit=8) == ["aaa bbb", "ccc"]


def test_never_cuts_inside_a_tag() -> None:
    # The only paragraph break inside the limit is inside <i>: cut at a line or space
    # outside it instead.
    inner = "\n\n".join(["word " * 20] * 3)
    text = f"start {'x' * 50}\n<i>{inner}</i> tail"
    parts = split_message(text, limit=200)
    check_parts(text, parts, 200)
    link = '<a href="https://www.bsmu.by/very/long/path?q=1&amp;r=2">the site</a>'
    text = " ".join([link] * 40)
    parts = split_message(text, limit=100)
    check_parts(text, parts, 100)
    assert all(p.count("<a ") == p.count("</a>") for p in parts)


def test_hard_cut_closes_and_reopens_tags() -> None:
    text = "<b><i>" + "x" * 5000 + "</i></b>"
    parts = split_message(text)
    check_parts(text, parts, MAX_MESSAGE)
    assert parts[0] == "<b><i>" + "x" * MAX_MESSAGE + "</i></b>"
    assert parts[1] == "<b><i>" + "x" * (5000 - MAX_MESSAGE) + "</i></b>"


def test_hard_cut_keeps_entities_whole() -> None:
    text = "&amp;" * 5000
    parts = split_message(text)
    check_parts(text, parts, MAX_MESSAGE)
    assert [visible_length(p) for p in parts] == [MAX_MESSAGE, 5000 - MAX_MESSAGE]


def test_astral_characters_count_twice() -> None:
    text = "😀" * 3000  # 6000 UTF-16 code units, as Telegram counts
    parts = split_message(text)
    check_parts(text, parts, MAX_MESSAGE)
    assert [len(p) for p in parts] == [2048, 952]
    text = "&#128512;" * 3000  # the same as entities
    parts = split_message(text)
    check_parts(text, parts, MAX_MESSAGE)
    assert [p.count("&") for p in parts] == [2048, 952]


def test_a_character_wider_than_the_limit_does_not_hang() -> None:
    assert split_message("<b>😀😀</b>", limit=1) == ["<b>😀</b>", "<b>😀</b>"]


def test_no_part_without_visible_text() -> None:
    text = "x" * MAX_MESSAGE + "\n\n<b> </b>"
    assert split_message(text) == ["x" * MAX_MESSAGE]
    assert split_message("<b> </b>") == []


TOKENS = st.sampled_from(["word", "longerword", "x", "&amp;", "&lt;", "&#128512;", "😀", "é",
                          " ", " ", "\n", "\n\n", "1234567890"])


@st.composite
def html_texts(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        if depth < 2 and draw(st.integers(0, 5)) == 0:
            tag = draw(st.sampled_from(["b", "i", "code", "a"]))
            opening = '<a href="https://bsmu.by/?a=1&amp;b=2">' if tag == "a" else f"<{tag}>"
            pieces.append(f"{opening}{draw(html_texts(depth + 1))}</{tag}>")
        else:
            pieces.append(draw(TOKENS) * draw(st.integers(1, 8)))
    return "".join(pieces)


@settings(max_examples=300, deadline=None)
@given(text=html_texts(), limit=st.integers(12, 120))
def test_split_properties(text: str, limit: int) -> None:
    assert not problems(text)
    parts = split_message(text, limit=limit)
    if not plain_text(text).strip():
        assert parts == []
        return
    check_parts(text, parts, limit)


# --- FloodGuard -------------------------------------------------------------------------------


def test_flood_limit_warns_once_then_drops() -> None:
    guard = FloodGuard(3, 10)
    assert [guard.check(1, t) for t in (0, 1, 2)] == [Verdict.OK] * 3
    assert guard.check(1, 3) is Verdict.WARN
    assert guard.check(1, 4) is Verdict.DROP
    assert guard.check(1, 5) is Verdict.DROP
    assert guard.check(2, 5) is Verdict.OK  # per user


def test_flood_window_slides_and_recovers() -> None:
    guard = FloodGuard(3, 10)
    for t in (0, 4, 8):
        assert guard.check(1, t) is Verdict.OK
    assert guard.check(1, 9.9) is Verdict.WARN
    assert guard.check(1, 10) is Verdict.OK  # the hit at 0 left the window
    assert guard.check(1, 11) is Verdict.WARN  # 4, 8, 10 still in it: warned again
    assert guard.check(1, 13.9) is Verdict.DROP
    assert guard.check(1, 14) is Verdict.OK  # dropped messages do not count
    assert guard.check(1, 100) is Verdict.OK


def test_flood_prunes_idle_users() -> None:
    guard = FloodGuard(2, 10, max_users=3)
    guard.check(1, 0)
    guard.check(2, 0)
    guard.check(3, 15)
    guard.check(3, 15)
    guard.check(3, 15)  # warned
    assert set(guard._hits) == {1, 2, 3}
    guard.check(4, 20)  # full: users idle for a window are forgotten
    assert set(guard._hits) == {3, 4}
    assert guard.check(3, 20) is Verdict.DROP  # active users keep their state
    guard.check(5, 30)
    assert set(guard._hits) == {3, 4, 5}  # not full before 5 came
    guard.check(6, 39)
    assert set(guard._hits) == {5, 6}  # 3 and 4 idle for a window, 5 not yet


# --- translations -----------------------------------------------------------------------------


def ftl_files(lang: str) -> dict[str, Path]:
    """Each language's files by their name relative to its own root."""
    files = {"main": LOCALES / f"{lang}.ftl"}
    files.update({p.name: p for p in sorted((LOCALES / lang).glob("*.ftl"))})
    return files


def parse(path: Path) -> ast.Resource:
    return FluentParser().parse(path.read_text(encoding="utf-8"))


class _Variables(visitor.Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.names.add(node.id.name)
        self.generic_visit(node)


def messages(path: Path) -> dict[str, set[str]]:
    """Message id -> the variables it uses."""
    out = {}
    for entry in parse(path).body:
        if isinstance(entry, ast.Message):
            v = _Variables()
            v.visit(entry)
            out[entry.id.name] = v.names
    return out


def test_locale_files_parse_without_errors() -> None:
    for lang in LANGUAGES:
        for path in ftl_files(lang).values():
            junk = [e.content[:60] for e in parse(path).body if isinstance(e, ast.Junk)]
            assert not junk, f"{path}: syntax errors in {junk}"


def test_every_key_exists_in_every_language() -> None:
    assert set(ftl_files("en")) == set(ftl_files("ru")), "the per-feature files differ"
    for name in ftl_files("en"):
        en = messages(ftl_files("en")[name])
        ru = messages(ftl_files("ru")[name])
        assert sorted(set(en) - set(ru)) == [], f"{name}: missing in Russian"
        assert sorted(set(ru) - set(en)) == [], f"{name}: missing in English"
    translator = Translator()
    assert translator.keys["en"] == translator.keys["ru"]


def test_translations_use_the_same_variables() -> None:
    for name in ftl_files("en"):
        en = messages(ftl_files("en")[name])
        ru = messages(ftl_files("ru")[name])
        for key in en.keys() & ru.keys():
            assert en[key] == ru[key], f"{key}: en uses {en[key]}, ru uses {ru[key]}"


NUMBERS = {"count", "days", "total", "page", "pages", "length", "limit", "user_id", "new",
           "answered", "suggested", "fallback", "blocked", "active", "month"}


def sample_args(names: set[str], count: int = 2) -> dict[str, object]:
    args: dict[str, object] = {}
    for name in names:
        if name in NUMBERS:
            args[name] = count
        elif name == "date":
            args[name] = datetime(2025, 3, 1, tzinfo=UTC)
        elif name in ("website", "url"):
            args[name] = "https://www.bsmu.by"
        else:
            args[name] = f"sample {name}"
    return args


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_formats(lang: str) -> None:
    translator = Translator()
    bundle = translator.bundles[lang]
    for path in ftl_files(lang).values():
        for key, names in messages(path).items():
            for count in (1, 2, 5, 21):
                text, errors = bundle.format_pattern(bundle.get_message(key).value,
                                                     sample_args(names, count))
                assert not errors, f"{lang}/{key}: {errors}"
                assert text.strip(), f"{lang}/{key} is empty"
                assert "{" not in text and "$" not in text, f"{lang}/{key}: {text!r}"
                assert not problems(text), f"{lang}/{key}: Telegram rejects {problems(text)}"


def test_ids_are_formatted_without_grouping() -> None:
    translator = Translator()
    for lang in LANGUAGES:
        for key, names in {k: n for p in ftl_files(lang).values()
                           for k, n in messages(p).items()}.items():
            if "user_id" in names:
                args = {**sample_args(names), "user_id": 1234567890}
                assert "1234567890" in translator.get(lang, key, **args), key


def test_missing_translation_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    translator = Translator()
    assert translator.get("ru", "no-such-key") == "no-such-key"
    assert "missing translation" in caplog.text
    assert translator.get("de", "menu-title") == "Choose a topic:"  # unknown language
    assert translator.for_lang("ru")("menu-title") == "Выберите тему:"


@pytest.mark.parametrize(("code", "expected"), [
    (None, "en"), ("", "en"), ("en", "en"), ("en-GB", "en"), ("EN-us", "en"), ("ru", "ru"),
    ("ru-RU", "ru"), ("RU", "ru"), ("ru_RU", "ru"), ("be", "ru"), ("uk", "ru"), ("kk", "ru"),
    ("uz", "ru"), ("de", "en"), ("pt-br", "en"), ("zh-hans", "en"), ("ar", "en"),
])
def test_language_of(code: str | None, expected: str) -> None:
    assert language_of(code) == expected


def test_language_of_uses_the_default() -> None:
    assert language_of(None, "ru") == "ru"
    assert language_of("de", "ru") == "ru"
    assert language_of("en", "ru") == "en"


# --- keyboards and callback data --------------------------------------------------------------


@pytest.fixture(scope="module")
def kb():
    return load_knowledge(ROOT / "knowledge")[0]


CALLBACK_CLASSES = [c for c in vars(callbacks).values() if isinstance(c, type)
                    and issubclass(c, CallbackData) and c is not CallbackData]


def all_data(markup: InlineKeyboardMarkup) -> list[tuple[str, str]]:
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row
            if b.callback_data is not None]


def check_markup(markup: InlineKeyboardMarkup) -> None:
    by_prefix = {c.__prefix__: c for c in CALLBACK_CLASSES}
    for text, data in all_data(markup):
        assert 1 <= len(data.encode()) <= 64, f"{text!r}: {data!r} is {len(data.encode())} B"
        assert text.strip() and len(text) <= keyboards.MAX_LABEL, text
        cls = by_prefix[data.split(":", 1)[0]]
        assert cls.unpack(data).pack() == data


def test_callback_prefixes_are_unique() -> None:
    prefixes = [c.__prefix__ for c in CALLBACK_CLASSES]
    assert len(prefixes) == len(set(prefixes))
    assert all(re.fullmatch(r"[a-z]+\d", p) for p in prefixes)




def test_keyboards_of_every_entry_fit(kb) -> None:
    t = Translator().for_lang
    for lang in LANGUAGES:
        check_markup(keyboards.main_menu(kb, lang))
        for cat in kb.categories:
            for page in range(keyboards.pages(kb, cat) + 1):
                check_markup(keyboards.category_menu(kb, cat, page, lang, t(lang)))
        for entry in kb.entries.values():
            for category in ("", entry.category):
                for q in (0, BIG_ID):
                    check_markup(keyboards.answer_keyboard(entry, kb, lang, t(lang),
                                                           category=category, question_id=q))
        entries = list(kb.entries.values())
        for i in range(0, len(entries), 3):
            check_markup(keyboards.suggestions_keyboard(entries[i:i + 3], lang, t(lang), BIG_ID))
        check_markup(keyboards.fallback_keyboard(t(lang), BIG_ID))
        check_markup(keyboards.language_keyboard())


def test_news_keyboards_fit(kb) -> None:
    t = Translator().for_lang("en")
    items = [(BIG_ID - i, "x" * 200) for i in range(5)]
    for page in range(3):
        check_markup(keyboards.news_list_keyboard(items, page, 3, t))
    linking = [e for e in kb.entries.values() if e.news] or list(kb.entries.values())[:3]
    check_markup(keyboards.news_item_keyboard(t, "en", page=BIG_ID, related=linking))
    check_markup(keyboards.news_item_keyboard(t, "en", related=linking))
    topics = [("t" * keyboards.MAX_TAG, "label"), ("x" * (keyboards.MAX_TAG + 1), "too long")]
    for freq in ("instant", "daily", "weekly"):
        check_markup(keyboards.subscription_menu(active=True, frequency=freq, tags=["t"],
                                                 lang="ru", topics=topics, t=t))
    check_markup(keyboards.unsubscribed_keyboard(t))


def test_answer_keyboard_layout(kb) -> None:
    t = Translator().for_lang("en")
    entry = kb.entries["accommodation.dormitory"]
    data = [d for _, d in all_data(keyboards.answer_keyboard(entry, kb, "en", t,
                                                             question_id=7))]
    related = [callbacks.Show(entry=r).pack() for r in entry.related if r in kb.entries]
    assert data[-4:] == [callbacks.Vote(entry=entry.id, up=True, q=7).pack(),
                         callbacks.Vote(entry=entry.id, up=False, q=7).pack(),
                         callbacks.Ask(q=7).pack(), callbacks.Nav(edit=False).pack()]
    assert [d for d in data if d.startswith("s1:")] == related
    browsing = [d for _, d in all_data(keyboards.answer_keyboard(entry, kb, "en", t,
                                                                 category="accommodation"))]
    assert browsing[-2:] == [callbacks.Nav(cat="accommodation").pack(),
                             callbacks.Nav().pack()]


def test_category_menu_pages(kb) -> None:
    t = Translator().for_lang("en")
    cat = max(kb.categories, key=lambda c: len(kb.in_category(c)))
    n = len(kb.in_category(cat))
    first = all_data(keyboards.category_menu(kb, cat, 0, "en", t))
    assert len([d for _, d in first if d.startswith("s1:")]) == min(n, keyboards.PAGE_SIZE)
    # Out-of-range pages (old buttons after a KB change) show the nearest page.
    assert all_data(keyboards.category_menu(kb, cat, 99, "en", t)) == all_data(
        keyboards.category_menu(kb, cat, keyboards.pages(kb, cat) - 1, "en", t))
    assert all_data(keyboards.category_menu(kb, cat, -5, "en", t)) == first


def test_labels_are_shortened() -> None:
    assert keyboards._label("a  b\n c") == "a b c"
    long = keyboards._label("x" * 100)
    assert len(long) == keyboards.MAX_LABEL and long.endswith("…")


@pytest.mark.parametrize("data", [
    callbacks.Nav().pack(), callbacks.Nav(cat="admission", page=3, edit=False).pack(),
    callbacks.Show(entry="visa.process", cat="visa").pack(),
    callbacks.Vote(entry="visa.process", up=False, q=BIG_ID).pack(),
    callbacks.Pick(entry="-", q=1).pack(), callbacks.Ask(q=BIG_ID).pack(),
    callbacks.SetLang(lang="ru").pack(),
])
def test_callback_data_round_trip(data: str) -> None:
    matches = []
    for cls in CALLBACK_CLASSES:
        with contextlib.suppress(TypeError, ValueError):
            matches.append(cls.unpack(data))
    assert len(matches) == 1, matches  # exactly one class reads it
    assert matches[0].pack() == data


def test_callback_data_cannot_contain_the_separator() -> None:
    with pytest.raises(ValueError):
        callbacks.Show(entry="a:b").pack()


async def test_in_flight_runs_at_most_the_limit_and_the_rest_wait_their_turn() -> None:
    """The webhook path: every update is a task of its own, so the limit is the middleware's."""
    inflight = InFlight(limit=2)
    gate = asyncio.Event()
    order: list[int] = []

    async def handler(event, data):
        order.append(data["n"])
        await gate.wait()
        return data["n"] * 10

    tasks = [asyncio.create_task(inflight(handler, None, {"n": n})) for n in range(5)]
    await asyncio.sleep(0.05)
    assert (inflight.running, inflight.count) == (2, 5)
    assert order == [0, 1]
    assert not await inflight.wait_idle(0.01)  # waiting updates count for shutdown too
    gate.set()
    assert await asyncio.gather(*tasks) == [0, 10, 20, 30, 40]
    assert order == [0, 1, 2, 3, 4]  # in arrival order
    assert inflight.peak == 2 and await inflight.wait_idle(0.01)


async def test_in_flight_gives_the_slot_back_when_a_handler_fails() -> None:
    inflight = InFlight(limit=1)

    async def boom(event, data):
        raise RuntimeError("handler failed")

    async def ok(event, data):
        return "ok"

    with pytest.raises(RuntimeError):
        await inflight(boom, None, {})
    assert await asyncio.wait_for(inflight(ok, None, {}), 1) == "ok"
    assert (inflight.running, inflight.count) == (0, 0)
