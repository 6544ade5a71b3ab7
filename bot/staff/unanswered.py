"""Questions the bot could not answer (or answered badly), grouped for staff, with the
closest entry when it is a real candidate, and a YAML patch that adds them as phrasings to
those entries, for review. The bot never changes its knowledge base by itself: staff decide
in /unanswered (one tap) or apply the patch with ``kb apply``."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import yaml
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.decisions import text_hash
from bot.db.models import Feedback, Question, utcnow
from bot.matching import AnswerEngine
from bot.matching.engine import entry_documents
from bot.text.normalize import normalize

SIMILAR = 72  # token-sort ratio (0-100) for two questions to join one group
# A real candidate (the entry proposed for "Add to …"):
# - the engine's score is at least MIN_SCORE_SHARE of matching.suggest_threshold (20 of 30);
# - OVERLAP: at least half of the question's content words, weighed by how rare they are in
#   the KB (IDF; a word the KB has never seen weighs the most), occur in the entry itself,
#   so "what is the weather in Minsk" is not about.location (only "Minsk" is shared);
# - no name the KB has never seen ("how do I apply to Harvard");
# - below matching.answer_threshold, not closer to an out-of-scope example
#   (knowledge/out_of_scope.yaml) than to any phrasing.
# Measured on the fallbacks of the three evaluation sets in tests/eval with the engine of
# 3 Dec 2026 (158: 8 in scope, 150 out of scope): the old rule (any score of 1 or more)
# proposed an entry for 142 of them, 134 out-of-scope; this one proposes 17: 3 the right
# entry, 0 a wrong entry, 14 out-of-scope near misses ("Как получить визу в США?" →
# visa.process), which staff mark out of scope in one tap.
MIN_SCORE_SHARE = 2 / 3
MIN_OVERLAP = 0.5


@dataclass
class Group:
    example: str  # the most frequent wording
    lang: str
    count: int = 0
    texts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # "fallback" / "downvoted"
    closest: str | None = None  # a real candidate (see is_real_candidate), else None
    closest_score: float = 0.0
    nearest: str | None = None  # the engine's top candidate, real or not (for staff to see)
    nearest_score: float = 0.0
    # Only 👎 and the bot answers it with this entry: the answer students voted down, so
    # never the entry to add the question to (fix its answer instead: /kb todo).
    rejected: str | None = None

    @property
    def key(self) -> str:
        """A short stable id of the group for buttons: its language and first wording."""
        return hashlib.sha1(f"{self.lang}:{normalize(self.example)}".encode()).hexdigest()[:10]


def overlap(engine: AnswerEngine, text: str, entry_id: str) -> float:
    """Share (by IDF) of the question's content words that occur in the entry's own
    phrasings, title and keywords; words the KB has never seen count with the highest IDF."""
    index = engine.index
    analyzer = index.analyzer
    entry = engine.kb.entries.get(entry_id)
    if entry is None:
        return 0.0
    own: set[str] = set()
    for doc in entry_documents(entry):
        own.update(f for f in analyzer.features(analyzer.words(doc)) if f.startswith("w"))
    shared = total = 0.0
    for word in set(analyzer.words(text)):
        feats = analyzer.word_features(word)
        if not feats or not feats[0].startswith("w") or word.isdigit():
            continue  # function words, neutral words, numbers
        col = index.vocab.get(feats[0])
        idf = float(index.idf[col]) if col is not None else float(index.max_idf)
        total += idf
        if feats[0] in own:
            shared += idf
    return shared / total if total else 0.0


def is_real_candidate(engine: AnswerEngine, text: str, entry_id: str, score: float) -> bool:
    """Whether ``entry_id`` is worth proposing for a question the bot could not answer."""
    if score < MIN_SCORE_SHARE * engine.config.suggest_threshold:
        return False
    if engine.index.unknown_names(text):
        return False
    # Closer to an out-of-scope example (knowledge/out_of_scope.yaml) than to any phrasing,
    # and not a strong match either (a strong one is what teaching is for).
    if score < engine.config.answer_threshold and engine.index.rank(text).out_of_scope:
        return False
    return overlap(engine, text, entry_id) >= MIN_OVERLAP


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


def group(rows: list[tuple[str, str, str]], engine: AnswerEngine,
          decided: Collection[tuple[str, str]] = ()) -> list[Group]:
    """Groups of similar questions, most asked first; wordings staff already decided about
    (``decided``: (lang, text hash), bot.db.decisions) are left out."""
    if decided:
        rows = [r for r in rows if (r[1], text_hash(r[0])) not in decided]
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
        candidates = list(result.candidates)
        if not g.reasons["fallback"] and result.kind == "answer" and candidates \
                and candidates[0][0] == result.entry.id:
            g.rejected = candidates.pop(0)[0]
        if candidates:
            g.nearest, g.nearest_score = candidates[0]
            # Proposed only when it is a real candidate: otherwise staff decide.
            if is_real_candidate(engine, g.example, g.nearest, g.nearest_score):
                g.closest, g.closest_score = g.nearest, g.nearest_score
    groups.sort(key=lambda g: -g.count)
    return groups


def patch_yaml(groups: list[Group], generated: datetime | None = None) -> str:
    """A reviewable patch: one item per group with a real candidate; the groups without one
    are listed under ``needs_decision`` (``kb apply`` ignores them): staff decide in
    /unanswered (another entry, out of scope, ignore) or move them into ``patch`` by hand."""
    items = [{"entry": g.closest, "lang": g.lang, "count": g.count,
              "add_questions": list(g.texts)} for g in groups if g.closest]
    undecided = [{"lang": g.lang, "count": g.count, "questions": list(g.texts) or [g.example],
                  "nearest": f"{g.nearest} ({g.nearest_score:.0f})" if g.nearest else None,
                  **({"downvoted_answer": g.rejected} if g.rejected else {})}
                 for g in groups if not g.closest]
    head = (f"# Phrasings suggested from unanswered questions "
            f"({(generated or utcnow()):%Y-%m-%d}).\n"
            "# Review every item: fix the entry id if the closest entry is wrong, delete\n"
            "# phrasings that do not belong, then: python -m bot kb apply THIS_FILE\n")
    data: dict = {"patch": items}
    if undecided:
        head += ("# needs_decision: no entry is a real candidate for these (an entry for\n"
                 "# them, or out of scope?): decide in /unanswered, or move one into 'patch'\n"
                 "# with an entry id.\n")
        data["needs_decision"] = undecided
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
