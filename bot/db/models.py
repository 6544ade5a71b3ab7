"""Declarative models of the bot's own data: who writes to us, what they ask, how they vote.

Everything here must map identically onto SQLite (development, small deployments) and
PostgreSQL (production), so only portable column types are used and every constraint has a
deterministic name (see ``NAMING_CONVENTION``): Alembic needs names to alter or drop
constraints later, and SQLite's batch mode can only recreate what it can name.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OUTCOMES: Final[tuple[str, ...]] = ("answered", "suggested", "fallback")
VOTES: Final[tuple[int, ...]] = (1, -1)
MAX_QUESTION_LENGTH: Final = 4096  # Telegram's own limit on a text message

# Telegram ids exceed 2**31; surrogate keys may too in a busy bot. SQLite, however, only
# autoincrements a column declared exactly "INTEGER PRIMARY KEY" (a rowid alias), so the
# surrogate keys are BIGINT everywhere except there (SQLite integers are 64-bit anyway).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time as an aware UTC datetime, the only kind stored in the database."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both backends.

    PostgreSQL stores ``timestamptz`` and returns aware values (in the session time zone,
    normalised here to UTC). SQLite has no time zones: values are stored as naive UTC text
    and get their UTC tzinfo back on load. Naive datetimes are refused on the way in, since
    nothing can tell whether they meant local time or UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: str, limit: int | None = None) -> str:
    """Any text a user can send, made storable on both databases: PostgreSQL refuses NUL
    (U+0000), and neither database driver encodes a lone surrogate (which JSON, and so a
    Telegram update, can carry). Both become U+FFFD; text over the column's length is cut."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = _SURROGATE.sub("\ufffd", value)
    return value[:limit] if limit is not None else value


class CleanText(TypeDecorator[str]):
    """TEXT whose values are made :func:`storable` on the way in."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(value)


class CleanString(TypeDecorator[str]):
    """VARCHAR(n) whose values are made :func:`storable` and cut to n on the way in
    (PostgreSQL refuses a longer value; SQLite would keep it)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable(value, self.impl.length)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A Telegram user who has written to the bot (id is the Telegram user id)."""

    __tablename__ = "users"

    # autoincrement=False: the id comes from Telegram; without it PostgreSQL gets BIGSERIAL.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(CleanString(64))
    first_name: Mapped[str | None] = mapped_column(CleanString(255))
    # What Telegram reports for the client (IETF tag, may be long or missing) ...
    language_code: Mapped[str | None] = mapped_column(CleanString(35))
    # ... and what the user chose with /language, which wins when set.
    language: Mapped[str | None] = mapped_column(CleanString(8))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when Telegram answers 403 "bot was blocked by the user": no broadcasts to them.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, blocked={self.blocked!r})"


class Question(Base):
    """A question the bot tried to answer, kept for quality analysis and KB improvement."""

    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ({})".format(", ".join(f"'{o}'" for o in OUTCOMES)), name="outcome"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(CleanText)
    lang: Mapped[str] = mapped_column(CleanString(8))
    # The best knowledge-base entry, also when it scored too low to be answered: the
    # near misses are exactly what tells us which entries need more phrasings.
    matched_id: Mapped[str | None] = mapped_column(CleanString(128))
    score: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(CleanString(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"Question(id={self.id!r}, matched={self.matched_id!r}, outcome={self.outcome!r})"


class QuestionDaily(Base):
    """Anonymous daily counts of questions whose rows are gone (purged after
    ``privacy.keep_questions_days``, or deleted by their author's /forget): statistics read
    these plus the live rows. No text, no user: a day (UTC), the matched entry ("" for none)
    and the language, with a count per outcome."""

    __tablename__ = "question_daily"
    __table_args__ = (UniqueConstraint("day", "entry_id", "lang"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    entry_id: Mapped[str] = mapped_column(CleanString(128), default="")
    lang: Mapped[str] = mapped_column(CleanString(8))
    answered: Mapped[int] = mapped_column(Integer, default=0)
    suggested: Mapped[int] = mapped_column(Integer, default=0)
    fallback: Mapped[int] = mapped_column(Integer, default=0)


class Feedback(Base):
    """A 👍/👎 on one of the bot's answers; one per user and answer message, changeable."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("user_id", "chat_id", "message_id"),
        CheckConstraint("vote IN (1, -1)", name="vote"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)  # the bot's answer message
    entry_id: Mapped[str] = mapped_column(CleanString(128), index=True)  # per-entry stats
    question_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("questions.id", ondelete="SET NULL"), index=True
    )
    vote: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Feedback(id={self.id!r}, entry_id={self.entry_id!r}, vote={self.vote!r})"


# -- news, subscriptions and digest delivery ------------------------------------------------

FREQUENCIES: Final[tuple[str, ...]] = ("instant", "daily", "weekly")
RUN_KINDS: Final[tuple[str, ...]] = ("instant", "daily", "weekly", "broadcast")
DELIVERY_STATUSES: Final[tuple[str, ...]] = (
    "pending",  # planned, not tried yet (safe to send after a restart)
    "sending",  # a message of it is on its way: after a crash nobody knows if it arrived
    "sent",
    "failed",  # gave up (5xx/network after retries, or 400: can never succeed)
    "blocked",  # 403: the subscriber blocked the bot or was deactivated
    "uncertain",  # was "sending" when the process died: not resent, so never twice
)


def _in(values: tuple[str, ...], column: str) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


class NewsItem(Base):
    """A news item, from the KB's YAML or a feed. ``id`` is the order of appearance: a
    subscriber's cursor is the last id they were sent, so an item is delivered once even
    when its publication date is older than items already sent."""

    __tablename__ = "news_items"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(CleanString(200), unique=True)  # "kb:<id>" | "feed:<hash>"
    source: Mapped[str] = mapped_column(CleanString(32))  # "kb" | "feed"
    published: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    url: Mapped[str | None] = mapped_column(CleanString(2000))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # {"title": {"en": .., "ru": ..}, "summary": {..}, "body": {..}}
    content: Mapped[dict] = mapped_column(JSON)
    # Removed from the KB (or the feed said so): hidden from /news, never sent again.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (CheckConstraint(_in(FREQUENCIES, "frequency"), name="frequency"),)

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    frequency: Mapped[str] = mapped_column(CleanString(16), default="daily")
    tags: Mapped[list | None] = mapped_column(JSON)  # None: every topic
    lang: Mapped[str] = mapped_column(CleanString(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)  # last news_items.id sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestRun(Base):
    """One digest (or broadcast) run; (kind, slot) is unique so a scheduled slot runs once,
    whichever process or instance gets there first."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("kind", "slot"),
        CheckConstraint(_in(RUN_KINDS, "kind"), name="kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(CleanString(16))
    slot: Mapped[str] = mapped_column(CleanString(64))  # e.g. "2026-11-24T10:00+03:00"
    status: Mapped[str] = mapped_column(CleanString(16), default="planning")
    # planning / sending / done
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(CleanText)


class DigestPayload(Base):
    """The messages of one digest text; subscribers with the same language, topics and
    cursor share one payload instead of storing 100,000 copies."""

    __tablename__ = "digest_payloads"
    __table_args__ = (UniqueConstraint("run_id", "digest"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("digest_runs.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(CleanString(64))  # hash of the messages
    messages: Mapped[list] = mapped_column(JSON)  # HTML texts, each within Telegram's limit
    items: Mapped[list] = mapped_column(JSON, default=list)  # news_items ids included


class Delivery(Base):
    """One digest for one subscriber: the unit of the persisted delivery queue."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "user_id"),
        CheckConstraint(_in(DELIVERY_STATUSES, "status"), name="status"),
        Index("ix_deliveries_run_id_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("digest_runs.id", ondelete="CASCADE"))
    payload_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("digest_payloads.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(CleanString(16), default="pending")
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)  # resume multi-part digests
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(CleanText)
    claimed_by: Mapped[str | None] = mapped_column(CleanString(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- admissions staff: audit, hand-off conversations, bans ----------------------------------

HANDOFF_STATUSES: Final[tuple[str, ...]] = ("open", "closed")


class StaffAction(Base):
    """Audit trail: every staff action, who and when."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(CleanString(64))
    details: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UnansweredDecision(Base):
    """What staff decided about an unanswered question (/unanswered): its wording (by the
    hash of its normalised text and language) then stays out of the list."""

    __tablename__ = "unanswered_decisions"
    __table_args__ = (UniqueConstraint("lang", "text_hash"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    lang: Mapped[str] = mapped_column(String(8))
    text_hash: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(CleanText)
    decision: Mapped[str] = mapped_column(String(16))  # entry | out_of_scope | ignore
    entry_id: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Handoff(Base):
    """A student's conversation with the admissions team in the staff chat."""

    __tablename__ = "handoffs"
    __table_args__ = (CheckConstraint(_in(HANDOFF_STATUSES, "status"), name="status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the student's chat
    status: Mapped[str] = mapped_column(CleanString(16), default="open")
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)  # forum topic of this student
    question_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("questions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(BigInteger)


class HandoffMessage(Base):
    """Which staff-chat message belongs to which conversation, so a staff reply to it
    reaches the right student; with the student's side of it, so edits are mirrored: for
    "to_staff" the student's message the staff-chat copy shows, for "to_student" the copy
    the student got and how it was made (``layout``: "text" a message with the team's header,
    "caption" a copy with the header in its caption, "plain" a copy after a header message).
    Student messages are in their private chat (the conversation's ``user_id``)."""

    __tablename__ = "handoff_messages"
    __table_args__ = (UniqueConstraint("staff_chat_id", "staff_message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    staff_chat_id: Mapped[int] = mapped_column(BigInteger)
    staff_message_id: Mapped[int] = mapped_column(BigInteger)
    direction: Mapped[str] = mapped_column(CleanString(16))  # "to_staff" | "to_student"
    student_message_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    layout: Mapped[str | None] = mapped_column(CleanString(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandoffBan(Base):
    """Students barred from the hand-off (abuse); they are told politely."""

    __tablename__ = "handoff_bans"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    banned_by: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
