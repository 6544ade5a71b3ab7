"""/id answers anyone in any chat with the chat's id and the sender's user id (what
BOT_STAFF_CHAT_ID and BOT_STAFF_ADMINS need), in the sender's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.harness import running_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_id_command_in_a_group_and_in_private(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        group = h.api.group(-1_001_234_567_890, "New staff group")
        olga = h.api.user(555_000_111, first_name="Olga", language_code="ru")
        mark = h.api.mark()
        await olga.send_text("/id", chat=group)
        (reply,) = await h.api.wait_for(1, chat_id=group.id, since=mark)
        assert reply["plain_text"].split("\n")[:2] == [
            "Идентификатор этого чата: -1001234567890 (supergroup)",
            "Ваш идентификатор пользователя: 555000111"]
        assert "BOT_STAFF_CHAT_ID=-1001234567890" in reply["plain_text"]

        ivan = h.api.user(555_000_222, first_name="Ivan", language_code="en")
        (reply,) = await ivan.ask("/id")
        assert reply["plain_text"].startswith("Your user id: 555000222\n\n")
        assert "BOT_STAFF_ADMINS=555000222,987654321" in reply["plain_text"]
