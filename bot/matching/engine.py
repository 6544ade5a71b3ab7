"""Pick the answer to a student's question: answer, "did you mean", or an honest fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.config import MatchingConfig
from bot.knowledge.models import Entry, KnowledgeBase, NewsItem
from bot.matching import stopwords
from bot.matching.analyzer import Analyzer
from bot.matching.index import Index, Params, Ranking
from bot.matching.translit import to_cyrillic
from bot.text.normalize import detect_language, normalize

MAX_QUERY_CHARS = 1000  # a question longer than this is read from its start
LOW_PRIORITY_CATEGORIES = frozenset({"smalltalk"})
NEWS_PREFIX = "news:"  # index keys of the KB's news items: "news:<news id>"
NEWS_ACTION = "show_news"
# The words that make a news item's extra phrasing ("news" + its title), per language...
NEWS_WORD = {"en": "news", "ru": "новости"}
# ...and the words that say a question asks for news (compared by stem and synonym group).
NEWS_WORDS = ("news", "newz", "новости", "новость", "новостей", "новасти")

Kind = Literal["answer", "suggest", "fallback"]


@dataclass(frozen=True)
class MatchResult:
    kind: Kind
    lang: str
    score: float  # 0-100, the best entry's score
    entry: Entry | None = None  # the answered entry (kind == "answer")
    suggestions: tuple[Entry, ...] = ()
    candidates: tuple[tuple[str, float], ...] = field(default=())
    # A news item of the KB the question is about; then ``entry`` is the news.latest entry
    # (the action that shows news) and the item is shown instead of the latest list.
    news: NewsItem | None = None

    @property
    def id(self) -> str | None:
        if self.news is not None:
            return NEWS_PREFIX + self.news.id
        return self.entry.id if self.entry else None

    @property
    def action(self) -> str | None:
        if self.news is not None:
            return NEWS_ACTION
        return self.entry.action if self.entry else None

    @property
    def answer(self) -> str | None:
        if self.news is not None:
            return (f"<b>{self.news.text('title', self.lang)}</b>\n"
                    f"{self.news.text('summary', self.lang)}")
        return self.entry.answer_in(self.lang) if self.entry else None

    @property
    def best_guess(self) -> str | None:
        """The top candidate even when it was not answered (for staff and analytics)."""
        return self.candidates[0][0] if self.candidates else None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "score": round(self.score, 1),
            "lang": self.lang,
            "action": self.action,
            "answer": self.answer,
            "suggestions": [e.id for e in self.suggestions],
        }


def entry_documents(entry: Entry) -> list[str]:
    docs: list[str] = []
    for lang in entry.questions:
        docs.extend(entry.questions[lang])
        docs.extend(entry.keywords.get(lang, ()))
        if lang in entry.title:
            docs.append(entry.title[lang])
    return docs


def news_documents(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(key, text) pairs a news item is found by: its title and summary, "news" + its title,
    its tags, and the keywords of the entries that link to it (the AMU item: "amu",
    "baku")."""
    linked: dict[str, list[str]] = {}
    for e in kb.entries.values():
        for news_id in e.news:
            linked.setdefault(news_id, []).extend(k for words in e.keywords.values()
                                                  for k in words)
    docs: list[tuple[str, str]] = []
    for item in kb.news:
        texts: list[str] = []
        for lang, title in item.title.items():
            texts += [title, f"{NEWS_WORD.get(lang, NEWS_WORD['en'])} {title}"]
            if lang in item.summary:
                texts.append(item.summary[lang])
        texts += [tag.replace("_", " ").replace("-", " ") for tag in item.tags]
        texts += linked.get(item.id, ())
        docs += [(NEWS_PREFIX + item.id, t) for t in texts if t.strip()]
    return docs


class AnswerEngine:
    """Entries and the KB's news items are in one index: the news items as its tail, which
    the entries' ranking leaves out and which is weighed as the entries weigh words, so
    entries are matched exactly as before news existed. The question is read once; the
    ranking of entries and news items together then only decides whether it is about one
    news item: either that item clearly wins there, or the question asks for news (the
    news entry is a candidate) and the item is a candidate too."""

    def __init__(self, kb: KnowledgeBase, config: MatchingConfig | None = None,
                 params: Params | None = None):
        self.kb = kb
        self.config = config or MatchingConfig()
        docs = [(e.id, text) for e in kb.entries.values() for text in entry_documents(e)]
        analyzer = Analyzer(kb.synonyms, kb.neutral)
        params = params or Params(unknown_penalty=self.config.unknown_penalty,
                                  name_penalty=self.config.name_penalty)
        self._news_entry = next((e for e in sorted(kb.entries.values(),
                                                   key=lambda e: e.id != "news.latest")
                                 if e.action == NEWS_ACTION), None)
        news_docs = news_documents(kb) if self._news_entry else []
        self.has_news = bool(news_docs)
        self.index = Index(docs, analyzer, params, [x.text for x in kb.out_of_scope],
                           tail=news_docs)
        self._words = self.index.corrector.words
        self._has_cyrillic_kb = any(any("а" <= c <= "я" for c in w) for w in self._words)
        self._low = {e.id for e in kb.entries.values() if e.category in LOW_PRIORITY_CATEGORIES}
        # First feature of a word: its stem, folded into its synonym group ("newz").
        self._news_words = frozenset(f for w in NEWS_WORDS for f in analyzer.word_features(w)[:1])
        # Word features of the news items: a question sharing none of them (and not asking
        # for news) cannot be about an item, and skips ranking them.
        self._news_features = frozenset(
            f for _, text in news_docs for f in analyzer.features(analyzer.words(text))
            if f[0] == "w")

    def match(self, text: str, lang: str | None = None, hint: str | None = None) -> MatchResult:
        """``lang`` forces the answer language; otherwise the script decides, ``hint`` (the
        user's language) breaks ties for text without letters."""
        text = (text or "")[:MAX_QUERY_CHARS]
        result, ranking = self._match_entries(text, lang or detect_language(text, hint))
        if result.kind != "answer":
            # Russian typed in Latin letters, looked at only when the question as written
            # was not answered: no cost for the questions that are.
            cyrillic = self._transliterated(text)
            if cyrillic is not None:
                other, other_ranking = self._match_entries(cyrillic, lang or "ru")
                if other.score > result.score:
                    result, ranking = other, other_ranking
        return self._match_news(result, ranking) or result

    def _known(self, word: str) -> bool:
        return (word in stopwords.ALL or word in self._words
                or (len(word) > 3 and self.index.corrector.correct(word) != word))

    def _transliterated(self, text: str) -> str | None:
        """``text`` in Cyrillic when it is Russian typed in Latin letters ("skolko stoit
        obuchenie"): more of its words are known to the KB read as Russian than as they
        are."""
        words = normalize(text).split()
        if not words or not self._has_cyrillic_kb or not all(w.isascii() for w in words):
            return None
        letters = [w for w in words if not w.isdigit()]
        known = sum(1 for w in letters if w in stopwords.ALL or w in self._words)
        if not letters or known * 2 >= len(letters):
            return None
        known = sum(1 for w in letters if self._known(w))
        cyrillic = to_cyrillic(text)
        known_ru = sum(1 for w in normalize(cyrillic).split() if not w.isdigit()
                       and self._known(w))
        return cyrillic if known_ru > known else None

    def _match_news(self, result: MatchResult, ranking: Ranking) -> MatchResult | None:
        """The news item the question is about, as a result; None when it is not about one.

        A news item is shown when it clearly wins among entries and news ("Belarusian
        and Azerbaijani medical universities have outlined the areas of cooperation"), or
        when the question asks for news ("any news about Azerbaijan?") and either the item
        is a candidate or the best entry links to it (partnerships.amu links the AMU item);
        never when another action was answered ("how do I subscribe to news?")."""
        if not self.has_news or ranking.query is None:
            return None
        cfg = self.config
        if (self._news_features.isdisjoint(ranking.query.features)
                and not self._asks_news(ranking, result)):
            return None
        hits = [(h.key, h.score * 100) for h in self.index.rank_all(ranking, limit=8)]
        scores = {k[len(NEWS_PREFIX):]: s for k, s in hits if k.startswith(NEWS_PREFIX)}
        best_id, best = max(scores.items(), key=lambda kv: kv[1], default=("", 0.0))
        if (best_id and hits[0][0] == NEWS_PREFIX + best_id and best >= cfg.answer_threshold
                and (len(hits) < 2 or best - hits[1][1] >= cfg.margin)):
            return self._news_result(best_id, best, result)
        if result.kind == "answer" and result.entry.action not in (None, NEWS_ACTION):
            return None
        if not self._asks_news(ranking, result):
            return None
        if best >= cfg.suggest_threshold:
            return self._news_result(best_id, best, result)
        top = result.entry or (result.suggestions[0] if result.suggestions else None)
        linked = [n for n in (top.news if top else ()) if self.kb.news_item(n) is not None]
        if linked:
            # The best-scoring linked item; the newest (kb.news is newest first) on a tie.
            order = {n.id: i for i, n in enumerate(self.kb.news)}
            pick = max(linked, key=lambda n: (scores.get(n, 0.0), -order[n]))
            return self._news_result(pick, max(scores.get(pick, 0.0), result.score), result)
        return None

    def _asks_news(self, ranking: Ranking, result: MatchResult) -> bool:
        """The question asks for news: it says "news" (a word whose stem or synonym group is
        news's, as the index read it), or the news entry is a candidate."""
        if ranking.query is not None and not self._news_words.isdisjoint(ranking.query.features):
            return True
        return any(self.kb.entries[k].action == NEWS_ACTION and s >= self.config.suggest_threshold
                   for k, s in result.candidates)

    def _news_result(self, news_id: str, score: float, result: MatchResult) -> MatchResult | None:
        item = self.kb.news_item(news_id)
        if item is None:
            return None
        key = NEWS_PREFIX + news_id
        return MatchResult("answer", result.lang, score, self._news_entry,
                           candidates=((key, score), *result.candidates), news=item)

    def _explaining_first(self, ranking: Ranking,
                          hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """``hits`` with, first, the entry within ``margin`` of the best that explains
        strictly more of the question's content words than the others before it: "How long
        is the dentistry course?" is the duration entry's (how long, course, dentistry)
        before the preparatory course's (how long, course), whatever the scores' order."""
        cfg = self.config
        if ranking.query is None or len(hits) < 2:
            return hits
        top, mine = 0, self.index.explained(ranking.query, hits[0][0])
        for i in range(1, len(hits)):
            if hits[0][1] - hits[i][1] >= cfg.margin or hits[i][1] < cfg.suggest_threshold:
                break
            theirs = self.index.explained(ranking.query, hits[i][0])
            if theirs > mine:
                top, mine = i, theirs
        return [hits[top], *hits[:top], *hits[top + 1:]] if top else hits

    def _in_doubt(self, ranking: Ranking, hits: list[tuple[str, float]]) -> bool:
        """Whether a runner-up is a real alternative to the best entry, by the question's
        content words each explains (has in its phrasings): within ``margin`` unless it
        explains nothing the best does not ("how much does health insurance cost?": the
        fees entry explains only "cost"), within ``distinct_margin`` when it explains words
        the best does not ("сколько стоит подготовительный курс и когда он начинается?":
        deadlines leads on "когда начинается", the preparatory course has "подготовительный
        курс")."""
        cfg = self.config
        best_id, best = hits[0]
        rivals = [h for h in hits[1:] if h[1] >= cfg.suggest_threshold
                  and best - h[1] < max(cfg.margin, cfg.distinct_margin)]
        if not rivals or ranking.query is None:
            return bool(rivals) and best - rivals[0][1] < cfg.margin
        mine = self.index.explained(ranking.query, best_id)
        for key, score in rivals:
            theirs = self.index.explained(ranking.query, key)
            if best - score < cfg.margin:
                if not theirs < mine:  # as much as the best, or something else
                    return True
            elif theirs - mine:  # farther, but words of its own
                return True
        return False

    def _match_entries(self, text: str, lang: str) -> tuple[MatchResult, Ranking]:
        ranking = self.index.rank(text, limit=8)
        return self._decide(ranking, lang), ranking

    def _decide(self, ranking: Ranking, lang: str) -> MatchResult:
        hits = [(h.key, h.score * 100) for h in ranking.hits]
        cfg = self.config
        # "Hi, what are the fees?" is a question about fees, not a greeting: small talk
        # neither wins over nor casts doubt on an entry that could be suggested.
        serious = [h for h in hits if h[0] not in self._low]
        if serious and serious[0][1] >= cfg.suggest_threshold and (
                hits[0] == serious[0] or serious[0][1] >= cfg.answer_threshold
                or hits[0][1] - serious[0][1] < cfg.margin):
            hits = serious
        # Closer to an out-of-scope example (knowledge/out_of_scope.yaml) than to any entry,
        # or mostly about something the best entry does not speak of.
        if (not hits or hits[0][1] < cfg.suggest_threshold
                or self.index.falls_back(ranking, hits[0][0], cfg.min_explained)):
            return MatchResult("fallback", lang, hits[0][1] if hits else 0.0,
                               candidates=tuple(hits))
        hits = self._explaining_first(ranking, hits)
        candidates = tuple(hits)
        best_id, best = hits[0]
        if best >= cfg.answer_threshold and not self._in_doubt(ranking, hits):
            return MatchResult("answer", lang, best, self.kb.entries[best_id],
                               candidates=candidates)
        picks = [h[0] for h in hits if h[1] >= cfg.suggest_threshold][: cfg.max_suggestions]
        return MatchResult("suggest", lang, best,
                           suggestions=tuple(self.kb.entries[i] for i in picks),
                           candidates=candidates)
