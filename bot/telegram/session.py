"""aiogram's aiohttp session with JSON request bodies.

aiogram sends every method as multipart form data, JSON-encoding each nested object (a
keyboard, link-preview options) into its own form field. The Bot API takes
``application/json`` for any method that uploads no file, and building the JSON body once
costs a fraction of the form: on the bench (bench/updates.py) the form building was about
5% of the bot's CPU. Answers are checked exactly as aiogram does (``check_response``: the
same exceptions for 429/403/400/5xx, the same validated result types), and methods that
upload files take aiogram's multipart path unchanged.

A reply whose answer nobody reads (an answer to a question: the handler sends it and is
done) is sent as :class:`SendMessageUnread`: the same request, the same errors when Telegram
refuses it, but a successful answer is not built into a ``Message`` (a validated pydantic
tree of the whole message, keyboard and entities included: about 7% of the bot's CPU per
question on the bench). Its answer is accepted on the first bytes of the body (Telegram's
``{"ok":true`` ...) without parsing the rest.

An inline keyboard that was built together with its request JSON (a :class:`PreparedMarkup`,
which bot.ui.keyboards makes for answers from a per-entry template) is sent as that JSON
instead of being serialised again. Bodies are UTF-8 JSON (Russian text is a third of the
size it has as ``\\u`` escapes).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError, TelegramNetworkError
from aiogram.methods import GetUpdates, SendMessage, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import InlineKeyboardMarkup, Update
from aiohttp import ClientError
from pydantic import BaseModel, PrivateAttr, ValidationError

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}


class SendMessageUnread(SendMessage):
    """``sendMessage`` whose result the caller does not read: ``await bot(...)`` returns
    None once Telegram has accepted it (with :class:`JsonSession`; other sessions return
    the Message as usual). Errors are raised exactly as for SendMessage."""


class PreparedMarkup(InlineKeyboardMarkup):
    """An inline keyboard that carries its request JSON (:attr:`request_json`: dicts, lists
    and strings, what :class:`JsonSession` would make of the model), made by whoever built
    both from the same buttons. Any other session sends the model as usual."""

    _json: Any = PrivateAttr(default=None)

    @property
    def request_json(self) -> Any:
        return self._json

    def with_json(self, value: Any) -> PreparedMarkup:
        self._json = value
        return self

    # The same keyboard as an InlineKeyboardMarkup with the same buttons (the JSON is how
    # it is sent, not what it is).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InlineKeyboardMarkup):
            return NotImplemented
        return (type(other) in (InlineKeyboardMarkup, PreparedMarkup)
                and self.__dict__ == other.__dict__
                and self.__pydantic_extra__ == other.__pydantic_extra__)

    __hash__ = InlineKeyboardMarkup.__hash__

    # The model is frozen, but a copy may be given other buttons (model_copy(update=...)):
    # it is sent as its model says unless its maker gives it its own JSON.
    def __copy__(self) -> PreparedMarkup:
        return super().__copy__().with_json(None)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> PreparedMarkup:
        return super().__deepcopy__(memo).with_json(None)


def prepare_markup(markup: InlineKeyboardMarkup) -> PreparedMarkup:
    """``markup`` as a :class:`PreparedMarkup` with its JSON, made once: for a keyboard that
    is sent many times or copied with a few buttons changed. (Without JSON when something
    in it is not plain JSON, a default or a file: the session then serialises it.)"""
    data = markup.model_dump(warnings=False, exclude_none=True)
    made = PreparedMarkup.model_construct(markup.model_fields_set, **dict(markup))
    return made.with_json(data if _plain(data) else None)


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return kind is str or kind is int or kind is bool or kind is float


def _fields(method: TelegramMethod[Any], skip: str | None = None) -> dict[str, Any]:
    """``method.model_dump(warnings=False, exclude_none=True)`` without field ``skip``,
    read off the model's own fields where they are single values (text, ids, defaults, a
    nested object such as a keyboard, dumped by itself): pydantic's serialiser walks all
    of SendMessage's twenty-odd fields and took ~40 µs of every answer. A method with a
    list or other container, or extra fields, is pydantic's to dump."""
    if method.__pydantic_extra__:
        return method.model_dump(warnings=False, exclude_none=True,
                                 exclude={skip} if skip else None)
    data: dict[str, Any] = {}
    for name, value in method.__dict__.items():
        if value is None or name == skip:
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(warnings=False, exclude_none=True)
        elif isinstance(value, (list, tuple, set, frozenset, dict)):
            return method.model_dump(warnings=False, exclude_none=True,
                                     exclude={skip} if skip else None)
        data[name] = value
    return data


class _Accepted:
    result = None


_ACCEPTED = _Accepted()
_OK = '{"ok":true'  # how Telegram's (and the fake API's) answer to a success begins
_utf8_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class JsonSession(AiohttpSession):
    #: The token's limiter in this process (bot.digest.pace.Pacer), set by the factory.
    pacer: Any = None

    def check_response(self, bot: Bot, method: TelegramMethod[Any], status_code: int,
                       content: str) -> Response[Any]:
        if isinstance(method, SendMessageUnread) and status_code == 200:
            if content.startswith(_OK):
                return _ACCEPTED  # type: ignore[return-value]
            try:
                data = self.json_loads(content)
            except Exception:  # aiogram's path says what was wrong with it
                data = None
            if isinstance(data, dict) and data.get("ok") is True:
                return _ACCEPTED  # type: ignore[return-value]
        try:
            return super().check_response(bot=bot, method=method, status_code=status_code,
                                          content=content)
        except ClientDecodeError:
            if not isinstance(method, GetUpdates):
                raise
            return self._salvage_updates(bot, content)

    def _salvage_updates(self, bot: Bot, content: str) -> Response[Any]:
        """A batch of updates with one aiogram cannot read (an older self-hosted Bot API
        server, a field Telegram added): the others are handled, the bad one is logged once
        and stands in the batch with its id alone, so polling moves past it instead of
        fetching the same batch for ever (bot.telegram.middlewares.SkipUnreadable drops
        it)."""
        data = self.json_loads(content)
        if not (isinstance(data, dict) and data.get("ok") and isinstance(data.get("result"),
                                                                          list)):
            raise ClientDecodeError("Failed to deserialize object", ValueError(), data)
        updates: list[Update] = []
        for item in data["result"]:
            try:
                updates.append(Update.model_validate(item, context={"bot": bot}))
            except ValidationError as exc:
                update_id = item.get("update_id") if isinstance(item, dict) else None
                log.warning("update %s skipped: not understood (%d field error(s), first: "
                            "%s)", update_id, exc.error_count(),
                            exc.errors()[0]["loc"] if exc.errors() else "?")
                if isinstance(update_id, int) and not isinstance(update_id, bool):
                    updates.append(Update(update_id=update_id))
        return Response[list[Update]](ok=True, result=updates)

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The request as JSON, or None when it uploads files (multipart is needed)."""
        files: dict[str, Any] = {}
        markup = getattr(method, "reply_markup", None)
        prepared = markup.request_json if type(markup) is PreparedMarkup else None
        body = self._prepare(_fields(method, skip="reply_markup" if prepared is not None
                                     else None), bot, files)
        if files:
            return None
        if prepared is not None:
            body["reply_markup"] = prepared
        try:
            return _utf8_json(body).encode()
        except UnicodeEncodeError:  # a lone surrogate: as aiogram sends it (\u escapes)
            return self.json_dumps(body).encode()

    def _prepare(self, value: Any, bot: Bot, files: dict[str, Any]) -> Any:
        """aiogram's ``prepare_value(value, _dumps_json=False)``, with plain JSON values
        (most of a keyboard) passed through here instead of through its chain of isinstance
        checks; anything else (defaults, files, dates, enums, models) goes to aiogram."""
        kind = type(value)
        if kind is str or kind is int or kind is bool or kind is float:
            return value
        if kind is dict:
            out = {}
            for key, item in value.items():
                prepared = self._prepare(item, bot, files)
                if prepared is not None:
                    out[key] = prepared
            return out
        if kind is list:
            return [p for item in value if (p := self._prepare(item, bot, files)) is not None]
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(url, data=body, headers=JSON_HEADERS,
                                    timeout=self.timeout if timeout is None else timeout
                                    ) as resp:
                raw = await resp.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method,
                                       message=f"{type(exc).__name__}: {exc}") from exc
        return self.check_response(bot=bot, method=method, status_code=resp.status,
                                   content=raw).result
