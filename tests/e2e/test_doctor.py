"""``python -m bot doctor`` against the fake Bot API: the token (getMe), the staff chat and
the bot's rights there (getChat, getChatMember), the webhook (getWebhookInfo), the database's
migration and the KB, one ✓/!/✗ line each; exit 0 only when nothing failed."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from bot.app.cli import main
from bot.app.doctor import Check, diagnose, exit_code, render
from bot.config import Config, load_config
from bot.db import create_engine, head, upgrade
from bot.fakeapi import FakeTelegram
from tests.support.harness import TOKEN
from tests.support.kb import KNOWLEDGE

pytestmark = pytest.mark.asyncio(loop_scope="module")
FORUM = -1_001_000_000_321
GROUP = -1_001_000_000_654
STAFF = 900_101


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api() -> AsyncIterator[FakeTelegram]:
    api = FakeTelegram(token=TOKEN, bot_username="bsmu_test_bot")
    await api.start()
    api.group(FORUM, "Admissions team", is_forum=True)
    api.group(GROUP, "Admissions staff")
    try:
        yield api
    finally:
        await api.stop()


def write(tmp_path: Path, api: FakeTelegram, **sections) -> Path:
    data = {"telegram": {"api_server": api.base_url},
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
            "knowledge": {"path": str(KNOWLEDGE), "watch": False},
            "staff": {"admins": [STAFF], "chat_id": FORUM}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def config_of(path: Path, **env: str) -> Config:
    return load_config(path, env={"BOT_TOKEN": TOKEN, **env})


async def migrate(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade(engine)
    await engine.dispose()


def by_name(checks: list[Check]) -> dict[str, Check]:
    """Checks by name, without the chat id ("staff chat -100..." -> "staff chat")."""
    return {re.sub(r" -?\d+$", "", c.name): c for c in checks}


async def test_a_ready_installation_passes(api: FakeTelegram, tmp_path: Path, capsys) -> None:
    api.chat(FORUM).set_member(api.bot_id, "administrator", can_manage_topics=True)
    await migrate(tmp_path)
    path = write(tmp_path, api)
    checks = await diagnose(config_of(path), env={})
    text = render(checks)
    assert text.splitlines()[:6] == [
        f"✓ config: {path}",
        f"✓ token: @bsmu_test_bot (bot id {api.bot_id}) via {api.base_url}",
        f'✓ staff chat {FORUM}: "Admissions team", forum: the bot can post and manage topics',
        "✓ updates: long polling (no webhook set)",
        f"✓ staff admins: 1 ({STAFF})",
        f"✓ database: SQLite file {tmp_path / 'bot.db'}, migrated (revision {head()})",
    ]
    assert text.splitlines()[6].startswith(f"! knowledge: {KNOWLEDGE}: ")  # unverified entries
    assert text.endswith("all checks passed (1 warning(s))")
    assert exit_code(checks) == 0

    # The same through the command line, with --config after the subcommand.
    capsys.readouterr()
    env_token = {"BOT_TOKEN": TOKEN}
    code = await asyncio.to_thread(_main_with_env, ["doctor", "--config", str(path)], env_token)
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[2].startswith(f"✓ staff chat {FORUM}")


def _main_with_env(argv: list[str], env: dict[str, str]) -> int:
    import os

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return main(argv)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def test_problems_are_failures_with_their_fix(api: FakeTelegram, tmp_path: Path) -> None:
    api.chat(FORUM).set_member(api.bot_id, "member")  # in the forum, but no right to topics
    checks = by_name(await diagnose(config_of(write(tmp_path, api)), env={}))
    chat = checks["staff chat"]
    assert chat.status == "fail"
    assert chat.summary == '"Admissions team" has topics, but the bot cannot create them'
    assert "'Manage topics'" in chat.fix
    db = checks["database"]  # never migrated, and doctor did not create it
    assert db.status == "fail" and "does not exist yet" in db.summary
    assert "python -m bot db upgrade" in db.fix
    assert not (tmp_path / "bot.db").exists()

    api.chat(GROUP).set_member(api.bot_id, "left")
    checks = by_name(await diagnose(config_of(write(tmp_path, api, staff={"chat_id": GROUP})),
                                    env={}))
    assert checks["staff chat"].summary == '"Admissions staff": the bot is not a member (left)'

    checks = by_name(await diagnose(config_of(write(tmp_path, api, staff={"chat_id": -42})),
                                    env={}))
    assert checks["staff chat"].status == "fail"
    assert "chat not found" in checks["staff chat"].summary
    assert "/id" in checks["staff chat"].fix


async def test_unset_staff_ids_are_warnings_saying_how_to_learn_them(api: FakeTelegram,
                                                                      tmp_path: Path) -> None:
    await migrate(tmp_path)
    path = write(tmp_path, api, staff={"admins": [], "chat_id": None})
    checks = by_name(await diagnose(config_of(path), env={}))
    assert checks["staff chat"].status == checks["staff admins"].status == "warn"
    assert "send /id there" in checks["staff chat"].fix
    assert "BOT_STAFF_CHAT_ID" in checks["staff chat"].fix
    assert "BOT_STAFF_ADMINS=" in checks["staff admins"].fix
    # ... and the environment fills them in.
    checks = by_name(await diagnose(config_of(path, BOT_STAFF_ADMINS=str(STAFF),
                                              BOT_STAFF_CHAT_ID=str(GROUP)), env={}))
    assert checks["staff admins"].status == "ok"
    assert checks["staff chat"].summary.startswith('"Admissions staff"')


async def test_a_rejected_token(api: FakeTelegram, tmp_path: Path) -> None:
    path = write(tmp_path, api)
    checks = await diagnose(load_config(path, env={"BOT_TOKEN": "42:wrong"}), env={})
    token = by_name(checks)["token"]
    assert token.status == "fail"
    assert token.summary.startswith("Telegram rejected BOT_TOKEN (Unauthorized): copy the "
                                    "token from @BotFather")
    assert exit_code(checks) == 1


async def test_webhook(api: FakeTelegram, tmp_path: Path) -> None:
    await migrate(tmp_path)
    closed = f"https://127.0.0.1:{_free_port()}"
    path = write(tmp_path, api, telegram={"mode": "webhook", "webhook": {"url": closed}})
    env = {"WEBHOOK_SECRET": "s3cret"}
    webhook = by_name(await diagnose(config_of(path), env={}))["webhook"]
    assert (webhook.status, webhook.summary) == ("fail", "WEBHOOK_SECRET is not set")

    webhook = by_name(await diagnose(config_of(path), env=env))["webhook"]
    assert webhook.status == "warn"  # not set at Telegram yet: `run` sets it
    assert webhook.summary == (f"Telegram has none; the configured URL is "
                               f"{closed}/telegram/webhook")

    # Telegram fails to deliver to it: the last error is a failure.
    await api.set_webhook({"url": f"{closed}/telegram/webhook", "secret_token": "s3cret",
                           "max_connections": 40, "allowed_updates": None})
    try:
        await api.user(STAFF + 1).send_text("hello")
        deadline = time.monotonic() + 10
        while api.webhook_info().get("last_error_message") is None:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        webhook = by_name(await diagnose(config_of(path), env=env))["webhook"]
        assert webhook.status == "fail"
        assert webhook.summary.startswith(f"Telegram's last delivery to {closed}/telegram/"
                                          "webhook failed 0 min ago: ")
        assert "HTTPS" in webhook.fix
    finally:
        await api.set_webhook(None)
        api.updates.clear()

    plain = write(tmp_path, api, telegram={"mode": "webhook",
                                           "webhook": {"url": "http://bot.example.org"}})
    webhook = by_name(await diagnose(config_of(plain), env=env))["webhook"]
    assert webhook.status == "fail" and "HTTPS only" in webhook.summary


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
