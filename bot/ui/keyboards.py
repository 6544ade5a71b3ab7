"""Inline keyboards built from the knowledge base (no I/O)."""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.db.models import FREQUENCIES
from bot.i18n import LANGUAGES, Translate
from bot.knowledge import Entry, KnowledgeBase
from bot.telegram.session import prepare_markup
from bot.text.tghtml import links
from bot.ui.callbacks import (
    Ask,
    Nav,
    NewsKb,
    NewsList,
    NewsShow,
    Pick,
    SetLang,
    Show,
    SubFreq,
    SubLang,
    SubOp,
    SubTopic,
    Vote,
)

PAGE_SIZE = 8
MAX_LABEL = 60
MAX_URL_BUTTONS = 2  # web links of an answer that get a button of their own


class _Rows:
    """Rows of inline buttons. aiogram's InlineKeyboardBuilder deep-copies its buttons on
    every call, which showed up in the profile of every answer; this does only what the
    keyboards here need."""

    def __init__(self) -> None:
        self.rows: list[list[InlineKeyboardButton]] = []
        self._loose: list[InlineKeyboardButton] = []

    def row(self, *buttons: InlineKeyboardButton) -> None:
        self.rows.append(list(buttons))

    def button(self, text: str, callback_data: CallbackData) -> None:
        self._loose.append(InlineKeyboardButton(text=text, callback_data=callback_data.pack()))

    def adjust(self, width: int) -> None:
        loose, self._loose = self._loose, []
        self.rows.extend(loose[i:i + width] for i in range(0, len(loose), width))

    def as_markup(self) -> InlineKeyboardMarkup:
        self.adjust(len(self._loose) or 1)
        return InlineKeyboardMarkup(inline_keyboard=self.rows)


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def main_menu(kb: KnowledgeBase, lang: str) -> InlineKeyboardMarkup:
    b = _Rows()
    for cat in kb.ordered_categories():
        if kb.in_category(cat.id):
            b.button(text=_label(cat.title.get(lang) or cat.title["en"]),
                     callback_data=Nav(cat=cat.id))
    b.adjust(2)
    return b.as_markup()


def pages(kb: KnowledgeBase, category: str) -> int:
    return max(1, math.ceil(len(kb.in_category(category)) / PAGE_SIZE))


def category_menu(kb: KnowledgeBase, category: str, page: int, lang: str,
                  t: Translate) -> InlineKeyboardMarkup:
    entries = kb.in_category(category)
    total = pages(kb, category)
    page = min(max(page, 0), total - 1)
    b = _Rows()
    for e in entries[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        b.row(InlineKeyboardButton(text=_label(e.label(lang)),
                                   callback_data=Show(entry=e.id, cat=category).pack()))
    if total > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton(
                text=t("btn-prev"), callback_data=Nav(cat=category, page=page - 1).pack()))
        nav.append(InlineKeyboardButton(
            text=f"{page + 1}/{total}", callback_data=Nav(cat=category, page=page).pack()))
        if page < total - 1:
            nav.append(InlineKeyboardButton(
                text=t("btn-next"), callback_data=Nav(cat=category, page=page + 1).pack()))
        b.row(*nav)
    b.row(InlineKeyboardButton(text=t("btn-main-menu"), callback_data=Nav().pack()))
    return b.as_markup()


def url_buttons(text: str) -> list[InlineKeyboardButton]:
    """A button opening each web link of an answer (the first MAX_URL_BUTTONS), titled with
    the link's text, or its domain when the text is the address itself."""
    out: list[InlineKeyboardButton] = []
    for href, shown in links(text):
        try:
            host = urlsplit(href).hostname
        except ValueError:  # kb check reports it; the answer goes out without the button
            host = None
        if host and len(out) < MAX_URL_BUTTONS:
            title = shown if shown and "://" not in shown else host.removeprefix("www.")
            out.append(InlineKeyboardButton(text=_label("🌐 " + title), url=href))
    return out


class _PerEntry:
    """What ``build(entry, kb, *args)`` makes of one entry of the live KB, kept by the
    entry's id and ``key``: built once. Only the KB it was built from is held, and weakly:
    a reload starts afresh. An entry that is not the KB's own is built every time and not
    kept. What is kept is never changed."""

    def __init__(self, build: Callable[..., Any]) -> None:
        self.build = build
        self.kb: weakref.ref[KnowledgeBase] | None = None
        self.made: dict[tuple, Any] = {}

    def __call__(self, entry: Entry, kb: KnowledgeBase, key: tuple, *args: Any) -> Any:
        if self.kb is None or self.kb() is not kb:
            self.kb, self.made = weakref.ref(kb), {}
        live = kb.entries.get(entry.id) is entry
        key = (entry.id, *key)
        if live and key in self.made:
            return self.made[key]
        made = self.build(entry, kb, *args)
        if live:
            self.made[key] = made
        return made


def _build_entry_rows(entry: Entry, kb: KnowledgeBase,
                      lang: str) -> list[list[InlineKeyboardButton]]:
    rows = [[button] for button in url_buttons(entry.answer_in(lang))]
    for news_id in entry.news:
        item = kb.news_item(news_id)
        if item:
            rows.append([InlineKeyboardButton(text=_label("📰 " + item.text("title", lang)),
                                              callback_data=NewsKb(id=item.id).pack())])
    for rel in entry.related:
        other = kb.entries.get(rel)
        if other:
            rows.append([InlineKeyboardButton(text=_label(other.label(lang)),
                                              callback_data=Show(entry=other.id).pack())])
    return rows


#: The rows of an answer's keyboard that depend on the entry and language alone (its web
#: links, parsed out of the answer's HTML, news items, related entries).
_entry_rows = _PerEntry(_build_entry_rows)


def answer_keyboard(entry: Entry, kb: KnowledgeBase, lang: str, t: Translate, *,
                    category: str = "", question_id: int = 0) -> InlineKeyboardMarkup:
    """The answer's web links, linked news items, related entries, 👍/👎, then Back (when
    browsing) or Ask + Main menu."""
    key = (lang, category, *(t(k) for k in _ANSWER_LABELS))  # new labels, a new template
    template = _answer_templates(entry, kb, key, lang, t, category)
    if template is None:
        return _build_answer_keyboard(entry, kb, lang, t, category, question_id)
    return template.make(question_id)


def _build_answer_keyboard(entry: Entry, kb: KnowledgeBase, lang: str, t: Translate,
                           category: str, question_id: int) -> InlineKeyboardMarkup:
    b = _Rows()
    b.rows.extend(_entry_rows(entry, kb, (lang,), lang))
    b.row(InlineKeyboardButton(text=t("btn-vote-up"), callback_data=Vote(
              entry=entry.id, up=True, q=question_id).pack()),
          InlineKeyboardButton(text=t("btn-vote-down"), callback_data=Vote(
              entry=entry.id, up=False, q=question_id).pack()))
    if category:
        b.row(InlineKeyboardButton(text=t("btn-back"), callback_data=Nav(cat=category).pack()),
              InlineKeyboardButton(text=t("btn-main-menu"), callback_data=Nav().pack()))
    else:
        b.row(InlineKeyboardButton(text=t("btn-ask-team"),
                                   callback_data=Ask(q=question_id).pack()),
              InlineKeyboardButton(text=t("btn-main-menu"),
                                   callback_data=Nav(edit=False).pack()))
    return b.as_markup()


class _AnswerTemplate:
    """One entry's answer keyboard in one language, built once (for question 0); for each
    question only the buttons that carry its id (👍, 👎, Ask) are copied with their
    callback data, the question id appended to a prefix packed once. Building and
    validating the whole keyboard was ~0.15 ms of every answer."""

    def __init__(self, markup: InlineKeyboardMarkup, packed: list[tuple[int, int, str]]):
        # With its request JSON, copied the same way: the JSON session sends that instead
        # of serialising the keyboard at every answer (bot.telegram.session.PreparedMarkup).
        self.markup = prepare_markup(markup)
        self.rows_json = (self.markup.request_json or {}).get("inline_keyboard")
        self.packed = packed  # (row, column, callback data without the question id)

    @classmethod
    def build(cls, entry: Entry, kb: KnowledgeBase, lang: str, t: Translate,
              category: str) -> _AnswerTemplate | None:
        """None when a callback does not end in the question id (then every keyboard is
        built in full, and ``CallbackData.pack`` applies its own checks)."""
        zero = _build_answer_keyboard(entry, kb, lang, t, category, 0)
        one = _build_answer_keyboard(entry, kb, lang, t, category, 1)
        packed = []
        for r, (row0, row1) in enumerate(zip(zero.inline_keyboard, one.inline_keyboard,
                                             strict=True)):
            for c, (b0, b1) in enumerate(zip(row0, row1, strict=True)):
                d0, d1 = b0.callback_data, b1.callback_data
                if d0 == d1:
                    continue
                if not (d0 and d1 and d0.endswith(":0") and d1 == d0[:-1] + "1"):
                    return None
                packed.append((r, c, d0[:-1]))
        return cls(zero, packed)

    def make(self, question_id: int) -> InlineKeyboardMarkup:
        if not question_id:
            return self.markup
        rows = [list(row) for row in self.markup.inline_keyboard]
        rows_json = None if self.rows_json is None else [*self.rows_json]
        suffix = str(question_id)
        for r, c, prefix in self.packed:
            data = prefix + suffix
            if len(data.encode()) > MAX_CALLBACK_LENGTH:
                raise ValueError(f"callback data too long: {data!r}")
            rows[r][c] = rows[r][c].model_copy(update={"callback_data": data})
            if rows_json is not None:
                if rows_json[r] is self.rows_json[r]:
                    rows_json[r] = [*rows_json[r]]
                rows_json[r][c] = {**rows_json[r][c], "callback_data": data}
        markup = self.markup.model_copy(update={"inline_keyboard": rows})
        return markup if rows_json is None else markup.with_json({"inline_keyboard": rows_json})


_ANSWER_LABELS = ("btn-vote-up", "btn-vote-down", "btn-back", "btn-main-menu", "btn-ask-team")
_answer_templates = _PerEntry(_AnswerTemplate.build)


def suggestions_keyboard(entries: tuple[Entry, ...] | list[Entry], lang: str, t: Translate,
                         question_id: int = 0) -> InlineKeyboardMarkup:
    b = _Rows()
    for e in entries:
        b.row(InlineKeyboardButton(text=_label(e.label(lang)),
                                   callback_data=Pick(entry=e.id, q=question_id).pack()))
    b.row(InlineKeyboardButton(text=t("btn-none"), callback_data=Pick(entry="-",
                                                                      q=question_id).pack()))
    return b.as_markup()


def fallback_keyboard(t: Translate, question_id: int = 0, text: str = "") -> InlineKeyboardMarkup:
    """The web links of the fallback ``text`` (the official website), Ask, Main menu."""
    b = _Rows()
    for button in url_buttons(text):
        b.row(button)
    b.row(InlineKeyboardButton(text=t("btn-ask-team"), callback_data=Ask(q=question_id).pack()))
    b.row(InlineKeyboardButton(text=t("btn-main-menu"), callback_data=Nav(edit=False).pack()))
    return b.as_markup()


def language_keyboard() -> InlineKeyboardMarkup:
    b = _Rows()
    b.button(text="English", callback_data=SetLang(lang="en"))
    b.button(text="Русский", callback_data=SetLang(lang="ru"))
    return b.as_markup()


# -- news and subscriptions -----------------------------------------------------------------

MARK = "✅ "
MAX_TAG = 60  # longer topics would not fit a button's 64 bytes of data


def _page_row(page: int, pages: int, t: Translate) -> list[InlineKeyboardButton]:
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(text=t("btn-prev"),
                                        callback_data=NewsList(page=page - 1).pack()))
    row.append(InlineKeyboardButton(text=f"{page + 1}/{pages}",
                                    callback_data=NewsList(page=page).pack()))
    if page < pages - 1:
        row.append(InlineKeyboardButton(text=t("btn-next"),
                                        callback_data=NewsList(page=page + 1).pack()))
    return row


def news_list_keyboard(items: list[tuple[int, str]], page: int, pages: int,
                       t: Translate) -> InlineKeyboardMarkup:
    """One button per item (news_items.id, label) opening it, the pages, Subscribe."""
    b = _Rows()
    for news_id, label in items:
        b.row(InlineKeyboardButton(text=_label(label),
                                   callback_data=NewsShow(id=news_id, page=page).pack()))
    if pages > 1:
        b.row(*_page_row(page, pages, t))
    b.row(InlineKeyboardButton(text=t("btn-news-subscribe"),
                               callback_data=SubOp(op="menu").pack()))
    return b.as_markup()


def news_item_keyboard(t: Translate, lang: str, *, page: int | None = None,
                       related: list[Entry] | tuple[Entry, ...] = (),
                       text: str = "") -> InlineKeyboardMarkup:
    """The web links of the item's ``text`` (its page on the site), entries that link to the
    item, then Back to the list page it was opened from (or "All news" when it was opened
    elsewhere), and Subscribe."""
    b = _Rows()
    for button in url_buttons(text):
        b.row(button)
    for e in related:
        b.row(InlineKeyboardButton(text=_label(e.label(lang)),
                                   callback_data=Show(entry=e.id).pack()))
    if page is None:
        back = InlineKeyboardButton(text=t("btn-news-all"),
                                    callback_data=NewsList(page=0, edit=False).pack())
    else:
        back = InlineKeyboardButton(text=t("btn-news-back"),
                                    callback_data=NewsList(page=page).pack())
    b.row(back, InlineKeyboardButton(text=t("btn-news-subscribe"),
                                     callback_data=SubOp(op="menu").pack()))
    return b.as_markup()


def subscription_menu(*, active: bool, frequency: str, tags: list[str] | None, lang: str,
                      topics: list[tuple[str, str]], t: Translate) -> InlineKeyboardMarkup:
    """The settings of a subscription, current choices marked ✅; ``topics`` are (tag,
    label). Not subscribed: just the Subscribe button."""
    b = _Rows()
    if not active:
        b.row(InlineKeyboardButton(text=t("btn-subscribe"), callback_data=SubOp(op="on").pack()))
        return b.as_markup()
    b.row(*(InlineKeyboardButton(text=(MARK if f == frequency else "") + t(f"btn-freq-{f}"),
                                 callback_data=SubFreq(freq=f).pack()) for f in FREQUENCIES))
    b.row(InlineKeyboardButton(text=(MARK if tags is None else "") + t("btn-topics-all"),
                               callback_data=SubOp(op="all").pack()))
    chosen = set(tags or ())
    buttons = [InlineKeyboardButton(text=(MARK if tag in chosen else "") + _label(label),
                                    callback_data=SubTopic(tag=tag).pack())
               for tag, label in topics if len(tag) <= MAX_TAG]
    for i in range(0, len(buttons), 2):
        b.row(*buttons[i:i + 2])
    b.row(*(InlineKeyboardButton(text=(MARK if code == lang else "") + t(f"language-name-{code}"),
                                 callback_data=SubLang(lang=code).pack()) for code in LANGUAGES))
    b.row(InlineKeyboardButton(text=t("btn-unsubscribe"), callback_data=SubOp(op="off").pack()))
    return b.as_markup()


def unsubscribed_keyboard(t: Translate) -> InlineKeyboardMarkup:
    b = _Rows()
    b.row(InlineKeyboardButton(text=t("btn-undo"), callback_data=SubOp(op="undo").pack()))
    return b.as_markup()
