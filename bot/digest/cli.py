"""``digest send`` and ``digest status``: the command-line side of the digest engine.

Wired into ``python -m bot`` by bot/app/cli.py (:func:`add_parser` + :func:`run_command`);
``python -m bot.digest`` runs the same commands standalone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from bot.config import Config

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``digest {send,status}`` to the subparsers of bot/app/cli.py (dest
    ``digest_command``)."""
    digest = sub.add_parser("digest", help="news digests: send due digests, show runs")
    add_subcommands(digest)
    return digest


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    dsub = parser.add_subparsers(dest="digest_command", required=True)
    send = dsub.add_parser(
        "send", help="send the digests that are due, once (for cron deployments)",
        description="Finish interrupted runs, then send the latest daily/weekly slot "
                    "that has not run yet and instant news. Safe to run from cron every "
                    "few minutes, and next to a running bot: a slot is sent once.")
    send.add_argument("--now", action="store_true",
                      help="send every kind (daily, weekly, instant) now, whatever the "
                           "schedule says")
    send.add_argument("--no-progress", action="store_true", help="no progress bar")
    send.add_argument("--no-sync", action="store_true",
                      help="do not sync news from the knowledge base and feeds first")
    send.add_argument("--json", action="store_true", help="print the summary as JSON")
    status = dsub.add_parser("status", help="show the last digest runs")
    status.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    status.add_argument("--json", action="store_true", help="print JSON")


def run_command(args: argparse.Namespace, config: Config) -> int:
    if args.digest_command == "send":
        return cmd_send(args, config)
    if args.digest_command == "status":
        return cmd_status(args, config)
    raise SystemExit(f"unknown digest command {args.digest_command!r}")


# --- send ------------------------------------------------------------------------------------


class Bars:
    """One tqdm bar per run, on stderr (quiet when not a terminal unless forced)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[int, Any] = {}

    def __call__(self, run_id: int, delta: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(run_id)
        if bar is None:
            from tqdm import tqdm

            bar = self.bars[run_id] = tqdm(total=total, desc=f"digest run {run_id}",
                                           unit="msg", file=sys.stderr, leave=True,
                                           dynamic_ncols=True, mininterval=0.5)
        if bar.total != total:
            bar.total = total
        bar.update(delta)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


async def _sync_news(config: Config, sessions: Any) -> None:
    """Bring news_items up to date as the bot would (KB files, then feeds)."""
    from bot.db.news import sync_kb_news
    from bot.knowledge import KBError, load_knowledge
    from bot.news import feeds

    try:
        kb, _ = load_knowledge(config.knowledge.path)
    except KBError as exc:
        print(f"warning: knowledge base not loaded, news not synced: {exc}", file=sys.stderr)
    else:
        async with sessions() as session:
            await sync_kb_news(session, kb)
            await session.commit()
    if config.news.feeds:
        result = await feeds.poll(config.news.feeds, sessions)
        for url, error in result.errors.items():
            print(f"warning: feed {url}: {error}", file=sys.stderr)


async def send(config: Config, *, now: bool = False, progress: bool = True,
               sync: bool = True) -> Any:
    from bot.config import check_token
    from bot.db import create_engine, create_sessionmaker, upgrade
    from bot.db.probe import check_connection
    from bot.digest.schedule import triggers
    from bot.digest.sender import create_digest_client
    from bot.digest.service import run_due

    # What the configuration gets wrong is reported before the database is touched.
    check_token(config.token.get_secret_value() if config.token else None)
    triggers(config.digest)
    engine = create_engine(config.database.url, echo=config.database.echo)
    bars = Bars(progress)
    try:
        await check_connection(engine)
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        if sync:
            await _sync_news(config, sessions)
        client = create_digest_client(config)
        try:
            return await run_due(config, sessions, client, force=now, progress=bars)
        finally:
            await client.close()
    finally:
        bars.close()
        await engine.dispose()


def cmd_send(args: argparse.Namespace, config: Config) -> int:
    from bot.config import TokenError

    logging.basicConfig(level="WARNING", format="%(asctime)s %(levelname)s %(name)s: "
                                                "%(message)s")
    try:
        summary = asyncio.run(send(config, now=args.now,
                                   progress=not args.no_progress and not args.json,
                                   sync=not args.no_sync))
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        runs = ", ".join(str(r) for r in summary.runs) or "none"
        print(f"digest runs: {runs}")
        print(summary.line())
    return 0


# --- status ----------------------------------------------------------------------------------


def format_status(rows: list[Any]) -> str:
    if not rows:
        return "no digest runs yet"
    head = ("id", "kind", "slot", "status", "total", "sent", "failed", "blocked",
            "uncertain", "open", "started", "finished")
    table = [head]
    for r in rows:
        d = r.deliveries
        table.append((
            str(r.id), r.kind, r.slot, r.status, str(r.total), str(d.get("sent", 0)),
            str(d.get("failed", 0)), str(d.get("blocked", 0)), str(d.get("uncertain", 0)),
            str(d.get("pending", 0) + d.get("sending", 0)),
            r.started_at.strftime("%Y-%m-%d %H:%M") if r.started_at else "-",
            r.finished_at.strftime("%Y-%m-%d %H:%M") if r.finished_at else "-"))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in table)


async def load_status(config: Config, limit: int) -> list[Any]:
    from bot.db import create_engine, create_sessionmaker, upgrade
    from bot.db.probe import check_connection
    from bot.digest.service import status

    engine = create_engine(config.database.url)
    try:
        await check_connection(engine)
        await upgrade(engine)
        return await status(create_sessionmaker(engine), limit)
    finally:
        await engine.dispose()


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    rows = asyncio.run(load_status(config, args.limit))
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], ensure_ascii=False))
    else:
        print(format_status(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.digest [--config FILE] {send,status}``."""
    from bot.config import ConfigError, TokenError, load_config
    from bot.db.probe import DatabaseUnavailable
    from bot.digest.schedule import ScheduleError

    ap = argparse.ArgumentParser(prog="python -m bot.digest", description=__doc__.split("\n")[0])
    add_subcommands(ap)
    for parser in (ap, *_subparsers(ap)):  # before or after the subcommand, as in bot/app/cli
        parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                            help="config file (default: $BOT_CONFIG or ./config.yaml)")
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show tracebacks")
    args = ap.parse_args(argv)
    try:
        config = load_config(getattr(args, "config", None))
        return run_command(args, config)
    except KeyboardInterrupt:
        return 130
    except (ConfigError, TokenError, ScheduleError, DatabaseUnavailable) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, DatabaseUnavailable) else 2


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [child for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for child in action.choices.values()]
