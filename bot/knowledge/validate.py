"""Cross-file checks of a knowledge base: the rules ``kb check`` and reload enforce."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.knowledge.deeplinks import MAX_PAYLOAD, payload_of
from bot.knowledge.models import LANGS, Category, Entry, KnowledgeBase, NewsItem, OutOfScope
from bot.text import tghtml

if TYPE_CHECKING:
    from bot.knowledge.loader import Collected
from bot.knowledge.yamlsource import Problem
from bot.text.normalize import detect_language, normalize

REQUIRED_IDS = (
    "about.overview", "about.history", "about.graduates", "about.international_students",
    "about.science", "about.clinical_practice", "about.location", "about.rector",
    "contacts.admissions", "admission.requirements", "admission.documents",
    "admission.deadlines", "admission.how_to_apply", "admission.preparatory",
    "programs.faculties", "programs.language", "programs.duration", "tuition.fees",
    "tuition.scholarships", "visa.process", "arrival.registration", "accommodation.dormitory",
    "student_life.health_insurance", "recognition.diploma", "partnerships.overview",
    "partnerships.amu", "international.office", "smalltalk.greeting", "smalltalk.thanks",
    "news.latest", "bot.subscribe",
)
ACTION_IDS = {"news.latest": "show_news", "bot.subscribe": "subscribe"}
MIN_PHRASINGS = 3
MAX_NEWS_TITLE = 200
MAX_NEWS_SUMMARY = 1000
MAX_NEWS_BODY = 20_000  # split between messages when sent; a digest shows the summary


def _problem(level: str, e: Entry | Category | NewsItem, message: str,
             entry: str | None = None) -> Problem:
    return Problem(level, e.file, e.line or None, entry, message)


def _unique(items, what: str) -> tuple[dict, list[Problem]]:
    """Items by id, first one wins; every later one with the same id is an error."""
    by_id: dict = {}
    out: list[Problem] = []
    for item in items:
        first = by_id.get(item.id)
        if first is not None:
            out.append(_problem("error", item, f"duplicate {what} (first at {first.file}:"
                                f"{first.line})", item.id))
        else:
            by_id[item.id] = item
    return by_id, out


def _check_news(items: list[NewsItem]) -> tuple[list[NewsItem], list[Problem]]:
    seen, out = _unique(items, "news id")
    for n in seen.values():
        limits = {"title": MAX_NEWS_TITLE, "summary": MAX_NEWS_SUMMARY, "body": MAX_NEWS_BODY}
        for fname, limit in limits.items():
            values: dict[str, str] = getattr(n, fname)
            for lang in LANGS:
                if lang not in values:
                    out.append(_problem("error", n, f"missing {lang} version of '{fname}'",
                                        n.id))
            for lang, text in values.items():
                for p in tghtml.problems(text):
                    out.append(_problem("error", n, f"{fname}.{lang}: Telegram would reject "
                                        f"the HTML: {p}", n.id))
                length = tghtml.visible_length(text)
                if length > limit:
                    out.append(_problem("error", n, f"{fname}.{lang} is {length} characters "
                                        f"(at most {limit})", n.id))
    ordered = sorted(seen.values(), key=lambda n: (n.date, n.id), reverse=True)
    return ordered, out


def _check_entry(e: Entry, categories: dict[str, Category], ids: set[str],
                 broken: set[str], news_ids: set[str] = frozenset()) -> list[Problem]:
    out: list[Problem] = []

    def err(msg: str) -> None:
        out.append(_problem("error", e, msg, e.id))

    def warn(msg: str) -> None:
        out.append(_problem("warning", e, msg, e.id))

    if e.category not in categories:
        err(f"unknown category {e.category!r}")
    for lang in LANGS:
        if lang not in e.questions:
            err(f"missing {lang} version of 'questions'")
        elif len(e.questions[lang]) < MIN_PHRASINGS:
            warn(f"only {len(e.questions[lang])} {lang} phrasing(s); "
                 f"at least {MIN_PHRASINGS} match much better")
        if lang not in e.answer:
            err(f"missing {lang} version of 'answer'")
        if e.title and lang not in e.title:
            warn(f"missing {lang} version of 'title'")
    for lang, text in e.answer.items():
        for p in tghtml.problems(text):
            err(f"answer.{lang}: Telegram would reject the HTML: {p}")
        length = tghtml.visible_length(text)
        if length > tghtml.MAX_MESSAGE:
            err(f"answer.{lang} is {length} characters; Telegram's limit is "
                f"{tghtml.MAX_MESSAGE}")
        for href, _ in tghtml.links(text):
            if not _web_address(href):
                err(f"answer.{lang}: link {href!r} is not a web address (https://host/…)")
    for rel in e.related:
        if rel == e.id:
            warn("lists itself in 'related'")
        elif rel not in ids and rel not in broken:
            err(f"related id {rel!r} does not exist")
    for nid in e.news:
        if nid not in news_ids and nid not in broken:
            err(f"news id {nid!r} does not exist")
    expected = ACTION_IDS.get(e.id)
    if expected and e.action != expected:
        err(f"must have action: {expected}")
    return out


def _check_out_of_scope(items: list[OutOfScope], owners: dict[str, set[str]]
                        ) -> tuple[list[OutOfScope], list[Problem]]:
    """Out-of-scope examples: never a phrasing of an entry (the engine could not tell them
    apart), not repeated; the language, when not given, is the script's."""
    out: list[Problem] = []
    seen: dict[str, OutOfScope] = {}
    kept: list[OutOfScope] = []
    for item in items:
        key = normalize(item.text)
        if not key:
            out.append(Problem("error", item.file, item.line or None, None,
                               f"out-of-scope example {item.text!r} has no words"))
            continue
        if key in owners:
            out.append(Problem("error", item.file, item.line or None, None,
                               f"out-of-scope example {item.text!r} is a phrasing of "
                               f"{', '.join(sorted(owners[key]))}"))
            continue
        if key in seen:
            first = seen[key]
            out.append(Problem("warning", item.file, item.line or None, None,
                               f"out-of-scope example {item.text!r} is repeated (first at "
                               f"{first.file}:{first.line})"))
            continue
        seen[key] = item
        script = detect_language(item.text, item.lang)
        if item.lang is None:
            item = item.model_copy(update={"lang": script})
        elif item.lang != script:
            out.append(Problem("warning", item.file, item.line or None, None,
                               f"out-of-scope example {item.text!r} is marked lang: "
                               f"{item.lang} but written in {script} script"))
        kept.append(item)
    return kept, out


def _web_address(href: str) -> bool:
    """An address a URL button can open: http(s), a host, no spaces."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return False
    return bool(parts.hostname) and not any(c.isspace() for c in href)


def _check_deep_links(entries: dict[str, Entry]) -> list[Problem]:
    """Deep-link payloads (bot.knowledge.deeplinks): each one opens exactly one entry."""
    out: list[Problem] = []
    own = {payload_of(e.id): e for e in entries.values()}
    aliases: dict[str, Entry] = {}
    for e in entries.values():
        if len(payload_of(e.id)) > MAX_PAYLOAD:
            out.append(_problem("warning", e, f"the id is longer than a deep link allows "
                                f"({MAX_PAYLOAD} characters): give it a short alias", e.id))
        for alias in e.aliases:
            key = alias.lower()
            other = own.get(key) or aliases.get(key)
            if other is None:
                aliases[key] = e
            elif other is e:
                out.append(_problem("warning", e, f"alias {alias!r} is repeated or is the "
                                    "entry's own deep link", e.id))
            else:
                what = "deep link" if key in own else "alias"
                out.append(_problem("error", e, f"alias {alias!r} is already the {what} of "
                                    f"{other.id} ({other.file}:{other.line})", e.id))
    return out


def cross_check(found: Collected) -> tuple[KnowledgeBase, list[Problem]]:
    entries, categories, synonyms = found.entries, found.categories, found.synonyms
    files, broken = found.files, found.broken
    problems: list[Problem] = []
    cats: dict[str, Category] = {}
    for c in categories:
        if c.id in cats:
            first = cats[c.id]
            problems.append(_problem("error", c, f"duplicate category id {c.id!r} "
                                     f"(first at {first.file}:{first.line})"))
            continue
        for lang in LANGS:
            if lang not in c.title:
                problems.append(_problem("error", c, f"category {c.id!r}: missing {lang} title"))
        cats[c.id] = c
    by_id, duplicates = _unique(entries, "id")
    problems.extend(duplicates)
    ids = set(by_id)
    news, news_problems = _check_news(found.news)
    problems.extend(news_problems)
    news_ids = {n.id for n in news}
    for e in by_id.values():
        problems.extend(_check_entry(e, cats, ids, broken, news_ids))
    problems.extend(_check_deep_links(by_id))
    owners: dict[str, set[str]] = defaultdict(set)
    for e in by_id.values():
        seen: set[str] = set()
        for qs in e.questions.values():
            for q in qs:
                key = normalize(q)
                if key in seen:
                    problems.append(_problem("warning", e, f"phrasing {q!r} is repeated", e.id))
                seen.add(key)
                owners[key].add(e.id)
    for key, owner_ids in owners.items():
        if len(owner_ids) > 1:
            for eid in sorted(owner_ids):
                others = ", ".join(sorted(owner_ids - {eid}))
                problems.append(_problem("error", by_id[eid],
                                         f"phrasing {key!r} is also in {others}", eid))
    out_of_scope, oos_problems = _check_out_of_scope(found.out_of_scope, owners)
    problems.extend(oos_problems)
    word_group: dict[str, int] = {}
    for i, group in enumerate(synonyms):
        for w in group:
            key = normalize(w)
            if key in word_group and word_group[key] != i:
                problems.append(Problem("warning", "synonyms", None, None,
                                        f"{w!r} is in two synonym groups"))
            word_group[key] = i
    for rid in REQUIRED_IDS:
        if rid not in ids:
            where = str(Path(files[0]).parent) if files else "knowledge"
            problems.append(Problem("warning", where, None, rid, "required topic is missing"))
    kb = KnowledgeBase(entries=by_id, categories=cats,
                       synonyms=tuple(tuple(g) for g in synonyms),
                       neutral=frozenset(normalize(w) for w in found.neutral),
                       news=tuple(news), files=tuple(files),
                       out_of_scope=tuple(out_of_scope))
    return kb, problems
