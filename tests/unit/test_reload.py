"""Reloading the KB without downtime, and the change summary shared with ``kb diff``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.app.factory import build_services
from bot.app.reload import reload_knowledge
from bot.config import Config
from bot.db import create_engine, create_sessionmaker, upgrade
from bot.db import news as store
from bot.knowledge import load_knowledge
from bot.matching import AnswerEngine
from bot.services import Services
from tests.support.kb import BROKEN, KNOWLEDGE, MASCOT, copy_knowledge

NEWS = """
news:
  - id: 2026-11-01-open-day
    date: 2026-11-01
    tags: [events]
    title: {en: "Open day", ru: "День открытых дверей"}
    summary: {en: "An open day.", ru: "День открытых дверей."}
    body: {en: "Details.", ru: "Подробности."}
"""


@pytest.fixture
async def services(tmp_path: Path):
    kb_dir = tmp_path / "knowledge"
    copy_knowledge(kb_dir)
    config = Config.model_validate({
        "knowledge": {"path": str(kb_dir)},
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"}})
    kb, _ = load_knowledge(kb_dir)
    db = create_engine(config.database.url)
    await upgrade(db)
    svc = build_services(config, AnswerEngine(kb, config.matching), create_sessionmaker(db))
    async with svc.sessionmaker() as s:
        await store.sync_kb_news(s, kb)
        await s.commit()
    yield svc
    await db.dispose()


async def test_broken_yaml_keeps_the_running_kb(services: Services) -> None:
    kb_dir = Path(services.config.knowledge.path)
    before = services.knowledge.engine
    (kb_dir / "broken.yaml").write_text(BROKEN)
    result = await reload_knowledge(services)
    assert not result.ok
    assert services.knowledge.engine is before
    assert any(str(p).startswith(f"{kb_dir / 'broken.yaml'}:3") for p in result.errors)
    assert services.knowledge.engine.match("is there a dormitory").id == \
        "accommodation.dormitory"


async def test_schema_error_names_entry_and_keeps_kb(services: Services) -> None:
    kb_dir = Path(services.config.knowledge.path)
    (kb_dir / "bad.yaml").write_text(MASCOT.replace("category: about", "category: nope"))
    result = await reload_knowledge(services)
    assert not result.ok
    assert [(p.entry, p.message) for p in result.errors] == [
        ("about.mascot", "unknown category 'nope'")]
    assert services.knowledge.engine.match("bsmu mascot").id is None


async def test_new_entry_answers_at_once_and_news_is_synced(services: Services) -> None:
    kb_dir = Path(services.config.knowledge.path)
    (kb_dir / "mascot.yaml").write_text(MASCOT)
    (kb_dir / "news" / "open-day.yaml").write_text(NEWS)
    result = await reload_knowledge(services)
    assert result.ok, result.errors
    assert result.changes.added == ["about.mascot"]
    assert result.changes.news_added == ["2026-11-01-open-day"]
    assert len(result.new_news_ids) == 1
    assert services.knowledge.engine.match("what's the mascot of bsmu?").id == "about.mascot"
    async with services.sessionmaker() as s:
        titles = [store.text(r, "title", "en") for r in await store.latest(s, 10)]
    assert titles[0] == "Open day"
    # A second reload with nothing changed adds nothing.
    again = await reload_knowledge(services)
    assert again.ok and again.changes.empty and again.new_news_ids == []


async def test_removed_news_is_withdrawn(services: Services) -> None:
    kb_dir = Path(services.config.knowledge.path)
    shutil.rmtree(kb_dir / "news")
    (kb_dir / "news").mkdir()
    text = (kb_dir / "partnerships.yaml").read_text()
    (kb_dir / "partnerships.yaml").write_text(
        text.replace("    news: [2023-03-03-amu-cooperation]\n", ""))
    result = await reload_knowledge(services)
    assert result.ok, result.errors
    assert result.changes.news_removed == ["2023-03-03-amu-cooperation"]
    async with services.sessionmaker() as s:
        assert await store.count(s) == 0


def test_kb_diff_command(tmp_path: Path, capsys) -> None:
    new = tmp_path / "new"
    copy_knowledge(new)
    (new / "mascot.yaml").write_text(MASCOT)
    text = (new / "accommodation.yaml").read_text()
    (new / "accommodation.yaml").write_text(text.replace("Dormitory", "Dorms", 1))
    assert main(["kb", "diff", str(KNOWLEDGE), str(new)]) == 0
    out = capsys.readouterr().out
    assert "entries added (1): about.mascot" in out
    assert "accommodation.dormitory: title" in out
    assert '    title [en]: "Dormitory" → "Dorms"' in out.split("\n")  # what changed
    (new / "broken.yaml").write_text("entries: [")
    assert main(["kb", "diff", str(KNOWLEDGE), str(new)]) == 1
    assert "would be refused" in capsys.readouterr().out


@pytest.mark.parametrize("phase", ["load_knowledge", "AnswerEngine"])
async def test_questions_are_answered_while_a_slow_reload_runs(
        services: Services, monkeypatch: pytest.MonkeyPatch, phase: str) -> None:
    """A reload held half-way (in loading, or in indexing) does not stop the bot: a
    question asked meanwhile is answered by the running KB, and the reload then completes.
    Were the work done on the event loop, the question would wait for the reload."""
    import asyncio
    import threading

    import bot.app.reload as reload_module
    from bot.app.factory import create_dispatcher
    from tests.support.telegram import MockedBot, message_update

    entered, release = threading.Event(), threading.Event()
    slow = getattr(reload_module, phase)

    def held(*args, **kwargs):
        entered.set()
        release.wait(60)  # a KB of tens of thousands of entries, as far as the bot can tell
        return slow(*args, **kwargs)

    monkeypatch.setattr(reload_module, phase, held)
    kb_dir = Path(services.config.knowledge.path)
    (kb_dir / "mascot.yaml").write_text(MASCOT)
    dp, _ = create_dispatcher(services)
    before = services.knowledge.engine
    reload = asyncio.create_task(reload_knowledge(services))
    try:
        assert await asyncio.to_thread(entered.wait, 60)
        bot = MockedBot()
        await asyncio.wait_for(
            dp.feed_update(bot, message_update(4242, "Is there a dormitory?")), 60)
        [answer] = bot.requests
        assert "dormitor" in answer.text.lower()
        assert not reload.done() and services.knowledge.engine is before
    finally:
        release.set()
    result = await reload
    assert result.ok and result.changes.added == ["about.mascot"]
    assert services.knowledge.engine is not before
