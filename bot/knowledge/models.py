"""Schemas of the knowledge-base YAML files (validated with pydantic)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as date_type
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bot.knowledge.deeplinks import check_payload

Lang = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = ("en", "ru")
ACTIONS = ("show_news", "subscribe")
ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    order: int = 100
    title: dict[Lang, str]
    hidden: bool = False  # kept out of the topic menu (small talk, bot actions)
    line: int = Field(0, exclude=True)
    file: str = Field("", exclude=True)


class Entry(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    category: str
    title: dict[Lang, str] = {}
    questions: dict[Lang, list[str]]
    answer: dict[Lang, str]
    keywords: dict[Lang, list[str]] = {}
    related: list[str] = []
    source: str | None = None
    verified: bool = True
    verified_by: str | None = None  # who confirmed the answer (/kb todo writes it)
    verified_at: date_type | None = None  # when
    action: Literal["show_news", "subscribe"] | None = None
    news: list[str] = []  # ids of news items this entry links to
    # More deep-link payloads (t.me/<bot>?start=<alias>) besides the id-derived one.
    aliases: list[Annotated[str, AfterValidator(check_payload)]] = []
    line: int = Field(0, exclude=True)
    file: str = Field("", exclude=True)

    @field_validator("questions")
    @classmethod
    def _non_empty_phrasings(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for lang, items in v.items():
            if not items:
                raise ValueError(f"{lang}: at least one phrasing is needed")
            if any(not str(q).strip() for q in items):
                raise ValueError(f"{lang}: empty phrasing")
        return v

    @field_validator("answer")
    @classmethod
    def _non_empty_answer(cls, v: dict[str, str]) -> dict[str, str]:
        for lang, text in v.items():
            if not text.strip():
                raise ValueError(f"{lang}: empty answer")
        return v

    def label(self, lang: str) -> str:
        """Short text for a button: the title, else the first phrasing."""
        if lang in self.title:
            return self.title[lang]
        qs = self.questions.get(lang) or next(iter(self.questions.values()))
        return qs[0]

    def answer_in(self, lang: str) -> str:
        return self.answer.get(lang) or next(iter(self.answer.values()))


class NewsItem(_Strict):
    """A news item staff write as YAML under knowledge/news/."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=60)
    date: date_type
    title: dict[Lang, str]
    summary: dict[Lang, str]
    body: dict[Lang, str]
    url: str | None = Field(None, pattern=r"^https?://")
    tags: list[str] = []
    source: str | None = None
    verified: bool = True
    line: int = Field(0, exclude=True)
    file: str = Field("", exclude=True)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if not re.fullmatch(r"[a-z][a-z0-9_-]*", t)]
        if bad:
            raise ValueError(f"tags must be lowercase words: {bad}")
        return v

    def text(self, field: str, lang: str) -> str:
        values: dict[str, str] = getattr(self, field)
        return values.get(lang) or next(iter(values.values()))


class Synonyms(_Strict):
    groups: list[list[str]]


class OutOfScope(_Strict):
    """An example question the bot must not answer from the KB (knowledge/out_of_scope.yaml):
    the engine falls back on a question closer to one of these than to any entry."""

    text: str = Field(min_length=1)
    lang: Lang | None = None  # None: by the script of the text
    line: int = Field(0, exclude=True)
    file: str = Field("", exclude=True)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("empty text")
        return v


@dataclass(frozen=True)
class KnowledgeBase:
    """An immutable, loaded and validated knowledge base."""

    entries: dict[str, Entry]
    categories: dict[str, Category]
    synonyms: tuple[tuple[str, ...], ...] = ()
    neutral: frozenset[str] = frozenset()  # words that say nothing about the topic here
    news: tuple[NewsItem, ...] = ()  # newest first
    files: tuple[str, ...] = field(default=())
    out_of_scope: tuple[OutOfScope, ...] = ()  # negative examples for the engine

    def ordered_categories(self) -> list[Category]:
        """Categories for the topic menu, in their configured order."""
        cats = (c for c in self.categories.values() if not c.hidden)
        return sorted(cats, key=lambda c: (c.order, c.id))

    def news_item(self, news_id: str) -> NewsItem | None:
        return next((n for n in self.news if n.id == news_id), None)

    def in_category(self, category_id: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.category == category_id]
