"""The last line of defence: log the update and the error, tell the user, carry on."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent

from bot.db.health import is_outage
from bot.i18n import Translator, language_of
from bot.telegram.replies import thread_of

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, translator: Translator,
                   lang: str | None = None) -> bool:
    update = event.update
    if isinstance(event.exception, TelegramForbiddenError):
        # The user blocked the bot while we answered: an ordinary event. The session's retry
        # middleware has marked them blocked (bot.telegram.retry); nobody to tell.
        log.info("update %s: the user blocked the bot meanwhile (%s)", update.update_id,
                 event.exception.message)
        return True
    if is_outage(event.exception):
        # The database is down (bot.db.health logs the outage once): one line per update at
        # most, no traceback; the student is asked to try again.
        log.warning("update %s: database unreachable (%s)", update.update_id,
                    type(event.exception).__name__)
    else:
        log.error("update %s failed: %s: %s", update.update_id,
                  type(event.exception).__name__, event.exception, exc_info=event.exception)
    message = update.message or (update.callback_query.message if update.callback_query
                                 else None)
    user = update.message.from_user if update.message else (
        update.callback_query.from_user if update.callback_query else None)
    lang = lang or language_of(user.language_code if user else None)
    if update.callback_query is not None:
        # A button whose handler failed would otherwise spin until Telegram gives up.
        with contextlib.suppress(TelegramAPIError):
            await bot.answer_callback_query(update.callback_query.id)
    if message is None:
        return True
    try:
        await bot.send_message(message.chat.id, translator.get(lang, "error-generic"),
                               message_thread_id=thread_of(message))
    except TelegramAPIError as exc:
        log.warning("could not tell chat %s about the error: %s", message.chat.id, exc)
    return True


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router
