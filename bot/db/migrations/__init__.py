"""Alembic migration scripts, shipped inside the package (see ``bot.db.migrate``)."""
