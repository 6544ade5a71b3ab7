"""Alembic revisions; a package so that they are installed along with the bot."""
