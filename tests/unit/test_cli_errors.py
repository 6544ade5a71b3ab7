"""The command line's mistakes, each as a user makes it: the message names the key, file or
URL and says what to do, the exit code is 2 for usage and configuration and 1 at run time,
and there is no traceback unless --debug or LOG_LEVEL=DEBUG asks for one."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.app import cli
from bot.config import ConfigError, check_cron, load_config
from bot.digest import cli as digest_cli
from tests.support.kb import KNOWLEDGE, ROOT

TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"
ENV_VARS = ("BOT_TOKEN", "BOT_CONFIG", "LOG_LEVEL", "BOT_STAFF_ADMINS", "BOT_STAFF_CHAT_ID")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, name: str = "config.yaml", **sections) -> Path:
    data = {"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'db' / 'bot.db'}"},
            "knowledge": {"path": str(KNOWLEDGE), "watch": False}}
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_main(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_short(err: str, lines: int = 2) -> None:
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) <= lines, err


def bot_cli(*args: str, cwd: Path = ROOT, timeout: float = 60,
            **env: str) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m bot ARGS`` in a process of its own (what the user sees, logging included)."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_VARS} | env
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=timeout)
    return proc, time.monotonic() - start


# --- options where users put them --------------------------------------------------------------


def every_parser(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from every_parser(child, (*path, name))


def test_every_subcommand_help_shows_config_and_debug() -> None:
    parsers = list(every_parser(cli.build_parser()))
    assert {("kb", "check"), ("digest", "send"), ("db", "upgrade"),
            ("run",)} <= {p for p, _ in parsers}
    for path, parser in parsers:
        text = parser.format_help()
        assert "--config FILE" in text and "--debug" in text, path


@pytest.mark.parametrize("argv", [
    ["--config", "{cfg}", "kb", "check"],
    ["kb", "check", "--config", "{cfg}"],
    ["kb", "--config", "{cfg}", "check"],
    ["--config", "/elsewhere.yaml", "kb", "check", "--config", "{cfg}"],
])
def test_config_before_or_after_the_subcommand(tmp_path: Path, capsys, argv) -> None:
    cfg = write_config(tmp_path, knowledge={"path": str(tmp_path / "no-kb")})
    code, _, err = run_main(capsys, *[a.format(cfg=cfg) for a in argv])
    assert code == 2
    assert_short(err)
    assert f"knowledge.path: {tmp_path / 'no-kb'} does not exist" in err
    assert f"config used: {cfg}" in err  # the given file, not overwritten by a default


def test_config_after_nested_subcommands(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path)
    code, out, _ = run_main(capsys, "digest", "status", "--config", str(cfg))
    assert (code, out.strip()) == (0, "no digest runs yet")
    code, out, _ = run_main(capsys, "db", "upgrade", "--config", str(cfg), "--debug")
    assert code == 0 and out.startswith("database at revision ")
    assert digest_cli.main(["status", "--config", str(cfg)]) == 0  # python -m bot.digest


# --- configuration mistakes: exit 2, before anything runs ---------------------------------------


def test_bad_cron_is_a_config_error_naming_the_key(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, digest={"daily": "every day"})
    for argv in (["digest", "send", "--config", str(cfg)], ["run", "--config", str(cfg)]):
        code, _, err = run_main(capsys, *argv)
        assert code == 2
        assert_short(err)
        assert "digest.daily: 'every day' is not a cron expression" in err
        assert '"0 10 * * *"' in err  # what to write instead
    assert not (tmp_path / "db").exists()  # nothing ran


@pytest.mark.parametrize("expr", ["0 10 * * *", "0 10 * * mon", "0 10 * * 1", "0 10 * * 7",
                                  "*/15 8-18 * * 1-5", "0 10 * * 1,sat", "30 9 1 * *"])
def test_accepted_cron_is_what_the_scheduler_reads(expr: str) -> None:
    from bot.digest.schedule import cron

    assert check_cron(expr) == expr
    cron(expr, "Europe/Minsk")  # the digest scheduler takes every expression config accepts


@pytest.mark.parametrize("expr", ["every day", "0 10 * *", "0 25 * * *", "61 * * * *",
                                  "0 10 * * 8", "0 10 * * funday", "0 10 32 * *"])
def test_rejected_cron(expr: str) -> None:
    with pytest.raises(ValueError, match=r"cron expression|weekday"):
        check_cron(expr)


def test_bad_time_zone_names_the_key(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, digest={"timezone": "Mars/Olympus"})
    code, _, err = run_main(capsys, "digest", "status", "--config", str(cfg))
    assert code == 2
    assert_short(err)
    assert "digest.timezone: unknown time zone 'Mars/Olympus'" in err


def test_unsupported_database_driver(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, database={"url": "mysql://bsmu:s3cret@db.example/bsmu"})
    code, _, err = run_main(capsys, "db", "upgrade", "--config", str(cfg))
    assert code == 2
    assert_short(err)
    assert "database.url: mysql:// is not supported; write sqlite+aiosqlite://" in err
    assert "postgresql+asyncpg://" in err
    assert "s3cret" not in err


def test_plain_driver_names_are_mapped(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, database={"url": "postgresql://u:p@h:5433/db"})
    assert load_config(cfg).database.url == "postgresql+asyncpg://u:p@h:5433/db"
    cfg = write_config(tmp_path, database={"url": f"sqlite:///{tmp_path}/x.db"})
    assert load_config(cfg).database.url == f"sqlite+aiosqlite:///{tmp_path}/x.db"


def test_missing_token_is_reported_before_migrations(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path)
    for argv in (["run"], ["digest", "send", "--no-sync"]):
        code, _, err = run_main(capsys, *argv, "--config", str(cfg))
        assert code == 2
        assert_short(err)
        assert "BOT_TOKEN is not set" in err
        assert not (tmp_path / "db").exists(), argv  # no database created, nothing migrated


def test_started_elsewhere_says_which_config_was_used(tmp_path: Path, capsys,
                                                      monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "ask", "hi")
    assert code == 2
    assert_short(err)
    assert f"knowledge.path: {tmp_path / 'knowledge'} does not exist" in err
    assert f"no config.yaml in {tmp_path}" in err
    assert "--config" in err


def test_missing_config_file(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(capsys, "kb", "check", "--config", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert_short(err)
    assert f"{tmp_path / 'nope.yaml'}: cannot read config file" in err


def test_output_directory_must_exist(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path)
    code, _, err = run_main(capsys, "stats", "--chart", "/missing-dir/x.png",
                            "--config", str(cfg))
    assert code == 2
    assert_short(err)
    assert "stats --chart /missing-dir/x.png: the directory /missing-dir does not exist" in err
    assert not (tmp_path / "db").exists()  # checked before the database is opened


# --- run-time failures: exit 1 ------------------------------------------------------------------


def test_unreachable_postgresql_names_host_and_port(tmp_path: Path, capsys) -> None:
    port = free_port()
    cfg = write_config(tmp_path, database={
        "url": f"postgresql+asyncpg://bsmu:s3cret@127.0.0.1:{port}/bsmu"})
    for argv in (["db", "upgrade"], ["stats"], ["digest", "status"]):
        code, _, err = run_main(capsys, *argv, "--config", str(cfg))
        assert code == 1, argv
        assert_short(err)
        assert f"cannot connect to the database at 127.0.0.1:{port}/bsmu: connection " \
               "refused" in err
        assert "s3cret" not in err and "bsmu@" not in err


def test_no_network_is_one_line_naming_the_api_url(tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, telegram={"api_server": f"http://127.0.0.1:{port}"})
    proc, elapsed = bot_cli("run", "--config", str(cfg), BOT_TOKEN=TOKEN)
    assert proc.returncode == 1
    assert_short(proc.stderr, lines=1)
    assert f"cannot reach the Telegram Bot API at http://127.0.0.1:{port}" in proc.stderr
    assert TOKEN.split(":")[1] not in proc.stderr
    # One attempt, not a minute of retries: the process start alone (imports) takes up to
    # 8 s on a loaded 2-core machine, so the bound leaves room for that and no more.
    assert elapsed < 30
    assert not (tmp_path / "db").exists()


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(capsys, monkeypatch,
                                                                    tmp_path: Path) -> None:
    def boom(args, config):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setitem(cli.COMMANDS, "ask", boom)
    code, _, err = run_main(capsys, "ask", "hi")
    assert code == 1
    assert err == ("error: unexpected RuntimeError: something broke (run again with --debug "
                   "for the traceback)\n")
    code, _, err = run_main(capsys, "ask", "hi", "--debug")
    assert code == 1 and "Traceback" in err and err.endswith("for the traceback)\n")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    code, _, err = run_main(capsys, "ask", "hi")
    assert code == 1 and "Traceback" in err


def test_debug_shows_the_traceback_of_a_config_error(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, database={"url": "mysql://x/y"})
    code, _, err = run_main(capsys, "--debug", "db", "upgrade", "--config", str(cfg))
    assert code == 2
    assert "Traceback" in err and "ConfigError" in err
    assert f"\nerror: {cfg}: invalid configuration\n  database.url: " in err


def test_whole_process_output_is_short(tmp_path: Path) -> None:
    """What the issue saw: a 41-line traceback and a ScheduleError traceback."""
    cfg = write_config(tmp_path, database={"url": "mysql://u:p@h/db"})
    proc, _ = bot_cli("--config", str(cfg), "db", "upgrade")
    assert proc.returncode == 2 and proc.stdout == ""
    assert_short(proc.stderr)


# --- ask answers in the language asked for -----------------------------------------------------


def test_ask_fallback_in_russian(capsys) -> None:
    code, out, _ = run_main(capsys, "ask", "😀", "--lang", "ru")
    assert code == 0
    assert out.startswith("К сожалению, я не знаю ответа на этот вопрос")
    assert "Sorry" not in out and "admissions" not in out


def test_ask_suggestion_in_russian(capsys) -> None:
    from bot.config import Config
    from bot.knowledge import load_knowledge
    from bot.matching import AnswerEngine

    engine = AnswerEngine(load_knowledge(KNOWLEDGE)[0], Config().matching)
    result = next(r for q in ("учеба", "как", "студент", "медицина")
                  if (r := engine.match(q, lang="ru")).kind == "suggest")
    text = cli.render_result(result)
    assert text.startswith("Я не уверен, что понял. Вы имели в виду:")


# --- staff ids from the environment --------------------------------------------------------------


def test_staff_ids_from_the_environment(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, staff={"admins": [1], "chat_id": -5})
    config = load_config(cfg, env={"BOT_STAFF_ADMINS": "123456789, 987654321",
                                   "BOT_STAFF_CHAT_ID": "-1001234567890"})
    assert config.staff.admins == [123456789, 987654321]
    assert config.staff.chat_id == -1001234567890
    blank = load_config(cfg, env={"BOT_STAFF_ADMINS": "", "BOT_STAFF_CHAT_ID": " "})
    assert (blank.staff.admins, blank.staff.chat_id) == ([1], -5)  # blank: the file's


def test_bad_staff_id_in_the_environment(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("BOT_STAFF_ADMINS", "123,@olga")
    code, _, err = run_main(capsys, "kb", "check", "--config", str(write_config(tmp_path)))
    assert code == 2
    assert_short(err)
    assert "BOT_STAFF_ADMINS: '@olga' is not a Telegram user id" in err
    assert "/id" in err
    with pytest.raises(ConfigError, match="BOT_STAFF_CHAT_ID: 'staff' is not a chat id"):
        load_config(write_config(tmp_path), env={"BOT_STAFF_CHAT_ID": "staff"})


def test_kb_diff_of_a_missing_directory(tmp_path: Path, capsys) -> None:
    code, _, err = run_main(capsys, "kb", "diff", str(tmp_path / "old"), str(KNOWLEDGE))
    assert code == 2
    assert_short(err, lines=1)
    assert f"kb diff OLD: {tmp_path / 'old'} does not exist" in err


def test_unreachable_redis_names_host_and_port() -> None:
    import asyncio

    from bot.app.failures import explain
    from bot.app.runner import check_redis

    port = free_port()
    with pytest.raises(Exception) as caught:
        asyncio.run(check_redis(f"redis://:s3cret@127.0.0.1:{port}/0", timeout=2))
    failure = explain(caught.value)
    assert failure is not None and failure.code == 1
    assert failure.message.startswith(f"cannot connect to Redis at 127.0.0.1:{port} (")
    assert "s3cret" not in failure.message


def test_a_port_in_use_says_which_settings_to_change() -> None:
    import errno

    from bot.app.failures import explain

    failure = explain(OSError(errno.EADDRINUSE, "address already in use"))
    assert failure is not None and failure.code == 1
    assert "telegram.webhook.port or monitoring.port" in failure.message
