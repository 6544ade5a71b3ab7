"""Telegram I/O helpers kept thin: retries, long replies."""
