"""Hand-off to a person: the student confirms, the question goes to the staff chat (a forum
topic per student when the chat is a forum), staff reply there and the bot delivers it."""

from __future__ import annotations

import logging
from html import escape

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import audit, questions
from bot.db import handoffs as store
from bot.db.handoffs import OpenConversations
from bot.db.models import Question
from bot.i18n import Translate, Translator
from bot.services import Knowledge
from bot.telegram.replies import send_long, thread_of
from bot.text.normalize import clip, normalize
from bot.ui.callbacks import Ask
from bot.ui.callbacks import Handoff as HandoffCb
from handlers.filters import InStaffChat, IsStaff, NotCommand, PrivateChat

log = logging.getLogger(__name__)
NAME_LIMIT = 64  # Telegram's own limit on a first name or username


class HandoffForm(StatesGroup):
    question = State()


def _confirm_keyboard(t: Translate, question_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("btn-handoff-send"),
                             callback_data=HandoffCb(q=question_id).pack()),
        InlineKeyboardButton(text=t("btn-cancel"),
                             callback_data=HandoffCb(q=question_id, send=False).pack())]])


async def _guard(message: Message, session: AsyncSession, config: Config, t: Translate) -> bool:
    """False (and the student told why) when a hand-off is not possible."""
    if await store.is_banned(session, message.chat.id):
        await message.answer(t("handoff-banned", website=config.bot.website))
        return False
    if config.staff.chat_id is None:
        await message.answer(t("handoff-staff-unavailable", website=config.bot.website))
        return False
    return True


async def ask_button(query: CallbackQuery, callback_data: Ask, bot: Bot, session: AsyncSession,
                     config: Config, t: Translate, state: FSMContext) -> None:
    await query.answer()
    msg = query.message
    if msg is None or not await _guard(msg, session, config, t):
        return
    question = await questions.own_question(session, callback_data.q, query.from_user.id)
    if question is None:
        await state.set_state(HandoffForm.question)
        await msg.answer(t("handoff-type-question"))
        return
    await send_long(bot, msg.chat.id, t("handoff-confirm", question=escape(question.text)),
                    reply_markup=_confirm_keyboard(t, question.id),
                    message_thread_id=thread_of(msg))


async def human_command(message: Message, session: AsyncSession, config: Config,
                        t: Translate, state: FSMContext) -> None:
    if not await _guard(message, session, config, t):
        return
    await state.set_state(HandoffForm.question)
    await message.answer(t("handoff-type-question"))


async def cancel_command(message: Message, state: FSMContext, t: Translate) -> None:
    await state.clear()
    await message.answer(t("handoff-cancelled"))


async def typed_question(message: Message, bot: Bot, session: AsyncSession, config: Config,
                         knowledge: Knowledge, translator: Translator,
                         conversations: OpenConversations, t: Translate, lang: str,
                         state: FSMContext) -> None:
    await state.clear()
    if not await _guard(message, session, config, t):  # banned since /human
        return
    text = message.text or message.caption or ""
    if not normalize(text):
        await message.answer(t("empty-text"))
        return
    result = knowledge.engine.match(text, hint=lang)
    row = await questions.record_question(
        session, user_id=message.from_user.id, chat_id=message.chat.id, text=text,
        lang=result.lang, matched_id=result.id or result.best_guess, score=result.score,
        outcome="fallback" if result.kind == "fallback" else
        ("answered" if result.kind == "answer" else "suggested"))
    await send_to_staff(bot, session, config, translator, conversations, message, row, lang, t)


async def confirm(query: CallbackQuery, callback_data: HandoffCb, bot: Bot,
                  session: AsyncSession, config: Config, translator: Translator,
                  conversations: OpenConversations, t: Translate, lang: str) -> None:
    await query.answer()
    msg = query.message
    if msg is None:
        return
    if not callback_data.send:
        await msg.answer(t("handoff-cancelled"))
        return
    question = await questions.own_question(session, callback_data.q, query.from_user.id)
    if question is None:
        await msg.answer(t("stale-menu"))
        return
    if not await _guard(msg, session, config, t):
        return
    await send_to_staff(bot, session, config, translator, conversations, msg, question, lang, t,
                        student=query.from_user)


async def _topic(bot: Bot, session: AsyncSession, staff_chat: int, user) -> int | None:
    """A forum topic per student when the staff chat is a forum."""
    topic = await store.last_topic(session, user.id, staff_chat)
    if topic:
        return topic
    chat = await bot.get_chat(staff_chat)
    if not chat.is_forum:
        return None
    name = f"{user.first_name or 'Student'} · {user.id}"[:128]
    created = await bot.create_forum_topic(staff_chat, name)
    return created.message_thread_id


async def send_to_staff(bot: Bot, session: AsyncSession, config: Config, translator: Translator,
                        conversations: OpenConversations, message: Message, question: Question,
                        lang: str, t: Translate, student=None) -> None:
    student = student or message.from_user
    staff_chat = config.staff.chat_id
    conv = await store.open_for(session, student.id)
    if conv is None:
        topic = await _topic(bot, session, staff_chat, student)
        conv = await store.start(session, user_id=student.id, chat_id=message.chat.id,
                                 staff_chat_id=staff_chat, topic_id=topic,
                                 question_id=question.id)
    st = translator.for_lang(config.bot.default_language)
    name = (f'<a href="tg://user?id={student.id}">'
            f'{escape(clip(student.first_name or "?", NAME_LIMIT))}</a>')
    if student.username:
        name += f" (@{escape(clip(student.username, NAME_LIMIT))})"
    guess = (f"<code>{escape(question.matched_id)}</code> ({question.score:.0f})"
             if question.matched_id else st("staff-no-guess"))
    text = st("staff-handoff-header", name=name, user_id=student.id, lang=lang,
              question=escape(question.text), guess=guess)
    try:
        # A long question is split; staff reply to its last part.
        header = await send_long(bot, staff_chat, text, message_thread_id=conv.topic_id)
    except TelegramBadRequest as exc:
        if conv.topic_id is None or "thread" not in exc.message.lower():
            raise
        # Staff deleted the student's topic: open a new one and carry on there.
        created = await bot.create_forum_topic(
            staff_chat, f"{student.first_name or 'Student'} · {student.id}"[:128])
        conv.topic_id = created.message_thread_id
        header = await send_long(bot, staff_chat, text, message_thread_id=conv.topic_id)
    await store.link(session, conv, header.message_id, "to_staff")
    await session.commit()  # visible to every instance before the student writes again
    conversations.invalidate()
    await message.answer(t("handoff-saved"))


async def student_followup(message: Message, bot: Bot, session: AsyncSession, config: Config,
                           translator: Translator) -> bool:
    """While a conversation is open, what the student writes goes to the same thread."""
    conv = await store.open_for(session, message.chat.id)
    if conv is None:
        return False
    st = translator.for_lang(config.bot.default_language)
    user = message.from_user
    name = escape(clip(user.first_name or "?", NAME_LIMIT))
    note = await bot.send_message(conv.staff_chat_id,
                                  st("staff-followup", name=name, user_id=user.id),
                                  message_thread_id=conv.topic_id)
    await store.link(session, conv, note.message_id, "to_staff")
    copy = await bot.copy_message(conv.staff_chat_id, message.chat.id, message.message_id,
                                  message_thread_id=conv.topic_id)
    await store.link(session, conv, copy.message_id, "to_staff")
    return True


async def followup_handler(message: Message, bot: Bot, session: AsyncSession, config: Config,
                           translator: Translator) -> None:
    await student_followup(message, bot, session, config, translator)


class HasOpenHandoff(Filter):
    """Filter: a private message from a student whose conversation with staff is open."""

    async def __call__(self, message: Message,  # type: ignore[override]
                       conversations: OpenConversations) -> bool:
        if message.chat.type != "private" or (message.text or "").startswith("/"):
            return False
        return await conversations.has(message.chat.id)  # no query per message


async def staff_reply(message: Message, bot: Bot, session: AsyncSession,
                      conversations: OpenConversations, t: Translate) -> None:
    """A staff member answers in the staff chat: deliver it to the student."""
    conv = None
    if message.reply_to_message:
        conv = await store.find_by_staff_message(session, message.chat.id,
                                                 message.reply_to_message.message_id)
    if conv is None and message.message_thread_id and message.is_topic_message:
        conv = await store.find_by_topic(session, message.chat.id, message.message_thread_id)
    if conv is None:
        return  # ordinary staff chatter
    try:
        await bot.copy_message(conv.chat_id, message.chat.id, message.message_id)
    except TelegramForbiddenError:
        await audit.record(session, message.from_user.id, "reply",
                           f"handoff={conv.id} not delivered: blocked")
        await message.reply(t("staff-student-blocked"))
        return
    except TelegramAPIError as exc:
        await audit.record(session, message.from_user.id, "reply",
                           f"handoff={conv.id} not delivered: {exc}")
        await message.reply(t("staff-not-delivered", error=escape(str(exc))))
        return
    await audit.record(session, message.from_user.id, "reply", f"handoff={conv.id}")
    await store.link(session, conv, message.message_id, "to_student")
    if conv.status == "closed":  # a reply reopens the conversation
        conv.status = "open"
        await session.commit()
        conversations.invalidate()
    try:
        await bot.set_message_reaction(message.chat.id, message.message_id,
                                       [ReactionTypeEmoji(emoji="👌")])
    except TelegramAPIError:
        log.info("could not react in the staff chat; delivered anyway")


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(ask_button, Ask.filter())
    router.callback_query.register(confirm, HandoffCb.filter())
    private = PrivateChat()
    router.message.register(human_command, Command("human"), private)
    router.message.register(cancel_command, Command("cancel"), private)
    router.message.register(typed_question, StateFilter(HandoffForm.question), private)
    router.message.register(followup_handler, private, HasOpenHandoff())
    router.message.register(staff_reply, InStaffChat(), IsStaff(), NotCommand())
    return router
