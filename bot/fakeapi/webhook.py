"""Webhook delivery: POST each pending update to the registered URL, like Telegram does.

Delivery is sequential and in order (Telegram's ``max_connections`` parallelism is not
simulated) because ordered delivery keeps webhook tests deterministic. A failed delivery is
retried with backoff and reported through getWebhookInfo's last_error_* fields. If the bot
answers the POST with a method call in the body (aiogram's "reply into webhook"), that call is
executed, exactly as Telegram executes it. WebhookMixin gives FakeTelegram the registration
that setWebhook stores and getWebhookInfo reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from .errors import ApiError
from .params import Upload

if TYPE_CHECKING:
    from aiohttp import web

    from .server import FakeTelegram
    from .state import UpdateQueue

log = logging.getLogger("bot.fakeapi.webhook")


class WebhookWorker:
    """Background task draining the update queue into the webhook URL."""

    def __init__(self, api: FakeTelegram, timeout: float = 30.0) -> None:
        self.api = api
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def kick(self) -> None:
        self.api.updates.event.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        backoff = 0.05
        queue = self.api.updates
        while self.api.webhook:
            update = queue.first()
            if update is None:
                event = queue.event
                event.clear()
                if queue.first() is None:
                    await event.wait()
                continue
            if await self._deliver(update):
                queue.remove_first(update["update_id"])
                backoff = 0.05
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    def _fail(self, message: str) -> bool:
        self.last_error_date = int(time.time())
        self.last_error_message = message
        self.api.stats.webhook_errors += 1
        log.debug("webhook delivery failed: %s", message)
        return False

    async def _deliver(self, update: dict[str, Any]) -> bool:
        config = self.api.webhook
        if not config:
            return False
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        headers = {"Content-Type": "application/json"}
        if config.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = config["secret_token"]
        body = json.dumps(update, ensure_ascii=False).encode()
        try:
            async with self._session.post(config["url"], data=body, headers=headers) as resp:
                if resp.status // 100 != 2:
                    return self._fail(
                        f"Wrong response from the webhook: {resp.status} {resp.reason}"
                    )
                reply = await self._read_reply(resp)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return self._fail("Read timeout expired")
        except (aiohttp.ClientError, OSError) as exc:
            return self._fail(f"Connection failed: {exc.__class__.__name__}: {exc}")
        self.api.stats.webhook_deliveries += 1
        if reply:
            await self._execute_reply(reply)
        return True

    async def _read_reply(self, resp: aiohttp.ClientResponse) -> dict[str, Any] | None:
        ctype = resp.content_type
        if ctype == "application/json":
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                return None
            return data if isinstance(data, dict) and data.get("method") else None
        if ctype == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(resp)
            fields: dict[str, Any] = {}
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                    continue
                if part.filename:
                    fields[part.name] = Upload(
                        part.filename, part.headers.get("Content-Type"), bytes(await part.read())
                    )
                else:
                    fields[part.name] = await part.text()
            return fields if fields.get("method") else None
        return None

    async def _execute_reply(self, reply: dict[str, Any]) -> None:
        params = dict(reply)
        method = str(params.pop("method"))
        # Telegram gives the bot no feedback for a failed reply-in-webhook call.
        with contextlib.suppress(ApiError):
            await self.api.execute(method, params, via="webhook_reply")


class WebhookMixin:
    """The registration setWebhook stores and getWebhookInfo reports; part of FakeTelegram."""

    webhook: dict[str, Any] | None
    updates: UpdateQueue
    _runner: web.AppRunner | None
    _webhook_worker: WebhookWorker

    async def set_webhook(self, config: dict[str, Any] | None) -> None:
        self.webhook = config
        if config is None:
            await self._webhook_worker.stop()
        elif self._runner is not None:
            self._webhook_worker.start()
            self._webhook_worker.kick()

    def webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": bool(self.webhook and
                                           self.webhook.get("has_custom_certificate")),
            "pending_update_count": len(self.updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
            worker = self._webhook_worker
            if worker.last_error_date:
                info["last_error_date"] = worker.last_error_date
                info["last_error_message"] = worker.last_error_message
        return info
