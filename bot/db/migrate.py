"""Run the packaged Alembic migrations from code, without an ``alembic.ini``.

The bot upgrades its own database at start-up, so the migration scripts ship inside the
package and the Alembic configuration is built here. Commands run on a connection of the
caller's async engine (handed to ``env.py`` through ``config.attributes``), so the pragmas
and pool settings of ``bot.db.engine`` apply to migrations too.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (e.g. dangling foreign keys on SQLite)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts, optionally bound to a connection."""
    cfg = Config()
    # ConfigParser interpolation would choke on a "%" in the install path.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def revisions() -> list[str]:
    """All revision ids, ordered from the first migration (base) to head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head() -> str | None:
    """The newest revision id the code knows about."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _run(engine: AsyncEngine, direction: str, revision: str) -> None:
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a SQLite table by copy-drop-rename; with foreign keys
            # enforced, dropping e.g. "users" would cascade-delete every question. Turn them
            # off (only possible outside a transaction, which pysqlite has not begun yet),
            # and verify integrity ourselves afterwards.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            fn = command.upgrade if direction == "upgrade" else command.downgrade
            await conn.run_sync(lambda sync_conn: fn(alembic_config(sync_conn), revision))
            if sqlite:
                broken = (await conn.execute(text("PRAGMA foreign_key_check"))).all()
                if broken:
                    await conn.rollback()
                    raise MigrationError(f"foreign key violations after {direction}: {broken}")
            await conn.commit()
        finally:
            if sqlite:
                # A PRAGMA inside an open transaction is silently ignored: end it first, or
                # the pooled connection would go back without foreign key enforcement.
                if conn.in_transaction():
                    await conn.rollback()
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (default: the newest)."""
    await _run(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" removes every table)."""
    await _run(engine, "downgrade", revision)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )
