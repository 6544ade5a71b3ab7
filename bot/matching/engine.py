"""Pick the answer to a student's question: answer, "did you mean", or an honest fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.config import MatchingConfig
from bot.knowledge.models import Entry, KnowledgeBase
from bot.matching.analyzer import Analyzer
from bot.matching.index import Index, Params
from bot.matching.normalize import detect_language

MAX_QUERY_CHARS = 1000  # a question longer than this is read from its start
LOW_PRIORITY_CATEGORIES = frozenset({"smalltalk"})

Kind = Literal["answer", "suggest", "fallback"]


@dataclass(frozen=True)
class MatchResult:
    kind: Kind
    lang: str
    score: float  # 0-100, the best entry's score
    entry: Entry | None = None  # the answered entry (kind == "answer")
    suggestions: tuple[Entry, ...] = ()
    candidates: tuple[tuple[str, float], ...] = field(default=())

    @property
    def id(self) -> str | None:
        return self.entry.id if self.entry else None

    @property
    def action(self) -> str | None:
        return self.entry.action if self.entry else None

    @property
    def answer(self) -> str | None:
        return self.entry.answer_in(self.lang) if self.entry else None

    @property
    def best_guess(self) -> str | None:
        """The top candidate even when it was not answered (for staff and analytics)."""
        return self.candidates[0][0] if self.candidates else None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "score": round(self.score, 1),
            "lang": self.lang,
            "action": self.action,
            "answer": self.answer,
            "suggestions": [e.id for e in self.suggestions],
        }


def entry_documents(entry: Entry) -> list[str]:
    docs: list[str] = []
    for lang in entry.questions:
        docs.extend(entry.questions[lang])
        docs.extend(entry.keywords.get(lang, ()))
        if lang in entry.title:
            docs.append(entry.title[lang])
    return docs


class AnswerEngine:
    def __init__(self, kb: KnowledgeBase, config: MatchingConfig | None = None,
                 params: Params | None = None):
        self.kb = kb
        self.config = config or MatchingConfig()
        docs = [(e.id, text) for e in kb.entries.values() for text in entry_documents(e)]
        self.index = Index(docs, Analyzer(kb.synonyms, kb.neutral),
                           params or self.config.params())
        self._low = {e.id for e in kb.entries.values() if e.category in LOW_PRIORITY_CATEGORIES}

    def match(self, text: str, lang: str | None = None, hint: str | None = None) -> MatchResult:
        """``lang`` forces the answer language; otherwise the script decides, ``hint`` (the
        user's language) breaks ties for text without letters."""
        text = (text or "")[:MAX_QUERY_CHARS]
        lang = lang or detect_language(text, hint)
        hits = [(h.key, h.score * 100) for h in self.index.search(text, limit=8)]
        cfg = self.config
        # "Hi, what are the fees?" is a question about fees, not a greeting.
        if hits and hits[0][0] in self._low:
            serious = [h for h in hits if h[0] not in self._low]
            if serious and serious[0][1] >= cfg.suggest_threshold:
                hits = serious
        candidates = tuple(hits)
        if not hits or hits[0][1] < cfg.suggest_threshold:
            return MatchResult("fallback", lang, hits[0][1] if hits else 0.0,
                               candidates=candidates)
        best_id, best = hits[0]
        close = [h for h in hits[1:] if h[1] >= cfg.suggest_threshold and best - h[1] < cfg.margin]
        if best >= cfg.answer_threshold and not close:
            return MatchResult("answer", lang, best, self.kb.entries[best_id],
                               candidates=candidates)
        picks = [h[0] for h in hits if h[1] >= cfg.suggest_threshold][: cfg.max_suggestions]
        return MatchResult("suggest", lang, best,
                           suggestions=tuple(self.kb.entries[i] for i in picks),
                           candidates=candidates)
