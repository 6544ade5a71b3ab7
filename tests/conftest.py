"""Shared fixtures for every suite: tests/support/fixtures.py (databases, the small KB).

Test support (harness, MockedBot, database, Redis and digest helpers, KB snippets) lives in
tests/support/; the suites are in folders by what they need (see README.md, Tests).
"""

pytest_plugins = ["tests.support.fixtures"]
