"""Callback data of inline buttons: short, prefixed with a version, validated by aiogram.

Bump the digit in a prefix when a layout changes: old buttons then fall through to the
"this menu is out of date" handler instead of being misread.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class Nav(CallbackData, prefix="n1"):
    """Topic menu: ``cat`` empty = the main menu; ``edit`` = replace the pressed message."""

    cat: str = ""
    page: int = 0
    edit: bool = True


class Show(CallbackData, prefix="s1"):
    """An entry's answer; ``cat`` set = opened from that category's list (Back returns)."""

    entry: str
    cat: str = ""


class Vote(CallbackData, prefix="v1"):
    """👍/👎 on an answer; ``q`` the question it answered (0 = opened from a menu)."""

    entry: str
    up: bool
    q: int = 0


class Pick(CallbackData, prefix="p1"):
    """A "did you mean" choice; ``entry`` "-" means none of them."""

    entry: str
    q: int = 0


class Ask(CallbackData, prefix="a1"):
    """Hand the question ``q`` (0 = the last one) to the admissions team."""

    q: int = 0


class SetLang(CallbackData, prefix="l1"):
    lang: str


class Handoff(CallbackData, prefix="h1"):
    """Confirm (``send``) or cancel sending question ``q`` to the admissions team."""

    q: int = 0
    send: bool = True


# -- news and subscriptions -----------------------------------------------------------------


class NewsList(CallbackData, prefix="nl1"):
    """A page of the news list; ``edit`` = replace the pressed message."""

    page: int = 0
    edit: bool = True


class NewsShow(CallbackData, prefix="ns1"):
    """A news item by its news_items.id; ``page`` = the list page Back returns to."""

    id: int
    page: int = 0


class NewsKb(CallbackData, prefix="nk1"):
    """A KB news item by its KB id (ids are at most 60 characters: the data fits 64)."""

    id: str


class SubOp(CallbackData, prefix="so1"):
    """Subscription actions: on (subscribe), off (unsubscribe), undo, all (every topic),
    menu (show the settings menu as a new message)."""

    op: str


class SubFreq(CallbackData, prefix="sf1"):
    freq: str


class SubTopic(CallbackData, prefix="st1"):
    tag: str


class SubLang(CallbackData, prefix="sl1"):
    lang: str


# -- personal data ----------------------------------------------------------------------------


class Forget(CallbackData, prefix="fg1"):
    """/forget: delete (``ok``) or keep the data of ``user``, who alone may press it."""

    user: int
    ok: bool = False
