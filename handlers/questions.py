"""Free-text questions: the engine's answer, "did you mean" choices, or an honest fallback."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.question_log import QuestionLog
from bot.db.questions import own_question
from bot.i18n import Translate, Translator
from bot.services import Knowledge, Services
from bot.telegram.replies import TypingAfter, thread_of
from bot.text.normalize import has_words
from bot.text.tghtml import MAX_MESSAGE
from bot.ui import keyboards
from bot.ui.answers import OUTCOMES, present, send_entry
from bot.ui.callbacks import Pick
from handlers.filters import Addressed, HasText, is_person

#: "typing…" shows only when an answer takes longer than this (seconds): a quick answer costs
#: no sendChatAction call. Slow answers: a database or Telegram under load, news lookups.
TYPING_AFTER = 1.0


async def on_question(message: Message, bot: Bot, session: AsyncSession, knowledge: Knowledge,
                      questions: QuestionLog, services: Services, translator: Translator,
                      lang: str, t: Translate, question: str | None = None,
                      metrics=None) -> None:
    text = question if question is not None else message.text or ""
    if len(text) > MAX_MESSAGE:
        await message.answer(t("too-long", length=len(text), limit=MAX_MESSAGE))
        text = text[:MAX_MESSAGE]
    if not has_words(text):
        await message.answer(t("empty-text"))
        return
    async with TypingAfter(bot, message.chat.id, message_thread_id=thread_of(message),
                           delay=TYPING_AFTER):
        await _answer(message, bot, session, knowledge, questions, services, translator,
                      lang, text, metrics)


async def _answer(message: Message, bot: Bot, session: AsyncSession, knowledge: Knowledge,
                  questions: QuestionLog, services: Services, translator: Translator,
                  lang: str, text: str, metrics) -> None:
    result = knowledge.engine.match(text, hint=lang)
    if metrics is not None:
        metrics.answered(OUTCOMES[result.kind])
    question_id = 0
    if is_person(message):
        # Stored (committed, in a batch with the questions of other updates: see
        # bot.db.question_log) before the answer goes out: its buttons carry the row's id.
        question_id = await questions.record(
            user_id=message.from_user.id, chat_id=message.chat.id, text=text,
            lang=result.lang, matched_id=result.id or result.best_guess,
            score=result.score, outcome=OUTCOMES[result.kind])
    await present(bot, message.chat.id, result, translator.for_lang(result.lang), services,
                  user_id=message.from_user.id, session=session, question_id=question_id,
                  thread_id=thread_of(message))


async def pick(query: CallbackQuery, callback_data: Pick, bot: Bot, knowledge: Knowledge,
               services: Services, translator: Translator, session: AsyncSession, lang: str,
               t: Translate) -> None:
    if query.message is None:
        await query.answer()
        return
    # Answer in the language the question was asked in, like the suggestions were.
    asked = await own_question(session, callback_data.q, query.from_user.id)
    if asked is not None:
        lang = asked.lang
        t = translator.for_lang(lang)
    chat_id = query.message.chat.id
    if callback_data.entry == "-":
        await query.answer()
        await bot.send_message(chat_id, t("none-of-these"),
                               message_thread_id=thread_of(query.message),
                               reply_markup=keyboards.fallback_keyboard(t, callback_data.q))
        return
    entry = knowledge.kb.entries.get(callback_data.entry)
    if entry is None:
        await query.answer(t("stale-menu"), show_alert=True)
        return
    await query.answer()
    await send_entry(bot, chat_id, entry, lang, t, services, user_id=query.from_user.id,
                     session=session, question_id=callback_data.q,
                     thread_id=thread_of(query.message))




def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(on_question, HasText(), Addressed())
    router.callback_query.register(pick, Pick.filter())
    return router
