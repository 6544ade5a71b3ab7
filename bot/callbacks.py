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
