"""The production dispatcher end to end: fake Bot API, real long polling, SQLite."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.db.models import Question, User
from tests.harness import running_bot


def buttons(record: dict) -> list[dict]:
    rows = (record.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b for row in rows for b in row]


async def test_start_shows_welcome_and_menu(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = h.api.user(1001, first_name="<Ann>", language_code="en")
        await user.send_text("/start")
        (msg,) = await h.api.wait_for(1, chat_id=1001)
        assert "Hello, &lt;Ann&gt;!" in msg["text"]  # the name is escaped
        labels = [b["text"] for b in buttons(msg)]
        assert "About BSMU" in labels and "Admission" in labels
        assert "Small talk" not in labels  # hidden category
        await h.api.wait_for_call("setMyCommands")
        ru = h.api.commands[("default", "ru")]
        en = h.api.commands[("default", "")]
        assert [c["command"] for c in en] == ["start", "help", "menu", "language"]
        assert en[1]["description"] == "What the bot can do"
        assert ru[1]["description"] == "Что умеет бот"


async def test_free_text_answer_is_stored(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        user = h.api.user(1002, language_code="ru")
        await user.send_text("Есть ли общежитие для иностранцев?")
        (msg,) = await h.api.wait_for(1, chat_id=1002)
        assert "Общежитие" in msg["text"]
        labels = [b["text"] for b in buttons(msg)]
        assert "👍" in labels and "👎" in labels
        async with h.app.services.sessionmaker() as s:
            q = (await s.execute(select(Question))).scalar_one()
            u = (await s.execute(select(User))).scalar_one()
        assert (q.matched_id, q.outcome, q.lang) == ("accommodation.dormitory", "answered", "ru")
        assert u.id == 1002 and u.language_code == "ru"
