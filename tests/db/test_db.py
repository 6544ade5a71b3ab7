"""Persistence layer: migrations, engine settings and repository functions.

Every database test runs on SQLite and on PostgreSQL; the PostgreSQL half gets a fresh
temporary database per test and is skipped when no server is reachable — or fails, with
REQUIRE_SERVICES=1 (CI), so that a broken service cannot hide behind skips.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import (
    MAX_QUESTION_LENGTH,
    Base,
    Feedback,
    Question,
    User,
    create_engine,
    create_sessionmaker,
    current,
    downgrade,
    get_user,
    head,
    mark_blocked,
    record_question,
    record_vote,
    revisions,
    set_language,
    touch_user,
    upgrade,
    upsert_user,
)
from bot.db.health import DbHealth
from bot.db.question_log import QuestionLog
from tests.support import db as dbtesting
from tests.support.db import postgres_url_or_skip, temporary_database

TABLES = {"users", "questions", "feedback"}


# --------------------------------------------------------------------------- fixtures
# ``sessions`` (migrated) and ``db_engine`` (empty) come from tests/support/fixtures.py, on
# SQLite and on PostgreSQL.


@pytest.fixture
def engine(db_engine: AsyncEngine) -> AsyncEngine:
    """An empty database's engine (the shared ``db_engine``), for the migration tests."""
    return db_engine


async def ask(session: AsyncSession, **overrides) -> Question:
    """``record_question`` with defaults for whatever the test does not care about."""
    args = {
        "user_id": 1,
        "chat_id": 1,
        "text": "t",
        "lang": "en",
        "matched_id": "e",
        "score": 80.0,
        "outcome": "answered",
    }
    return await record_question(session, **{**args, **overrides})


async def add_user(sessions: async_sessionmaker[AsyncSession], user_id: int = 1) -> None:
    async with sessions() as s:
        await upsert_user(s, user_id, username="u", first_name="U", language_code="en")
        await s.commit()


# --------------------------------------------------------------------------- migrations


def _schema_diff(sync_conn) -> list:
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return compare_metadata(ctx, Base.metadata)


async def schema_diff(engine: AsyncEngine) -> list:
    async with engine.connect() as conn:
        return await conn.run_sync(_schema_diff)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


def test_revisions_are_ordered_base_to_head() -> None:
    revs = revisions()
    assert revs, "no migrations found: are bot/db/migrations/versions packaged?"
    assert revs[0] == "0001"
    assert revs[-1] == head()
    assert len(set(revs)) == len(revs)


async def test_upgrade_downgrade_roundtrip(engine: AsyncEngine) -> None:
    assert await current(engine) is None

    await upgrade(engine)
    assert await current(engine) == head()
    assert await table_names(engine) >= TABLES
    assert await schema_diff(engine) == []

    await downgrade(engine, "base")
    assert await current(engine) is None
    assert not TABLES & await table_names(engine)
    assert await schema_diff(engine), "compare_metadata must notice missing tables"

    await upgrade(engine)
    assert await current(engine) == head()
    assert await schema_diff(engine) == []

    await upgrade(engine)  # already at head: a no-op, not an error
    assert await current(engine) == head()


async def test_step_through_every_revision(engine: AsyncEngine) -> None:
    revs = revisions()
    for rev in revs:
        await upgrade(engine, rev)
        assert await current(engine) == rev
    assert await schema_diff(engine) == []
    for below in [*reversed(revs[:-1]), None]:
        await downgrade(engine, below or "base")
        assert await current(engine) == below
    assert not TABLES & await table_names(engine)


async def test_constraints_have_deterministic_names(engine: AsyncEngine) -> None:
    await upgrade(engine)

    def names(sync_conn) -> dict[str, set[str | None]]:
        insp = inspect(sync_conn)
        return {
            "uq": {u["name"] for u in insp.get_unique_constraints("feedback")},
            "ck": {
                c["name"] for t in ("questions", "feedback") for c in insp.get_check_constraints(t)
            },
            "fk": {f["name"] for f in insp.get_foreign_keys("feedback")},
            "ix": {i["name"] for i in insp.get_indexes("questions")},
        }

    async with engine.connect() as conn:
        found = await conn.run_sync(names)
    assert "uq_feedback_user_id_chat_id_message_id" in found["uq"]
    assert {"ck_questions_outcome", "ck_feedback_vote"} <= found["ck"]
    assert {"fk_feedback_user_id_users", "fk_feedback_question_id_questions"} <= found["fk"]
    assert "ix_questions_created_at" in found["ix"]


async def test_sqlite_migration_leaves_foreign_keys_enforced(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        await upgrade(eng)
        await downgrade(eng, "base")
        await upgrade(eng)
        async with eng.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await eng.dispose()


# --------------------------------------------------------------------------- engine


async def test_sqlite_file_pragmas_and_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.db"
    eng = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.parent.is_dir()
        async with eng.connect() as conn:

            async def pragma(name: str):
                return (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()

            assert (await pragma("journal_mode")).lower() == "wal"
            assert await pragma("foreign_keys") == 1
            assert await pragma("busy_timeout") == 30000
            assert await pragma("synchronous") == 1  # NORMAL
        assert path.exists()
    finally:
        await eng.dispose()


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
async def test_in_memory_sqlite_persists_across_sessions(url: str) -> None:
    eng = create_engine(url)
    try:
        await upgrade(eng)
        sessions = create_sessionmaker(eng)
        await add_user(sessions, 7)
        async with sessions() as s:
            assert (await get_user(s, 7)) is not None
        assert await current(eng) == head()
    finally:
        await eng.dispose()


async def test_naive_datetimes_are_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s:
        s.add(User(id=1, first_seen=datetime.now(), last_seen=datetime.now()))
        with pytest.raises(Exception, match="naive datetime"):
            await s.flush()


# --------------------------------------------------------------------------- users


async def test_upsert_user_inserts_then_updates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        user = await upsert_user(s, 2**40, username="ann", first_name="Ann", language_code="en")
        await s.commit()
    assert user.id == 2**40  # beyond 32 bits: Telegram ids need BIGINT
    assert user.blocked is False
    first_seen, last_seen = user.first_seen, user.last_seen
    assert first_seen.tzinfo is not None and first_seen.utcoffset() == timedelta(0)

    async with sessions() as s:
        assert await set_language(s, 2**40, "ru")
        assert await mark_blocked(s, 2**40)
        await s.commit()

    await asyncio.sleep(0.01)
    async with sessions() as s:
        user = await upsert_user(s, 2**40, username=None, first_name="Anna", language_code="ru")
        await s.commit()
    assert user.username is None
    assert user.first_name == "Anna"
    assert user.language_code == "ru"
    assert user.language == "ru"  # the user's own choice survives
    assert user.blocked is False and user.blocked_at is None  # writing to us = unblocked
    assert user.first_seen == first_seen
    assert user.last_seen > last_seen

    async with sessions() as s:  # and that is what is stored, not just the returned object
        stored = await get_user(s, 2**40)
        assert stored is not None
        assert (stored.first_name, stored.blocked, stored.language) == ("Anna", False, "ru")
        assert stored.last_seen == user.last_seen
        assert stored.last_seen.tzinfo is not None
        assert (await s.scalar(select(func.count()).select_from(User))) == 1


async def test_touch_user_writes_what_upsert_user_writes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The hot path's write (bot.telegram.middlewares.UserContext): creates the user,
    refreshes names and last_seen, clears a block, keeps first_seen and the user's own
    language, which it returns."""
    async with sessions() as s:
        assert await touch_user(s, 2**40, username="ann", first_name="Ann",
                                language_code="en") is None
        await s.commit()
    async with sessions() as s:
        first = await get_user(s, 2**40)
        assert first is not None and first.first_seen == first.last_seen
        assert first.first_seen.utcoffset() == timedelta(0)
        assert await set_language(s, 2**40, "ru")
        assert await mark_blocked(s, 2**40)
        await s.commit()
    await asyncio.sleep(0.01)
    async with sessions() as s:
        assert await touch_user(s, 2**40, username=None, first_name="Anna",
                                language_code="de") == "ru"
        await s.commit()
    async with sessions() as s:
        user = await get_user(s, 2**40)
        assert (user.username, user.first_name, user.language_code, user.language) == \
            (None, "Anna", "de", "ru")
        assert user.blocked is False and user.blocked_at is None
        assert user.first_seen == first.first_seen and user.last_seen > first.last_seen
        assert (await s.scalar(select(func.count()).select_from(User))) == 1


async def test_upsert_refreshes_objects_already_in_the_session(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s:
        user = await upsert_user(s, 1, username="a", first_name="A", language_code="en")
        again = await upsert_user(s, 1, username="b", first_name="B", language_code="de")
        assert again is user
        assert user.username == "b"
        assert (await set_language(s, 1, "ru")) is user
        assert user.language == "ru"
        assert await mark_blocked(s, 1)
        assert user.blocked is True


async def test_set_language(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions)
    async with sessions() as s:
        await set_language(s, 1, "ru")
        await s.commit()
    async with sessions() as s:
        user = await get_user(s, 1)
        assert user is not None and user.language == "ru"
        await set_language(s, 1, None)  # back to Telegram's language_code
        await s.commit()
    async with sessions() as s:
        user = await get_user(s, 1)
        assert user is not None and user.language is None
        assert user.language_code == "en"
        # An unknown user is created rather than the choice silently dropped.
        created = await set_language(s, 99, "en")
        await s.commit()
        assert created.language == "en" and created.blocked is False
    async with sessions() as s:
        assert await get_user(s, 12345) is None


async def test_mark_blocked(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions)
    async with sessions() as s:
        assert await mark_blocked(s, 1) is True
        await s.commit()
    async with sessions() as s:
        user = await get_user(s, 1)
        assert user is not None and user.blocked and user.blocked_at is not None
        first_blocked_at = user.blocked_at
    await asyncio.sleep(0.01)
    async with sessions() as s:
        await mark_blocked(s, 1)  # a second 403 keeps the original time
        await s.commit()
        user = await get_user(s, 1)
        assert user is not None and user.blocked_at == first_blocked_at
        assert await mark_blocked(s, 1, blocked=False) is True
        await s.commit()
        assert user.blocked is False and user.blocked_at is None
        assert await mark_blocked(s, 424242) is False


async def test_concurrent_upserts_of_one_user(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def one(i: int) -> None:
        async with sessions() as s:
            await upsert_user(s, 555, username=f"user{i}", first_name="X", language_code="en")
            await s.commit()

    await asyncio.gather(*(one(i) for i in range(20)))
    async with sessions() as s:
        assert (await s.scalar(select(func.count()).select_from(User))) == 1
        user = await get_user(s, 555)
        assert user is not None and user.username.startswith("user")


# --------------------------------------------------------------------------- questions


async def test_record_question(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions)
    async with sessions() as s:
        q = await record_question(
            s,
            user_id=1,
            chat_id=-100_123_456_789_0,
            text="x" * 5000,
            lang="en",
            matched_id="housing.dormitory",
            score=41.5,
            outcome="suggested",
        )
        await s.commit()
        assert q.id is not None
    async with sessions() as s:
        stored = await s.get(Question, q.id)
        assert stored is not None
        assert len(stored.text) == MAX_QUESTION_LENGTH
        assert stored.chat_id == -100_123_456_789_0
        assert (stored.matched_id, stored.score, stored.outcome) == (
            "housing.dormitory",
            41.5,
            "suggested",
        )
        assert stored.created_at.tzinfo is not None
        assert abs(stored.created_at - datetime.now(UTC)) < timedelta(minutes=1)
        q2 = await ask(s, text="hi", matched_id=None, score=0, outcome="fallback")
        assert q2.id > q.id


async def test_question_outcome_is_checked(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions)
    async with sessions() as s:
        with pytest.raises(ValueError, match="outcome"):
            await ask(s, outcome="maybe")
    async with sessions() as s:  # the database itself refuses it too (CHECK constraint)
        s.add(Question(user_id=1, chat_id=1, text="t", lang="en", score=0.0, outcome="maybe"))
        with pytest.raises(IntegrityError):
            await s.flush()


async def test_question_needs_existing_user(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Foreign keys are enforced (on SQLite only thanks to PRAGMA foreign_keys=ON)."""
    async with sessions() as s:
        with pytest.raises(IntegrityError):
            await ask(s, user_id=404)


# --------------------------------------------------------------------------- feedback


async def test_record_vote(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions)
    async with sessions() as s:
        q = await ask(s, chat_id=10, matched_id="a.b")
        await s.commit()
    key = {"user_id": 1, "chat_id": 10, "message_id": 2**35, "entry_id": "a.b"}
    async with sessions() as s:
        assert await record_vote(s, **key, vote=1, question_id=q.id) == "new"
        await s.commit()
    async with sessions() as s:
        assert await record_vote(s, **key, vote=1) == "same"
        assert await record_vote(s, **key, vote=-1) == "changed"
        assert await record_vote(s, **key, vote=-1) == "same"
        assert await record_vote(s, **{**key, "message_id": 3}, vote=-1) == "new"
        await s.commit()
    async with sessions() as s:
        rows = (await s.scalars(select(Feedback).order_by(Feedback.message_id))).all()
        assert [(r.message_id, r.vote) for r in rows] == [(3, -1), (2**35, -1)]
        voted = rows[1]
        assert voted.question_id == q.id  # not lost when a later vote omits it
        assert voted.updated_at > voted.created_at


async def test_vote_values_and_uniqueness(sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions)
    async with sessions() as s:
        with pytest.raises(ValueError, match="vote"):
            await record_vote(s, user_id=1, chat_id=1, message_id=1, entry_id="e", vote=2)

    def row(vote: int) -> Feedback:
        return Feedback(user_id=1, chat_id=1, message_id=1, entry_id="e", vote=vote)

    async with sessions() as s:  # CHECK (vote IN (1, -1))
        s.add(row(0))
        with pytest.raises(IntegrityError):
            await s.flush()
    async with sessions() as s:  # UNIQUE (user_id, chat_id, message_id)
        s.add(row(1))
        await s.commit()
        s.add(row(-1))
        with pytest.raises(IntegrityError):
            await s.flush()


async def test_concurrent_votes_on_one_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_user(sessions)

    async def one() -> str:
        async with sessions() as s:
            result = await record_vote(s, user_id=1, chat_id=1, message_id=1, entry_id="e", vote=1)
            await s.commit()
            return result

    results = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(results) == ["new"] + ["same"] * 19
    async with sessions() as s:
        assert (await s.scalar(select(func.count()).select_from(Feedback))) == 1


async def test_deleting_a_question_keeps_its_votes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_user(sessions)
    async with sessions() as s:
        q = await ask(s)
        await record_vote(
            s, user_id=1, chat_id=1, message_id=1, entry_id="e", vote=1, question_id=q.id
        )
        await s.commit()
        await s.execute(text("DELETE FROM questions"))
        await s.commit()
        refreshed = await s.scalars(
            select(Feedback), execution_options={"populate_existing": True}
        )
        fb = refreshed.one()
        assert fb.question_id is None


# --------------------------------------------------------------------------- testing helpers


async def test_postgres_helper_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbtesting, "_probe_result", None)
    monkeypatch.setenv(dbtesting.POSTGRES_URL_ENV, "postgresql+asyncpg://nobody@127.0.0.1:1/x")
    monkeypatch.delenv(dbtesting.REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        await postgres_url_or_skip()
    monkeypatch.setenv(dbtesting.REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_SERVICES=1"):
        await postgres_url_or_skip()
    with pytest.raises(pytest.fail.Exception):
        dbtesting.postgres_url_or_skip_sync()


@pytest.mark.postgres
async def test_temporary_database_is_dropped() -> None:
    import asyncpg

    admin = await postgres_url_or_skip()
    async with temporary_database(admin) as url:
        name = url.rsplit("/", 1)[1]
        eng = create_engine(url)
        try:
            await upgrade(eng)
            assert await current(eng) == head()
        finally:
            await eng.dispose()
    conn = await asyncpg.connect(dbtesting._asyncpg_dsn(admin))
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name) is None
    finally:
        await conn.close()


# --------------------------------------------------------------------------- question log


def question(user_id: int = 1, text: str = "t", **overrides) -> dict:
    return {"user_id": user_id, "chat_id": user_id, "text": text, "lang": "en",
            "matched_id": "e", "score": 80.0, "outcome": "answered", **overrides}


async def test_question_log_stores_concurrent_questions_in_batches(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions, 1)
    await add_user(sessions, 2)
    log = QuestionLog(sessions)
    texts = [f"question {i}" for i in range(60)]
    ids = await asyncio.gather(*(log.record(**question(1 + i % 2, t))
                                 for i, t in enumerate(texts)))
    await log.close()
    assert len(set(ids)) == 60
    assert 1 <= log.batches < 60  # not one transaction per question
    async with sessions() as s:
        rows = {q.id: q for q in (await s.execute(select(Question))).scalars()}
    # Each caller got the id of its own row.
    assert [(rows[i].text, rows[i].user_id) for i in ids] == [
        (t, 1 + i % 2) for i, t in enumerate(texts)]
    assert all(r.outcome == "answered" and r.created_at is not None for r in rows.values())


async def test_question_log_a_bad_row_fails_only_its_own_question(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions, 1)
    log = QuestionLog(sessions)
    results = await asyncio.gather(
        log.record(**question(1, "fine")), log.record(**question(999, "no such user")),
        log.record(**question(1, "also fine")), return_exceptions=True)
    await log.close()
    assert isinstance(results[1], IntegrityError)
    assert isinstance(results[0], int) and isinstance(results[2], int)
    async with sessions() as s:
        texts = set((await s.execute(select(Question.text))).scalars())
    assert texts == {"fine", "also fine"}


async def test_question_log_checks_cuts_and_closes(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_user(sessions, 1)
    log = QuestionLog(sessions)
    with pytest.raises(ValueError, match="outcome"):
        await log.record(**question(outcome="maybe"))
    qid = await log.record(**question(text="x" * 10_000))
    pending = asyncio.ensure_future(log.record(**question(text="queued at close")))
    await asyncio.sleep(0)  # queued, not written yet
    await log.close()  # writes what is queued before it stops
    assert isinstance(await asyncio.wait_for(pending, 1), int)
    with pytest.raises(RuntimeError, match="closed"):
        await log.record(**question())
    async with sessions() as s:
        stored = await s.get(Question, qid)
        assert stored is not None and len(stored.text) == 4096


async def test_question_log_keeps_questions_through_an_outage(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    """Locked or unreachable: the handlers get 0 at once (the students are answered), the
    rows are kept and written, users first, when the database answers again."""
    log = QuestionLog(sessions, health=DbHealth(probe_seconds=0.05))
    attempts = []

    async def locked(rows):
        attempts.append(len(rows))
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(log, "_insert", locked)
    results = await asyncio.gather(*(log.record(**question(user_id=7, text=str(i)))
                                     for i in range(5)))
    assert results == [0] * 5 and log.kept == 5
    assert attempts == [5]  # no retry per row: each would wait out the same lock
    monkeypatch.undo()  # the database is back (user 7 has no row yet: written first)
    for _ in range(100):
        if not log.kept:
            break
        await asyncio.sleep(0.05)
    assert log.kept == 0
    async with sessions() as s:
        texts = sorted(await s.scalars(select(Question.text).where(Question.user_id == 7)))
    assert texts == ["0", "1", "2", "3", "4"]
    await add_user(sessions, 1)
    assert isinstance(await log.record(**question()), int)  # and the log goes on
    await log.close()


async def test_question_log_other_database_errors_fail_the_batch_at_once(
        sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch) -> None:
    log = QuestionLog(sessions)
    attempts = []

    async def broken(rows):
        attempts.append(len(rows))
        raise ProgrammingError("INSERT", {}, Exception("no such column"))

    monkeypatch.setattr(log, "_insert", broken)
    results = await asyncio.gather(*(log.record(**question(text=str(i))) for i in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, ProgrammingError) for r in results)
    assert attempts == [5] and log.kept == 0
    await log.close()
