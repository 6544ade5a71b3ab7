"""The knowledge base staff maintain: schema, YAML loading with line numbers, validation."""

from bot.knowledge.loader import KBError, load_knowledge
from bot.knowledge.models import LANGS, Category, Entry, KnowledgeBase

__all__ = ["LANGS", "Category", "Entry", "KBError", "KnowledgeBase", "load_knowledge"]
