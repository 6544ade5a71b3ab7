"""Test helpers for code that needs a real PostgreSQL (importable by any test module).

``await postgres_url_or_skip()`` returns an admin URL of a reachable server, or skips the
test — unless ``REQUIRE_SERVICES=1`` (as in CI), where a missing service must fail loudly
instead of quietly turning the PostgreSQL tests into skips. ``temporary_database(url)``
then gives each test its own fresh database, so tests can run in parallel and never see
each other's tables::

    async def test_something():
        admin = await postgres_url_or_skip()
        async with temporary_database(admin) as url:
            engine = create_engine(url)
            ...

The server is found from ``TEST_POSTGRES_URL`` if set, otherwise the local default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test`` (trust auth), also trying the user
``root`` and the ``postgres`` maintenance database. pytest is imported lazily so that this
module costs nothing in production.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.engine import URL, make_url

POSTGRES_URL_ENV = "TEST_POSTGRES_URL"
REQUIRE_SERVICES_ENV = "REQUIRE_SERVICES"
DEFAULT_POSTGRES_HOST = "127.0.0.1:5432"
DEFAULT_CANDIDATES: tuple[str, ...] = tuple(
    f"postgresql+asyncpg://{user}@{DEFAULT_POSTGRES_HOST}/{db}"
    for db in ("test", "postgres")
    for user in ("postgres", "root")
)
CONNECT_TIMEOUT = 5.0
TEMP_DB_PREFIX = "bsmu_test"

# (url or None, explanation) — probing once per process is enough and keeps tests fast.
_probe_result: tuple[str | None, str] | None = None


def services_required() -> bool:
    """True when missing services must fail tests instead of skipping them (CI)."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip().lower() in ("1", "true", "yes")


def _candidates() -> tuple[str, ...]:
    explicit = os.environ.get(POSTGRES_URL_ENV, "").strip()
    return (explicit,) if explicit else DEFAULT_CANDIDATES


def _asyncpg_dsn(url: str | URL) -> str:
    """The libpq-style DSN asyncpg wants, from a SQLAlchemy URL (any driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _can_create_databases(url: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=CONNECT_TIMEOUT)
    try:
        return bool(
            await conn.fetchval(
                "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
            )
        )
    finally:
        await conn.close()


async def probe_postgres() -> tuple[str | None, str]:
    """Find a usable server: ``(url, "")`` or ``(None, why not)``. Cached per process.

    A candidate whose role may create databases is preferred, since that is what
    ``temporary_database`` needs.
    """
    global _probe_result
    if _probe_result is not None:
        return _probe_result
    reachable: list[str] = []
    errors: list[str] = []
    for url in _candidates():
        try:
            if await _can_create_databases(url):
                _probe_result = (url, "")
                return _probe_result
            reachable.append(url)
            errors.append(f"{_safe(url)}: role may not create databases")
        except Exception as exc:  # any failure just means "not this one"
            errors.append(f"{_safe(url)}: {type(exc).__name__}: {exc}")
    _probe_result = (reachable[0], "") if reachable else (None, "; ".join(errors))
    return _probe_result


def _skip_or_fail(reason: str) -> None:
    import pytest

    message = f"PostgreSQL not reachable at {DEFAULT_POSTGRES_HOST}: {reason}"
    if os.environ.get(POSTGRES_URL_ENV):
        message = f"PostgreSQL not reachable via {POSTGRES_URL_ENV}: {reason}"
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_SERVICES_ENV}=1, so this is an error)")
    pytest.skip(message)


async def postgres_url_or_skip() -> str:
    """Admin URL (``postgresql+asyncpg://...``) of a reachable server, else skip/fail."""
    url, reason = await probe_postgres()
    if url is None:
        _skip_or_fail(reason)
        raise AssertionError("unreachable")  # pytest.skip/fail raise; keeps type checkers calm
    return url


def postgres_url_or_skip_sync() -> str:
    """``postgres_url_or_skip`` for synchronous fixtures and tests.

    Runs the probe on a private event loop in a worker thread, so it also works while
    another loop is running in this thread.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        url, reason = pool.submit(asyncio.run, probe_postgres()).result()
    if url is None:
        _skip_or_fail(reason)
        raise AssertionError("unreachable")
    return url


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting whoever still uses it."""
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=CONNECT_TIMEOUT)
    try:
        if conn.get_server_version().major >= 13:
            await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")
        else:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)}")
    finally:
        await conn.close()


@asynccontextmanager
async def temporary_database(
    admin_url: str | None = None, *, prefix: str = TEMP_DB_PREFIX
) -> AsyncIterator[str]:
    """Create a uniquely named, empty database; yield its URL; drop it afterwards.

    ``admin_url`` defaults to ``await postgres_url_or_skip()``. The yielded URL keeps the
    admin URL's driver and credentials. Close or dispose your engines before leaving the
    block (the drop forces remaining connections off on PostgreSQL 13+ anyway).
    """
    import asyncpg

    if admin_url is None:
        admin_url = await postgres_url_or_skip()
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:12]}".lower()
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=CONNECT_TIMEOUT)
    try:
        # CREATE DATABASE cannot run in a transaction; asyncpg autocommits plain execute().
        await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
    finally:
        await conn.close()
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await drop_database(admin_url, name)


@asynccontextmanager
async def migrated_database(backend: str, tmp_path) -> AsyncIterator:
    """A sessionmaker on an empty, migrated database: a SQLite file under ``tmp_path`` or a
    temporary PostgreSQL database (skipped, or failed with REQUIRE_SERVICES=1, when the
    server is not there)."""
    from bot.db.engine import create_engine, create_sessionmaker
    from bot.db.migrate import upgrade

    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        else:
            url = await stack.enter_async_context(
                temporary_database(await postgres_url_or_skip()))
        engine = create_engine(url)
        try:
            await upgrade(engine)
            yield create_sessionmaker(engine)
        finally:
            await engine.dispose()
