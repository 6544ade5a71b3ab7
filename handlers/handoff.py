"""Hand-off to a person: the student confirms, the question goes to the staff chat (a forum
topic per student when the chat is a forum), staff reply there and the bot delivers it.

- No staff chat configured (``staff.chat_id``): the button and /human give the admissions
  contacts from the KB instead; nothing promises a reply from a person.
- A ban (/ban) holds in every chat: it is checked on the user, not on the chat.
- Staff replies go to the student privately, never into a group, each marked as coming from
  the admissions team in the student's language: a text reply is sent as one message under
  the header; a photo, video, document, audio, animation or voice is copied with the header
  as the first line of its caption; anything else (a sticker, a location, a long text) gets
  the header as a message of its own, then the copy. One message per reply where possible,
  so the student sees who wrote it and an edit can change it in place.
- Edits are mirrored: staff editing a reply edit the student's copy (or, when that cannot
  be edited, the new version is sent in reply to it); a student editing a message staff
  have seen posts an "edited" note with the new text under the staff chat's copy, so staff
  who already read (or answered) the old version notice, and both versions stay readable.
- Outside ``staff.office_hours`` the student's confirmation says when the team answers.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from html import escape

from aiogram import Bot, Router
from aiogram.enums import ParseMode
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
    ReplyParameters,
    User,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import audit, questions, users
from bot.db import handoffs as store
from bot.db.handoffs import OpenConversations
from bot.db.models import Handoff, HandoffMessage, Question
from bot.i18n import Translate, Translator, language_of
from bot.knowledge import Entry, KnowledgeBase
from bot.services import Knowledge, Services
from bot.staff.office_hours import OfficeHours, clock
from bot.telegram.replies import send_long, thread_of
from bot.text.normalize import clip, has_words
from bot.text.split import split_message
from bot.text.tghtml import MAX_MESSAGE
from bot.ui.answers import send_entry
from bot.ui.callbacks import Ask
from bot.ui.callbacks import Handoff as HandoffCb
from handlers.filters import InStaffChat, IsStaff, NotCommand, PrivateChat, is_person

log = logging.getLogger(__name__)
NAME_LIMIT = 64  # Telegram's own limit on a first name or username
MAX_CAPTION = 1024
CONTACTS_ENTRY = "contacts.admissions"  # else the first entry of the "contacts" category
#: Kinds of message whose copy can carry a caption (the header goes in it).
CAPTIONED = ("photo", "video", "document", "audio", "animation", "voice")


class HandoffForm(StatesGroup):
    question = State()


def _confirm_keyboard(t: Translate, question_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=t("btn-handoff-send"),
                             callback_data=HandoffCb(q=question_id).pack()),
        InlineKeyboardButton(text=t("btn-cancel"),
                             callback_data=HandoffCb(q=question_id, send=False).pack())]])


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _bot_mention(bot: Bot) -> str:
    me = await bot.me()
    return f"@{me.username}" if me.username else escape(me.first_name)


# --- no staff chat: the admissions contacts from the KB ---------------------------------------


def contacts_entry(kb: KnowledgeBase) -> Entry | None:
    entry = kb.entries.get(CONTACTS_ENTRY)
    if entry is None:
        in_category = kb.in_category("contacts")
        entry = in_category[0] if in_category else None
    return entry


async def send_contacts(bot: Bot, message: Message, user_id: int, lang: str,
                        translator: Translator, services: Services, session: AsyncSession,
                        question_id: int = 0) -> None:
    """The admissions contacts entry, rendered like any answer, in ``lang``."""
    t = translator.for_lang(lang)
    entry = contacts_entry(services.knowledge.kb)
    if entry is None:
        await message.answer(t("handoff-contacts-website", website=services.config.bot.website))
        return
    await send_entry(bot, message.chat.id, entry, lang, t, services, user_id=user_id,
                     session=session, question_id=question_id, thread_id=thread_of(message))


async def _available(message: Message, user_id: int, bot: Bot, session: AsyncSession,
                     config: Config, lang: str, translator: Translator, services: Services,
                     question_id: int = 0) -> bool:
    """False (and the student given what there is instead) when no hand-off is possible:
    no staff chat (the contacts), or this user is banned (in any chat)."""
    if config.staff.chat_id is None:
        await send_contacts(bot, message, user_id, lang, translator, services, session,
                            question_id)
        return False
    if await store.is_banned(session, user_id):
        await message.answer(translator.get(lang, "handoff-banned", website=config.bot.website))
        return False
    return True


# --- the student hands a question over ---------------------------------------------------------


async def ask_button(query: CallbackQuery, callback_data: Ask, bot: Bot, session: AsyncSession,
                     config: Config, translator: Translator, services: Services, lang: str,
                     state: FSMContext) -> None:
    await query.answer()
    msg = query.message
    if not isinstance(msg, Message):
        return
    question = await questions.own_question(session, callback_data.q, query.from_user.id)
    if question is not None:
        lang = question.lang  # as the answer under which the button was
    if not await _available(msg, query.from_user.id, bot, session, config, lang, translator,
                            services, callback_data.q):
        return
    t = translator.for_lang(lang)
    if question is None and msg.chat.type != "private":
        # The question is typed in private (the reply comes there too).
        await msg.answer(t("handoff-in-private", bot=await _bot_mention(bot)))
        return
    if question is None:
        await state.set_state(HandoffForm.question)
        await msg.answer(t("handoff-type-question"))
        return
    if msg.chat.type == "private":
        text = t("handoff-confirm", question=escape(question.text))
    else:
        text = t("handoff-confirm-group", question=escape(question.text),
                 bot=await _bot_mention(bot))
    await send_long(bot, msg.chat.id, text, reply_markup=_confirm_keyboard(t, question.id),
                    message_thread_id=thread_of(msg))


async def human_command(message: Message, bot: Bot, session: AsyncSession, config: Config,
                        translator: Translator, services: Services, lang: str, t: Translate,
                        state: FSMContext) -> None:
    if not await _available(message, message.from_user.id, bot, session, config, lang,
                            translator, services):
        return
    await state.set_state(HandoffForm.question)
    await message.answer(t("handoff-type-question"))


async def human_in_group(message: Message, bot: Bot, session: AsyncSession, config: Config,
                         translator: Translator, services: Services, lang: str,
                         t: Translate) -> None:
    """/human@this_bot in a group: the contacts (no staff chat), or where to ask in private.
    A bare /human there is for every bot in the group (as for unknown commands)."""
    mention = (message.text or "").split(maxsplit=1)[0].partition("@")[2]
    me = await bot.me()
    if not mention or mention.lower() != (me.username or "").lower():
        return
    # An anonymous admin or a channel is no one to ban: they are told the same as anyone.
    if is_person(message) and not await _available(
            message, message.from_user.id, bot, session, config, lang, translator, services):
        return
    if config.staff.chat_id is None:
        await send_contacts(bot, message, message.from_user.id, lang, translator, services,
                            session)
        return
    await message.answer(t("handoff-in-private", bot=await _bot_mention(bot)))


async def cancel_command(message: Message, state: FSMContext, t: Translate) -> None:
    await state.clear()
    await message.answer(t("handoff-cancelled"))


async def typed_question(message: Message, bot: Bot, session: AsyncSession, config: Config,
                         knowledge: Knowledge, translator: Translator, services: Services,
                         conversations: OpenConversations, t: Translate, lang: str,
                         state: FSMContext) -> None:
    await state.clear()
    if not await _available(message, message.from_user.id, bot, session, config, lang,
                            translator, services):  # banned (or no staff chat) since /human
        return
    text = message.text or message.caption or ""
    if not has_words(text):
        await message.answer(t("empty-text"))
        return
    result = knowledge.engine.match(text, hint=lang)
    row = await questions.record_question(
        session, user_id=message.from_user.id, chat_id=message.chat.id, text=text,
        lang=result.lang, matched_id=result.id or result.best_guess, score=result.score,
        outcome="fallback" if result.kind == "fallback" else
        ("answered" if result.kind == "answer" else "suggested"))
    await send_to_staff(bot, session, config, translator, conversations, message, row, lang, t,
                        source_message_id=message.message_id)


async def confirm(query: CallbackQuery, callback_data: HandoffCb, bot: Bot,
                  session: AsyncSession, config: Config, translator: Translator,
                  services: Services, conversations: OpenConversations, t: Translate,
                  lang: str) -> None:
    await query.answer()
    msg = query.message
    if not isinstance(msg, Message):
        return
    if not callback_data.send:
        await msg.answer(t("handoff-cancelled"))
        return
    question = await questions.own_question(session, callback_data.q, query.from_user.id)
    if question is None:
        await msg.answer(t("stale-menu"))
        return
    if not await _available(msg, query.from_user.id, bot, session, config, question.lang,
                            translator, services, question.id):
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


def office_hours_notice(config: Config, t: Translate, now: datetime | None = None) -> str | None:
    """When the team answers, if ``now`` is outside ``staff.office_hours`` (else None)."""
    if config.staff.office_hours is None:
        return None
    hours = OfficeHours.from_config(config.staff.office_hours)
    now = now or datetime.now(UTC)
    if hours.is_open(now):
        return None
    days = ", ".join(t(f"weekday-{a}") if a == b else f"{t(f'weekday-{a}')}–{t(f'weekday-{b}')}"
                     for a, b in hours.day_ranges())
    opening = hours.next_opening(now)
    today = hours.local(now).date()
    time = clock(opening.hour * 60 + opening.minute)
    if opening.date() == today:
        when = t("handoff-today", time=time)
    elif opening.date() == today + timedelta(days=1):
        when = t("handoff-tomorrow", time=time)
    else:
        when = t("handoff-on-day", day=t(f"weekday-{opening.weekday()}"), time=time)
    return t("handoff-office-hours", days=days, start=clock(hours.start), end=clock(hours.end),
             offset=hours.utc_offset(now), next=when)


async def send_to_staff(bot: Bot, session: AsyncSession, config: Config, translator: Translator,
                        conversations: OpenConversations, message: Message, question: Question,
                        lang: str, t: Translate, student: User | None = None,
                        source_message_id: int | None = None) -> None:
    """``message`` is in the chat the student is handing over from (their private chat or a
    group); ``source_message_id`` their own message with the question, when there is one."""
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
    await store.link(session, conv, header.message_id, "to_staff",
                     student_message_id=source_message_id)
    await session.commit()  # visible to every instance before the student writes again
    conversations.invalidate()
    if message.chat.type == "private":
        saved = t("handoff-saved")
    else:
        saved = t("handoff-saved-group", bot=await _bot_mention(bot))
    notice = office_hours_notice(config, t)
    await message.answer(saved + (f"\n\n{notice}" if notice else ""))


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
    await store.link(session, conv, copy.message_id, "to_staff",
                     student_message_id=message.message_id)
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


async def student_edit(message: Message, bot: Bot, session: AsyncSession, config: Config,
                       translator: Translator) -> None:
    """A student edited a message staff have: a note with the new version under its copy."""
    user = message.from_user
    copies = await store.staff_copies(session, user.id, message.message_id)
    if not copies:
        return
    st = translator.for_lang(config.bot.default_language)
    name = escape(clip(user.first_name or "?", NAME_LIMIT))
    text = message.text or message.caption
    for conv, row in copies:
        reply = ReplyParameters(message_id=row.staff_message_id,
                                allow_sending_without_reply=True)
        if text:
            note = st("staff-student-edited", name=name, user_id=user.id, text=escape(text))
            for i, part in enumerate(split_message(note)):
                sent = await bot.send_message(conv.staff_chat_id, part,
                                              message_thread_id=conv.topic_id,
                                              reply_parameters=reply if i == 0 else None)
                await store.link(session, conv, sent.message_id, "to_staff")
        else:  # new media without a caption: say so, then show it
            note = await bot.send_message(
                conv.staff_chat_id, st("staff-student-edited-media", name=name, user_id=user.id),
                message_thread_id=conv.topic_id, reply_parameters=reply)
            await store.link(session, conv, note.message_id, "to_staff")
            copy = await bot.copy_message(conv.staff_chat_id, message.chat.id,
                                          message.message_id, message_thread_id=conv.topic_id)
            await store.link(session, conv, copy.message_id, "to_staff")


# --- staff reply: to the student, privately, marked ---------------------------------------------


async def _student_lang(session: AsyncSession, config: Config, user_id: int) -> str:
    user = await users.get_user(session, user_id)
    return (user.language if user else None) or language_of(
        user.language_code if user else None, config.bot.default_language)


def _with_header(header: str, body_html: str, body_plain: str, limit: int) -> str | None:
    """Header and body as one text, if it fits Telegram's limit."""
    if _utf16(body_plain) + 40 > limit:  # the header's plain text is well under 40
        return None
    return f"{header}\n{body_html}" if body_plain else header


def _media(message: Message) -> bool:
    return any(getattr(message, kind) for kind in CAPTIONED)


async def deliver(bot: Bot, chat_id: int, message: Message, header: str,
                  reply_to: int | None = None) -> tuple[int, str]:
    """Send a staff message to the student under the team's header; returns the student's
    copy's message id and the layout ("text", "caption" or "plain")."""
    reply = (ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
             if reply_to else None)
    try:
        if message.text is not None:
            text = _with_header(header, message.html_text, message.text, MAX_MESSAGE)
            if text is not None:
                sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                              reply_parameters=reply)
                return sent.message_id, "text"
        elif _media(message):
            caption = _with_header(header, message.html_text, message.caption or "",
                                   MAX_CAPTION)
            if caption is not None:
                copied = await bot.copy_message(chat_id, message.chat.id, message.message_id,
                                                caption=caption, parse_mode=ParseMode.HTML,
                                                reply_parameters=reply)
                return copied.message_id, "caption"
    except TelegramBadRequest as exc:
        if _no_private_chat(exc):
            raise
        # Something in the staff's formatting Telegram will not take from a bot as HTML
        # (e.g. a custom emoji): the copy keeps it as it is, under a header of its own.
        log.info("staff reply not sent with its header inline (%s): copied", exc.message)
    await bot.send_message(chat_id, header, reply_parameters=reply)
    copied = await bot.copy_message(chat_id, message.chat.id, message.message_id)
    return copied.message_id, "plain"


def _no_private_chat(exc: TelegramAPIError) -> bool:
    """Telegram's answer when the user never started the bot (or the id is no private chat)."""
    text = exc.message.lower()
    return "chat not found" in text or "can't initiate" in text


async def _not_delivered(message: Message, session: AsyncSession, conv: Handoff,
                         exc: TelegramAPIError, t: Translate, action: str) -> None:
    if _no_private_chat(exc):
        reason, notice = "no private chat", t("staff-student-no-private-chat")
    elif isinstance(exc, TelegramForbiddenError):
        reason, notice = "blocked", t("staff-student-blocked")
    else:
        reason, notice = str(exc), t("staff-not-delivered", error=escape(str(exc)))
    await audit.record(session, message.from_user.id, action,
                       f"handoff={conv.id} not delivered: {reason}")
    await message.reply(notice)


async def _conversation(session: AsyncSession, message: Message) -> Handoff | None:
    if message.reply_to_message:
        conv = await store.find_by_staff_message(session, message.chat.id,
                                                 message.reply_to_message.message_id)
        if conv is not None:
            return conv
    if message.message_thread_id and message.is_topic_message:
        return await store.find_by_topic(session, message.chat.id, message.message_thread_id)
    return None


async def staff_reply(message: Message, bot: Bot, session: AsyncSession, config: Config,
                      translator: Translator, conversations: OpenConversations,
                      t: Translate) -> None:
    """A staff member answers in the staff chat: deliver it to the student, privately."""
    conv = await _conversation(session, message)
    if conv is None:
        return  # ordinary staff chatter
    header = translator.get(await _student_lang(session, config, conv.user_id),
                            "handoff-staff-reply-header")
    try:
        # conv.user_id, not conv.chat_id: a conversation started in a group is answered in
        # private, never in the group.
        copy_id, layout = await deliver(bot, conv.user_id, message, header)
    except TelegramAPIError as exc:
        await _not_delivered(message, session, conv, exc, t, "reply")
        return
    await audit.record(session, message.from_user.id, "reply", f"handoff={conv.id}")
    await store.link(session, conv, message.message_id, "to_student",
                     student_message_id=copy_id, layout=layout)
    if conv.status == "closed":  # a reply reopens the conversation
        conv.status = "open"
        await session.commit()
        conversations.invalidate()
    try:
        await bot.set_message_reaction(message.chat.id, message.message_id,
                                       [ReactionTypeEmoji(emoji="👌")])
    except TelegramAPIError:
        log.info("could not react in the staff chat; delivered anyway")


class _CannotEdit(Exception):
    """The student's copy cannot show the edit in place (send the new version instead)."""


async def _edit_copy(bot: Bot, chat_id: int, row: HandoffMessage, message: Message,
                     header: str) -> None:
    mid = row.student_message_id
    plain = message.text if message.text is not None else message.caption or ""
    if row.layout == "text" and message.text is not None:
        text = _with_header(header, message.html_text, plain, MAX_MESSAGE)
        if text is None:
            raise _CannotEdit
        await bot.edit_message_text(text, chat_id=chat_id, message_id=mid,
                                    parse_mode=ParseMode.HTML)
    elif row.layout == "caption" and _media(message):
        caption = _with_header(header, message.html_text, plain, MAX_CAPTION)
        if caption is None:
            raise _CannotEdit
        await bot.edit_message_caption(chat_id=chat_id, message_id=mid, caption=caption,
                                       parse_mode=ParseMode.HTML)
    elif row.layout == "plain" and message.text is not None:
        await bot.edit_message_text(message.html_text, chat_id=chat_id, message_id=mid,
                                    parse_mode=ParseMode.HTML)
    elif row.layout == "plain" and _media(message):
        await bot.edit_message_caption(chat_id=chat_id, message_id=mid,
                                       caption=message.html_text, parse_mode=ParseMode.HTML)
    else:
        raise _CannotEdit


async def staff_edit(message: Message, bot: Bot, session: AsyncSession, config: Config,
                     translator: Translator, t: Translate) -> None:
    """Staff edited a reply the student has: edit the student's copy to match."""
    found = await store.student_copy(session, message.chat.id, message.message_id)
    if found is None:
        return  # not a reply that reached a student
    conv, row = found
    header = translator.get(await _student_lang(session, config, conv.user_id),
                            "handoff-staff-reply-header")
    try:
        try:
            await _edit_copy(bot, conv.user_id, row, message, header)
        except TelegramBadRequest as exc:
            if "not modified" in exc.message and message.text is not None:
                return  # nothing the student would see changed
            # Too long now, the media replaced, or the copy deleted: the new version is sent,
            # in reply to the old one.
            raise _CannotEdit from exc
    except _CannotEdit:
        try:
            copy_id, layout = await deliver(bot, conv.user_id, message, header,
                                            reply_to=row.student_message_id)
        except TelegramAPIError as exc:
            await _not_delivered(message, session, conv, exc, t, "reply-edit")
            return
        row.student_message_id, row.layout = copy_id, layout
    except TelegramAPIError as exc:
        await _not_delivered(message, session, conv, exc, t, "reply-edit")
        return
    await audit.record(session, message.from_user.id, "reply-edit", f"handoff={conv.id}")


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(ask_button, Ask.filter())
    router.callback_query.register(confirm, HandoffCb.filter())
    private = PrivateChat()
    router.message.register(human_command, Command("human"), private)
    router.message.register(human_in_group, Command("human"))
    router.message.register(cancel_command, Command("cancel"), private)
    router.message.register(typed_question, StateFilter(HandoffForm.question), private)
    router.message.register(followup_handler, private, HasOpenHandoff())
    router.message.register(staff_reply, InStaffChat(), IsStaff(), NotCommand())
    router.edited_message.register(student_edit, private, HasOpenHandoff())
    router.edited_message.register(staff_edit, InStaffChat(), IsStaff(), NotCommand())
    return router
