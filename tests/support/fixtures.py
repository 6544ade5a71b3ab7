"""Fixtures every suite sees (registered by ``pytest_plugins`` in tests/conftest.py).

Databases: ``sessions`` is the one session factory on an empty, migrated database, run once
on SQLite and once on PostgreSQL (``db_backend``; the PostgreSQL run skips without a server,
or fails with ``REQUIRE_SERVICES=1`` as in CI). ``db_url`` and ``db_engine`` are the same
database before migrating, for tests of the migrations themselves. A module can narrow the
backends with ``@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.db import postgres_url_or_skip, temporary_database
from tests.support.kb import write_small_kb

DB_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


# --- databases ----------------------------------------------------------------------------------


@pytest.fixture(params=DB_BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"`` or ``"postgresql"``: each test using a database runs on both."""
    return request.param


@pytest.fixture
async def db_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file (in a directory still to be created), or a
    temporary PostgreSQL database dropped afterwards."""
    if db_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}"
    else:
        async with temporary_database(await postgres_url_or_skip()) as url:
            yield url


@pytest.fixture
async def db_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``db_url``, not migrated."""
    from bot.db import create_engine

    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def sessions(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory on a database migrated to head."""
    from bot.db import create_sessionmaker, upgrade

    await upgrade(db_engine)
    return create_sessionmaker(db_engine)


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_test_databases():
    """With BOT_TEST_DB=postgres, the databases running_bot created go at the end."""
    yield
    import asyncio

    from tests.support.harness import PG_DATABASES, drop_test_databases

    if PG_DATABASES:
        asyncio.run(drop_test_databases())


# --- knowledge ----------------------------------------------------------------------------------


@pytest.fixture
def small_kb_dir(tmp_path: Path) -> Path:
    """The small KB of tests/support/kb.py (``CATEGORIES``, ``ENTRIES``) in a directory."""
    return write_small_kb(tmp_path / "kb")
