"""Test helper: a Redis URL, or a skip (a failure when REQUIRE_SERVICES=1, as in CI)."""

from __future__ import annotations

import os

DEFAULT_URL = "redis://127.0.0.1:6379/15"


async def redis_url_or_skip() -> str:
    import pytest
    from redis.asyncio import Redis

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis not reachable at {url}: {exc} (REQUIRE_SERVICES=1)")
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    finally:
        await client.aclose()
    return url
