"""Shared objects handed to handlers by name through the dispatcher (no globals)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.i18n import Translator
from bot.knowledge import KnowledgeBase
from bot.matching import AnswerEngine
from bot.ui.actions import DEFAULT_ACTIONS, Action

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.telegram.flood import FloodGuard


class Knowledge:
    """The live answer engine. A reload builds a new engine and swaps it in one assignment,
    so a question is always answered by one complete, validated knowledge base."""

    def __init__(self, engine: AnswerEngine):
        self.engine = engine

    @property
    def kb(self) -> KnowledgeBase:
        return self.engine.kb

    def swap(self, engine: AnswerEngine) -> AnswerEngine:
        old, self.engine = self.engine, engine
        return old


@dataclass
class Services:
    config: Config
    knowledge: Knowledge
    sessionmaker: async_sessionmaker[AsyncSession]
    translator: Translator = field(default_factory=Translator)
    flood: FloodGuard | None = None
    actions: dict[str, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    # Called after a successful KB reload with its ReloadResult (instant digests, staff).
    on_reload: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)
    open_conversations: Any = None  # bot.staff.handoff.OpenConversations, set by the app
    questions: Any = None  # bot.db.question_log.QuestionLog, set by the app

    def as_kwargs(self) -> dict:
        """What handlers can ask for by parameter name."""
        return {"config": self.config, "knowledge": self.knowledge,
                "translator": self.translator, "services": self}
