"""Command line: ``python -m bot <command>`` (also installed as ``bsmu-bot``)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Config, ConfigError, load_config

Command = Callable[[argparse.Namespace, Config], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn
    return register


def _knowledge_dir(args: argparse.Namespace, config: Config) -> Path:
    """--knowledge, else knowledge.path; a missing directory is a ConfigError that says
    where the path was resolved from and which config file was (not) used."""
    given = getattr(args, "knowledge", None)
    return require_dir(Path(given or config.knowledge.path),
                       "--knowledge" if given else "knowledge.path", config)


def kb_store(args: argparse.Namespace, config: Config):
    """The KB writer (history, undo) of --knowledge or knowledge.path, for the kb commands."""
    from bot.knowledge.store import KbStore

    return KbStore(_knowledge_dir(args, config), config.knowledge.history_path)


def require_dir(path: Path, key: str, config: Config) -> Path:
    if path.is_dir():
        return path
    problem = "does not exist" if not path.exists() else "is not a directory"
    if key.startswith("--") or " " in key:  # a command-line argument
        raise UsageError(f"{key}: {path.resolve()} {problem}; give a knowledge-base directory")
    if config.source.startswith("defaults"):
        hint = "pass --config FILE (or set BOT_CONFIG), or run from the bot's directory"
    else:
        hint = f"fix {key} there (a relative path is read from {Path.cwd()})"
    raise ConfigError(f"{key}: {path.resolve()} {problem}\nconfig used: {config.source}; "
                      f"{hint}")


@command("ask")
def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge import load_knowledge
    from bot.matching import AnswerEngine

    kb, _ = load_knowledge(_knowledge_dir(args, config))
    engine = AnswerEngine(kb, config.matching)
    if args.question is not None:
        result = engine.match(args.question, lang=args.lang)
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            print(render_result(result, config))
        return 0
    for line in sys.stdin:
        result = engine.match(line.rstrip("\n"), lang=args.lang)
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
    return 0


def render_result(result, config: Config | None = None) -> str:
    """The engine's result as the bot would word it, in the result's language."""
    from urllib.parse import urlparse

    from bot.i18n import Translator
    from bot.text.tghtml import plain_text

    score = f"score {result.score:.0f}"
    if result.kind == "answer":
        return f"[{result.id}, {score}]\n{plain_text(result.answer).strip()}"
    t = Translator().for_lang(result.lang)
    if result.kind == "suggest":
        lines = [f"{t('did-you-mean')} [{score}]"]
        lines += [f"  - {e.label(result.lang)} [{e.id}]" for e in result.suggestions]
        return "\n".join(lines)
    config = config or Config()
    site = config.bot.website
    key = "fallback" if config.staff.chat_id is not None else "fallback-no-staff"  # as the bot
    text = t(key, website=site, website_host=urlparse(site).netloc or site)
    return f"{plain_text(text).strip()}\n[{score}]"


@command("kb check")
def cmd_kb_check(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge.check import run_check

    path = require_dir(Path(args.dir), "kb check DIR", config) if args.dir else \
        _knowledge_dir(args, config)
    return run_check(path, verbose=args.verbose)


@command("kb diff")
def cmd_kb_diff(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge import load_knowledge
    from bot.knowledge.diff import diff

    old, _ = load_knowledge(require_dir(Path(args.old), "kb diff OLD", config))
    new, problems = load_knowledge(require_dir(Path(args.new), "kb diff NEW", config),
                                   strict=False)
    errors = [p for p in problems if p.level == "error"]
    for p in errors:
        print(p)
    for line in diff(old, new).lines():
        print(line)
    if errors:
        print(f"{args.new} has {len(errors)} error(s): it would be refused on reload")
        return 1
    return 0


async def _with_db(config: Config, fn):
    from bot.db import create_engine, create_sessionmaker, upgrade
    from bot.db.probe import check_connection

    engine = create_engine(config.database.url)
    try:
        await check_connection(engine)
        await upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            return await fn(session)
    finally:
        await engine.dispose()


@command("stats")
def cmd_stats(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.i18n import Translator
    from bot.staff.stats import chart_png, collect, kb_titles, render
    from bot.text.tghtml import plain_text

    if args.chart:
        writable_file(args.chart, "stats --chart")
    st = asyncio.run(_with_db(config, lambda s: collect(s, args.days)))
    t, titles = Translator().for_lang(args.lang), kb_titles(config.knowledge.path, args.lang)
    print(plain_text(render(st, t, titles)))
    if args.chart:
        Path(args.chart).write_bytes(chart_png(st, t, titles))
        print(f"chart written to {args.chart}")
    return 0


def writable_file(name: str, option: str) -> Path:
    """An output file's directory must exist before any work is done (a usage error)."""
    path = Path(name)
    folder = path.resolve().parent
    if path.is_dir():
        raise UsageError(f"{option} {name}: is a directory; give a file name, e.g. "
                         f"{path / 'chart.png'}")
    if not folder.is_dir():
        raise UsageError(f"{option} {name}: the directory {folder} does not exist; create "
                         "it or choose another path")
    return path


class UsageError(Exception):
    """A command-line argument that cannot work (exit 2)."""


@command("kb suggest")
def cmd_kb_suggest(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.knowledge import load_knowledge
    from bot.matching import AnswerEngine
    from bot.staff.unanswered import fetch, group, patch_yaml

    rows = asyncio.run(_with_db(config, lambda s: fetch(s, args.days)))
    kb, _ = load_knowledge(_knowledge_dir(args, config))
    groups = group(rows, AnswerEngine(kb, config.matching))
    if not groups:
        print(f"no unanswered or downvoted questions in the last {args.days} days")
        return 0
    for g in groups:
        closest = f"{g.closest} ({g.closest_score:.0f})" if g.closest else "- (needs a decision)"
        why = ", ".join(f"{k} {v}" for k, v in g.reasons.items() if v)
        if g.rejected:
            why += f" on {g.rejected}"
        print(f"{g.count:4d}  [{g.lang}] {g.example}   closest: {closest}   ({why})")
        for text in list(g.texts)[1:4]:
            print(f"        also: {text}")
    if args.write:
        writable_file(args.write, "kb suggest --write").write_text(patch_yaml(groups),
                                                                    encoding="utf-8")
        print(f"patch written to {args.write}: review it, then `kb apply {args.write}`")
    return 0


@command("kb apply")
def cmd_kb_apply(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge.apply import PatchError, apply_patch

    try:
        result = apply_patch(_knowledge_dir(args, config), Path(args.file),
                             author=f"{getpass.getuser()} (command line, kb apply)",
                             history_dir=config.knowledge.history_path)
    except PatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in result.problems:
        if p.level == "error":
            print(p)
    if not result.ok:
        print("not applied: the knowledge base would not validate")
        return 1
    for q in result.skipped:
        print(f"skipped (already a phrasing): {q}")
    print(f"added {result.added} phrasing(s)")
    return 0


@command("digest send")
def cmd_digest_send(args: argparse.Namespace, config: Config) -> int:
    from bot.digest.cli import cmd_send

    return cmd_send(args, config)


@command("digest status")
def cmd_digest_status(args: argparse.Namespace, config: Config) -> int:
    from bot.digest.cli import cmd_status

    return cmd_status(args, config)


@command("config reference")
def cmd_config_reference(args: argparse.Namespace, config: Config) -> int:
    from bot.app.config_reference import reference

    sys.stdout.write(reference())
    return 0


def _setup_logging(level: str = "INFO") -> None:
    import logging

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _log_level(args: argparse.Namespace, default: str = "INFO") -> str:
    """--debug, else LOG_LEVEL (DEBUG, INFO, WARNING, ERROR), else ``default``."""
    if getattr(args, "debug", False):
        return "DEBUG"
    level = os.environ.get(LOG_LEVEL_ENV, "").strip().upper()
    return level if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else default


@command("run")
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.app.runner import run

    _knowledge_dir(args, config)
    _setup_logging(_log_level(args))
    asyncio.run(run(config))
    return 0


@command("doctor")
def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.app.doctor import diagnose, exit_code, render

    checks = asyncio.run(diagnose(config))
    print(render(checks))
    return exit_code(checks)


@command("console")
def cmd_console(args: argparse.Namespace, config: Config) -> int:
    import asyncio
    import logging

    from bot.app.console import run_console

    _knowledge_dir(args, config)
    _setup_logging("WARNING")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    asyncio.run(run_console(config, lang=args.lang))
    return 0


@command("db upgrade")
def cmd_db_upgrade(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.db import create_engine, current, upgrade
    from bot.db.probe import check_connection

    async def go() -> str | None:
        engine = create_engine(config.database.url)
        try:
            await check_connection(engine)
            await upgrade(engine, args.revision)
            return await current(engine)
        finally:
            await engine.dispose()

    print(f"database at revision {asyncio.run(go())}")
    return 0


LOG_LEVEL_ENV = "LOG_LEVEL"


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--config and --debug, accepted before or after any (sub)command. SUPPRESS as the
    default: a subcommand's parser would otherwise overwrite the value given before it."""
    group = parser.add_argument_group("common options")
    group.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                       help="config file (default: $BOT_CONFIG, else ./config.yaml, else the "
                            "built-in defaults)")
    group.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks and debug logs (also: LOG_LEVEL=DEBUG)")


def _add_common_everywhere(parser: argparse.ArgumentParser, seen: set[int]) -> None:
    if id(parser) in seen:
        return
    seen.add(id(parser))
    add_common_options(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_common_everywhere(child, seen)


def build_parser() -> argparse.ArgumentParser:
    ap = _build_parser()
    _add_common_everywhere(ap, set())  # every subcommand, nested ones included
    return ap


def _build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bsmu-bot", description="BSMU admissions assistant")
    sub = ap.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question as the bot would")
    ask.add_argument("question", nargs="?", help="the question; without it, one per stdin line")
    ask.add_argument("--lang", choices=["en", "ru"], help="answer language (default: detect)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--knowledge", help="knowledge-base directory")

    kb = sub.add_parser("kb", help="knowledge-base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("dir", nargs="?", help="directory (default: knowledge.path)")
    check.add_argument("-v", "--verbose", action="store_true", help="list warnings in full")

    kdiff = kb_sub.add_parser("diff", help="what changes from one KB directory to another")
    kdiff.add_argument("old")
    kdiff.add_argument("new")

    suggest = kb_sub.add_parser("suggest", help="unanswered questions, grouped")
    suggest.add_argument("--days", type=int, default=30)
    suggest.add_argument("--write", metavar="FILE", help="write a YAML patch for review")
    suggest.add_argument("--knowledge", help="knowledge-base directory")
    kapply = kb_sub.add_parser("apply", help="merge a reviewed phrasing patch into the KB")
    kapply.add_argument("file")
    kapply.add_argument("--knowledge", help="knowledge-base directory")
    from bot.app.kb_sheet_cli import add_parser as add_kb_sheet_parser

    add_kb_sheet_parser(kb_sub)  # kb export, kb import (the spreadsheet)
    from bot.app.kb_history_cli import add_parser as add_kb_history_parser

    add_kb_history_parser(kb_sub)  # kb history, kb undo

    stats = sub.add_parser("stats", help="what students asked")
    stats.add_argument("--days", type=int, default=7)
    stats.add_argument("--chart", metavar="PNG", help="write the chart to this file")
    stats.add_argument("--lang", choices=["en", "ru"], default="en")

    cfg = sub.add_parser("config", help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    cfg_sub.add_parser("reference", help="print the configuration reference (Markdown)")

    from bot.digest.cli import add_parser as add_digest_parser

    add_digest_parser(sub)
    from bot.app.links import add_parser as add_link_parser

    add_link_parser(sub)

    sub.add_parser("run", help="run the Telegram bot (token from BOT_TOKEN)")
    sub.add_parser("doctor", help="check the installation: token, staff chat and the bot's "
                                  "rights, database, knowledge base, webhook",
                   description="One line per check: ✓ fine, ! worth a look, ✗ must be fixed "
                               "(with the fix). Changes nothing. Exit 0 when no check "
                               "failed, 1 otherwise, 2 for a configuration error.")
    console = sub.add_parser("console", help="chat with the bot in this terminal, no Telegram")
    console.add_argument("--lang", choices=["en", "ru"], default="en",
                         help="the simulated user's Telegram language")
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply database migrations")
    up.add_argument("revision", nargs="?", default="head")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 a run-time failure (network, database, files, failed checks),
    2 a usage or configuration error; 130 interrupted."""
    args = build_parser().parse_args(argv)
    name = args.command
    if name in ("kb", "db", "config", "digest"):
        name = f"{name} {getattr(args, name + '_command')}"
    debug = _log_level(args, "") == "DEBUG"
    try:
        config = load_config(getattr(args, "config", None))
        return COMMANDS[name](args, config)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return report_failure(exc, debug)


def report_failure(exc: BaseException, debug: bool) -> int:
    """One or two lines on stderr (the traceback too with --debug); the exit code."""
    import traceback

    from bot.app.failures import USAGE, Failure, explain, unexpected

    if isinstance(exc, UsageError):
        failure = Failure(str(exc), USAGE)
    else:
        failure = explain(exc) or unexpected(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"error: {failure.message}", file=sys.stderr)
    return failure.code
