"""What students asked: figures for /stats and ``python -m bot stats``, and the chart."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OUTCOMES, Feedback, Question, Subscription, User, utcnow


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


async def collect(session: AsyncSession, days: int = 7, now: datetime | None = None,
                  top: int = 10) -> Stats:
    now = now or utcnow()
    since = now - timedelta(days=days)
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
        per_day[created.date()][outcome] += 1
    st.outcomes = {o: outcomes.get(o, 0) for o in OUTCOMES}
    st.top_topics = topics.most_common(top)
    first = since.date()
    st.per_day = {first + timedelta(days=i): dict(per_day.get(first + timedelta(days=i), {}))
                  for i in range((now.date() - first).days + 1)}
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


def render(st: Stats, t) -> str:
    """The report as Telegram HTML, worded through the translator ``t``."""
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
            lines.append(f"• <code>{entry}</code>: {n}  👍 {up} 👎 {down}")
    other_votes = {k: v for k, v in st.votes.items() if k not in dict(st.top_topics)}
    if other_votes:
        lines.append(t("stats-votes"))
        lines.extend(f"• <code>{k}</code>: 👍 {up} 👎 {down}"
                     for k, (up, down) in other_votes.items())
    total_subs = sum(st.subscribers.values())
    lines.append(t("stats-subscribers", count=total_subs))
    lines.extend(f"• {freq} / {lang}: {n}" for (freq, lang), n in sorted(st.subscribers.items()))
    return "\n".join(lines)


def chart_png(st: Stats) -> bytes:
    """Questions per day, stacked by outcome."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    days = sorted(st.per_day)
    colors = {"answered": "#2e7d32", "suggested": "#f9a825", "fallback": "#c62828"}
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    bottom = [0] * len(days)
    for outcome in OUTCOMES:
        values = [st.per_day[d].get(outcome, 0) for d in days]
        ax.bar([d.isoformat()[5:] for d in days], values, bottom=bottom, label=outcome,
               color=colors[outcome])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(f"Questions per day, last {st.days} days")
    ax.set_ylabel("questions")
    ax.legend()
    if len(days) > 14:
        ax.set_xticks(ax.get_xticks()[:: max(1, len(days) // 14)])
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
