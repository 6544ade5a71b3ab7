"""The bot's own account: getMe, update delivery (getUpdates, webhooks), close/logOut,
commands, profile texts and the menu button."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .. import validate as v
from ..errors import ApiError, bad_request
from ..params import Params
from .registry import Handler, method

if TYPE_CHECKING:
    from ..server import FakeTelegram

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


# --- bot & updates --------------------------------------------------------------------------


@method("getMe")
async def get_me(api: FakeTelegram, p: Params) -> Any:
    return api.me


@method("getUpdates")
async def get_updates(api: FakeTelegram, p: Params) -> Any:
    if api.webhook:
        raise ApiError(409, _WEBHOOK_ACTIVE)
    limit = min(100, max(1, p.int("limit", 100) or 100))
    timeout = max(0.0, p.float("timeout", 0.0) or 0.0)
    api.updates.set_allowed(p.obj("allowed_updates"))
    updates = await api.updates.poll(p.int("offset"), limit, timeout)
    api.stats.updates += len(updates)
    return updates


@method("setWebhook")
async def set_webhook(api: FakeTelegram, p: Params) -> Any:
    url = p.str("url", "") or ""
    if not url:
        await api.set_webhook(None)
        return True
    if not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.str("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = p.int("max_connections", 40) or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = p.obj("allowed_updates")
    api.updates.set_allowed(allowed)
    if p.bool("drop_pending_updates"):
        api.updates.clear()
    await api.set_webhook({
        "url": url,
        "secret_token": secret,
        "max_connections": max_connections,
        "allowed_updates": allowed,
        "ip_address": p.str("ip_address"),
        "has_custom_certificate": "certificate" in p,
    })
    return True


@method("deleteWebhook")
async def delete_webhook(api: FakeTelegram, p: Params) -> Any:
    if p.bool("drop_pending_updates"):
        api.updates.clear()
    await api.set_webhook(None)
    return True


@method("getWebhookInfo")
async def get_webhook_info(api: FakeTelegram, p: Params) -> Any:
    return api.webhook_info()


@method("close")
async def close(api: FakeTelegram, p: Params) -> Any:
    api.closed = True
    return True


@method("logOut")
async def log_out(api: FakeTelegram, p: Params) -> Any:
    api.logged_out = True
    return True


# --- commands & profile ---------------------------------------------------------------------


def scope_key(scope: Any) -> str:
    """Canonical text key for a BotCommandScope: 'default', 'chat:42', 'chat_member:42:7'."""
    if scope is None or scope == "":
        return "default"
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    stype = scope["type"]
    if stype not in (
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    ):
        raise bad_request("wrong scope type specified")
    parts = [str(stype)]
    if stype.startswith("chat"):
        if scope.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        parts.append(str(scope["chat_id"]))
    if stype == "chat_member":
        parts.append(str(scope.get("user_id")))
    return ":".join(parts)


@method("setMyCommands")
async def set_my_commands(api: FakeTelegram, p: Params) -> Any:
    commands = v.check_commands(p.obj("commands"))
    key = (scope_key(p.obj("scope")), p.str("language_code", "") or "")
    if commands:
        api.commands[key] = commands
    else:
        api.commands.pop(key, None)
    return True


@method("getMyCommands")
async def get_my_commands(api: FakeTelegram, p: Params) -> Any:
    key = (scope_key(p.obj("scope")), p.str("language_code", "") or "")
    return api.commands.get(key, [])


@method("deleteMyCommands")
async def delete_my_commands(api: FakeTelegram, p: Params) -> Any:
    api.commands.pop((scope_key(p.obj("scope")), p.str("language_code", "") or ""), None)
    return True


def _profile_setter(name: str, field: str, limit: int) -> Handler:
    async def setter(api: FakeTelegram, p: Params) -> Any:
        value = p.str(field, "") or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        api.settings[(field, p.str("language_code", "") or "")] = value
        return True

    return setter


def _profile_getter(field: str) -> Handler:
    async def getter(api: FakeTelegram, p: Params) -> Any:
        lang = p.str("language_code", "") or ""
        value = api.settings.get((field, lang), api.settings.get((field, ""), ""))
        if field == "name" and not value:
            value = api.me["first_name"]
        return {field: value}

    return getter


for _set, _get, _field, _limit in (
    ("setMyDescription", "getMyDescription", "description", 512),
    ("setMyShortDescription", "getMyShortDescription", "short_description", 120),
    ("setMyName", "getMyName", "name", 64),
):
    method(_set)(_profile_setter(_set, _field, _limit))
    method(_get)(_profile_getter(_field))


@method("setChatMenuButton")
async def set_chat_menu_button(api: FakeTelegram, p: Params) -> Any:
    button = p.obj("menu_button") or {"type": "default"}
    key = p.int("chat_id")
    api.settings[("menu_button", key)] = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(api: FakeTelegram, p: Params) -> Any:
    key = p.int("chat_id")
    return api.settings.get(("menu_button", key)) or api.settings.get(
        ("menu_button", None), {"type": "commands"}
    )
