"""Inline keyboards built from the knowledge base (no I/O)."""

from __future__ import annotations

import math

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import Ask, Nav, Pick, SetLang, Show, Vote
from bot.i18n import Translate
from bot.knowledge import Entry, KnowledgeBase

PAGE_SIZE = 8
MAX_LABEL = 60


def _label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def main_menu(kb: KnowledgeBase, lang: str) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
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
    b = InlineKeyboardBuilder()
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


def answer_keyboard(entry: Entry, kb: KnowledgeBase, lang: str, t: Translate, *,
                    category: str = "", question_id: int = 0) -> InlineKeyboardMarkup:
    """Related entries, 👍/👎, then Back (when browsing) or Ask + Main menu."""
    b = InlineKeyboardBuilder()
    for rel in entry.related:
        other = kb.entries.get(rel)
        if other:
            b.row(InlineKeyboardButton(text=_label(other.label(lang)),
                                       callback_data=Show(entry=other.id).pack()))
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


def suggestions_keyboard(entries: tuple[Entry, ...] | list[Entry], lang: str, t: Translate,
                         question_id: int = 0) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    for e in entries:
        b.row(InlineKeyboardButton(text=_label(e.label(lang)),
                                   callback_data=Pick(entry=e.id, q=question_id).pack()))
    b.row(InlineKeyboardButton(text=t("btn-none"), callback_data=Pick(entry="-",
                                                                      q=question_id).pack()))
    return b.as_markup()


def fallback_keyboard(t: Translate, question_id: int = 0) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    b.row(InlineKeyboardButton(text=t("btn-ask-team"), callback_data=Ask(q=question_id).pack()))
    b.row(InlineKeyboardButton(text=t("btn-main-menu"), callback_data=Nav(edit=False).pack()))
    return b.as_markup()


def language_keyboard() -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    b.button(text="English", callback_data=SetLang(lang="en"))
    b.button(text="Русский", callback_data=SetLang(lang="ru"))
    return b.as_markup()
