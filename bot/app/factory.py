"""Factories shared by production, console mode and tests: the same bot, the same dispatcher."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.middleware import FSMContextMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app.observability import Metrics, MetricsMiddleware
from bot.app.reload import Reloader, watch
from bot.app.retention import DailyPurge
from bot.config import Config
from bot.config import TokenError as TokenError  # re-exported (bot.app.cli imports it here)
from bot.db import create_engine, create_sessionmaker, users
from bot.db.handoffs import OpenConversations
from bot.db.migrate import upgrade
from bot.db.news import sync_kb_news
from bot.db.question_log import QuestionLog
from bot.db.user_refresh import UserRefresh
from bot.digest.options import make_pacer
from bot.i18n import Translator
from bot.knowledge import load_knowledge
from bot.matching import AnswerEngine
from bot.services import Knowledge, ReloadHook, Services
from bot.telegram.dispatch import FastDispatcher
from bot.telegram.flood import FloodCheck, FloodGuard
from bot.telegram.middlewares import DbSession, Flood, InFlight, SkipUnreadable, UserContext
from bot.telegram.profile import set_profile
from bot.telegram.replies import send_long
from bot.telegram.retry import RetryMiddleware
from bot.telegram.session import JsonSession
from bot.telegram.shared_pace import SharedPace
from bot.ui.reports import reload_report

log = logging.getLogger(__name__)
COMMANDS = ("start", "help", "menu", "human", "news", "subscribe", "settings", "unsubscribe",
            "language", "privacy")


def _pin_response_models() -> tuple:
    """aiogram parses every reply into ``Response[<return type>]``; pydantic caches those
    generic classes only weakly, so without a strong reference they are rebuilt again and
    again (several milliseconds each: a tenth of the time per question, measured)."""
    from aiogram.methods.base import Response
    from aiogram.types import (
        BotCommand,
        ChatFullInfo,
        ForumTopic,
        Message,
        MessageId,
        Update,
        User,
        WebhookInfo,
    )

    return tuple(Response[t] for t in (Message, list[Update], bool, User, MessageId,
                                       ChatFullInfo, ForumTopic, WebhookInfo,
                                       list[BotCommand], list[MessageId]))


_PINNED = _pin_response_models()


def create_bot(config: Config, token: str | None = None, *, api_server: str | None = None,
               on_forbidden=None, metrics: Metrics | None = None) -> Bot:
    token = token or (config.token.get_secret_value() if config.token else None)
    if not token:
        raise TokenError("BOT_TOKEN is not set: export the token BotFather gave you")
    from aiogram.utils.token import TokenValidationError

    server = api_server or config.telegram.api_server
    session = JsonSession(api=TelegramAPIServer.from_base(server)) if server else JsonSession()
    try:
        bot = Bot(token, session=session,
                  default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    except TokenValidationError as exc:
        raise TokenError("BOT_TOKEN is malformed: expected <digits>:<letters>, as given by "
                         "BotFather") from exc
    # One limiter per token in this process: replies (urgent) and the digests this process
    # sends (start_background hands it to them) share the token's rate.
    session.pacer = make_pacer(config.digest)
    retry = RetryMiddleware(retries=config.telegram.send_retries,
                            max_retry_after=config.telegram.max_retry_after,
                            on_forbidden=on_forbidden, pacer=session.pacer,
                            poll_linger=config.telegram.poll_linger_ms / 1000)
    if metrics is not None:
        retry.on_retry_after = metrics.retry_after.inc
        retry.on_poll = metrics.polled
    session.middleware(retry)
    return bot


@dataclass
class App:
    """Everything one bot process runs: built by :func:`build_app`, closed by ``close``."""

    config: Config
    services: Services
    dispatcher: Dispatcher
    db: AsyncEngine
    inflight: InFlight
    metrics: Metrics = field(default_factory=Metrics)
    redis: Any = None
    digests: Any = None  # bot.digest.DigestService once started
    purge: DailyPurge | None = None  # the daily purge of old questions once started
    shared_pace: SharedPace | None = None  # with Redis: the token's rate across instances
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _stop: asyncio.Event | None = None

    def polling_options(self) -> dict[str, Any]:
        """What ``Dispatcher.start_polling`` gets wherever this bot polls: the update types
        its handlers use, and at most ``telegram.max_concurrent_updates`` being handled (the
        next getUpdates waits for a free slot, so a backlog stays at Telegram)."""
        return {"allowed_updates": self.dispatcher.resolve_used_update_types(),
                "tasks_concurrency_limit": self.config.telegram.max_concurrent_updates}

    async def mark_blocked(self, chat_id: int) -> None:
        async with self.services.sessionmaker() as session:
            if await users.mark_blocked(session, chat_id):
                await session.commit()
        self.dispatcher["user_context"].forget(chat_id)

    async def start_background(self, bot: Bot) -> None:
        """Jobs beside the dispatcher: the KB watcher (reload on file changes), the digest
        scheduler (daily, weekly and instant digests, feed polls, resuming unfinished runs)
        and the daily purge of old questions (privacy.keep_questions_days)."""
        from bot.digest import start_digests

        if self.config.knowledge.watch:
            self._stop = asyncio.Event()
            self._tasks.append(asyncio.create_task(
                watch(self.services, lambda r: self.notify_reload(bot, r), self._stop)))
        digests = await start_digests(self.config, self.services.sessionmaker, bot,
                                      self.services.translator,
                                      pacer=getattr(bot.session, "pacer", None))
        self.dispatcher["digests"] = digests  # handlers (staff /broadcast) get it by this name
        self.services.on_reload.append(digests.on_reload)  # instant digests after KB reloads
        self.digests = digests
        self.purge = DailyPurge(self.config, self.services.sessionmaker)
        self.purge.start()
        pacer = getattr(bot.session, "pacer", None)
        if self.redis is not None and pacer is not None:
            # Several instances: the token's rate and its flood-control pauses are shared.
            self.shared_pace = SharedPace(self.redis, pacer, bot.token)
            self.shared_pace.start()
            for m in bot.session.middleware._middlewares:
                if isinstance(m, RetryMiddleware):
                    m.on_flood = self.shared_pace.publish_pause

    async def notify_reload(self, bot: Bot, result) -> None:
        """Tell the staff chat what an automatic reload did (or why it refused)."""
        chat = self.config.staff.chat_id
        if chat is None:
            return
        t = self.services.translator.for_lang(self.config.bot.default_language)
        await send_long(bot, chat, reload_report(result, t))

    async def close(self, timeout: float = 10.0, bot: Bot | None = None) -> None:
        if self.shared_pace is not None:
            await self.shared_pace.stop()
            self.shared_pace = None
        if self.purge is not None:
            await self.purge.stop()
            self.purge = None
        if self.digests is not None:
            if self.dispatcher.get("digests") is self.digests:
                del self.dispatcher["digests"]
            if self.digests.on_reload in self.services.on_reload:
                self.services.on_reload.remove(self.digests.on_reload)
            await self.digests.stop()
            self.digests = None
        if self._stop is not None:
            self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not await self.inflight.wait_idle(timeout):
            log.warning("%d update(s) still running at shutdown", self.inflight.count)
        await self.dispatcher["user_context"].close()
        await self.services.questions.close()
        if self.redis is not None:
            await self.redis.aclose()
        if bot is not None:  # blocked users being marked in the background
            for m in bot.session.middleware._middlewares:
                if isinstance(m, RetryMiddleware):
                    await m.drain()
        await self.db.dispose()


def build_services(config: Config, engine: AnswerEngine,
                   sessionmaker: async_sessionmaker[AsyncSession], *, redis: Any = None,
                   translator: Translator | None = None) -> Services:
    """Everything handlers share, complete before any dispatcher exists. With ``redis`` (a
    redis.asyncio client) flood counters are shared by every instance."""
    from handlers import get_actions

    knowledge = Knowledge(engine)
    flood: FloodCheck
    if redis is not None:
        from bot.telegram.flood_redis import RedisFloodGuard

        flood = RedisFloodGuard(redis, config.bot.flood.messages, config.bot.flood.seconds)
    else:
        flood = FloodGuard(config.bot.flood.messages, config.bot.flood.seconds)
    hooks: list[ReloadHook] = []
    return Services(config=config, knowledge=knowledge, sessionmaker=sessionmaker,
                    translator=translator or Translator(), flood=flood,
                    questions=QuestionLog(sessionmaker),
                    conversations=OpenConversations(sessionmaker),
                    reload=Reloader(config, knowledge, sessionmaker, hooks),
                    actions=get_actions(), on_reload=hooks)


def create_dispatcher(services: Services, *, metrics: Metrics | None = None,
                      redis: Any = None) -> tuple[Dispatcher, InFlight]:
    """With ``redis`` (a redis.asyncio client) conversation state is shared by every
    instance; without it, it lives in this process."""
    from handlers import get_routers

    config = services.config
    inflight = InFlight(config.telegram.max_concurrent_updates)
    user_context = UserContext(services.translator, config.bot.default_language,
                               health=services.questions.health,
                               refresh=UserRefresh(services.sessionmaker,
                                                   health=services.questions.health))
    storage = None
    if redis is not None:
        from aiogram.fsm.storage.redis import RedisStorage

        storage = RedisStorage(redis)
    # aiogram's routing, the same rules at a fraction of the CPU (bot.telegram.dispatch).
    dp = FastDispatcher(storage=storage, **services.as_kwargs(), user_context=user_context,
                        metrics=metrics or Metrics())
    # The in-flight limit comes before anything that touches Redis or the database:
    # aiogram's own FSM middleware (registered by Dispatcher) reads the state from Redis,
    # and a webhook burst would otherwise open a connection per pending update. It goes
    # right before that middleware (aiogram's ErrorsMiddleware stays outermost).
    outer = dp.update.outer_middleware
    chain = outer._middlewares
    fsm = next((i for i, m in enumerate(chain) if isinstance(m, FSMContextMiddleware)), 0)
    chain.insert(fsm, inflight)
    outer(SkipUnreadable())
    outer(MetricsMiddleware(dp["metrics"]))
    outer(DbSession(services.sessionmaker))
    outer(user_context)
    dp.message.outer_middleware(Flood(services.flood))
    dp.edited_message.outer_middleware(Flood(services.flood))  # edits reach the staff chat too
    dp.include_routers(*get_routers(config))
    dp.startup.register(_set_commands)
    return dp, inflight


async def _set_commands(bot: Bot, translator: Translator, config: Config) -> None:
    # The menu and descriptions, en and ru; other languages get the default language's.
    await set_profile(bot, translator, COMMANDS, default=config.bot.default_language)


def redis_client(config: Config) -> Any:
    """A Redis client whose pool waits for a free connection (up to 30 s) instead of failing
    with MaxConnectionsError: twice the in-flight limit of connections, at least 50."""
    from redis.asyncio import BlockingConnectionPool, Redis

    size = max(50, 2 * config.telegram.max_concurrent_updates)
    pool = BlockingConnectionPool.from_url(config.redis.url, max_connections=size, timeout=30)
    return Redis(connection_pool=pool)


async def build_app(config: Config, *, migrate: bool = True) -> App:
    """Load and validate the KB (errors raise KBError), open and migrate the database."""
    kb, _ = load_knowledge(config.knowledge.path)
    engine = AnswerEngine(kb, config.matching)
    db = create_engine(config.database.url, echo=config.database.echo)
    if migrate:
        await upgrade(db)
    redis = None
    if config.redis.url:
        redis = redis_client(config)
    services = build_services(config, engine, create_sessionmaker(db), redis=redis)
    if migrate:
        async with services.sessionmaker() as session:
            await sync_kb_news(session, kb)
            await session.commit()
    metrics = Metrics()
    dp, inflight = create_dispatcher(services, metrics=metrics, redis=redis)
    return App(config, services, dp, db, inflight, metrics=metrics, redis=redis)
