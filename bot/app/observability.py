"""Health and Prometheus metrics: /healthz says whether this instance can serve, /metrics
what it has done. Each App has its own registry (tests run many apps in one process)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from sqlalchemy import text


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("bsmu_updates", "Updates handled", ["type"], registry=r)
        self.answers = Counter("bsmu_answers", "Answer outcomes", ["outcome"], registry=r)
        self.digest = Counter("bsmu_digest_messages", "Digest messages by result", ["status"],
                              registry=r)
        self.retry_after = Counter("bsmu_retry_after_waits", "429s waited out", registry=r)
        self.errors = Counter("bsmu_errors", "Updates that failed", registry=r)
        self.last_update: float | None = None  # wall-clock time of the last update
        self.last_poll: float | None = None  # of the last successful getUpdates
        self._outcomes: dict[str, Any] = {}  # outcome -> its child counter

    def answered(self, outcome: str) -> None:
        """One more question with this outcome (labels() takes a lock and builds a key: it
        is looked up once per outcome, not at every question)."""
        counter = self._outcomes.get(outcome)
        if counter is None:
            counter = self._outcomes[outcome] = self.answers.labels(outcome)
        counter.inc()

    def polled(self) -> None:
        self.last_poll = time.time()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Outer update middleware: counts updates and failures, remembers the last one."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._counters: dict[str, Any] = {}  # update type -> its child counter

    async def __call__(self, handler: Callable[..., Awaitable[Any]], event: Any,
                       data: dict) -> Any:
        self.metrics.last_update = time.time()
        kind = getattr(event, "event_type", "unknown")
        counter = self._counters.get(kind)
        if counter is None:  # labels() takes a lock and builds a key: once per type
            counter = self._counters[kind] = self.metrics.updates.labels(kind)
        counter.inc()
        try:
            return await handler(event, data)
        except Exception:
            self.metrics.errors.inc()
            raise


async def health(app) -> tuple[bool, dict]:
    """Database reachable, KB loaded, and when we last heard from Telegram."""
    info: dict[str, Any] = {}
    try:
        async with app.db.connect() as conn:
            await conn.execute(text("SELECT 1"))
        info["database"] = "ok"
    except Exception as exc:  # reported, not raised: this is the health check
        info["database"] = f"error: {type(exc).__name__}"
    kb = app.services.knowledge.kb
    info["kb_entries"] = len(kb.entries)
    info["news_items"] = len(kb.news)
    m = app.metrics
    for name in ("last_update", "last_poll"):
        value = getattr(m, name)
        info[name] = None if value is None else round(time.time() - value, 1)
    ok = info["database"] == "ok" and info["kb_entries"] > 0
    info["status"] = "ok" if ok else "fail"
    return ok, info


def add_routes(web_app: web.Application, app) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        ok, info = await health(app)
        return web.Response(text=json.dumps(info), status=200 if ok else 503,
                            content_type="application/json")

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=app.metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
