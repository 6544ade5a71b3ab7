"""The answer engine: pure Python, no Telegram. Build once, query many times."""

from bot.matching.engine import AnswerEngine, MatchResult

__all__ = ["AnswerEngine", "MatchResult"]
