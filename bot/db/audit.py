"""Every staff action goes into the audit table: who, what, when."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import StaffAction


async def record(session: AsyncSession, user_id: int, action: str,
                 details: str | None = None) -> None:
    session.add(StaffAction(user_id=user_id, action=action,
                            details=details[:4000] if details else None))
    await session.flush()
