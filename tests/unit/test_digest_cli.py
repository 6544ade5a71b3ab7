"""``digest status`` / ``digest send`` commands (``send`` against the fake API runs in
tests/scaleout/test_digest_kill.py, as a real subprocess)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
import yaml

from bot.digest import cli


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"},
        "knowledge": {"path": str(tmp_path / "kb"), "watch": False}}), encoding="utf-8")
    return path


def seed_runs(tmp_path: Path) -> None:
    from bot.db import create_engine, create_sessionmaker, upgrade
    from bot.digest import queue
    from tests.support.digest import News, Sub, add_news, add_subscribers

    async def go() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        await add_news(sessions, [News("kb:x", {"en": "X"})])
        await add_subscribers(sessions, [Sub(1), Sub(2), Sub(3, frequency="weekly")])
        await queue.plan_run(sessions, "daily", "2026-11-24T10:00+03:00")
        await queue.plan_run(sessions, "weekly", "2026-11-23T10:00+03:00")
        await engine.dispose()

    asyncio.run(go())


def test_status_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path)
    assert cli.main(["--config", str(config), "status"]) == 0
    assert capsys.readouterr().out.strip() == "no digest runs yet"
    seed_runs(tmp_path)
    assert cli.main(["--config", str(config), "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["id", "kind", "slot", "status", "total", "sent"]
    assert lines[1].split()[:5] == ["2", "weekly", "2026-11-23T10:00+03:00", "sending", "1"]
    assert lines[2].split()[:5] == ["1", "daily", "2026-11-24T10:00+03:00", "sending", "2"]
    assert cli.main(["--config", str(config), "status", "--json", "--limit", "1"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert run["kind"] == "weekly" and run["deliveries"]["pending"] == 1


def test_send_without_a_token_is_a_clear_error(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    config = write_config(tmp_path)
    assert cli.main(["--config", str(config), "send", "--no-sync"]) == 2
    assert "BOT_TOKEN is not set" in capsys.readouterr().err


def test_parser_plugs_into_the_main_cli() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    cli.add_parser(sub)
    args = ap.parse_args(["digest", "send", "--now"])
    assert (args.command, args.digest_command, args.now) == ("digest", "send", True)
    args = ap.parse_args(["digest", "status", "--limit", "3"])
    assert (args.digest_command, args.limit) == ("status", 3)


def test_progress_bars_per_run(capsys) -> None:
    bars = cli.Bars(True)
    bars(1, 2, 10)
    bars(1, 1, 10)
    bars(2, 1, 5)
    assert bars.bars[1].n == 3 and bars.bars[1].total == 10 and bars.bars[2].n == 1
    bars.close()
    assert "digest run 1" in capsys.readouterr().err
    quiet = cli.Bars(False)
    quiet(1, 1, 1)
    assert quiet.bars == {}
