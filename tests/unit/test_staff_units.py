"""Staff tools without a bot: grouping unanswered questions, the phrasing patch (``kb
apply``), the KB diff behind reload summaries, and the statistics with their chart."""

from __future__ import annotations

import shutil
import struct
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db import create_engine, create_sessionmaker, upgrade
from bot.db.models import Feedback, Question, Subscription, User
from bot.i18n import Translator
from bot.knowledge import KBError, load_knowledge
from bot.knowledge import apply as kbapply
from bot.knowledge.apply import PatchError, apply_patch
from bot.knowledge.diff import KBDiff, diff
from bot.matching import AnswerEngine
from bot.staff import stats, unanswered
from tests.support.kb import CATEGORIES, ENTRIES, KNOWLEDGE, write_kb

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def engine() -> AnswerEngine:
    kb, _ = load_knowledge(KNOWLEDGE)
    return AnswerEngine(kb, Config().matching)


# --- unanswered.group ---------------------------------------------------------------------------

WEATHER = "What is the weather in Minsk tomorrow?"


def test_group_similar_questions_counts_and_closest(engine: AnswerEngine) -> None:
    rows = [
        (WEATHER, "en", "fallback"),
        (WEATHER, "en", "fallback"),
        ("what is the  weather in minsk tomorrow", "en", "fallback"),  # same once normalised
        ("what's the weather in Minsk tomorrow", "en", "fallback"),  # similar wording
        ("Can I bring my cat?", "en", "fallback"),
        ("какая погода завтра в Минске", "ru", "fallback"),
        ("какая погода завтра в Минске", "ru", "fallback"),
        ("Is there a dormitory?", "en", "downvoted"),
        ("!!!", "en", "fallback"),  # no words: left out
        ("   ", "en", "fallback"),
    ]
    groups = unanswered.group(rows, engine)
    summary = [(g.example, g.lang, g.count) for g in groups]
    assert summary[:2] == [(WEATHER, "en", 4), ("какая погода завтра в Минске", "ru", 2)]
    assert sorted(summary[2:]) == [("Can I bring my cat?", "en", 1),
                                   ("Is there a dormitory?", "en", 1)]
    weather, ru, *rest = groups
    assert dict(weather.texts) == {WEATHER: 3, "what's the weather in Minsk tomorrow": 1}
    assert weather.reasons["fallback"] == 4 and weather.reasons["downvoted"] == 0
    # The nearest entry is kept for staff to see, but it is no real candidate: only "Minsk"
    # is shared with about.location, so nothing is proposed (issue 12).
    assert weather.nearest == engine.match(WEATHER, lang="en").candidates[0][0]
    assert weather.nearest == "about.location" and weather.nearest_score > 0
    assert weather.closest is None and ru.closest is None
    dorm = next(g for g in rest if g.example == "Is there a dormitory?")
    # Voted down while the bot answers it with the dormitory entry: adding it there again
    # changes nothing, so that entry is the rejected answer, never the one proposed.
    assert dorm.rejected == "accommodation.dormitory"
    assert dorm.closest != "accommodation.dormitory"
    assert dict(dorm.reasons) == {"fallback": 0, "downvoted": 1}


def test_group_keeps_languages_apart(engine: AnswerEngine) -> None:
    # The best match overall is the Russian group: the English wording must still find the
    # English group rather than start a third one.
    rows = [("hostel price", "ru", "fallback")] * 3 + [("hostel price", "en", "fallback")] * 2 \
        + [("hostel prices", "en", "downvoted")]
    groups = unanswered.group(rows, engine)
    assert [(g.lang, g.count) for g in groups] == [("ru", 3), ("en", 3)]
    assert dict(groups[1].texts) == {"hostel price": 2, "hostel prices": 1}
    assert dict(groups[1].reasons) == {"fallback": 2, "downvoted": 1}


def test_group_nothing(engine: AnswerEngine) -> None:
    assert unanswered.group([], engine) == []


def test_patch_yaml_proposes_only_real_candidates(engine: AnswerEngine) -> None:
    groups = unanswered.group([(WEATHER, "en", "fallback"), ("how much is hostel per month",
                                                             "en", "fallback")], engine)
    groups.append(unanswered.Group(example="no guess", lang="en", count=1))
    text = unanswered.patch_yaml(groups, datetime(2026, 3, 1, tzinfo=UTC))
    assert text.startswith("# Phrasings suggested from unanswered questions (2026-03-01).\n")
    assert "python -m bot kb apply THIS_FILE" in text
    data = yaml.safe_load(text)
    assert data["patch"] == [{"entry": "accommodation.dormitory", "lang": "en", "count": 1,
                              "add_questions": ["how much is hostel per month"]}]
    weather = groups[[g.example for g in groups].index(WEATHER)]
    assert data["needs_decision"] == [
        {"lang": "en", "count": 1, "questions": [WEATHER],
         "nearest": f"about.location ({weather.nearest_score:.0f})"},
        {"lang": "en", "count": 1, "questions": ["no guess"], "nearest": None}]


@pytest.mark.parametrize("question, nearest", [
    ("what is the weather in Minsk", "about.location"),
    ("how do I apply to Harvard", "admission.how_to_apply"),
    ("какая погода завтра в Минске", "about.location"),
    ("Can I bring my cat?", None),
])
def test_no_junk_candidates(engine: AnswerEngine, question: str, nearest: str | None) -> None:
    (g,) = unanswered.group([(question, "ru" if question[0] > "z" else "en", "fallback")],
                            engine)
    assert g.closest is None
    if nearest:
        assert g.nearest == nearest


@pytest.mark.parametrize("question, entry", [
    ("how much is hostel per month", "accommodation.dormitory"),
    ("сколько стоит общага в месяц", "accommodation.dormitory"),
    ("what documents to bring for admission", "admission.documents"),
])
def test_real_candidates(engine: AnswerEngine, question: str, entry: str) -> None:
    (g,) = unanswered.group([(question, "ru" if question[0] > "z" else "en", "fallback")],
                            engine)
    assert g.closest == entry


def test_decided_wordings_leave_the_list(engine: AnswerEngine) -> None:
    from bot.db.decisions import text_hash

    rows = [(WEATHER, "en", "fallback"), ("what is the  WEATHER in minsk tomorrow", "en",
                                          "fallback"), ("Can I bring my cat?", "en", "fallback")]
    groups = unanswered.group(rows, engine, decided={("en", text_hash(WEATHER))})
    assert [g.example for g in groups] == ["Can I bring my cat?"]


# --- kb apply ---------------------------------------------------------------------------------

KB_ENTRIES = """
# Entries of the test KB. This comment must survive.
entries:
  - id: about.overview
    category: about
    questions:
      en: ["What is BSMU?", "tell me about the university"]  # flow, with a comment
      ru:
        - "Что такое БГМУ?"   # the first
        # a comment between items
        - расскажите об университете  # the last, plain
    answer:
      en: "<b>BSMU</b> is a medical university in Minsk."
      ru: "<b>БГМУ</b> — медицинский университет в Минске."
  - id: housing.dormitory
    category: housing
    questions:
      en: [
        "Is there a dormitory?",
        "hostel for students",
      ]
      ru:
        - "Есть ли общежитие?"
        - >-
          общага для
          студентов
    answer: {en: "Ask the admissions office.", ru: "Спросите приёмную комиссию."}
    # trailing comment of the entry
"""


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    return write_kb(tmp_path / "kb", {"categories.yaml": CATEGORIES, "entries.yaml": KB_ENTRIES})


def write_patch(path: Path, items: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"patch": items}, allow_unicode=True), encoding="utf-8")
    return path


def test_apply_block_and_flow_sequences_keeping_comments(kb_dir: Path, tmp_path: Path) -> None:
    patch = write_patch(tmp_path / "patch.yaml", [
        {"entry": "about.overview", "lang": "en", "add_questions": ["what kind of university"]},
        {"entry": "about.overview", "lang": "ru",
         "add_questions": ["что это за вуз", 'вуз "в кавычках": и двоеточие']},
        {"entry": "housing.dormitory", "lang": "en", "add_questions": ["student residence"]},
        {"entry": "housing.dormitory", "lang": "ru", "add_questions": ["где жить"]},
    ])
    result = apply_patch(kb_dir, patch)
    assert result.ok and result.added == 5 and result.skipped == []
    text = (kb_dir / "entries.yaml").read_text(encoding="utf-8")
    expected = textwrap.dedent(KB_ENTRIES).lstrip("\n")
    expected = expected.replace(
        '"tell me about the university"]', '"tell me about the university", '
        '"what kind of university"]').replace(
        "        - расскажите об университете  # the last, plain\n",
        "        - расскажите об университете  # the last, plain\n"
        '        - "что это за вуз"\n'
        '        - "вуз \\"в кавычках\\": и двоеточие"\n').replace(
        '        "hostel for students",\n', '        "hostel for students", "student residence",\n'
    ).replace("          студентов\n", '          студентов\n        - "где жить"\n')
    assert text == expected
    kb, problems = load_knowledge(kb_dir)  # strict: the patched KB validates
    assert not [p for p in problems if p.level == "error"]
    assert kb.entries["about.overview"].questions["ru"][-1] == 'вуз "в кавычках": и двоеточие'
    assert kb.entries["housing.dormitory"].questions == {
        "en": ["Is there a dormitory?", "hostel for students", "student residence"],
        "ru": ["Есть ли общежитие?", "общага для студентов", "где жить"]}


def test_apply_skips_duplicates_and_twice_adds_nothing(kb_dir: Path, tmp_path: Path) -> None:
    patch = write_patch(tmp_path / "patch.yaml", [
        {"entry": "about.overview", "lang": "en",
         "add_questions": ["what is bsmu", "BSMU, in short?", "bsmu in short", "  "]},
        # a phrasing another entry already has: it would make the KB ambiguous
        {"entry": "housing.dormitory", "lang": "en", "add_questions": ["What is BSMU"]},
    ])
    first = apply_patch(kb_dir, patch)
    assert first.ok and first.added == 1
    assert first.skipped == ["what is bsmu", "bsmu in short", "  ", "What is BSMU"]
    kb, _ = load_knowledge(kb_dir)
    assert kb.entries["about.overview"].questions["en"][-1] == "BSMU, in short?"
    before = (kb_dir / "entries.yaml").read_text(encoding="utf-8")
    again = apply_patch(kb_dir, patch)
    assert again.ok and again.added == 0 and len(again.skipped) == 5
    assert (kb_dir / "entries.yaml").read_text(encoding="utf-8") == before


def test_apply_refuses_bad_patches(kb_dir: Path, tmp_path: Path) -> None:
    before = (kb_dir / "entries.yaml").read_text(encoding="utf-8")
    unknown = write_patch(tmp_path / "unknown.yaml", [
        {"entry": "about.overview", "lang": "en", "add_questions": ["fine"]},
        {"entry": "nope.missing", "lang": "en", "add_questions": ["x"]}])
    with pytest.raises(PatchError, match=r"unknown entry id 'nope\.missing'"):
        apply_patch(kb_dir, unknown)
    bad = tmp_path / "bad.yaml"
    for text, message in [
            ("patch: [", "not valid YAML"),
            ("items: []", "expected a top-level 'patch' list"),
            ("patch:\n  - entry: about.overview\n    lang: de\n    add_questions: [x]\n",
             "item 1 needs entry, lang"),
            ("patch:\n  - {entry: about.overview, lang: en, add_questions: x}\n",
             "item 1 needs entry")]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(PatchError, match=message):
            apply_patch(kb_dir, bad)
    assert (kb_dir / "entries.yaml").read_text(encoding="utf-8") == before


def test_apply_needs_a_valid_kb(tmp_path: Path) -> None:
    only_en = ENTRIES.replace(
        '      ru: ["Есть ли общежитие?", "общага для студентов", "где я буду жить"]\n', "")
    kb_dir = write_kb(tmp_path / "kb", {"categories.yaml": CATEGORIES, "entries.yaml": only_en})
    patch = write_patch(tmp_path / "p.yaml", [
        {"entry": "housing.dormitory", "lang": "ru", "add_questions": ["жильё"]}])
    with pytest.raises(KBError, match="missing ru version of 'questions'"):
        apply_patch(kb_dir, patch)


def test_apply_dry_run_and_validation_refusal(kb_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    before = (kb_dir / "entries.yaml").read_text(encoding="utf-8")
    patch = write_patch(tmp_path / "p.yaml", [
        {"entry": "about.overview", "lang": "en", "add_questions": ["a new phrasing"]}])
    dry = apply_patch(kb_dir, patch, write=False)
    assert dry.ok and dry.added == 1
    assert (kb_dir / "entries.yaml").read_text(encoding="utf-8") == before
    # Whatever goes wrong in the merge, a result that does not load is never written.
    monkeypatch.setattr(kbapply, "_insert", lambda text, *a: text + "\n  - broken: [\n")
    refused = apply_patch(kb_dir, patch)
    assert not refused.ok
    assert any("YAML syntax error" in p.message for p in refused.problems)
    assert (kb_dir / "entries.yaml").read_text(encoding="utf-8") == before


def test_patch_from_suggestions_applies_to_the_shipped_kb(engine: AnswerEngine,
                                                          tmp_path: Path) -> None:
    kb_dir = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, kb_dir)
    hostel = "how much is hostel per month"
    groups = unanswered.group([(WEATHER, "en", "fallback"), ("Where will I live?", "en",
                                                             "downvoted"),
                               (hostel, "en", "fallback")], engine)
    patch = tmp_path / "patch.yaml"
    patch.write_text(unanswered.patch_yaml(groups), encoding="utf-8")
    result = apply_patch(kb_dir, patch)
    # "Where will I live?" was voted down on the dormitory answer: not proposed for it again.
    assert result.ok and result.added == 1 and result.skipped == []
    assert "Where will I live?" in [q for i in yaml.safe_load(patch.read_text())[
        "needs_decision"] for q in i["questions"]]
    kb, _ = load_knowledge(kb_dir)
    assert kb.entries["accommodation.dormitory"].questions["en"][-1] == hostel
    assert WEATHER not in kb.entries["about.location"].questions["en"]
    assert AnswerEngine(kb, Config().matching).match(hostel).id == "accommodation.dormitory"


# --- kb diff ------------------------------------------------------------------------------------

EXTRA = """
entries:
  - id: housing.rent
    category: housing
    questions: {en: ["can I rent a flat"], ru: ["можно ли снять квартиру"]}
    answer: {en: "Yes.", ru: "Да."}
"""
NEWS = """
news:
  - id: {id}
    date: 2026-11-01
    tags: [events]
    title: {{en: "{title}", ru: "Заголовок"}}
    summary: {{en: "Summary.", ru: "Кратко."}}
    body: {{en: "Body.", ru: "Текст."}}
"""


def load(directory: Path):
    kb, problems = load_knowledge(directory, strict=False)
    assert not [p for p in problems if p.level == "error"], problems
    return kb


def test_diff_of_identical_kbs_is_empty(small_kb_dir: Path) -> None:
    d = diff(load(small_kb_dir), load(small_kb_dir))
    assert d.empty and d == KBDiff() and d.lines() == ["no changes"]


def test_diff_lists_every_kind_of_change(tmp_path: Path) -> None:
    old_dir = write_kb(tmp_path / "old", {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES,
                                          "extra.yaml": EXTRA})
    write_kb(old_dir / "news", {"a.yaml": NEWS.format(id="2026-11-01-a", title="A"),
                                "b.yaml": NEWS.format(id="2026-11-01-b", title="B")})
    new_dir = write_kb(tmp_path / "new", {
        "categories.yaml": CATEGORIES.replace("{en: Housing,", "{en: Housing and life,"),
        "entries.yaml": ENTRIES.replace('"<b>BSMU</b> is a medical university in Minsk."',
                                        '"<b>BSMU</b> is a university."')
                               .replace("verified: false", "verified: true"),
        "mascot.yaml": EXTRA.replace("housing.rent", "about.mascot")
                            .replace("rent a flat", "see the mascot")
                            .replace("снять квартиру", "увидеть талисман")})
    write_kb(new_dir / "news", {"a.yaml": NEWS.format(id="2026-11-01-a", title="A, updated"),
                                "c.yaml": NEWS.format(id="2026-11-01-c", title="C")})
    d = diff(load(old_dir), load(new_dir))
    assert d == KBDiff(added=["about.mascot"], removed=["housing.rent"],
                       changed={"about.overview": ["answer"],
                                "housing.dormitory": ["verified"]},
                       news_added=["2026-11-01-c"], news_removed=["2026-11-01-b"],
                       news_changed=["2026-11-01-a"], categories_changed=True)
    assert d.lines() == [
        "entries added (1): about.mascot",
        "entries removed (1): housing.rent",
        "entries changed (2):",
        "  about.overview: answer",
        '    answer [en]: "<b>BSMU</b> is a medical university in Minsk." → '
        '"<b>BSMU</b> is a university."',
        "  housing.dormitory: verified",
        "    verified: False → True",
        "news added (1): 2026-11-01-c",
        "news removed (1): 2026-11-01-b",
        "news changed (1): 2026-11-01-a",
        "categories changed",
    ]


def test_diff_shows_the_changed_text(tmp_path: Path) -> None:
    """What changed in an entry, not only which field: the changed part of a long answer
    with some context, per language, and the phrasings added and removed."""
    long_en = ("The admissions office for international students is open from Monday to "
               "Friday, 9:00 to 17:00. Phone: +375 17 272-61-91. Email: inter@bsmu.by. "
               "Address: Dzerzhinsky Ave 83, Minsk, building 2, room 101.")
    old_entries = ENTRIES.replace('"Ask the admissions office about places in the dormitory."',
                                  f'"{long_en}"')
    old_dir = write_kb(tmp_path / "old", {"categories.yaml": CATEGORIES,
                                          "entries.yaml": old_entries})
    new_dir = write_kb(tmp_path / "new", {"categories.yaml": CATEGORIES, "entries.yaml": (
        old_entries.replace("272-61-91", "365-11-11")
        .replace('"hostel for students", ', '"student hostel", "halls of residence", ')
        .replace("related: [housing.dormitory]", "related: []")
        .replace("category: housing", "category: about")
        .replace("keywords: {en: [dorm], ru: [общага]}", "keywords: {en: [dorm]}"))})
    d = diff(load(old_dir), load(new_dir))
    assert d.changed == {"about.overview": ["related"],
                         "housing.dormitory": ["category", "questions", "answer", "keywords"]}
    assert d.details["housing.dormitory"] == [
        "category: housing → about",
        'questions [en]: + "student hostel", "halls of residence"',
        'questions [en]: - "hostel for students"',
        'answer [en]: "… to 17:00. Phone: +375 17 272-61-91. Email: inter@bsmu.by. …"'
        ' → "… to 17:00. Phone: +375 17 365-11-11. Email: inter@bsmu.by. …"',
        "keywords [ru]: - \"общага\"",
    ]
    assert d.details["about.overview"] == ["related: - housing.dormitory"]
    lines = d.lines()
    i = lines.index("  housing.dormitory: category, questions, answer, keywords")
    assert lines[i + 1:i + 6] == [f"    {x}" for x in d.details["housing.dormitory"]]
    # The reload summary (log, staff chat) stays one line per entry.
    assert "  housing.dormitory: category, questions, answer, keywords" in d.lines(
        detail=False)
    assert not [x for x in d.lines(detail=False) if x.startswith("    ")]


def test_excerpts_of_changed_text() -> None:
    from bot.knowledge.diff import excerpts

    assert excerpts("Fees: 3,500 USD a year.", "Fees: 4,000 USD a year.") == (
        "Fees: 3,500 USD a year.", "Fees: 4,000 USD a year.")
    before, after = excerpts("word " * 100 + "old", "word " * 100 + "new")
    assert before.startswith("… ") and before.endswith("word old")
    assert after.endswith("word new") and len(after) < 40
    before, after = excerpts("x" * 500, "y" * 500)  # nothing in common: cut to the limit
    assert len(before) <= 102 and before.endswith(" …") and after.startswith("y")
    assert excerpts("a\n\n  b", "a b c") == ("a b", "a b c")  # whitespace runs are one space


def test_diff_ignores_where_an_entry_lives(tmp_path: Path) -> None:
    """Moving entries between files (their file and line change) is no change."""
    old_dir = write_kb(tmp_path / "old", {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES})
    new_dir = write_kb(tmp_path / "new", {"a.yaml": ENTRIES, "z.yaml": "\n\n" + CATEGORIES})
    old, new = load(old_dir), load(new_dir)
    assert old.entries["about.overview"].file != new.entries["about.overview"].file
    assert diff(old, new).empty


# --- stats --------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def ago(**kw) -> datetime:
    return NOW - timedelta(**kw)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    db = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'stats.db'}")
    await upgrade(db)
    async with create_sessionmaker(db)() as s:
        yield s
    await db.dispose()


@pytest.fixture
async def seeded(session: AsyncSession) -> AsyncSession:
    users = [User(id=1, first_seen=ago(days=30), last_seen=ago(days=1)),  # active
             User(id=2, first_seen=ago(days=2), last_seen=ago(days=2)),  # new, active
             User(id=3, first_seen=ago(days=10), last_seen=ago(days=9), blocked=True,
                  blocked_at=ago(days=9)),
             User(id=4, first_seen=ago(hours=1), last_seen=ago(hours=1))]  # new, active
    session.add_all(users)
    await session.flush()

    def q(qid, user, text, outcome, matched, when):
        return Question(id=qid, user_id=user, chat_id=user, text=text, lang="en",
                        matched_id=matched, score=50.0, outcome=outcome, created_at=when)

    session.add_all([
        q(1, 1, "Is there a dormitory?", "answered", "accommodation.dormitory", ago(days=1)),
        q(2, 2, "dorm?", "answered", "accommodation.dormitory", ago(days=1)),
        q(3, 2, "fees", "answered", "tuition.fees", ago(days=2)),
        q(4, 4, "visa", "suggested", "visa.process", ago(hours=1)),
        q(5, 4, WEATHER, "fallback", "about.location", ago(hours=1)),
        q(6, 1, "what's the weather in Minsk tomorrow", "fallback", None, ago(days=3)),
        q(7, 3, "fees?", "answered", "tuition.fees", ago(days=9)),  # before the week
        q(8, 3, "Can I bring my cat?", "fallback", None, ago(days=9)),
    ])
    await session.flush()

    def vote(fid, user, entry, v, when, question=None):
        return Feedback(id=fid, user_id=user, chat_id=user, message_id=100 + fid, entry_id=entry,
                        vote=v, question_id=question, created_at=when, updated_at=when)

    session.add_all([
        vote(1, 1, "accommodation.dormitory", 1, ago(days=1), 1),
        vote(2, 2, "accommodation.dormitory", -1, ago(days=1), 2),
        vote(3, 2, "tuition.fees", 1, ago(days=2), 3),
        vote(4, 4, "about.overview", -1, ago(hours=1)),  # opened from a menu: no question
        vote(5, 3, "tuition.fees", -1, ago(days=9), 7),
    ])
    session.add_all([
        Subscription(user_id=1, chat_id=1, frequency="daily", lang="en"),
        Subscription(user_id=2, chat_id=2, frequency="weekly", lang="ru"),
        Subscription(user_id=4, chat_id=4, frequency="daily", lang="en"),
        Subscription(user_id=3, chat_id=3, frequency="instant", lang="en", active=False),
    ])
    await session.commit()
    return session


async def test_collect_exact_figures(seeded: AsyncSession) -> None:
    st = await stats.collect(seeded, 7, now=NOW)
    # "The last 7 days": today and the 6 whole days (UTC) before it, no more.
    assert st.since == datetime(2026, 3, 4, tzinfo=UTC)
    assert (st.users_total, st.users_new, st.users_active, st.users_blocked) == (4, 2, 3, 1)
    assert st.questions == 6
    assert st.outcomes == {"answered": 3, "suggested": 1, "fallback": 2}
    assert (st.share("answered"), st.share("suggested"), st.share("fallback")) == (
        3 / 6, 1 / 6, 2 / 6)
    assert st.top_topics == [("accommodation.dormitory", 2), ("tuition.fees", 1)]
    assert st.votes == {"about.overview": (0, 1), "accommodation.dormitory": (1, 1),
                        "tuition.fees": (1, 0)}
    assert st.subscribers == {("daily", "en"): 2, ("weekly", "ru"): 1}
    day = NOW.date()
    assert list(st.per_day) == [day - timedelta(days=i) for i in range(6, -1, -1)]
    assert {d: v for d, v in st.per_day.items() if v} == {
        day: {"suggested": 1, "fallback": 1},
        day - timedelta(days=1): {"answered": 2},
        day - timedelta(days=2): {"answered": 1},
        day - timedelta(days=3): {"fallback": 1},
    }

    month = await stats.collect(seeded, 30, now=NOW)
    assert month.questions == 8 and month.outcomes["fallback"] == 3
    assert sorted(month.top_topics) == [("accommodation.dormitory", 2), ("tuition.fees", 2)]
    assert month.votes["tuition.fees"] == (1, 1)
    assert len(month.per_day) == 30
    assert (await stats.collect(seeded, 7, now=NOW, top=1)).top_topics == [
        ("accommodation.dormitory", 2)]


async def test_collect_adds_the_daily_counts(seeded: AsyncSession) -> None:
    """Questions already purged or forgotten count as their anonymous daily totals."""
    from bot.db.models import QuestionDaily

    seeded.add_all([
        QuestionDaily(day=(NOW - timedelta(days=6)).date(), entry_id="tuition.fees", lang="en",
                      answered=3, suggested=1, fallback=0),
        QuestionDaily(day=(NOW - timedelta(days=6)).date(), entry_id="", lang="ru",
                      answered=0, suggested=0, fallback=2),
        QuestionDaily(day=(NOW - timedelta(days=7)).date(), entry_id="tuition.fees", lang="en",
                      answered=5, suggested=0, fallback=0)])  # the day before the week
    await seeded.commit()
    st = await stats.collect(seeded, 7, now=NOW)
    assert st.questions == 6 + 6
    assert st.outcomes == {"answered": 3 + 3, "suggested": 1 + 1, "fallback": 2 + 2}
    assert st.top_topics == [("tuition.fees", 1 + 3), ("accommodation.dormitory", 2)]
    assert st.per_day[(NOW - timedelta(days=6)).date()] == {
        "answered": 3, "suggested": 1, "fallback": 2}
    assert (await stats.collect(seeded, 8, now=NOW)).questions == 6 + 6 + 5


async def test_render_report(seeded: AsyncSession) -> None:
    st = await stats.collect(seeded, 7, now=NOW)
    titles = {"accommodation.dormitory": "Dormitory <for students>", "tuition.fees": "Fees"}
    assert stats.render(st, Translator().for_lang("en"), titles).split("\n") == [
        "📊 <b>Statistics for the last 7 days</b>",
        "Users: 4 in all, 2 new, 3 active, 1 blocked the bot",
        "Questions: 6 (answered 50%, suggestions 17%, fallback 33%)",
        "Top topics (answered, with 👍/👎):",
        "• Dormitory &lt;for students&gt;: 2  👍 1 👎 1",
        "• Fees: 1  👍 1 👎 0",
        "Other votes:",
        "• about.overview: 👍 0 👎 1",  # no longer in the KB: its id
        "Active subscribers: 3",
        "• daily / en: 2",
        "• weekly / ru: 1",
    ]
    ru = stats.render(st, Translator().for_lang("ru"))
    assert "6" in ru and "50%" in ru and "stats-" not in ru  # every key is translated


async def test_unanswered_fetch(seeded: AsyncSession) -> None:
    rows = await unanswered.fetch(seeded, 7, now=NOW)
    assert sorted(rows) == sorted([
        (WEATHER, "en", "fallback"),
        ("what's the weather in Minsk tomorrow", "en", "fallback"),
        ("dorm?", "en", "downvoted"),
    ])
    assert len(await unanswered.fetch(seeded, 30, now=NOW)) == 5  # + the cat and "fees?"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def test_chart_png(seeded: AsyncSession) -> None:
    week = stats.chart_png(await stats.collect(seeded, 7, now=NOW))
    assert png_size(week) == (1100, 450)  # per day, and the top topics beside
    month = stats.chart_png(await stats.collect(seeded, 30, now=NOW))  # thinned date labels
    assert png_size(month) == (1100, 450) and month != week


async def test_chart_shows_the_period_whole_numbers_and_titles(seeded: AsyncSession) -> None:
    from matplotlib import pyplot as plt

    st = await stats.collect(seeded, 7, now=NOW)
    titles = {"accommodation.dormitory": "Общежитие", "tuition.fees": "Стоимость обучения"}
    fig = stats.chart_figure(st, Translator().for_lang("ru"), titles)
    try:
        fig.canvas.draw()
        days, topics = fig.axes
        assert days.get_title() == "Вопросы по дням, последние 7 дн."
        # "last 7 days" is 7 bars, 04.03 to 10.03 (it used to be 8 dates).
        labels = [x.get_text() for x in days.get_xticklabels()]
        assert labels == [f"{d:02}.03" for d in range(4, 11)]
        assert len(days.containers[0]) == 7
        # At most 2 questions a day: no "1.5 questions" on the axis.
        ticks = [y for y in days.get_yticks() if 0 <= y <= days.get_ylim()[1]]
        assert ticks and all(float(y).is_integer() for y in ticks)
        assert [x.get_text() for x in topics.get_yticklabels()] == [
            "Стоимость обучения", "Общежитие"]  # the top topic at the top
        assert all(float(x).is_integer() for x in topics.get_xticks())
        assert [x.get_text() for x in days.get_legend().get_texts()] == [
            "отвечено", "предложены варианты", "без ответа"]
    finally:
        plt.close(fig)


async def test_empty_database(session: AsyncSession) -> None:
    st = await stats.collect(session, 7, now=NOW)
    assert (st.users_total, st.questions, st.top_topics, st.votes, st.subscribers) == (
        0, 0, [], {}, {})
    assert st.share("answered") == 0.0
    text = stats.render(st, Translator().for_lang("en"))
    assert "Questions: 0 (answered 0%, suggestions 0%, fallback 0%)" in text
    assert "Top topics" not in text and "Other votes" not in text
    assert png_size(stats.chart_png(st)) == (800, 450)  # no topics: the days only


# --- the reload report (/reload and the KB watcher) -------------------------------------------


def test_reload_report() -> None:
    from bot.app.reload import ReloadResult
    from bot.knowledge.yamlsource import Problem
    from bot.ui.reports import reload_report

    t = Translator().for_lang("en")
    ok = ReloadResult(True, [Problem("warning", "kb/a.yaml", 3, "x", "a warning")],
                      KBDiff(added=["about.mascot"], changed={"about.overview": ["answer"]}))
    assert reload_report(ok, t) == ("✅ Knowledge base reloaded.\n"
                                    "entries added (1): about.mascot\n"
                                    "entries changed (1):\n  about.overview: answer")
    assert reload_report(ReloadResult(True, [], KBDiff()), t).endswith("\nno changes")
    problems = [Problem("error", "kb/<b>.yaml", i + 1, None, "bad <tag> & co")
                for i in range(32)] + [Problem("warning", "kb/w.yaml", 1, None, "ignored")]
    text = reload_report(ReloadResult(False, problems), t)
    lines = text.split("\n")
    assert lines[0] == ("❌ The knowledge base was NOT reloaded: 32 error(s). The previous "
                        "version keeps answering.")
    assert lines[1] == "kb/&lt;b&gt;.yaml:1: error: bad &lt;tag&gt; &amp; co"
    assert len(lines) == 1 + 30 + 1 and lines[-1] == "… +2"
    assert "ignored" not in text


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_unanswered_group_of_huge_odd_questions_is_one_valid_message(lang: str) -> None:
    """Questions may be 4,096 characters each, and escaping '<', '&' and '"' makes them
    longer: the group's message (its buttons go under it) still fits one Telegram message."""
    from collections import Counter

    from bot.i18n import Translator
    from bot.knowledge import load_knowledge
    from bot.staff.unanswered import Group
    from bot.text.tghtml import MAX_MESSAGE, problems
    from handlers.teach import _group_text

    kb, _ = load_knowledge(KNOWLEDGE)
    odd = ('<&"' * 1400)[:4096]
    texts = Counter({odd: 3, odd[:-1] + "x": 1, odd[:-2] + "y": 1, odd[:-3] + "z": 1,
                     "short one": 1})
    group = Group(example=odd, lang=lang, count=7, texts=texts, nearest="tuition.fees",
                  nearest_score=12.0)
    text = _group_text(group, kb, lang, Translator().for_lang(lang))
    assert len(text) <= MAX_MESSAGE
    assert not problems(text)
    assert "&lt;&amp;&quot;" in text and "{???}" not in text
