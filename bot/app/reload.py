"""Reloading the knowledge base without downtime: validate first, then swap in one step.

On errors the running KB keeps serving and the errors are returned for staff; on success
the new engine replaces the old one and the news table follows the KB.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge import KBError, load_knowledge
from bot.knowledge.diff import KBDiff, diff
from bot.knowledge.yamlsource import Problem
from bot.matching import AnswerEngine
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass
class ReloadResult:
    ok: bool
    problems: list[Problem] = field(default_factory=list)
    changes: KBDiff | None = None
    new_news_ids: list[int] = field(default_factory=list)  # news_items rows added

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


async def reload_knowledge(services: Services, directory: Path | None = None) -> ReloadResult:
    from bot.news.store import sync_kb_news

    directory = Path(directory or services.config.knowledge.path)
    loop = asyncio.get_running_loop()
    try:
        # Parsing and indexing take a moment: keep the event loop serving meanwhile.
        kb, problems = await loop.run_in_executor(
            None, lambda: load_knowledge(directory, strict=False))
    except KBError as exc:
        return ReloadResult(False, exc.problems)
    if any(p.level == "error" for p in problems):
        log.warning("KB reload refused: %d error(s)", sum(p.level == "error" for p in problems))
        return ReloadResult(False, problems)
    engine = await loop.run_in_executor(
        None, lambda: AnswerEngine(kb, services.config.matching))
    changes = diff(services.knowledge.kb, kb)
    services.knowledge.swap(engine)
    async with services.sessionmaker() as session:
        new_ids = await sync_kb_news(session, kb)
        await session.commit()
    log.info("KB reloaded: %s", "; ".join(changes.lines()))
    for hook in services.on_reload:
        try:
            await hook(ReloadResult(True, problems, changes, new_ids))
        except Exception:  # a hook must not undo a good reload
            log.exception("reload hook failed")
    return ReloadResult(True, problems, changes, new_ids)


async def watch(services: Services, notify: Callable[[ReloadResult], Awaitable[None]],
                stop: asyncio.Event | None = None, debounce_ms: int = 700) -> None:
    """Reload when files under the KB directory change (watchfiles), and tell ``notify``."""
    from watchfiles import awatch

    directory = Path(services.config.knowledge.path)
    async for _changes in awatch(directory, stop_event=stop, debounce=debounce_ms,
                                 recursive=True):
        result = await reload_knowledge(services, directory)
        try:
            await notify(result)
        except Exception:  # a failed notification must not stop the watcher
            log.exception("reload notification failed")
