"""Run the packaged Alembic migrations from code, without an ``alembic.ini``.

The bot upgrades its own database at start-up, so the migration scripts ship inside the
package and the Alembic configuration is built here. Commands run on a connection of the
caller's async engine (handed to ``env.py`` through ``config.attributes``), so the pragmas
and pool settings of ``bot.db.engine`` apply to migrations too.

Alembic (with Mako and Pygments) costs a few tenths of a second and some 10 MB to import, and
at almost every start there is nothing to migrate: :func:`upgrade` first compares the
database's ``alembic_version`` with the newest revision id read from the scripts' text
(:func:`script_revisions`, no import of the scripts or of Alembic), and imports Alembic only
when a migration is pending. A test checks that this reading agrees with Alembic's own.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps

# ``revision: str = "0006"`` and ``down_revision: str | Sequence[str] | None = "0005"`` (or
# ``None``), as Alembic's script template writes them.
_REVISION = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"']+)["']""", re.M)
_DOWN = re.compile(r"""^down_revision\s*(?::[^=\n]*)?=\s*(None|["']([^"']+)["'])""", re.M)


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (e.g. dangling foreign keys on SQLite)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts, optionally bound to a connection."""
    from alembic.config import Config

    cfg = Config()
    # ConfigParser interpolation would choke on a "%" in the install path.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_revisions(directory: Path = VERSIONS_DIR) -> list[str]:
    """All revision ids, base to head, read from the scripts' text (no Alembic import).
    The history is a single line, as :func:`head` and the bot assume; a script whose ids
    cannot be read, or a branch, raises ValueError (the test suite would say so first)."""
    parent: dict[str, str | None] = {}
    for path in sorted(directory.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None and down is None:
            continue  # not a migration script (__init__.py)
        if rev is None or down is None:
            raise ValueError(f"{path.name}: revision or down_revision not found")
        parent[rev.group(1)] = down.group(2)
    children: dict[str | None, str] = {}
    for rev, down in parent.items():
        if down in children:
            raise ValueError(f"migrations branch at {down}: {children[down]} and {rev}")
        children[down] = rev
    order, rev = [], children.get(None)
    while rev is not None:
        order.append(rev)
        rev = children.get(rev)
    if len(order) != len(parent):
        raise ValueError("migration scripts that do not descend from the base: "
                         f"{sorted(set(parent) - set(order))}")
    return order


def revisions() -> list[str]:
    """All revision ids, ordered from the first migration (base) to head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head() -> str | None:
    """The newest revision id the code knows about (read without importing Alembic)."""
    order = script_revisions()
    return order[-1] if order else None


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
            from alembic import command

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
    """Migrate the database up to ``revision`` (default: the newest). A database already at
    the newest revision costs one query, and Alembic is not imported."""
    if revision in ("head", "heads"):
        revision = "head"
        if await current(engine) == head():
            return
    await _run(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" removes every table)."""
    await _run(engine, "downgrade", revision)


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database.
    Read from ``alembic_version`` directly (what Alembic's MigrationContext does), so
    asking costs no Alembic import."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def _current(conn: Connection) -> str | None:
    from sqlalchemy import inspect

    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:  # several heads: not this project's single line of migrations
        raise MigrationError(f"{VERSION_TABLE} holds several revisions: {sorted(rows)}")
    return rows[0] if rows else None
