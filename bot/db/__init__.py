"""Persistence: models, engine, packaged Alembic migrations and the data-access functions.

Typical start-up::

    engine = create_engine(config.database.url, echo=config.database.echo)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
"""

from __future__ import annotations

from bot.db.engine import create_engine, create_sessionmaker
from bot.db.migrate import current, downgrade, head, revisions, upgrade
from bot.db.models import (
    MAX_QUESTION_LENGTH,
    OUTCOMES,
    Base,
    Feedback,
    Question,
    User,
    UTCDateTime,
    utcnow,
)
from bot.db.questions import record_question
from bot.db.users import get_user, mark_blocked, set_language, touch_user, upsert_user
from bot.db.votes import record_vote

__all__ = [
    "MAX_QUESTION_LENGTH",
    "OUTCOMES",
    "Base",
    "Feedback",
    "Question",
    "UTCDateTime",
    "User",
    "create_engine",
    "create_sessionmaker",
    "current",
    "downgrade",
    "get_user",
    "head",
    "mark_blocked",
    "record_question",
    "record_vote",
    "revisions",
    "set_language",
    "touch_user",
    "upgrade",
    "upsert_user",
    "utcnow",
]
