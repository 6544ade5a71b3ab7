"""Command line: ``python -m bot <command>`` (also installed as ``bsmu-bot``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.knowledge import KBError

Command = Callable[[argparse.Namespace, Config], int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn
    return register


def _knowledge_dir(args: argparse.Namespace, config: Config) -> Path:
    return Path(getattr(args, "knowledge", None) or config.knowledge.path)


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
            print(render_result(result))
        return 0
    for line in sys.stdin:
        result = engine.match(line.rstrip("\n"), lang=args.lang)
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
    return 0


def render_result(result) -> str:
    from bot.text.tghtml import plain_text

    if result.kind == "answer":
        head = f"[{result.id}, score {result.score:.0f}]"
        return f"{head}\n{plain_text(result.answer).strip()}"
    if result.kind == "suggest":
        lines = [f"Did you mean… (best score {result.score:.0f})"]
        lines += [f"  - {e.label(result.lang)} [{e.id}]" for e in result.suggestions]
        return "\n".join(lines)
    return (f"I don't know the answer to that (best score {result.score:.0f}). "
            "Please ask the admissions office.")


@command("kb check")
def cmd_kb_check(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge.check import run_check

    return run_check(Path(args.dir or config.knowledge.path), verbose=args.verbose)


@command("kb diff")
def cmd_kb_diff(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge import load_knowledge
    from bot.knowledge.diff import diff

    old, _ = load_knowledge(args.old)
    new, problems = load_knowledge(args.new, strict=False)
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

    engine = create_engine(config.database.url)
    try:
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

    st = asyncio.run(_with_db(config, lambda s: collect(s, args.days)))
    t, titles = Translator().for_lang(args.lang), kb_titles(config.knowledge.path, args.lang)
    print(plain_text(render(st, t, titles)))
    if args.chart:
        Path(args.chart).write_bytes(chart_png(st, t, titles))
        print(f"chart written to {args.chart}")
    return 0


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
        closest = f"{g.closest} ({g.closest_score:.0f})" if g.closest else "-"
        why = ", ".join(f"{k} {v}" for k, v in g.reasons.items() if v)
        print(f"{g.count:4d}  [{g.lang}] {g.example}   closest: {closest}   ({why})")
        for text in list(g.texts)[1:4]:
            print(f"        also: {text}")
    if args.write:
        Path(args.write).write_text(patch_yaml(groups), encoding="utf-8")
        print(f"patch written to {args.write}: review it, then `kb apply {args.write}`")
    return 0


@command("kb apply")
def cmd_kb_apply(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge.apply import PatchError, apply_patch

    try:
        result = apply_patch(_knowledge_dir(args, config), Path(args.file))
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


@command("run")
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.app.factory import TokenError
    from bot.app.runner import RunError, run

    _setup_logging()
    try:
        asyncio.run(run(config))
    except (TokenError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


@command("console")
def cmd_console(args: argparse.Namespace, config: Config) -> int:
    import asyncio
    import logging

    from bot.app.console import run_console

    _setup_logging("WARNING")
    logging.getLogger("aiogram").setLevel(logging.ERROR)
    asyncio.run(run_console(config, lang=args.lang))
    return 0


@command("db upgrade")
def cmd_db_upgrade(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.db import create_engine, current, upgrade

    async def go() -> str | None:
        engine = create_engine(config.database.url)
        try:
            await upgrade(engine, args.revision)
            return await current(engine)
        finally:
            await engine.dispose()

    print(f"database at revision {asyncio.run(go())}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="bsmu-bot", description="BSMU admissions assistant")
    ap.add_argument("--config", help="config file (default: $BOT_CONFIG or ./config.yaml)")
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
    console = sub.add_parser("console", help="chat with the bot in this terminal, no Telegram")
    console.add_argument("--lang", choices=["en", "ru"], default="en",
                         help="the simulated user's Telegram language")
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply database migrations")
    up.add_argument("revision", nargs="?", default="head")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command
    if name in ("kb", "db", "config", "digest"):
        name = f"{name} {getattr(args, name + '_command')}"
    try:
        config = load_config(args.config)
        return COMMANDS[name](args, config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
