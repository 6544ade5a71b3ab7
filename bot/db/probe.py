"""Is the database there, and at which migration? One-line answers for the command line and
``python -m bot doctor`` (never the password: only host, port and database name are shown)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import _sqlite_file
from bot.db.migrate import current, head


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; the message names where and says what to
    check."""


def where(url: str | URL) -> str:
    """``host:port/db`` for a server, the file for SQLite; no user name, no password."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is None or not str(path):
            return "an in-memory SQLite database"
        return f"SQLite file {path.resolve()}"
    port = parsed.port or 5432
    return f"{parsed.host or 'localhost'}:{port}/{parsed.database or ''}"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return _sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None


def _root(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__ or getattr(exc, "orig", None)
        if nxt is None:
            break
        exc = nxt
    return exc


def reason(exc: BaseException) -> str:
    """The innermost cause of a connection failure, in a few words."""
    root = _root(exc)
    if isinstance(root, ConnectionRefusedError):
        return "connection refused (is the server running, and listening on that port?)"
    if isinstance(root, socket.gaierror):
        return "unknown host name"
    if isinstance(root, TimeoutError):
        return "no answer (a firewall, or the wrong host?)"
    name = type(root).__name__
    if name == "InvalidPasswordError":
        return "the server refused the user name or password"
    if name == "InvalidCatalogNameError":
        return "that database does not exist on the server (create it first)"
    text = str(root).strip().splitlines()[0] if str(root).strip() else name
    return text[:200]


async def check_connection(engine: AsyncEngine, timeout: float = 10.0) -> None:
    """Open one connection, or :class:`DatabaseUnavailable` saying where and why."""
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database at {where(engine.url)}: {reason(exc)}; "
            "check database.url") from exc


async def migration_state(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision or None when never migrated, the code's newest revision)."""
    return await current(engine), head()
