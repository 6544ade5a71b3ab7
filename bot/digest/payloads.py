"""The messages of payloads, cached for the senders of a process."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from bot.db import digest_payloads
from bot.digest.runs import Sessions


class PayloadCache:
    """Messages of payloads by id; runs have few distinct payloads, so a small LRU. Loads
    are single-flight: a hundred workers starting on the same payload cause one query."""

    def __init__(self, sessions: Sessions, size: int = 2048) -> None:
        self.sessions = sessions
        self.size = size
        self._cache: OrderedDict[int, asyncio.Future[list[str]]] = OrderedDict()

    async def get(self, payload_id: int) -> list[str]:
        fut = self._cache.get(payload_id)
        if fut is not None:
            self._cache.move_to_end(payload_id)
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._cache[payload_id] = fut
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        try:
            async with self.sessions() as s:
                messages = await digest_payloads.messages(s, payload_id)
        except BaseException as exc:
            self._cache.pop(payload_id, None)
            fut.set_exception(exc)
            fut.exception()  # retrieved: the waiters get it through their own await
            raise
        fut.set_result(messages)
        return fut.result()
