"""``python -m bot doctor``: is this installation ready? One line per check, ✓ (fine),
! (works, but look at it) or ✗ (must be fixed), each problem with its fix.

The verdicts are pure functions of what was observed (``*_verdict``), unit-testable without
Telegram or a database; :func:`diagnose` gathers the observations (getMe, getChat,
getChatMember, getWebhookInfo, the database's revision, the KB) and never changes anything:
no migrations, no webhook set or deleted, no SQLite file created.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramNetworkError
from aiogram.types import User

from bot.app.reach import TelegramUnreachable, api_url, config_token, get_me, plain_bot
from bot.config import STAFF_ADMINS_ENV, STAFF_CHAT_ENV, Config, TokenError

Status = Literal["ok", "warn", "fail"]
MARKS: dict[str, str] = {"ok": "✓", "warn": "!", "fail": "✗"}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    summary: str
    fix: str = ""


def render(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{MARKS[c.status]} {c.name}: {c.summary}")
        if c.fix and c.status != "ok":
            lines.append(f"    fix: {c.fix}")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    lines.append("all checks passed" + (f" ({warned} warning(s))" if warned else "")
                 if not failed else f"{failed} check(s) failed")
    return "\n".join(lines)


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed (warnings allowed), 1 otherwise."""
    return 1 if any(c.status == "fail" for c in checks) else 0


# --- verdicts (pure) ---------------------------------------------------------------------------

_ID_HINT = "send /id to the bot there to see the id"


def config_verdict(config: Config) -> Check:
    if config.source.startswith("defaults"):
        return Check("config", "warn", config.source,
                     "pass --config /path/to/config.yaml or set BOT_CONFIG")
    return Check("config", "ok", config.source)


def admins_verdict(config: Config) -> Check:
    admins = config.staff.admins
    if not admins:
        return Check("staff admins", "warn",
                     f"none (staff.admins or {STAFF_ADMINS_ENV}): nobody can use the staff "
                     "commands",
                     f"each staff member sends /id to the bot in a private chat; list the "
                     f"numbers, e.g. {STAFF_ADMINS_ENV}=123456789,987654321")
    return Check("staff admins", "ok", f"{len(admins)} ({', '.join(map(str, admins))})")


def staff_chat_verdict(chat_id: int, chat: Any, member: Any) -> Check:
    """``chat`` a ChatFullInfo, ``member`` the bot's ChatMember there."""
    name = f"staff chat {chat_id}"
    title = f'"{chat.title}"' if getattr(chat, "title", None) else chat.type
    if chat.type == "private":
        return Check(name, "fail", "this is a private chat, not a group",
                     f"create a group for the admissions team, add the bot, {_ID_HINT}")
    status = member.status
    if status in ("left", "kicked"):
        return Check(name, "fail", f"{title}: the bot is not a member ({status})",
                     "add the bot to the group again")
    admin = status in ("administrator", "creator")
    if chat.type == "channel":
        if not (status == "creator" or getattr(member, "can_post_messages", False)):
            return Check(name, "fail", f"{title} is a channel where the bot cannot post",
                         "use a group, or make the bot an administrator with "
                         "'Post messages'")
    elif status == "restricted" and not getattr(member, "can_send_messages", True):
        return Check(name, "fail", f"{title}: the bot is restricted and cannot post",
                     "lift the bot's restrictions in the group's member settings")
    if getattr(chat, "is_forum", False):
        if not (status == "creator" or (admin and getattr(member, "can_manage_topics",
                                                          False))):
            return Check(name, "fail",
                         f"{title} has topics, but the bot cannot create them",
                         "make the bot an administrator with the 'Manage topics' right")
        return Check(name, "ok", f"{title}, forum: the bot can post and manage topics")
    return Check(name, "ok", f"{title}, {chat.type}: the bot can post"
                 + (" (administrator)" if admin else ""))


def database_verdict(where: str, current: str | None, head: str | None,
                     known: list[str]) -> Check:
    if current == head:
        return Check("database", "ok", f"{where}, migrated (revision {head})")
    if current is not None and current not in known:
        return Check("database", "fail",
                     f"{where} is at revision {current}, which this version does not know",
                     "install the bot version that wrote it, or restore a backup")
    at = "empty (never migrated)" if current is None else f"at revision {current}"
    return Check("database", "fail", f"{where} is {at}; this version needs {head}",
                 "python -m bot db upgrade (the bot also migrates when it starts)")


def knowledge_verdict(path: str, entries: int, errors: list[str], unverified: int) -> Check:
    if errors:
        return Check("knowledge", "fail",
                     f"{path}: {len(errors)} error(s), first: {errors[0]}",
                     "python -m bot kb check names the files and lines to fix")
    summary = f"{path}: {entries} entries, no errors"
    if unverified:
        return Check("knowledge", "warn", f"{summary}, {unverified} unverified",
                     "staff should confirm them; python -m bot kb check -v lists them")
    return Check("knowledge", "ok", summary)


def webhook_verdict(config: Config, info: Any, secret_set: bool,
                    now: float | None = None) -> Check:
    """``info`` a WebhookInfo from getWebhookInfo."""
    current = info.url or ""
    error = getattr(info, "last_error_message", None)
    if config.telegram.mode == "polling":
        if current:
            return Check("updates", "warn",
                         f"long polling, but Telegram has a webhook set: {current}",
                         "fine if this bot's `run` starts next (it removes the webhook); "
                         "if another server uses that webhook, do not poll from here")
        return Check("updates", "ok", "long polling (no webhook set)")
    cfg = config.telegram.webhook
    if not cfg.url:
        return Check("webhook", "fail", "telegram.webhook.url is not set",
                     "write the public HTTPS base URL, e.g. https://bot.example.org")
    expected = cfg.url.rstrip("/") + cfg.path
    if not expected.startswith("https://"):
        return Check("webhook", "fail", f"{expected}: Telegram calls webhooks over HTTPS only",
                     "put the bot behind a reverse proxy with a TLS certificate and write "
                     "its https:// address")
    if not secret_set:
        return Check("webhook", "fail", f"{cfg.secret_env} is not set",
                     f"export {cfg.secret_env}=<1-256 of A-Z a-z 0-9 _ ->, e.g. from "
                     "`openssl rand -hex 32`")
    if error:
        age = ""
        when = getattr(info, "last_error_date", None)
        if when is not None:
            stamp = when.timestamp() if hasattr(when, "timestamp") else float(when)
            minutes = max(0, int(((now or time.time()) - stamp) // 60))
            age = f" {minutes} min ago"
        return Check("webhook", "fail",
                     f"Telegram's last delivery to {current or expected} failed{age}: {error}",
                     "check that the URL is reachable from the internet over HTTPS with a "
                     "valid certificate, and that the bot is running behind it")
    if current != expected:
        shown = current or "none"
        return Check("webhook", "warn", f"Telegram has {shown}; the configured URL is "
                                        f"{expected}",
                     "`python -m bot run` sets it when it starts")
    pending = getattr(info, "pending_update_count", 0) or 0
    return Check("webhook", "ok", f"{expected} (pending updates: {pending})")


# --- gathering (I/O) ---------------------------------------------------------------------------


async def _telegram_checks(config: Config, env: Mapping[str, str]) -> list[Check]:
    try:
        token = config_token(config)
    except TokenError as exc:
        return [Check("token", "fail", str(exc)), *_not_checked(config)]
    bot = plain_bot(config, token, timeout=10)
    try:
        try:
            me = await get_me(bot, config)
        except (TokenError, TelegramUnreachable) as exc:
            return [Check("token", "fail", str(exc)), *_not_checked(config)]
        checks = [Check("token", "ok", f"@{me.username} (bot id {me.id}) via {api_url(config)}")]
        checks.append(await _staff_chat(bot, me, config))
        checks.append(await _webhook(bot, config, env))
        return checks
    finally:
        await bot.session.close()


def _not_checked(config: Config) -> list[Check]:
    why = "not checked: Telegram did not accept the token"
    return [Check("staff chat", "warn", why, "fix the token first"),
            Check("webhook" if config.telegram.mode == "webhook" else "updates", "warn", why,
                  "fix the token first")]


async def _staff_chat(bot: Bot, me: User, config: Config) -> Check:
    chat_id = config.staff.chat_id
    if chat_id is None:
        return Check("staff chat", "warn",
                     f"not set (staff.chat_id or {STAFF_CHAT_ENV}): students who ask for a "
                     "person get the admissions contacts instead",
                     f"add the bot to the staff group, send /id there, then set "
                     f"{STAFF_CHAT_ENV}=<the chat id>")
    try:
        chat = await bot.get_chat(chat_id)
        member = await bot.get_chat_member(chat_id, me.id)
    except TelegramForbiddenError as exc:
        return Check(f"staff chat {chat_id}", "fail", exc.message,
                     "add the bot to the group again")
    except TelegramNetworkError as exc:
        return Check(f"staff chat {chat_id}", "fail", f"no answer from Telegram: {exc.message}")
    except TelegramAPIError as exc:
        return Check(f"staff chat {chat_id}", "fail", exc.message,
                     f"add the bot to the group, {_ID_HINT} (supergroup ids start with -100)")
    return staff_chat_verdict(chat_id, chat, member)


async def _webhook(bot: Bot, config: Config, env: Mapping[str, str]) -> Check:
    try:
        info = await bot.get_webhook_info()
    except TelegramAPIError as exc:
        return Check("webhook", "fail", f"getWebhookInfo failed: {exc.message}")
    return webhook_verdict(config, info, bool(env.get(config.telegram.webhook.secret_env)))


async def _database_check(config: Config) -> Check:
    from bot.db import create_engine, revisions
    from bot.db.probe import DatabaseUnavailable, check_connection, migration_state, sqlite_path
    from bot.db.probe import where as db_where

    url = config.database.url
    where = db_where(url)
    path = sqlite_path(url)
    if path is not None and str(path) and not path.is_file():
        return Check("database", "fail", f"{where} does not exist yet",
                     "python -m bot db upgrade (creates and migrates it)")
    engine = create_engine(url)
    try:
        await check_connection(engine)
        current, head = await migration_state(engine)
    except DatabaseUnavailable as exc:
        return Check("database", "fail", str(exc).split("; check")[0],
                     "check database.url, and that the server runs and accepts this user")
    finally:
        await engine.dispose()
    return database_verdict(where, current, head, revisions())


def _knowledge_check(config: Config) -> Check:
    from bot.knowledge import KBError, load_knowledge

    path = config.knowledge.path
    shown = str(path.resolve())
    if not path.is_dir():
        return Check("knowledge", "fail", f"{shown} is not a directory",
                     f"fix knowledge.path in {config.source} (relative paths are read from "
                     f"the working directory, {os.getcwd()})")
    try:
        kb, problems = load_knowledge(path, strict=False)
    except KBError as exc:
        return knowledge_verdict(shown, 0, [str(p) for p in exc.problems] or [str(exc)], 0)
    errors = [str(p) for p in problems if p.level == "error"]
    unverified = sum(not e.verified for e in kb.entries.values())
    return knowledge_verdict(shown, len(kb.entries), errors, unverified)


async def diagnose(config: Config, env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in the order an IT person fixes things. Changes nothing."""
    env = os.environ if env is None else env
    checks = [config_verdict(config)]
    checks += await _telegram_checks(config, env)
    checks.append(admins_verdict(config))
    checks.append(await _database_check(config))
    checks.append(_knowledge_check(config))
    return checks
