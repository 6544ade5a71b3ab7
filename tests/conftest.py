"""Shared fixtures for every suite: tests/support/fixtures.py (databases, the small KB).

Test support (harness, MockedBot, database, Redis and digest helpers, KB snippets) lives in
tests/support/; the suites are in folders by what they need (see README.md, Tests).
"""

from bot.telegram.lazy_models import defer_aiogram_models

# As in production (bot/app/__init__.py): aiogram's types built on first use, so every
# test runs on them the way the bot does.
defer_aiogram_models()

pytest_plugins = ["tests.support.fixtures"]
