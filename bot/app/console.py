"""``python -m bot console``: chat with the real bot in a terminal, no Telegram needed.

A local stand-in for the Bot API (bot.fakeapi) runs on loopback; the production dispatcher,
database and handlers poll it exactly as they would poll Telegram. Type a question, or the
number of a button to press it; /quit or Ctrl-D to leave. What the bot says in answer to a
button without a message (Telegram's pop-up notice: "Thank you for your feedback!") is shown
as a line starting with ⓘ.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TextIO

from bot.app.factory import build_app, create_bot
from bot.config import Config
from bot.fakeapi import FakeTelegram
from bot.text.tghtml import plain_text

TOKEN = "1000000001:CONSOLEconsoleCONSOLEconsole0000000"
USER_ID = 424242
QUIET = 0.4  # seconds without a new message = the bot has finished answering


class Console:
    def __init__(self, out: TextIO):
        self.out = out
        self.buttons: list[tuple[dict, str]] = []  # (message, callback data)

    def show(self, record: dict) -> None:
        text = record.get("text") or record.get("caption") or ""
        if record.get("method", "").startswith("edit"):
            self.out.write("(edited)\n")
        self.out.write("\n" + plain_text(text).strip() + "\n")
        markup = record.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        if rows:
            self.buttons = []
        for row in rows:
            labels = []
            for button in row:
                if "callback_data" in button:
                    self.buttons.append((record, button["callback_data"]))
                    labels.append(f"[{len(self.buttons)}] {button['text']}")
                elif "url" in button:
                    labels.append(f"{button['text']} <{button['url']}>")
            self.out.write("   ".join(labels) + "\n")
        self.out.flush()


async def _settle(api: FakeTelegram, since: int, timeout: float = 5.0,
                  query_id: str | None = None) -> None:
    """Wait for the bot's reply (to a button: a message or the button's answer), then until
    it has been quiet for a moment."""
    if query_id is None:
        with contextlib.suppress(TimeoutError):
            await api.wait_for(1, since=since, timeout=timeout)
    else:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (api.mark() == since and _notice(api, query_id) is None
               and loop.time() < deadline):
            await asyncio.sleep(0.02)
    seen = api.mark()
    while True:
        await asyncio.sleep(QUIET)
        if api.mark() == seen:
            return
        seen = api.mark()


def _notice(api: FakeTelegram, query_id: str) -> dict | None:
    """The bot's answer to this button press, once it has answered it."""
    return next((a for a in api.callback_answers if a["callback_query_id"] == query_id), None)


async def run_console(config: Config, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout,
                      lang: str = "en") -> None:
    api = FakeTelegram(token=TOKEN, bot_username="bsmu_admissions_bot")
    await api.start()
    app = await build_app(config)
    bot = create_bot(config, token=TOKEN, api_server=api.base_url,
                     on_forbidden=app.mark_blocked, metrics=app.metrics)
    await app.start_background(bot)
    console = Console(out)
    api.subscribe(console.show)
    polling = asyncio.create_task(app.dispatcher.start_polling(
        bot, handle_signals=False, close_bot_session=False, polling_timeout=1,
        **app.polling_options()))
    user = api.user(USER_ID, first_name="Student", language_code=lang)
    out.write("BSMU admissions assistant, console mode. Type a question, a button number, "
              "or /quit.\n")
    loop = asyncio.get_running_loop()
    try:
        since = api.mark()
        await user.send_text("/start")
        await _settle(api, since)
        while True:
            out.write("\n> ")
            out.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            line = line.strip()
            if line in ("/quit", "/exit"):
                break
            if not line:
                continue
            since = api.mark()
            if line.isdigit() and 1 <= int(line) <= len(console.buttons):
                message, data = console.buttons[int(line) - 1]
                query_id = await user.press(message, data, strict=False)
                await _settle(api, since, query_id=query_id)
                notice = _notice(api, query_id)
                if notice is not None and notice["text"]:
                    out.write(f"ⓘ {notice['text']}\n")
                    out.flush()
                continue
            await user.send_text(line)
            await _settle(api, since)
    finally:
        await app.dispatcher.stop_polling()
        with contextlib.suppress(Exception):
            await polling
        await app.close(bot=bot)
        await bot.session.close()
        await api.stop()
