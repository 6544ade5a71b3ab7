"""The objects handlers share, handed to them by name through the dispatcher (no globals).

The composition root (:func:`bot.app.factory.build_services`) builds a :class:`Services`
completely before the dispatcher exists; a handler declares a parameter with a field's name
(``config``, ``knowledge``, ``questions``…) and aiogram passes that field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.i18n import Translator
from bot.knowledge import KnowledgeBase
from bot.matching import AnswerEngine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.db.handoffs import OpenConversations
    from bot.db.question_log import QuestionLog
    from bot.knowledge.diff import ReloadResult
    from bot.telegram.flood import FloodCheck
    from bot.ui.actions import Action


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


#: Reload the KB from ``knowledge.path`` (or the given directory): see bot.app.reload.
Reload = Callable[..., Awaitable["ReloadResult"]]
#: Called after a successful reload with its result (instant digests, staff notices).
ReloadHook = Callable[["ReloadResult"], Awaitable[None]]


@dataclass(eq=False)
class Services:
    config: Config
    knowledge: Knowledge
    sessionmaker: async_sessionmaker[AsyncSession]
    translator: Translator
    flood: FloodCheck
    questions: QuestionLog  # the batched writer of asked questions
    conversations: OpenConversations  # which students talk to staff right now
    reload: Reload
    actions: Mapping[str, Action]  # what action entries (news.latest, bot.subscribe) do
    on_reload: list[ReloadHook] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """What handlers can ask for by parameter name: every field, and ``services`` itself
        for the answer presenter (bot.ui.answers), which hands it on to action entries."""
        return {"services": self, **{f.name: getattr(self, f.name) for f in fields(self)}}
