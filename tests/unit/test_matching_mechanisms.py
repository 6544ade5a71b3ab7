"""The engine's general mechanisms on the shipped KB: names and neutral words as phrases and
in any grammatical form, unknown names judged by the rest of the question, small talk that
does not cast doubt on a question, Latin-script Russian, informal spellings."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.knowledge import load_knowledge
from bot.matching import AnswerEngine
from bot.matching.analyzer import NEUTRAL, Analyzer
from bot.matching.translit import to_cyrillic
from tests.support.kb import KNOWLEDGE, ROOT


@pytest.fixture(scope="module")
def engine() -> AnswerEngine:
    kb, _ = load_knowledge(KNOWLEDGE)
    return AnswerEngine(kb, load_config(ROOT / "config.yaml").matching)


def test_neutral_phrases_fold_in_any_form() -> None:
    a = Analyzer(neutral=["sri lanka", "шри-ланка", "китай"])
    assert a.words("I am from Sri Lanka") == ["i", "am", "from", NEUTRAL]
    assert a.words("Я из Шри-Ланки") == ["я", "из", NEUTRAL]
    assert a.is_neutral("китая") and a.is_neutral("китае") and a.is_neutral("китай")


def test_multi_word_synonyms_fold_by_stem() -> None:
    a = Analyzer([["dormitory", "residence hall"]])
    assert a.words("two residence halls") == ["two", "syn0"]


@pytest.mark.parametrize("question,expected", [
    ("I am from Sri Lanka, how much are the fees?", "tuition.fees"),
    ("Я из Шри-Ланки, сколько стоит обучение?", "tuition.fees"),
    ("Я из Китая, сколько стоит обучение?", "tuition.fees"),
    ("my son is from Ghana, is the diploma accepted by the MDCN?", "recognition.diploma"),
    ("Hi, what are the fees?", "tuition.fees"),
    ("how many yrs is mbbs", "programs.duration"),
    ("Сколько стоит учёба на стоматологическом?", "tuition.fees"),
    ("skolko stoit obuchenie", "tuition.fees"),
    ("est li obshchezhitie", "accommodation.dormitory"),
])
def test_answered(engine: AnswerEngine, question: str, expected: str) -> None:
    result = engine.match(question)
    assert (result.kind, result.id) == ("answer", expected), result.candidates[:3]


def test_transliterated_russian_is_answered_in_russian(engine: AnswerEngine) -> None:
    assert engine.match("nuzhna li viza").lang == "ru"
    assert engine.match("is a visa needed").lang == "en"  # English stays English


@pytest.mark.parametrize("question", [
    "How do I apply to Harvard?", "How do I apply to Stanford?", "Как поступить в МГИМО?",
    "can I work part time while studying", "how much does food cost in minsk",
    "How much is the bus ticket in Minsk?",
])
def test_falls_back(engine: AnswerEngine, question: str) -> None:
    assert engine.match(question).kind == "fallback", engine.match(question).candidates[:3]


@pytest.mark.parametrize("latin,cyrillic", [
    ("skolko stoit obuchenie", "сколко стоит обучение"),
    ("gde nahoditsya obshchezhitie", "где находится общежитие"),
    ("yazyk obucheniya", "язык обучения"),
    ("kakoy srok", "какой срок"),
    ("skol'ko let", "сколько лет"),
    ("zdravstvuyte", "здравствуйте"),
    ("BSMU 2025", "бсму 2025"),
])
def test_to_cyrillic(latin: str, cyrillic: str) -> None:
    assert to_cyrillic(latin) == cyrillic


def test_explained_words_are_the_entries_own() -> None:
    from bot.matching.index import Index

    index = Index([("fees", "how much do the fees cost"), ("fees", "tuition price"),
                   ("insurance", "how much does health insurance cost")])
    query = index.rank("how much does health insurance cost", limit=2).query
    words = {f for f in query.features if f.startswith("w")}

    def explained(key: str) -> set[str]:
        cols = index.explained(query, key)
        return {f for f, c in index.vocab.items() if c in cols}

    def feature(word: str) -> str:
        return index.analyzer.word_features(word)[0]

    health, insurance, cost = feature("health"), feature("insurance"), feature("cost")
    assert {health, insurance, cost} <= explained("insurance") <= words
    assert cost in explained("fees") and not {health, insurance} & explained("fees")
    assert explained("fees") < explained("insurance")
    assert index.explained(query, "no such key") == frozenset()


@pytest.mark.parametrize("question,expected", [
    # The runner-up explains only words the best entry explains too: no real doubt.
    ("how much does health insurance cost for foreign students?",
     "student_life.health_insurance"),
    ("what papers are required for admission?", "admission.documents"),
])
def test_runner_up_that_explains_nothing_more_is_no_doubt(
        engine: AnswerEngine, question: str, expected: str) -> None:
    result = engine.match(question)
    assert (result.kind, result.id) == ("answer", expected), result.candidates[:3]
    # ...while the scores alone would have asked: the runner-up is within the margin.
    (_, best), (_, second) = result.candidates[:2]
    assert best - second < engine.config.margin


def test_runner_up_explaining_as_much_is_still_a_choice(engine: AnswerEngine) -> None:
    # "сколько лет" is both the university's age and the length of the studies.
    result = engine.match("сколько лет университету?")
    assert result.kind == "suggest"
    assert {e.id for e in result.suggestions[:2]} == {"about.history", "programs.duration"}


def test_runner_up_a_little_farther_with_words_of_its_own_is_a_choice(
        engine: AnswerEngine) -> None:
    # Deadlines lead on "когда начинается"; "подготовительный курс" is only the preparatory
    # course's: beyond ``margin`` but within ``distinct_margin``, both are offered.
    result = engine.match("когда начинается подготовительный курс и сколько он стоит?")
    (_, best), (_, second) = result.candidates[:2]
    assert engine.config.margin <= best - second < engine.config.distinct_margin
    assert result.kind == "suggest"
    assert {e.id for e in result.suggestions[:2]} == {"admission.deadlines",
                                                      "admission.preparatory"}


def test_explained_share_weighs_words_by_idf() -> None:
    from bot.matching.index import Index

    index = Index([("fees", "how much are the tuition fees"),
                   ("visa", "how do I get a student visa"),
                   ("dorm", "is there a student dormitory")])
    query = index.rank("tuition fees for a student visa", limit=3).query
    fees, visa = index.explained_share(query, "fees"), index.explained_share(query, "visa")
    # The content words are tuition, fees (the fees entry's), student, visa (the visa
    # entry's); "student" is in two entries, so it weighs less than the others.
    assert fees + visa == pytest.approx(1.0)
    assert 0.5 < fees < 1.0
    assert index.explained_share(query, "dorm") < visa
    # Numbers are no topic; words the index has never seen weigh as much as the rarest.
    assert index.explained_share(index.rank("tuition fees 2025", 3).query, "fees") == 1.0
    zebra = index.rank("tuition fees zebra", 3).query
    assert index.explained_share(zebra, "fees") == pytest.approx(2 / 3, abs=0.1)


@pytest.mark.parametrize("question", [
    "how to prepare for the USMLE step 1 in 3 months",  # the diploma entry has "USMLE" only
    "Translate hello to French.",  # the greeting has "hello", and nothing else of it
])
def test_question_mostly_about_something_else_falls_back(
        engine: AnswerEngine, question: str) -> None:
    assert engine.match(question).kind == "fallback"
    loose = AnswerEngine(engine.kb, engine.config.model_copy(update={"min_explained": 0.0}))
    assert loose.match(question).kind == "answer"  # what the scores alone would do


def test_a_listed_synonym_is_never_corrected_as_a_typo() -> None:
    from bot.matching.index import Index

    # "docs" is one edit from "does", a word of the phrasings, and listed as a synonym.
    index = Index([("documents", "what documents does the university need"),
                   ("fees", "how much does it cost")],
                  Analyzer([["documents", "docs", "papers"]]))
    assert index.analyzer.in_synonyms("docs") and index.analyzer.in_synonyms("paper")
    assert not index.analyzer.in_synonyms("does")
    assert "docs" in index.query_words("list of docs needed")
    assert index.search("list of docs needed", limit=1)[0].key == "documents"


def test_short_informal_question_with_a_listed_abbreviation(engine: AnswerEngine) -> None:
    result = engine.match("list of docs needed pls")
    assert (result.kind, result.id) == ("answer", "admission.documents"), result.candidates[:3]


def test_the_entry_explaining_more_comes_first(engine: AnswerEngine) -> None:
    # The preparatory course scores a little higher on "how long" and "course"; the
    # duration entry has those and "dentistry" too, so it is the answer.
    question = "How long is the dentistry course?"
    result = engine.match(question)
    assert (result.kind, result.id) == ("answer", "programs.duration"), result.candidates[:3]
    ranking = engine.index.rank(question, limit=3)
    assert [h.key for h in ranking.hits[:2]] == ["admission.preparatory", "programs.duration"]
    assert (engine.index.explained(ranking.query, "admission.preparatory")
            < engine.index.explained(ranking.query, "programs.duration"))


def test_explained_is_read_once_per_question_and_key() -> None:
    from bot.matching.index import Index

    index = Index([("fees", "how much are the tuition fees"), ("visa", "student visa")])
    query = index.rank("tuition fees for a student visa", limit=2).query
    first = index.explained(query, "fees")
    assert index.explained(query, "fees") is first
    assert index.explained(query, "visa") == {index.vocab[index.analyzer.word_features(w)[0]]
                                              for w in ("student", "visa")}
