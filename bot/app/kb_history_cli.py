"""``python -m bot kb history [-n N]`` and ``python -m bot kb undo [--yes]``: the history of
changes to the KB files (bot.knowledge.store) from the command line, as /kb history and
/kb undo show it in Telegram. ``kb apply`` and ``kb import`` are recorded there too.

Exit codes: 0 done, 1 nothing to undo or the KB changed meanwhile, 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.config import Config


def add_parser(kb_sub: argparse._SubParsersAction) -> None:
    from bot.app.cli import COMMANDS

    hist = kb_sub.add_parser("history", help="recent changes to the KB files: who, when, what")
    hist.add_argument("-n", type=int, default=20, help="how many (default 20)")
    hist.add_argument("--knowledge", help="knowledge-base directory")
    undo = kb_sub.add_parser("undo", help="restore the files as they were before the latest "
                                          "change (byte for byte)")
    undo.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    undo.add_argument("--author", help="who undoes it, for the history (default: the login)")
    undo.add_argument("--knowledge", help="knowledge-base directory")
    COMMANDS["kb history"] = cmd_history
    COMMANDS["kb undo"] = cmd_undo


def _store(args: argparse.Namespace, config: Config):
    from bot.app.cli import kb_store

    return kb_store(args, config)


def _line(h) -> str:
    undone = " (undone)" if h.undone_by else ""
    return f"{h.id}  {h.at:%Y-%m-%d %H:%M} UTC  {h.author}: {h.summary}{undone}"


def cmd_history(args: argparse.Namespace, config: Config) -> int:
    items = _store(args, config).history(max(1, args.n))
    if not items:
        print("no changes recorded yet")
    for h in items:
        print(_line(h))
    return 0


def cmd_undo(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge.store import StaleVersion

    store = _store(args, config)
    version = store.version()
    target = next((h for h in store.history(1000) if h.undoes is None and not h.undone_by),
                  None)
    if target is None:
        print("nothing to undo", file=sys.stderr)
        return 1
    print(f"undo: {_line(target)}")
    if not args.yes and input("restore the files as they were before it? [y/N] ").strip() \
            .lower() not in ("y", "yes"):
        print("cancelled: nothing was changed")
        return 1
    try:
        store.undo(author=args.author or f"{getpass.getuser()} (command line)", base=version)
    except StaleVersion:
        print("error: the knowledge base changed meanwhile; nothing was changed. Run "
              "`kb history` and try again", file=sys.stderr)
        return 1
    print("undone; a running bot reloads by itself (knowledge.watch) or on /reload")
    return 0
