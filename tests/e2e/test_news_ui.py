"""/news, news items, news found by questions, and their rendering.

The end-to-end tests run the production dispatcher against the fake Bot API with a copy of
the shipped knowledge base plus extra news items (enough for two pages, one of them too long
for one message). The news table is synchronised from the KB after start-up, as the
application does at start-up and after every reload.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from sqlalchemy import select, update

from bot.db.models import NewsItem as NewsRow
from bot.db.models import Question
from bot.fakeapi import FakeUser
from bot.i18n import Translator
from bot.knowledge import load_knowledge
from bot.matching import AnswerEngine
from bot.news import render
from bot.text.tghtml import MAX_MESSAGE, plain_text, problems, visible_length
from tests.support.harness import (
    Harness,
    ask,
    button,
    buttons,
    copy_knowledge,
    make_config,
    running_bot,
    settle,
)
from tests.support.kb import KNOWLEDGE, ROOT

aio = pytest.mark.asyncio(loop_scope="module")  # the async tests share one bot

_ids = itertools.count(70_001)
AMU = "2023-03-03-amu-cooperation"
AMU_TITLE = ("Belarusian and Azerbaijani Medical Universities have outlined the areas of "
             "cooperation")
AMU_TITLE_RU = "Белорусский и Азербайджанский медицинские университеты наметили направления"
EN = Translator().for_lang("en")
RU = Translator().for_lang("ru")


def _item(news_id: str, day: str, title: str, body: str, tags: list[str]) -> str:
    return yaml.safe_dump({"news": [{
        "id": news_id, "date": day, "tags": tags, "url": f"https://www.bsmu.by/news/{news_id}",
        "title": {"en": title, "ru": f"{title} (ru)"},
        "summary": {"en": f"Summary of {title}.", "ru": f"Кратко: {title}."},
        "body": {"en": body, "ru": f"Текст новости «{title}»."},
    }]}, allow_unicode=True, sort_keys=False)


LONG_BODY = "\n\n".join(f"Paragraph {i}: " + "the anatomy olympiad went on. " * 40
                         for i in range(1, 6))
# Older than the AMU item, so that it stays first: seven extra items, two pages of five.
EXTRA = {f"news/zz_test_{i}.yaml": _item(
    f"2022-0{i}-01-test-item-{i}", f"2022-0{i}-01", f"Test item number {i}",
    f"Body of test item {i}.", ["events", "sports"] if i == 2 else ["events"])
    for i in range(1, 7)}
EXTRA["news/zz_test_long.yaml"] = _item(
    "2021-05-05-olympiad", "2021-05-05", "Anatomy olympiad", LONG_BODY, ["science"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    root = tmp_path_factory.mktemp("news")
    kb_dir = copy_knowledge(root / "knowledge", EXTRA)
    config = make_config(root, knowledge={"path": str(kb_dir)})
    async with running_bot(root, config) as harness:
        yield harness  # build_app has already put the KB's news into the database


def new_user(h: Harness, language_code: str = "en") -> FakeUser:
    return h.api.user(next(_ids), language_code=language_code)


async def press(h: Harness, user: FakeUser, record: dict, label: str,
                count: int = 1) -> list[dict]:
    """Press the button labelled ``label``; the next ``count`` messages sent or edited."""
    mark = h.api.mark()
    await user.press(record, button(record, label))
    return await h.api.wait_for(count, chat_id=user.id, since=mark)


def labels(record: dict) -> list[str]:
    return [b["text"] for b in buttons(record)]


# --- /news ---------------------------------------------------------------------------------


@aio
async def test_news_lists_latest_items_newest_first(h: Harness) -> None:
    user = new_user(h)
    (msg,) = await ask(h, user, "/news")
    text, plain = msg["text"], msg["plain_text"]
    assert plain.startswith("📰 BSMU news\nPage 1 of 2")
    # The AMU item first (newest): title, date, summary and link.
    assert f"<b>1. {AMU_TITLE}</b>" in text
    assert "<i>3 March 2023</i>" in text
    assert "At an online meeting, the heads of BSMU and Azerbaijan Medical University" in plain
    assert '<a href="https://www.bsmu.by/">Read on the website</a>' in text
    # Newest first, five per page (config.news.page_size).
    positions = [plain.index(f"Test item number {i}") for i in (6, 5, 4, 3)]
    assert positions == sorted(positions) and plain.index(AMU_TITLE) < positions[0]
    assert "Test item number 2" not in plain
    assert labels(msg)[:5] == [f"1. {AMU_TITLE}"[:59] + "…"] + [
        f"{n}. Test item number {i}" for n, i in zip(range(2, 6), (6, 5, 4, 3), strict=True)]
    assert labels(msg)[5:] == ["1/2", "▶️", "🔔 News subscription"]
    assert not problems(text)


@aio
async def test_pages_forward_and_back_edit_the_list(h: Harness) -> None:
    user = new_user(h)
    (first,) = await ask(h, user, "/news")
    (second,) = await press(h, user, first, "▶️")
    assert second["method"] == "editMessageText"
    assert second["message_id"] == first["message_id"]
    assert second["plain_text"].startswith("📰 BSMU news\nPage 2 of 2")
    assert "6. Test item number 2" in second["plain_text"]
    assert "7. Test item number 1" in second["plain_text"]
    assert "8. Anatomy olympiad" in second["plain_text"]
    assert "<i>5 May 2021</i>" in second["text"]
    assert labels(second)[-3:] == ["◀️", "2/2", "🔔 News subscription"]
    (back,) = await press(h, user, second, "◀️")
    assert back["message_id"] == first["message_id"] and back["text"] == first["text"]


@aio
async def test_item_opens_in_full_and_back_returns_to_its_page(h: Harness) -> None:
    user = new_user(h)
    (listing,) = await ask(h, user, "/news")
    (item,) = await press(h, user, listing, labels(listing)[0])
    assert item["method"] == "editMessageText" and item["message_id"] == listing["message_id"]
    plain = item["plain_text"]
    assert plain.startswith(AMU_TITLE + "\n3 March 2023\n\nAzerbaijan Medical University (AMU)")
    assert "Azerbaijan Medical University has 75 departments" in plain
    assert "Author: Oksana Kurbeko" in plain  # the whole body, to its last paragraph
    assert item["text"].endswith('🔗 <a href="https://www.bsmu.by/">Read on the website</a>')
    # Its page on the site; partnerships.amu links this item: offered under it; then Back
    # and the subscription.
    assert buttons(item)[0] == {"text": "🌐 Read on the website", "url": "https://www.bsmu.by/"}
    assert labels(item)[1:] == ["Cooperation with AMU (Azerbaijan)", "◀️ Back to the news",
                                "🔔 News subscription"]
    (back,) = await press(h, user, item, "◀️ Back to the news")
    assert back["message_id"] == listing["message_id"] and back["text"] == listing["text"]

    (page2,) = await press(h, user, back, "▶️")
    (item2,) = await press(h, user, page2, "6. Test item number 2")
    assert item2["plain_text"].startswith("Test item number 2\n1 February 2022\n\nBody of")
    (back2,) = await press(h, user, item2, "◀️ Back to the news")
    assert back2["plain_text"].startswith("📰 BSMU news\nPage 2 of 2")


@aio
async def test_long_item_is_split_at_paragraphs(h: Harness) -> None:
    user = new_user(h)
    (listing,) = await ask(h, user, "/news")
    (page2,) = await press(h, user, listing, "▶️")
    mark = h.api.mark()
    await user.press(page2, button(page2, "8. Anatomy olympiad"))
    parts = await h.api.wait_for(lambda r: bool(buttons(r)), chat_id=user.id, since=mark)
    parts = [r for r in h.api.sent(user.id) if r["seq"] >= mark]
    assert len(parts) >= 2 and all(p["method"] == "sendMessage" for p in parts)
    assert all(visible_length(p["text"]) <= MAX_MESSAGE for p in parts)
    assert all(p["plain_text"].rstrip().endswith(".") for p in parts[:-1])  # paragraph ends
    joined = "\n\n".join(p["plain_text"] for p in parts)
    assert all(f"Paragraph {i}:" in joined for i in range(1, 6))
    assert [bool(buttons(p)) for p in parts] == [False] * (len(parts) - 1) + [True]
    (back,) = await press(h, user, parts[-1], "◀️ Back to the news")
    assert back["message_id"] == parts[-1]["message_id"]
    assert back["plain_text"].startswith("📰 BSMU news\nPage 2 of 2")
    # The list the item was opened from stays as it was.
    assert h.api.message(user.id, listing["message_id"])["text"] == page2["plain_text"]


@aio
async def test_news_in_russian(h: Harness) -> None:
    user = new_user(h, "ru")
    (msg,) = await ask(h, user, "/news")
    assert msg["plain_text"].startswith("📰 Новости БГМУ\nСтраница 1 из 2")
    assert AMU_TITLE_RU in msg["plain_text"] and "3 марта 2023 г." in msg["plain_text"]
    assert "Читать на сайте" in msg["plain_text"]
    (item,) = await press(h, user, msg, labels(msg)[0])
    assert "В Азербайджанском медицинском университете 75 кафедр" in item["plain_text"]
    assert "◀️ К списку новостей" in labels(item)


# --- news found by questions and links from entries -----------------------------------------


@aio
@pytest.mark.parametrize("question,lang", [
    ("any news about Azerbaijan?", "en"),
    ("news about cooperation with AMU", "en"),
    ("новости про Азербайджан", "ru"),
])
async def test_question_about_a_news_topic_shows_the_item(h: Harness, question: str,
                                                         lang: str) -> None:
    user = new_user(h, lang)
    (msg,) = await ask(h, user, question)
    title = AMU_TITLE if lang == "en" else AMU_TITLE_RU
    assert msg["plain_text"].startswith(title)
    assert ("75 departments" if lang == "en" else "75 кафедр") in msg["plain_text"]
    assert labels(msg)[-2:] == (["📰 All news", "🔔 News subscription"] if lang == "en"
                                else ["📰 Все новости", "🔔 Подписка на новости"])
    await settle(h)
    async with h.app.services.sessionmaker() as s:
        q = await s.scalar(select(Question).where(Question.user_id == user.id))
    assert (q.matched_id, q.outcome, q.lang) == (f"news:{AMU}", "answered", lang)
    # "All news" opens the list as a new message.
    label = labels(msg)[-2]
    (listing,) = await press(h, user, msg, label)
    assert listing["method"] == "sendMessage"
    assert listing["plain_text"].startswith("📰 ")


@aio
async def test_latest_news_question_shows_the_list(h: Harness) -> None:
    user = new_user(h)
    answer, listing = await ask(h, user, "latest news", count=2)
    assert answer["plain_text"].startswith("BSMU news\nHere are the latest news items")
    assert listing["plain_text"].startswith("📰 BSMU news\nPage 1 of 2")
    assert AMU_TITLE in listing["plain_text"]


@aio
async def test_amu_answer_links_the_news_item(h: Harness) -> None:
    user = new_user(h)
    (answer,) = await ask(h, user, "Does BSMU cooperate with Azerbaijan Medical University?")
    assert "Azerbaijan" in answer["plain_text"]
    label = f"📰 {AMU_TITLE}"[:59] + "…"
    assert labels(answer)[0] == label
    (item,) = await press(h, user, answer, label)
    assert item["method"] == "sendMessage"  # the answer stays
    assert item["plain_text"].startswith(AMU_TITLE + "\n3 March 2023")
    assert labels(item) == ["🌐 Read on the website", "Cooperation with AMU (Azerbaijan)",
                            "📰 All news", "🔔 News subscription"]


@aio
@pytest.mark.parametrize("data", ["ns1:999999:0", "ns1:0:0", "nk1:no-such-item",
                                  f"nk1:{AMU}x"])
async def test_gone_news_buttons_say_so(h: Harness, data: str) -> None:
    user = new_user(h)
    (listing,) = await ask(h, user, "/news")
    mark = h.api.mark()
    query_id = await user.press(listing, data, strict=False)
    answer = await h.api.wait_callback_answer(query_id)
    assert answer["show_alert"] and answer["text"] == "This news item is no longer available."
    assert [r for r in h.api.sent(user.id) if r["seq"] >= mark] == []


@aio
@pytest.mark.parametrize("data", ["nl1:x:1", "ns1:abc:0", "ns1:1", "nk1"])
async def test_malformed_news_buttons_are_out_of_date(h: Harness, data: str) -> None:
    user = new_user(h)
    (listing,) = await ask(h, user, "/news")
    query_id = await user.press(listing, data, strict=False)
    answer = await h.api.wait_callback_answer(query_id)
    assert answer["show_alert"] and "out of date" in answer["text"]


@aio
async def test_withdrawn_item_is_gone_from_the_list(h: Harness) -> None:
    user = new_user(h)
    (listing,) = await ask(h, user, "/news")
    async with h.app.services.sessionmaker() as s:
        row = await s.scalar(select(NewsRow).where(NewsRow.key == "kb:2022-06-01-test-item-6"))
        row.withdrawn = True
        await s.commit()
    try:
        mark = h.api.mark()
        query_id = await user.press(listing, button(listing, "2. Test item number 6"))
        answer = await h.api.wait_callback_answer(query_id)
        assert answer["text"] == "This news item is no longer available."
        assert [r for r in h.api.sent(user.id) if r["seq"] >= mark] == []
        (fresh,) = await ask(h, user, "/news")
        assert "Test item number 6" not in fresh["plain_text"]
        assert "Page 1 of 2" in fresh["plain_text"]  # 7 visible items: still two pages
    finally:
        async with h.app.services.sessionmaker() as s:
            await s.execute(update(NewsRow).where(NewsRow.id == row.id).values(withdrawn=False))
            await s.commit()


@aio
async def test_news_in_a_forum_topic_stays_in_the_topic(h: Harness) -> None:
    forum = h.api.group(-1_000_000_000_000 - next(_ids), title="Forum", is_forum=True)
    user = new_user(h)
    await user.send_text("/news@bsmu_test_bot", chat=forum, thread_id=5)
    (listing,) = await h.api.wait_for(1, chat_id=forum.id)
    assert listing["message_thread_id"] == 5 and AMU_TITLE in listing["plain_text"]
    await user.send_text("@bsmu_test_bot any news about Azerbaijan?", chat=forum, thread_id=5)
    (item,) = await h.api.wait_for(1, chat_id=forum.id)
    assert item["message_thread_id"] == 5 and item["plain_text"].startswith(AMU_TITLE)
    await user.send_text("@bsmu_test_bot how do I subscribe to news?", chat=forum, thread_id=5)
    answer, private_only = await h.api.wait_for(2, chat_id=forum.id)
    assert answer["message_thread_id"] == private_only["message_thread_id"] == 5
    assert private_only["plain_text"].startswith("News subscriptions work in a private chat")


@aio
async def test_every_reply_is_valid_html(h: Harness) -> None:
    """Whatever the tests above sent, Telegram accepted all of it as HTML."""
    sent = [r for r in h.api.sent() if r["text"] and r["parse_mode"] == "HTML"]
    assert len(sent) > 20
    for record in sent:
        assert not problems(record["text"]), record["text"]


# --- an empty news table ---------------------------------------------------------------------


@aio
async def test_empty_news_table(tmp_path: Path) -> None:
    """Before the first synchronisation: "no news yet"; KB links still open the KB's item."""
    async with running_bot(tmp_path) as h:
        async with h.app.services.sessionmaker() as s:
            await s.execute(update(NewsRow).values(withdrawn=True))
            await s.commit()
        user = h.api.user(70_000, language_code="en")
        (msg,) = await ask(h, user, "/news")
        assert msg["plain_text"] == "There is no news yet."
        assert labels(msg) == ["🔔 News subscription"]
        _, none = await ask(h, user, "latest news", count=2)
        assert none["plain_text"] == "There is no news yet."
        (found,) = await ask(h, user, "any news about Azerbaijan?")
        assert found["plain_text"].startswith(AMU_TITLE + "\n3 March 2023")


# --- rendering (no Telegram) ----------------------------------------------------------------


def _row(**kw) -> NewsRow:
    """A feed item as bot.news.feeds stores it: escaped plain text."""
    data = {"id": 7, "key": "feed:abc", "source": "feed", "url": "https://example.org/a?b=1&c=2",
            "published": datetime(2026, 11, 23, 22, 30, tzinfo=UTC), "tags": ["science"],
            "content": {"title": {"en": "Fish &amp; &lt;chips&gt;"},
                        "summary": {"en": "1 &lt; 2 &gt; 0 &amp; &lt;b&gt;not bold&lt;/b&gt;"},
                        "body": {"en": "Line one\n\nA &amp; B"}}, "withdrawn": False}
    data.update(kw)
    return NewsRow(**data)


def test_feed_text_is_shown_as_text() -> None:
    view = render.view_from_row(_row(), "ru")  # no Russian version: the English one
    assert view.title == "Fish &amp; &lt;chips&gt;"  # stored escaped: not escaped twice
    assert view.published == date(2026, 11, 23)
    text = render.item_text(view, EN)
    assert not problems(text)
    assert plain_text(text).startswith("Fish & <chips>\n23 November 2026\n\nLine one\n\nA & B")
    assert 'href="https://example.org/a?b=1&amp;c=2"' in text
    listing = render.list_text([view], EN)
    assert not problems(listing) and "1 < 2 > 0 & <b>not bold</b>" in plain_text(listing)


@pytest.mark.parametrize("raw,shown", [
    ("Fish & <chips>", "Fish & <chips>"),  # raw text that slipped through: escaped here
    ("<b>bold</b> <a href='https://evil.example'>link</a>",
     "<b>bold</b> <a href='https://evil.example'>link</a>"),
    ("a &nbsp; b", "a &nbsp; b"),
])
def test_feed_text_never_becomes_markup(raw: str, shown: str) -> None:
    view = render.view_from_row(_row(content={"title": {"en": raw}}), "en")
    text = render.item_text(view, EN)
    assert not problems(text) and "<a href='https" not in text and "<b>bold" not in text
    assert plain_text(view.title) == shown


def test_dates_follow_the_time_zone_and_language() -> None:
    from zoneinfo import ZoneInfo

    view = render.view_from_row(_row(), "en", ZoneInfo("Europe/Minsk"))
    assert view.published == date(2026, 11, 24)  # 22:30 UTC is after midnight in Minsk
    assert render.format_date(view.published, RU) == "24 ноября 2026 г."
    assert render.format_date(date(2023, 1, 9), EN) == "9 January 2023"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative", "ftp://x.org/f",
                                 'https://x.org/"><b>', "", None])
def test_unsafe_links_are_dropped(url: str | None) -> None:
    view = render.view_from_row(_row(url=url), "en")
    assert view.url is None or view.url == 'https://x.org/"><b>'
    text = render.item_text(view, EN)
    assert not problems(text)
    assert "javascript" not in text and "ftp" not in text


def test_kb_html_is_kept_and_broken_html_is_neutralised() -> None:
    kb_row = _row(source="kb", key="kb:x", content={
        "title": {"en": "Title"}, "summary": {"en": "<b>bold</b> summary"},
        "body": {"en": "<i>fine</i>"}})
    assert render.view_from_row(kb_row, "en").summary == "<b>bold</b> summary"
    broken = _row(source="kb", key="kb:y", content={
        "title": {"en": "T"}, "summary": {"en": "<b>unclosed"}, "body": {"en": "a < b"}})
    view = render.view_from_row(broken, "en")
    assert view.summary == "unclosed" and view.body == "a &lt; b"
    assert not problems(render.item_text(view, EN))


def test_missing_body_falls_back_to_the_summary() -> None:
    view = render.view_from_row(_row(content={"title": {"en": "T"}, "summary": {"en": "S"}}),
                                "en")
    assert view.body == "S"


def test_a_page_of_long_summaries_fits_one_message() -> None:
    views = [render.view_from_row(_row(id=i, content={
        "title": {"en": "T" * 200}, "summary": {"en": "word " * 200}}), "en")
        for i in range(10)]
    text = render.list_text(views, EN, page=0, pages=3)
    assert visible_length(text) <= MAX_MESSAGE and not problems(text)
    assert "…" in text
    assert render.shorten("<b>short</b>", 100) == "<b>short</b>"
    assert render.shorten("one two three four", 9) == "one two…"


def test_kb_items_render_like_rows(tmp_path: Path) -> None:
    kb, _ = load_knowledge(KNOWLEDGE)
    item = kb.news_item(AMU)
    view = render.view_from_kb(item, "ru")
    assert view.kb_id == AMU and view.published == date(2023, 3, 3)
    text = render.item_text(view, RU)
    assert not problems(text) and plain_text(text).startswith(AMU_TITLE_RU)


# --- the engine's news matching (no Telegram) -----------------------------------------------


@pytest.fixture(scope="module")
def engine() -> AnswerEngine:
    from bot.config import load_config

    kb, _ = load_knowledge(KNOWLEDGE)
    return AnswerEngine(kb, load_config(ROOT / "config.yaml").matching)


@pytest.mark.parametrize("question", [
    "any news about Azerbaijan?", "news about cooperation with AMU", "Azerbaijan news",
    "новости про Азербайджан", "Есть новости об АМУ?", "что нового про Азербайджан?",
    AMU_TITLE,  # the item itself, no "news" needed
])
def test_engine_finds_the_news_item(engine: AnswerEngine, question: str) -> None:
    r = engine.match(question)
    assert r.kind == "answer" and r.news is not None and r.news.id == AMU
    assert r.id == f"news:{AMU}" and r.action == "show_news"
    assert r.entry is not None and r.entry.id == "news.latest"
    data = r.to_json()
    assert set(data) == {"id", "score", "lang", "action", "answer", "suggestions"}
    assert data["id"] == f"news:{AMU}" and data["action"] == "show_news"
    assert not problems(data["answer"])


@pytest.mark.parametrize("question,expected", [
    ("latest news", "news.latest"), ("новости", "news.latest"), ("what's new", "news.latest"),
    ("how do I subscribe to news?", "bot.subscribe"),
    ("Does BSMU cooperate with Azerbaijan Medical University?", "partnerships.amu"),
    ("Сотрудничает ли БГМУ с Азербайджанским медицинским университетом?", "partnerships.amu"),
])
def test_engine_keeps_entries_for_other_questions(engine: AnswerEngine, question: str,
                                                  expected: str) -> None:
    r = engine.match(question)
    assert r.news is None and r.id == expected


def test_engine_without_news_entry_or_items(engine: AnswerEngine) -> None:
    import dataclasses

    no_news = AnswerEngine(dataclasses.replace(engine.kb, news=()), engine.config)
    assert not no_news.has_news
    assert no_news.match("any news about Azerbaijan?").news is None
