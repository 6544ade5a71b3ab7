"""One message rate per bot token across instances, through Redis.

Each instance paces its replies and digests with its own Pacer (bot.digest.pace). With
several instances behind one webhook they share the token's rate: every ``tick`` seconds an
instance announces itself in a sorted set (score = time of its last beat), counts the
instances alive, and keeps to ``rate / instances`` (:meth:`Pacer.set_instances`). A 429 one
instance meets is published (``pause_until``, wall-clock seconds) and every instance pauses
until then, as Telegram's flood control applies to the token, not to the process.

Redis is optional: without it the process is the only sender and nothing here runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from typing import Any

from bot.digest.pace import Pacer

log = logging.getLogger(__name__)
TICK = 1.0  # seconds between beats
ALIVE = 5.0  # an instance that has not beaten for this long is gone


class SharedPace:
    def __init__(self, redis: Any, pacer: Pacer, token: str, *, tick: float = TICK,
                 alive: float = ALIVE, instance: str | None = None) -> None:
        self.redis = redis
        self.pacer = pacer
        self.tick = tick
        self.alive = alive
        self.instance = instance or uuid.uuid4().hex
        key = hashlib.sha256(token.encode()).hexdigest()[:16]  # never the token itself
        self.members_key = f"bsmu:pace:{key}:instances"
        self.pause_key = f"bsmu:pace:{key}:pause_until"
        self.instances = 1
        self._task: asyncio.Task | None = None
        self._failing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="shared-pace")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):  # Redis gone at shutdown: the entry expires
            await self.redis.zrem(self.members_key, self.instance)

    async def publish_pause(self, seconds: float) -> None:
        """Flood control said "retry after ``seconds``": every instance waits."""
        until = time.time() + seconds
        try:
            current = await self.redis.get(self.pause_key)
            if current is None or float(current) < until:
                await self.redis.set(self.pause_key, repr(until), ex=max(1, int(seconds) + 1))
        except Exception as exc:
            log.warning("could not share a flood-control pause through Redis: %s", exc)

    async def beat(self) -> None:
        """Announce this instance, count the live ones, apply a pause another one met."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.members_key, {self.instance: now})
        pipe.zremrangebyscore(self.members_key, "-inf", now - self.alive)
        pipe.zcard(self.members_key)
        pipe.expire(self.members_key, int(self.alive * 4))
        pipe.get(self.pause_key)
        _, _, count, _, pause_until = await pipe.execute()
        self.instances = max(1, int(count))
        self.pacer.set_instances(self.instances)
        if pause_until is not None:
            wait = float(pause_until) - time.time()
            if wait > 0:
                self.pacer.pause(wait)

    async def _run(self) -> None:
        while True:
            try:
                await self.beat()
                if self._failing:
                    log.info("shared pacing through Redis works again (%d instance(s))",
                             self.instances)
                    self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._failing:
                    log.warning("shared pacing through Redis failed (%s); pacing this "
                                "instance alone until it works", exc)
                    self._failing = True
            await asyncio.sleep(self.tick)
