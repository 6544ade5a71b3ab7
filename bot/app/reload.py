"""Reloading the knowledge base without downtime: validate first, then swap in one step.

On errors the running KB keeps serving and the errors are returned for staff; on success
the new engine replaces the old one and the news table follows the KB.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Config
from bot.db.news import sync_kb_news
from bot.knowledge import KBError, load_knowledge
from bot.knowledge.diff import ReloadResult, diff
from bot.knowledge.store import HISTORY_DIR, KbStore, store_for
from bot.matching import AnswerEngine
from bot.services import Knowledge, ReloadHook, Services

log = logging.getLogger(__name__)
LOGGED_ERRORS = 20  # a broken file can have hundreds: the first ones say where to look

__all__ = ["ReloadResult", "Reloader", "reload_knowledge", "watch"]


class Reloader:
    """``await reloader()`` reloads the live KB from ``knowledge.path`` (or a directory);
    handlers get it as ``reload`` (see :class:`bot.services.Services`)."""

    def __init__(self, config: Config, knowledge: Knowledge,
                 sessionmaker: async_sessionmaker[AsyncSession], hooks: list[ReloadHook]):
        self.config = config
        self.knowledge = knowledge
        self.sessionmaker = sessionmaker
        self.hooks = hooks  # Services.on_reload: the same list, filled by the app

    async def __call__(self, directory: Path | str | None = None) -> ReloadResult:
        directory = Path(directory or self.config.knowledge.path)
        try:
            # Parsing, validating, indexing and comparing take seconds for a large KB (most
            # of a minute at 10,000 entries): all of it runs in a worker thread, and the
            # event loop goes on answering with the running KB meanwhile
            # (tests/unit/test_reload.py holds a reload half-way and asks a question).
            prepared = await asyncio.to_thread(self._prepare, directory, self.knowledge.kb)
        except KBError as exc:
            return _refused(ReloadResult(False, exc.problems))
        if isinstance(prepared, ReloadResult):
            return _refused(prepared)
        kb, problems, engine, changes = prepared
        self.knowledge.swap(engine)
        async with self.sessionmaker() as session:
            new_ids = await sync_kb_news(session, kb)
            await session.commit()
        log.info("KB reloaded: %s", "; ".join(changes.lines(detail=False)))
        for hook in list(self.hooks):
            try:
                await hook(ReloadResult(True, problems, changes, new_ids))
            except Exception:  # a hook must not undo a good reload
                log.exception("reload hook failed")
        return ReloadResult(True, problems, changes, new_ids)

    def _prepare(self, directory: Path, running):
        """In the worker thread: the new KB, its problems, its engine and what changed from
        ``running``; or the refusal when it has errors."""
        kb, problems = load_knowledge(directory, strict=False)
        if any(p.level == "error" for p in problems):
            return ReloadResult(False, problems)
        engine = AnswerEngine(kb, self.config.matching)
        return kb, problems, engine, diff(running, kb)


def _refused(result: ReloadResult) -> ReloadResult:
    """Log why (the first errors with file and line: whoever reads the log can fix them
    without a staff chat), then hand the result on."""
    errors = result.errors
    shown = "".join(f"\n  {p}" for p in errors[:LOGGED_ERRORS])
    more = f"\n  … and {len(errors) - LOGGED_ERRORS} more" if len(errors) > LOGGED_ERRORS else ""
    log.warning("KB reload refused, the previous version keeps answering: %d error(s)%s%s",
                len(errors), shown, more)
    return result


def _written_by_staff_tools(store: KbStore) -> bool:
    """The files are exactly what the latest recorded change left."""
    latest = store.history(1)
    return bool(latest) and latest[0].after == store.version()


def _kb_file(_change, path: str) -> bool:
    """Changes that matter: the YAML files, not the store's history, lock or temporary files
    (bot.knowledge.store), nor editors' swap files."""
    name = Path(path).name
    return name.endswith((".yaml", ".yml")) and not name.startswith(".") \
        and HISTORY_DIR not in Path(path).parts


async def reload_knowledge(services: Services, directory: Path | None = None) -> ReloadResult:
    return await services.reload(directory)


async def watch(services: Services, notify: Callable[[ReloadResult], Awaitable[None]],
                stop: asyncio.Event | None = None, debounce_ms: int = 700) -> None:
    """Reload when files under the KB directory change (watchfiles), and tell ``notify``."""
    from watchfiles import awatch

    directory = Path(services.config.knowledge.path)
    store = store_for(services.config.knowledge)
    async for _changes in awatch(directory, stop_event=stop, debounce=debounce_ms,
                                 recursive=True, watch_filter=_kb_file):
        result = await services.reload(directory)
        if result.ok and await asyncio.get_running_loop().run_in_executor(
                None, _written_by_staff_tools, store):
            # A change made from Telegram or the command line (bot.knowledge.store): the
            # instance that wrote it has told the staff chat; the others only follow.
            continue
        try:
            await notify(result)
        except Exception:  # a failed notification must not stop the watcher
            log.exception("reload notification failed")
