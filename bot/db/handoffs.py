"""Hand-off conversations between a student and the staff chat (database side)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Handoff, HandoffBan, HandoffMessage, utcnow


async def is_banned(session: AsyncSession, user_id: int) -> bool:
    return await session.get(HandoffBan, user_id) is not None


async def ban(session: AsyncSession, user_id: int, by: int, reason: str | None = None) -> bool:
    if await session.get(HandoffBan, user_id) is not None:
        return False
    session.add(HandoffBan(user_id=user_id, banned_by=by, reason=reason))
    await session.flush()
    return True


async def unban(session: AsyncSession, user_id: int) -> bool:
    row = await session.get(HandoffBan, user_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


async def open_for(session: AsyncSession, user_id: int) -> Handoff | None:
    return await session.scalar(select(Handoff).where(
        Handoff.user_id == user_id, Handoff.status == "open").order_by(Handoff.id.desc()))


async def last_topic(session: AsyncSession, user_id: int, staff_chat_id: int) -> int | None:
    """A student keeps one forum topic across conversations."""
    return await session.scalar(select(Handoff.topic_id).where(
        Handoff.user_id == user_id, Handoff.staff_chat_id == staff_chat_id,
        Handoff.topic_id.is_not(None)).order_by(Handoff.id.desc()).limit(1))


async def start(session: AsyncSession, *, user_id: int, chat_id: int, staff_chat_id: int,
                topic_id: int | None, question_id: int | None) -> Handoff:
    row = Handoff(user_id=user_id, chat_id=chat_id, staff_chat_id=staff_chat_id,
                  topic_id=topic_id, question_id=question_id, status="open")
    session.add(row)
    await session.flush()
    return row


async def link(session: AsyncSession, handoff: Handoff, staff_message_id: int,
               direction: str, *, student_message_id: int | None = None,
               layout: str | None = None) -> None:
    """Remember a staff-chat message of this conversation ("to_staff": the bot posted it
    there, ``student_message_id`` the student's message it shows; "to_student": a staff
    reply, ``student_message_id`` the copy the student got, made as ``layout``)."""
    session.add(HandoffMessage(handoff_id=handoff.id, staff_chat_id=handoff.staff_chat_id,
                               staff_message_id=staff_message_id, direction=direction,
                               student_message_id=student_message_id, layout=layout))
    await session.flush()


async def student_copy(session: AsyncSession, staff_chat_id: int, staff_message_id: int
                       ) -> tuple[Handoff, HandoffMessage] | None:
    """A staff reply's copy in the student's chat (to mirror the staff's edit)."""
    row = (await session.execute(
        select(Handoff, HandoffMessage)
        .join(HandoffMessage, HandoffMessage.handoff_id == Handoff.id)
        .where(HandoffMessage.staff_chat_id == staff_chat_id,
               HandoffMessage.staff_message_id == staff_message_id,
               HandoffMessage.direction == "to_student",
               HandoffMessage.student_message_id.is_not(None)))).first()
    return (row[0], row[1]) if row else None


async def staff_copies(session: AsyncSession, user_id: int, student_message_id: int
                       ) -> list[tuple[Handoff, HandoffMessage]]:
    """The staff-chat messages showing a student's message (to mirror the student's edit)."""
    rows = await session.execute(
        select(Handoff, HandoffMessage)
        .join(HandoffMessage, HandoffMessage.handoff_id == Handoff.id)
        .where(Handoff.user_id == user_id,
               HandoffMessage.student_message_id == student_message_id,
               HandoffMessage.direction == "to_staff")
        .order_by(HandoffMessage.id))
    return [(h, m) for h, m in rows]


async def find_by_staff_message(session: AsyncSession, staff_chat_id: int,
                                message_id: int) -> Handoff | None:
    return await session.scalar(
        select(Handoff).join(HandoffMessage, HandoffMessage.handoff_id == Handoff.id)
        .where(HandoffMessage.staff_chat_id == staff_chat_id,
               HandoffMessage.staff_message_id == message_id))


async def find_by_topic(session: AsyncSession, staff_chat_id: int,
                        topic_id: int) -> Handoff | None:
    return await session.scalar(select(Handoff).where(
        Handoff.staff_chat_id == staff_chat_id, Handoff.topic_id == topic_id)
        .order_by(Handoff.id.desc()).limit(1))


async def close(session: AsyncSession, handoff: Handoff, by: int) -> bool:
    if handoff.status == "closed":
        return False
    handoff.status, handoff.closed_at, handoff.closed_by = "closed", utcnow(), by
    await session.flush()
    return True


class OpenConversations:
    """Which students have an open conversation, without a query per message: refreshed
    from the database every few seconds (other instances open and close conversations too)
    and at once after this instance opens or closes one."""

    def __init__(self, sessionmaker, max_age: float = 5.0) -> None:
        self.sessionmaker = sessionmaker
        self.max_age = max_age
        self._users: set[int] = set()
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def has(self, user_id: int) -> bool:
        import time

        now = time.monotonic()
        if now - self._loaded_at > self.max_age:
            async with self.sessionmaker() as session:
                rows = await session.scalars(
                    select(Handoff.user_id).where(Handoff.status == "open"))
                self._users = set(rows)
            self._loaded_at = now
        return user_id in self._users
