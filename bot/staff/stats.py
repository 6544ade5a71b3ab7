"""What students asked: figures for /stats and ``python -m bot stats``, and the chart."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    OUTCOMES,
    Feedback,
    Question,
    QuestionDaily,
    Subscription,
    User,
    utcnow,
)
from bot.knowledge.models import KnowledgeBase


@dataclass
class Stats:
    days: int
    since: datetime
    users_total: int = 0
    users_new: int = 0
    users_active: int = 0
    users_blocked: int = 0
    questions: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    top_topics: list[tuple[str, int]] = field(default_factory=list)
    votes: dict[str, tuple[int, int]] = field(default_factory=dict)  # entry -> (up, down)
    subscribers: dict[tuple[str, str], int] = field(default_factory=dict)  # (freq, lang)
    per_day: dict[date, dict[str, int]] = field(default_factory=dict)

    def share(self, outcome: str) -> float:
        return self.outcomes.get(outcome, 0) / self.questions if self.questions else 0.0


def period(days: int, now: datetime | None = None) -> tuple[date, datetime]:
    """"The last ``days`` days": today (UTC) and the ``days - 1`` whole days before it; the
    first day and the moment it began."""
    first = (now or utcnow()).astimezone(UTC).date() - timedelta(days=days - 1)
    return first, datetime.combine(first, time(), UTC)


async def collect(session: AsyncSession, days: int = 7, now: datetime | None = None,
                  top: int = 10) -> Stats:
    """Figures for the last ``days`` days (see :func:`period`). Questions are the live rows
    plus the anonymous daily counts of rows already purged or forgotten
    (bot.db.privacy), so totals over long periods survive the purge."""
    now = now or utcnow()
    first, since = period(days, now)
    st = Stats(days=days, since=since)
    st.users_total = await session.scalar(select(func.count()).select_from(User)) or 0
    st.users_new = await session.scalar(
        select(func.count()).select_from(User).where(User.first_seen >= since)) or 0
    st.users_active = await session.scalar(
        select(func.count()).select_from(User).where(User.last_seen >= since)) or 0
    st.users_blocked = await session.scalar(
        select(func.count()).select_from(User).where(User.blocked.is_(True))) or 0
    rows = (await session.execute(
        select(Question.created_at, Question.outcome, Question.matched_id)
        .where(Question.created_at >= since))).all()
    st.questions = len(rows)
    outcomes: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for created, outcome, matched in rows:
        outcomes[outcome] += 1
        if outcome == "answered" and matched:
            topics[matched] += 1
        per_day[created.astimezone(UTC).date()][outcome] += 1
    folded = (await session.execute(
        select(QuestionDaily.day, QuestionDaily.entry_id,
               *(func.sum(getattr(QuestionDaily, o)) for o in OUTCOMES))
        .where(QuestionDaily.day >= first)
        .group_by(QuestionDaily.day, QuestionDaily.entry_id))).all()
    for day, entry, *counts in folded:
        for outcome, n in zip(OUTCOMES, counts, strict=True):
            n = int(n or 0)
            if not n:
                continue
            st.questions += n
            outcomes[outcome] += n
            per_day[day][outcome] += n
            if outcome == "answered" and entry:
                topics[entry] += n
    st.outcomes = {o: outcomes.get(o, 0) for o in OUTCOMES}
    st.top_topics = sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    st.per_day = {first + timedelta(days=i): dict(per_day.get(first + timedelta(days=i), {}))
                  for i in range(days)}
    votes = (await session.execute(
        select(Feedback.entry_id, Feedback.vote, func.count())
        .where(Feedback.updated_at >= since).group_by(Feedback.entry_id, Feedback.vote))).all()
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry, vote, n in votes:
        tally[entry][0 if vote > 0 else 1] += n
    st.votes = {k: (v[0], v[1]) for k, v in sorted(tally.items())}
    subs = (await session.execute(
        select(Subscription.frequency, Subscription.lang, func.count())
        .where(Subscription.active.is_(True))
        .group_by(Subscription.frequency, Subscription.lang))).all()
    st.subscribers = {(f, lang): n for f, lang, n in subs}
    return st


def topic_titles(kb: KnowledgeBase, lang: str) -> dict[str, str]:
    """Entry id -> its title in ``lang`` (a button's label: the title, else the first
    phrasing), for reports that name topics the way students see them."""
    return {eid: entry.label(lang) for eid, entry in kb.entries.items()}


def kb_titles(directory: str | Path, lang: str) -> dict[str, str]:
    """:func:`topic_titles` of the knowledge base in ``directory`` (for the CLI); none when
    it cannot be loaded: the report then names topics by their ids."""
    from bot.knowledge import KBError, load_knowledge

    try:
        kb, _ = load_knowledge(Path(directory), strict=False)
    except (KBError, OSError):
        return {}
    return topic_titles(kb, lang)


def _title(entry: str, titles: Mapping[str, str] | None) -> str:
    """An entry's title; its id when it is no longer in the knowledge base."""
    return (titles or {}).get(entry) or entry


def render(st: Stats, t: Callable[..., str], titles: Mapping[str, str] | None = None) -> str:
    """The report as Telegram HTML, worded through the translator ``t``; topics by their
    ``titles`` (see :func:`topic_titles`) where known."""
    lines = [t("stats-title", days=st.days),
             t("stats-users", total=st.users_total, new=st.users_new, active=st.users_active,
               blocked=st.users_blocked),
             t("stats-questions", count=st.questions,
               answered=f"{st.share('answered'):.0%}", suggested=f"{st.share('suggested'):.0%}",
               fallback=f"{st.share('fallback'):.0%}")]
    if st.top_topics:
        lines.append(t("stats-top"))
        for entry, n in st.top_topics:
            up, down = st.votes.get(entry, (0, 0))
            lines.append(f"• {escape(_title(entry, titles))}: {n}  👍 {up} 👎 {down}")
    other_votes = {k: v for k, v in st.votes.items() if k not in dict(st.top_topics)}
    if other_votes:
        lines.append(t("stats-votes"))
        lines.extend(f"• {escape(_title(k, titles))}: 👍 {up} 👎 {down}"
                     for k, (up, down) in other_votes.items())
    total_subs = sum(st.subscribers.values())
    lines.append(t("stats-subscribers", count=total_subs))
    lines.extend(f"• {freq} / {lang}: {n}" for (freq, lang), n in sorted(st.subscribers.items()))
    return "\n".join(lines)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def chart_png(st: Stats, t: Callable[..., str] | None = None,
              titles: Mapping[str, str] | None = None) -> bytes:
    """The chart of :func:`chart_figure` as a PNG."""
    from matplotlib import pyplot as plt

    fig = chart_figure(st, t, titles)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def chart_figure(st: Stats, t: Callable[..., str] | None = None,
                 titles: Mapping[str, str] | None = None):
    """Questions per day of the period, stacked by outcome (one bar per day, exactly
    ``st.days`` of them, whole numbers on the axis), and beside it the top topics by title;
    worded through ``t`` (English without one). The caller closes the figure."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if t is None:
        from bot.i18n import Translator

        t = Translator().for_lang("en")
    days = sorted(st.per_day)
    colors = {"answered": "#2e7d32", "suggested": "#f9a825", "fallback": "#c62828"}
    topics = st.top_topics[:8]
    fig, axes = plt.subplots(1, 2 if topics else 1, figsize=(11 if topics else 8, 4.5),
                             dpi=100, width_ratios=[3, 2] if topics else None, squeeze=False)
    ax = axes[0][0]
    labels = [d.strftime("%d.%m") for d in days]
    bottom = [0] * len(days)
    for outcome in OUTCOMES:
        values = [st.per_day[d].get(outcome, 0) for d in days]
        ax.bar(labels, values, bottom=bottom, label=t(f"stats-chart-{outcome}"),
               color=colors[outcome])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(t("stats-chart-title", days=st.days))
    ax.set_ylabel(t("stats-chart-questions"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Headroom for the legend, one row above the bars.
    ax.set_ylim(0, max(max(bottom, default=0), 1) * 1.25)
    ax.legend(loc="upper center", ncols=3, fontsize="small", frameon=False)
    if len(days) > 14:
        step = -(-len(days) // 14)
        ax.set_xticks(range(0, len(days), step), labels[::step])
    ax.tick_params(axis="x", labelrotation=45)
    if topics:
        tx = axes[0][1]
        names = [_short(_title(e, titles)) for e, _ in reversed(topics)]
        tx.barh(names, [n for _, n in reversed(topics)], color=colors["answered"])
        tx.set_title(t("stats-chart-topics"))
        tx.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig
