"""Running the bot: long polling or webhook, with a clean shutdown on SIGTERM and Ctrl-C."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import observability
from bot.app.factory import App, build_app, create_bot
from bot.app.reach import api_url, reach_telegram
from bot.config import Config
from bot.db import create_engine
from bot.db.probe import check_connection, where

log = logging.getLogger(__name__)


class RunError(Exception):
    """A problem that stops start-up, worded for the operator (one line)."""


async def preflight(config: Config) -> None:
    """What can fail before anything is started, checked in an order that reports the
    cause, not a consequence: webhook settings, the token (shape, then one getMe without
    retries: no network is one line naming the API URL), then the database connection.
    Migrations and the KB come after (build_app)."""
    if config.telegram.mode == "webhook":
        webhook_settings(config)
    me = await reach_telegram(config)
    db = create_engine(config.database.url)
    try:
        await check_connection(db)
    finally:
        await db.dispose()
    if config.redis.url:
        await check_redis(config.redis.url)
    log.info("config: %s; knowledge: %s; database: %s; Telegram: @%s via %s",
             config.source, config.knowledge.path.resolve(), where(config.database.url),
             me.username, api_url(config))


async def check_redis(url: str, timeout: float = 10.0) -> None:
    """One PING, or :class:`RunError` naming host:port (never the password)."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    where = f"{client.connection_pool.connection_kwargs.get('host', 'localhost')}:" \
            f"{client.connection_pool.connection_kwargs.get('port', 6379)}"
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise RedisUnavailable(f"cannot connect to Redis at {where} ({exc}); check redis.url "
                               "and that Redis is running") from exc
    finally:
        await client.aclose()


class RedisUnavailable(Exception):
    """redis.url is set but Redis does not answer (a run-time failure, exit 1)."""


def webhook_settings(config: Config) -> tuple[str, str]:
    """(the public URL, the secret) of webhook mode, or :class:`RunError`."""
    cfg = config.telegram.webhook
    if not cfg.url:
        raise RunError("telegram.webhook.url is not set: write the public HTTPS base URL, "
                       "e.g. https://bot.example.org")
    if not cfg.url.startswith("https://"):
        raise RunError(f"telegram.webhook.url {cfg.url!r}: Telegram calls webhooks over "
                       "HTTPS only; write the https:// address of the reverse proxy")
    secret = os.environ.get(cfg.secret_env)
    if not secret:
        raise RunError(f"{cfg.secret_env} is not set: webhook mode needs a secret token "
                       "(1-256 of A-Z a-z 0-9 _ -), e.g. from `openssl rand -hex 32`")
    return cfg.url, secret


async def run(config: Config) -> None:
    await preflight(config)
    app = await build_app(config)
    settle_memory()
    try:
        bot = create_bot(config, on_forbidden=app.mark_blocked, metrics=app.metrics)
    except Exception:
        await app.close()
        raise
    monitor = await start_monitoring(app)
    try:
        await app.start_background(bot)
        if config.telegram.mode == "webhook":
            await run_webhook(app, bot)
        else:
            await run_polling(app, bot)
    finally:
        if monitor is not None:
            await monitor.cleanup()
        await app.close(bot=bot)
        await bot.session.close()


#: The cyclic garbage collector's first threshold (Python's default is 700 allocations).
#: Every update allocates thousands of short-lived objects (aiogram's pydantic models, the
#: context dicts): at 700 the collector ran a young-generation pass several times per
#: update, 5% of the bot's time on the bench. Young objects are a few MB at most.
GC_GEN0_THRESHOLD = 10_000


def settle_memory() -> None:
    """Once start-up is done: the KB index and the framework's objects live as long as the
    process, so they go out of the garbage collector's scans (its pauses reached 0.8 s under
    load otherwise), the collector runs less often, and the heap freed by start-up (the KB's
    YAML, validation) is returned to the system. (No gc.collect() first: 0.2 s of start-up
    for no memory measured.)"""
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


async def start_monitoring(app: App) -> web.AppRunner | None:
    """A small HTTP server for /healthz and /metrics when monitoring.port is set."""
    cfg = app.config.monitoring
    if cfg.port is None:
        return None
    web_app = web.Application()
    observability.add_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, cfg.host, cfg.port).start()
    log.info("health and metrics on http://%s:%s/healthz", cfg.host, cfg.port)
    return runner


async def run_polling(app: App, bot: Bot) -> None:
    await bot.delete_webhook(drop_pending_updates=False)
    dp = app.dispatcher
    # aiogram stops polling on SIGINT/SIGTERM; App.close() then lets in-flight updates end.
    await dp.start_polling(bot, handle_signals=True, close_bot_session=False,
                           **app.polling_options())


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_webhook(app: App, bot: Bot, stop: asyncio.Event | None = None) -> None:
    cfg = app.config.telegram.webhook
    secret = os.environ.get(cfg.secret_env)
    if not cfg.url:
        raise RunError("telegram.webhook.url is not set (the public HTTPS base URL)")
    if not secret:
        raise RunError(f"{cfg.secret_env} is not set: webhook mode needs a secret token")
    web_app = build_webhook_app(app, bot, secret)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, cfg.host, cfg.port).start()
    dp = app.dispatcher
    await bot.set_webhook(cfg.url.rstrip("/") + cfg.path, secret_token=secret,
                          allowed_updates=dp.resolve_used_update_types())
    log.info("webhook listening on %s:%s%s", cfg.host, cfg.port, cfg.path)
    try:
        await (stop or _stop_event()).wait()
    finally:
        await runner.cleanup()


def build_webhook_app(app: App, bot: Bot, secret: str) -> web.Application:
    """aiohttp application serving Telegram's webhook calls; the secret-token header is
    checked by aiogram's handler (401 without it)."""
    web_app = web.Application()
    handler = SimpleRequestHandler(dispatcher=app.dispatcher, bot=bot, secret_token=secret)
    handler.register(web_app, path=app.config.telegram.webhook.path)
    setup_application(web_app, app.dispatcher, bot=bot)
    observability.add_routes(web_app, app)
    return web_app
