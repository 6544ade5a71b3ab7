"""aiogram's aiohttp session with JSON request bodies.

aiogram sends every method as multipart form data, JSON-encoding each nested object (a
keyboard, link-preview options) into its own form field. The Bot API takes
``application/json`` for any method that uploads no file, and building the JSON body once
costs a fraction of the form: on the bench (bench/updates.py) the form building was about
5% of the bot's CPU. Answers are checked exactly as aiogram does (``check_response``: the
same exceptions for 429/403/400/5xx, the same validated result types), and methods that
upload files take aiogram's multipart path unchanged.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiohttp import ClientError

JSON_HEADERS = {"Content-Type": "application/json"}


class JsonSession(AiohttpSession):
    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The request as JSON, or None when it uploads files (multipart is needed)."""
        files: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                body[key] = prepared
        if files:
            return None
        return self.json_dumps(body).encode()

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
