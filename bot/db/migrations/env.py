"""Alembic environment for the bot's database.

Two ways in:

* ``bot.db.migrate`` (the normal one) passes an open synchronous connection in
  ``config.attributes["connection"]``; the caller owns the engine and the transaction.
* The ``alembic`` command line (for ``alembic revision --autogenerate`` during development)
  builds an async engine from ``sqlalchemy.url`` or, failing that, the ``DATABASE_URL``
  environment variable.

``render_as_batch`` is on for SQLite because it cannot ALTER most things in place: batch
mode recreates the table instead, and it needs the named constraints from the models.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from bot.db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    from bot.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline(url: str) -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database: set sqlalchemy.url or DATABASE_URL")
    if context.is_offline_mode():
        run_migrations_offline(url)
    else:
        asyncio.run(_run_with_own_engine(url))


main()
