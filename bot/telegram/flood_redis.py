"""Per-user flood protection shared by every instance, in Redis: the same sliding window and
one-time warning as :class:`bot.telegram.flood.FloodGuard`, made atomic with a Lua script."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from bot.telegram.flood import Verdict

# KEYS[1] hits (sorted set of timestamps), KEYS[2] "warned" flag.
# ARGV: now (ms), window (ms), limit, a unique member for this hit.
_SCRIPT = """
local hits, warned = KEYS[1], KEYS[2]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', hits, '-inf', now - window)
if redis.call('ZCARD', hits) < limit then
  redis.call('ZADD', hits, now, ARGV[4])
  redis.call('PEXPIRE', hits, window)
  redis.call('DEL', warned)
  return 0
end
if redis.call('SET', warned, 1, 'NX', 'PX', window) then
  return 1
end
return 2
"""
_VERDICTS = {0: Verdict.OK, 1: Verdict.WARN, 2: Verdict.DROP}


class RedisFloodGuard:
    def __init__(self, redis: Redis, messages: int, seconds: float, prefix: str = "bsmu:flood"):
        self.redis = redis
        self.limit = messages
        self.window_ms = int(seconds * 1000)
        self.prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def check(self, user_id: int, now: float | None = None) -> Verdict:
        """``now`` is ignored: Redis's own clock serves every instance alike."""
        t = await self.redis.time()
        now_ms = t[0] * 1000 + t[1] // 1000
        key = f"{self.prefix}:{user_id}"
        result = await self._script(keys=[key, key + ":warned"],
                                    args=[now_ms, self.window_ms, self.limit,
                                          f"{now_ms}:{secrets.token_hex(4)}"])
        return _VERDICTS[int(result)]
