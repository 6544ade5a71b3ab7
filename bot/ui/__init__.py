"""Telegram presentation shared by the handlers: callback data, keyboards, answers, actions."""
