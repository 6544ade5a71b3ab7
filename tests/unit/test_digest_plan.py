"""Pure digest logic: who gets which items, and what the messages look like."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest import plan
from bot.digest.plan import Item, matches_kind, payload_key, render, select_items, wants
from bot.text import tghtml


def item(i: int, *, tags: tuple[str, ...] = (), day: int | None = None, withdrawn=False,
         title: str | None = None, summary: str | None = None,
         url: str | None = "https://www.bsmu.by/news?a=1&b=2") -> Item:
    return Item(id=i, published=datetime(2026, 11, day or i, tzinfo=UTC), url=url, tags=tags,
                content={"title": {"en": title or f"Title {i}", "ru": title or f"Заголовок {i}"},
                         "summary": {"en": summary or f"Summary {i}",
                                     "ru": summary or f"Кратко {i}"}},
                withdrawn=withdrawn)


# --- selection -------------------------------------------------------------------------------


def test_frequency_matches_its_own_kind_only() -> None:
    assert matches_kind("daily", "daily") and matches_kind("weekly", "weekly")
    assert matches_kind("instant", "instant")
    assert not matches_kind("daily", "weekly") and not matches_kind("instant", "daily")
    assert not matches_kind("daily", "broadcast")


def test_topic_filter() -> None:
    assert wants(None, ("a",)) and wants([], ("a",)) and wants(None, ())
    assert wants(["a", "b"], ("b", "c"))
    assert not wants(["a"], ("b",))
    assert not wants(["a"], ())  # an untagged item goes to "every topic" subscribers only


def test_select_items_after_cursor_not_withdrawn_matching_newest_first() -> None:
    items = [item(1, tags=("x",)), item(2, tags=("y",)), item(3, tags=("x",), withdrawn=True),
             item(4, tags=("x", "y"), day=1), item(5, tags=("x",), day=9)]
    assert [i.id for i in select_items(items, 0, None)] == [5, 2, 4, 1]  # same day: by id
    assert [i.id for i in select_items(items, 1, ["x"])] == [5, 4]
    assert [i.id for i in select_items(items, 1, ["x"], upto=4)] == [4]
    assert select_items(items, 5, None) == []
    assert [i.id for i in select_items(items, 0, None, limit=2)] == [5, 2]


def test_payload_key_identifies_language_and_items() -> None:
    assert payload_key("en", [3, 2]) == payload_key("en", [3, 2])
    assert len({payload_key("en", [3, 2]), payload_key("ru", [3, 2]),
                payload_key("en", [2, 3]), payload_key("en", [3])}) == 4
    assert len(payload_key("en", [1])) == 64  # fits digest_payloads.digest


# --- rendering -------------------------------------------------------------------------------


def test_render_nothing_is_no_message() -> None:
    assert render([], "en") == []


@pytest.mark.parametrize(("lang", "title", "date", "more"), [
    ("en", "BSMU news of the day</b>: 2 new items", "(Nov 2, 2026)", ">Read more</a>"),
    ("ru", "Новости БГМУ за день</b>: 2 новости", "(2 нояб. 2026", ">Подробнее</a>"),
])
def test_render_one_message_in_the_subscribers_language(lang, title, date, more) -> None:
    [message] = render([item(2), item(1)], lang)
    assert title in message.splitlines()[0]
    assert date in message and more in message
    assert message.index("2</b>") < message.index("1</b>")  # the given order (newest first)
    assert 'href="https://www.bsmu.by/news?a=1&amp;b=2"' in message  # attribute escaped
    assert tghtml.problems(message) == []


def test_render_kinds_have_their_own_title() -> None:
    titles = {kind: render([item(1)], "en", kind=kind)[0].splitlines()[0]
              for kind in ("daily", "weekly", "instant")}
    assert len(set(titles.values())) == 3
    assert "1 new item" in titles["weekly"]


def test_item_without_link_or_summary() -> None:
    bare = Item(1, datetime(2026, 1, 1, tzinfo=UTC), None, (), {"title": {"en": "Only"}})
    [message] = render([bare], "ru")  # no Russian text: falls back to what exists
    assert "<b>Only</b>" in message and "href" not in message


def blocks_of(messages: list[str]) -> list[str]:
    return [b for m in messages for b in m.split(plan.SEPARATOR)]


def test_long_digest_is_split_between_items_never_inside_one() -> None:
    summary = "<i>Long</i> " + "text with <b>bold</b> and &amp; entities " * 25
    items = [item(i, day=i, summary=summary) for i in range(1, 25)]
    messages = render(items, "en")
    assert len(messages) > 3
    expected = [plan.render_item(it, "en", plan.default_translator()) for it in items]
    for m in messages:
        assert tghtml.visible_length(m) <= tghtml.MAX_MESSAGE
        assert tghtml.problems(m) == []
    assert blocks_of(messages)[1:] == expected  # every item whole, in order, once
    assert "news of the day" in messages[0] and all("news of" not in m for m in messages[1:])


def test_a_single_item_longer_than_a_message_is_split_safely() -> None:
    huge = item(1, summary="<b>" + "word " * 1200 + "</b>")
    messages = render([huge], "en")
    assert len(messages) >= 2
    for m in messages:
        assert tghtml.visible_length(m) <= tghtml.MAX_MESSAGE and tghtml.problems(m) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=30),
       st.sampled_from(["en", "ru"]), st.integers(min_value=200, max_value=4096))
def test_packing_property(lengths: list[int], lang: str, limit: int) -> None:
    """Whatever the sizes: every message valid and within the limit, and every item that
    fits in a message appears whole in exactly one message."""
    items = [item(i + 1, summary="<i>x</i> " + "é&amp;" * n) for i, n in enumerate(lengths)]
    messages = render(items, lang, limit=limit)
    for m in messages:
        assert tghtml.visible_length(m) <= limit
        assert tghtml.problems(m) == []
    blocks = blocks_of(messages)
    for it in items:
        block = plan.render_item(it, lang, plan.default_translator())
        if tghtml.visible_length(block) <= limit:
            assert blocks.count(block) == 1
