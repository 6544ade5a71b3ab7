"""Engine and session factory, with the SQLite settings a concurrent bot needs.

SQLite's defaults suit a single-threaded script, not a bot where many updates write at once:
rollback journaling makes readers block the writer, a locked database fails instantly, and
foreign keys are not enforced at all. Every SQLite connection is therefore switched to WAL,
a 30 s busy timeout, enforced foreign keys, and synchronous=NORMAL (safe with WAL, and far
fewer fsyncs). PostgreSQL needs nothing of this.

Why 30 s: SQLite's busy handler polls (every 100 ms once a wait is long) and is not fair, so
when a process is overloaded its writers can keep missing the free moments while each
transaction holds the lock only milliseconds. In bench/updates.py slowed down by a profiler
(about half its normal speed, 200 questions pending), a few question inserts gave up after
5 s with "database is locked" while no transaction held the lock over 80 ms; at 30 s none
did. A question answered late is better than "something went wrong".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool

SQLITE_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("foreign_keys", "ON"),
    ("busy_timeout", "30000"),
    ("synchronous", "NORMAL"),
)


def is_sqlite_memory(url: URL) -> bool:
    """True for an in-memory SQLite URL, which lives only as long as its one connection."""
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def _sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL, or None when in memory."""
    if is_sqlite_memory(url):
        return None
    database = url.database or ""
    if database.startswith("file:"):  # URI form (?uri=true): file:path?options
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database)


def _set_sqlite_pragmas(dbapi_connection: Any, _connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for name, value in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {name}={value}")
    finally:
        cursor.close()


def create_engine(url: str, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` (``DatabaseConfig.url``).

    For a SQLite file the parent directory is created, since the default ``data/bot.db``
    must work in a fresh checkout. In-memory SQLite gets a ``StaticPool``: each new
    connection would otherwise be a new, empty database, so tables created in one session
    would vanish in the next.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        path = _sqlite_file(parsed)
        if path is None:
            kwargs["poolclass"] = StaticPool
        elif str(path):
            path.parent.mkdir(parents=True, exist_ok=True)
    else:
        # Connections dropped by a PostgreSQL restart or an idle timeout are replaced
        # transparently instead of failing the next update.
        kwargs["pool_pre_ping"] = True
    engine = _create_async_engine(parsed, **kwargs)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay usable after commit (no lazy reload in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


# --- shared by the data-access modules -------------------------------------------------------

#: Make RETURNING rows overwrite identity-map copies.
REFRESH = {"populate_existing": True}


def dialect_insert(session: AsyncSession) -> Any:
    """The dialect's own ``insert`` construct, the one that has ``on_conflict_*``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upserts are implemented for sqlite and postgresql, not {name}")
