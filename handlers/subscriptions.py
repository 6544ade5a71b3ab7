"""/subscribe, /settings, /unsubscribe: the news subscription and its settings menu.

/subscribe subscribes at once (daily, every topic, the user's language) and opens the menu;
/settings (and the bot.subscribe action, which questions like "how do I unsubscribe?" reach
too) only shows the menu. The menu changes one setting per tap, in place: frequency, topics
(none chosen = every topic), the language of the news. /unsubscribe keeps the settings and
the cursor for a one-tap Undo. Subscriptions belong to private chats.
"""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import subscriptions as subs
from bot.db.models import FREQUENCIES, Subscription
from bot.i18n import LANGUAGES, Translate, Translator
from bot.knowledge import KnowledgeBase
from bot.services import Knowledge
from bot.telegram.replies import edit_or_send, send_unread, thread_of
from bot.ui import keyboards
from bot.ui.actions import ActionContext
from bot.ui.callbacks import SubFreq, SubLang, SubOp, SubTopic

# Topics offered besides the tags of the KB's news items.
FIXED_TOPICS = ("international", "science", "admission", "events", "partnerships")
OPS = ("on", "off", "undo", "all", "menu")


def topics(kb: KnowledgeBase) -> list[str]:
    """The fixed topics, then the other tags of the KB's news items (alphabetically)."""
    extra = sorted({tag for n in kb.news for tag in n.tags} - set(FIXED_TOPICS))
    return [*FIXED_TOPICS, *extra]


def topic_label(tag: str, translator: Translator, lang: str) -> str:
    key = f"topic-{tag}"
    if key in translator.keys.get(lang, ()):
        return translator.get(lang, key)
    return tag.replace("_", " ").replace("-", " ")


def menu_text(sub: Subscription | None, translator: Translator, lang: str,
              notice: str | None = None) -> str:
    t = translator.for_lang(lang)
    lines = [notice, ""] if notice else []
    lines.append(t("sub-title"))
    if sub is not None and sub.active:
        chosen = ", ".join(topic_label(tag, translator, lang) for tag in sub.tags or ())
        lines += [
            t("sub-status-on"),
            t("sub-frequency", value=t(f"freq-{sub.frequency}")),
            t("sub-topics", value=chosen or t("topics-all")),
            t("sub-language", value=t(f"language-name-{sub.lang}")),
            "",
            t("sub-hint"),
        ]
    else:
        lines += [t("sub-status-off"), "", t("sub-off-hint")]
    return "\n".join(lines)


def menu_markup(sub: Subscription | None, kb: KnowledgeBase, translator: Translator,
                lang: str) -> InlineKeyboardMarkup:
    t = translator.for_lang(lang)
    if sub is None or not sub.active:
        return keyboards.subscription_menu(active=False, frequency="", tags=None, lang="",
                                           topics=[], t=t)
    offered = topics(kb)
    offered += sorted(set(sub.tags or ()) - set(offered))  # chosen, no longer in the KB
    return keyboards.subscription_menu(
        active=True, frequency=sub.frequency, tags=sub.tags, lang=sub.lang,
        topics=[(tag, topic_label(tag, translator, lang)) for tag in offered], t=t)


def _menu(sub: Subscription | None, knowledge: Knowledge, translator: Translator, lang: str,
          notice: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    return (menu_text(sub, translator, lang, notice),
            menu_markup(sub, knowledge.kb, translator, lang))


def _private(chat_id: int) -> bool:
    return chat_id > 0  # private chats have the user's (positive) id; groups are negative


async def send_menu(bot: Bot, chat_id: int, user_id: int, session: AsyncSession,
                    knowledge: Knowledge, translator: Translator, lang: str, t: Translate,
                    notice: str | None = None, *, thread_id: int | None = None) -> None:
    """The settings menu (or the Subscribe button) as a new message."""
    if not _private(chat_id):
        await bot.send_message(chat_id, t("sub-private-only"), message_thread_id=thread_id)
        return
    text, markup = _menu(await subs.get(session, user_id), knowledge, translator, lang, notice)
    await send_unread(bot, chat_id, text, reply_markup=markup)


async def _subscribe(session: AsyncSession, user_id: int, chat_id: int,
                     lang: str) -> Subscription:
    """Active from now on: an old subscription comes back with its settings and cursor."""
    sub = await subs.get(session, user_id)
    if sub is None:
        return await subs.subscribe(session, user_id, chat_id, lang)
    if not sub.active or sub.chat_id != chat_id:
        return await subs.resubscribe(session, user_id, chat_id=chat_id) or sub
    return sub


# -- commands -------------------------------------------------------------------------------


async def subscribe_command(message: Message, bot: Bot, session: AsyncSession,
                            knowledge: Knowledge, translator: Translator, lang: str,
                            t: Translate) -> None:
    if not _private(message.chat.id):
        await message.answer(t("sub-private-only"))
        return
    sub = await subs.get(session, message.from_user.id)
    was_active = sub is not None and sub.active
    await _subscribe(session, message.from_user.id, message.chat.id, lang)
    await session.commit()  # before the round trip to Telegram
    await send_menu(bot, message.chat.id, message.from_user.id, session, knowledge, translator,
                    lang, t, notice=t("sub-already" if was_active else "sub-subscribed"))


async def settings_command(message: Message, bot: Bot, session: AsyncSession,
                           knowledge: Knowledge, translator: Translator, lang: str,
                           t: Translate) -> None:
    await send_menu(bot, message.chat.id, message.from_user.id, session, knowledge, translator,
                    lang, t, thread_id=thread_of(message))


async def unsubscribe_command(message: Message, session: AsyncSession, knowledge: Knowledge,
                              translator: Translator, lang: str, t: Translate) -> None:
    if not _private(message.chat.id):
        await message.answer(t("sub-private-only"))
        return
    sub = await subs.get(session, message.from_user.id)
    if sub is None or not sub.active:
        text, markup = _menu(sub, knowledge, translator, lang, notice=t("sub-not-subscribed"))
        await message.answer(text, reply_markup=markup)
        return
    await subs.unsubscribe(session, message.from_user.id)
    await session.commit()
    await message.answer(t("sub-unsubscribed"), reply_markup=keyboards.unsubscribed_keyboard(t))


# -- menu buttons ---------------------------------------------------------------------------


async def on_op(query: CallbackQuery, callback_data: SubOp, bot: Bot, session: AsyncSession,
                knowledge: Knowledge, translator: Translator, lang: str, t: Translate) -> None:
    msg = query.message
    if msg is None:
        await query.answer()
        return
    user_id, chat_id, op = query.from_user.id, msg.chat.id, callback_data.op
    if not _private(chat_id):
        await query.answer(t("sub-private-only"), show_alert=True)
        return
    if op == "menu":
        await query.answer()
        await send_menu(bot, chat_id, user_id, session, knowledge, translator, lang, t,
                        thread_id=thread_of(msg))
        return
    if op == "on":
        sub = await _subscribe(session, user_id, chat_id, lang)
        await session.commit()  # writes are committed before any round trip to Telegram
        await query.answer(t("sub-subscribed"))
        await edit_or_send(query, *_menu(sub, knowledge, translator, lang))
        return
    if op == "undo":
        sub = await subs.resubscribe(session, user_id, chat_id=chat_id)
        await session.commit()
        if sub is None:
            await query.answer(t("stale-menu"), show_alert=True)
            return
        await query.answer(t("sub-restored"))
        await edit_or_send(query, *_menu(sub, knowledge, translator, lang,
                                         notice=t("sub-restored")))
        return
    sub = await subs.get(session, user_id)
    if sub is None or not sub.active:
        await query.answer(t("sub-not-subscribed"))
        await edit_or_send(query, *_menu(sub, knowledge, translator, lang))
        return
    if op == "off":
        await subs.unsubscribe(session, user_id)
        await session.commit()
        await query.answer()
        await edit_or_send(query, t("sub-unsubscribed"), keyboards.unsubscribed_keyboard(t))
    else:  # "all"
        await _change(query, session, knowledge, translator, lang, t, {"tags": None})


async def _change(query: CallbackQuery, session: AsyncSession, knowledge: Knowledge,
                  translator: Translator, lang: str, t: Translate, settings: dict) -> None:
    """Apply one setting of an active subscription and redraw the menu in place."""
    user_id = query.from_user.id
    sub = await subs.get(session, user_id)
    if sub is None or not sub.active:
        await query.answer(t("sub-not-subscribed"))
        await edit_or_send(query, *_menu(sub, knowledge, translator, lang))
        return
    sub = await subs.update_settings(session, user_id, **settings)  # frequency, tags, lang
    await session.commit()
    await query.answer(t("sub-saved"))
    await edit_or_send(query, *_menu(sub, knowledge, translator, lang))


async def on_frequency(query: CallbackQuery, callback_data: SubFreq, session: AsyncSession,
                       knowledge: Knowledge, translator: Translator, lang: str,
                       t: Translate) -> None:
    await _change(query, session, knowledge, translator, lang, t,
                  {"frequency": callback_data.freq})


async def on_language(query: CallbackQuery, callback_data: SubLang, session: AsyncSession,
                      knowledge: Knowledge, translator: Translator, lang: str,
                      t: Translate) -> None:
    await _change(query, session, knowledge, translator, lang, t, {"lang": callback_data.lang})


_topic_locks: dict[int, asyncio.Lock] = {}


async def on_topic(query: CallbackQuery, callback_data: SubTopic, session: AsyncSession,
                   knowledge: Knowledge, translator: Translator, lang: str, t: Translate) -> None:
    # Two quick taps arrive as two concurrent updates: both must count. The repository
    # toggles under a row lock (PostgreSQL, any number of instances); the local lock keeps
    # one process's taps from meeting in SQLite, which has no row locks.
    user_id = query.from_user.id
    lock = _topic_locks.setdefault(user_id, asyncio.Lock())
    try:
        async with lock:
            sub, changed = await subs.toggle_topic(session, user_id, callback_data.tag,
                                                   topics(knowledge.kb))
            await session.commit()  # before any network round trip: the row is locked
            # Still under the local lock: the menus are redrawn in the order of the taps,
            # so the last one drawn shows every tap.
            if sub is None or not sub.active:
                await query.answer(t("sub-not-subscribed"))
                await edit_or_send(query, *_menu(sub, knowledge, translator, lang))
            elif not changed:
                await query.answer(t("stale-menu"), show_alert=True)
            else:
                await query.answer(t("sub-saved"))
                await edit_or_send(query, *_menu(sub, knowledge, translator, lang))
    finally:
        if not lock.locked() and _topic_locks.get(user_id) is lock:
            del _topic_locks[user_id]


async def subscribe_action(ctx: ActionContext) -> None:
    """The action of bot.subscribe: the subscription menu, its current settings or a
    Subscribe button. Never subscribes by itself: "how do I unsubscribe?" and "stop sending
    me news" land here too."""
    await send_menu(ctx.bot, ctx.chat_id, ctx.user_id, ctx.session, ctx.services.knowledge,
                    ctx.services.translator, ctx.lang, ctx.t, thread_id=ctx.thread_id)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(subscribe_command, Command("subscribe"))
    router.message.register(settings_command, Command("settings"))
    router.message.register(unsubscribe_command, Command("unsubscribe"))
    router.callback_query.register(on_op, SubOp.filter(F.op.in_(OPS)))
    router.callback_query.register(on_frequency, SubFreq.filter(F.freq.in_(FREQUENCIES)))
    router.callback_query.register(on_language, SubLang.filter(F.lang.in_(LANGUAGES)))
    router.callback_query.register(on_topic, SubTopic.filter())
    return router
