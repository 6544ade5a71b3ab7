"""BSMU admissions assistant: knowledge base, answer engine and Telegram bot."""

__version__ = "0.1.0"
