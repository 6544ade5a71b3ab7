"""Test support: harness, fake Telegram clients, database, Redis and digest fixtures."""
