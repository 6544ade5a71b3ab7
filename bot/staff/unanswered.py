"""Questions the bot could not answer (or answered badly), grouped for staff, and a YAML
patch that adds them as phrasings to the closest entries, for review. The bot never changes
its knowledge base by itself: staff apply the patch with ``kb apply``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import yaml
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Feedback, Question, utcnow
from bot.matching import AnswerEngine
from bot.text.normalize import normalize

SIMILAR = 72  # token-sort ratio (0-100) for two questions to join one group
MIN_CLOSEST = 1.0  # engine score below which no entry is proposed as the closest


@dataclass
class Group:
    example: str  # the most frequent wording
    lang: str
    count: int = 0
    texts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # "fallback" / "downvoted"
    closest: str | None = None
    closest_score: float = 0.0


async def fetch(session: AsyncSession, days: int, now: datetime | None = None
                ) -> list[tuple[str, str, str]]:
    """(text, lang, reason) for fallbacks and for answers voted 👎, in the period."""
    since = (now or utcnow()) - timedelta(days=days)
    out = [(text, lang, "fallback") for text, lang in (await session.execute(
        select(Question.text, Question.lang)
        .where(Question.outcome == "fallback", Question.created_at >= since))).all()]
    out += [(text, lang, "downvoted") for text, lang in (await session.execute(
        select(Question.text, Question.lang).join(Feedback, Feedback.question_id == Question.id)
        .where(Feedback.vote == -1, Feedback.updated_at >= since))).all()]
    return out


def group(rows: list[tuple[str, str, str]], engine: AnswerEngine) -> list[Group]:
    groups: list[Group] = []
    keys: list[str] = []
    counts = Counter((normalize(t), lang) for t, lang, _ in rows)
    originals: dict[tuple[str, str], str] = {}
    for text, lang, _ in rows:
        originals.setdefault((normalize(text), lang), " ".join(text.split()))
    reasons = Counter((normalize(t), lang, r) for t, lang, r in rows)
    for (key, lang), n in counts.most_common():
        if not key:
            continue
        # Only groups of the same language: the best match overall may be another language's.
        same = {i: k for i, k in enumerate(keys) if groups[i].lang == lang}
        hit = process.extractOne(key, same, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR)
        g = groups[hit[2]] if hit else None
        if g is None:
            g = Group(example=originals[(key, lang)], lang=lang)
            groups.append(g)
            keys.append(key)
        g.count += n
        g.texts[originals[(key, lang)]] += n
        for reason in ("fallback", "downvoted"):
            g.reasons[reason] += reasons[(key, lang, reason)]
    for g in groups:
        result = engine.match(g.example, lang=g.lang)
        # A candidate far below the "did you mean" level is no real match: leave it to staff.
        if result.candidates and result.candidates[0][1] >= MIN_CLOSEST:
            g.closest, g.closest_score = result.candidates[0]
    groups.sort(key=lambda g: -g.count)
    return groups


def patch_yaml(groups: list[Group], generated: datetime | None = None) -> str:
    """A reviewable patch: one item per group with a closest entry."""
    items = [{"entry": g.closest, "lang": g.lang, "count": g.count,
              "add_questions": list(g.texts)} for g in groups if g.closest]
    head = (f"# Phrasings suggested from unanswered questions "
            f"({(generated or utcnow()):%Y-%m-%d}).\n"
            "# Review every item: fix the entry id if the closest entry is wrong, delete\n"
            "# phrasings that do not belong, then: python -m bot kb apply THIS_FILE\n")
    return head + yaml.safe_dump({"patch": items}, allow_unicode=True, sort_keys=False,
                                 width=100)
