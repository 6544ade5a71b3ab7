"""``python -m bot kb export FILE.xlsx`` and ``python -m bot kb import FILE.xlsx
[--dry-run]``: the spreadsheet round trip of bot.knowledge.workbook from the command line.

Exit codes as elsewhere: 0 done (or nothing to change), 1 the KB files themselves have
errors, 2 bad input (not a workbook, a mistake in a cell, exported from an older version).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from bot.config import Config

USAGE = 2


def add_parser(kb_sub: argparse._SubParsersAction) -> None:
    """The ``kb export`` and ``kb import`` subcommands (bot.app.cli's ``kb`` group)."""
    from bot.app.cli import COMMANDS

    exp = kb_sub.add_parser("export", help="write the KB as a spreadsheet (knowledge.xlsx)",
                            description="Write the knowledge base as an Excel workbook staff "
                            "can edit: entries, news, out-of-scope examples; the first sheet "
                            "explains the columns.")
    exp.add_argument("file", help="the .xlsx file to write")
    exp.add_argument("--knowledge", help="knowledge-base directory")
    imp = kb_sub.add_parser("import", help="check an edited spreadsheet and write its changes",
                            description="Check an edited workbook with the rules of kb check "
                            "(errors name sheet, row and column), print what it changes, "
                            "and write the changes unless --dry-run. A workbook exported "
                            "from an older version of the KB is refused.")
    imp.add_argument("file", help="the edited .xlsx file")
    imp.add_argument("--dry-run", action="store_true", help="check and show, write nothing")
    imp.add_argument("--author", help="who made the change, for the history (default: "
                                      "the login name)")
    imp.add_argument("--knowledge", help="knowledge-base directory")
    COMMANDS["kb export"] = cmd_export
    COMMANDS["kb import"] = cmd_import


def _store(args: argparse.Namespace, config: Config):
    from bot.app.cli import kb_store

    return kb_store(args, config)


def _problems(exc) -> int:
    for p in exc.problems:
        if p.level == "error":
            print(p, file=sys.stderr)
    print("error: the knowledge-base files have errors (see above); fix them first",
          file=sys.stderr)
    return 1


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    from bot.app.cli import writable_file
    from bot.knowledge import KBError
    from bot.knowledge.workbook import export_from, out_of_scope_of

    path = writable_file(args.file, "kb export")
    try:
        data, kb, version = export_from(_store(args, config))
    except KBError as exc:
        return _problems(exc)
    path.write_bytes(data)
    print(f"{path}: {len(kb.entries)} entries, {len(kb.news)} news items, "
          f"{len(out_of_scope_of(kb))} out-of-scope examples (version {version})")
    return 0


def cmd_import(args: argparse.Namespace, config: Config) -> int:
    from bot.knowledge import KBError
    from bot.knowledge.store import KbInvalid, StaleVersion
    from bot.knowledge.workbook import MAX_BYTES, WorkbookError, prepare, save, summary_of

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return USAGE
    size = path.stat().st_size
    if size > MAX_BYTES:
        print(f"error: {path}: the file is {size / 1048576:.1f} MB; at most "
              f"{MAX_BYTES // 1048576} MB is accepted", file=sys.stderr)
        return USAGE
    store = _store(args, config)
    try:
        prepared = prepare(store, path.read_bytes())
    except WorkbookError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return USAGE
    except KBError as exc:
        return _problems(exc)
    up = prepared.upload
    if prepared.stale:
        last = prepared.last_change
        who = f" (last change by {last.author}, {last.at:%Y-%m-%d %H:%M} UTC)" if last else ""
        print(f"error: {path}: exported from version {up.version}, but the knowledge base "
              f"is now {prepared.version}{who}: export again and redo the change",
              file=sys.stderr)
        return USAGE
    for w in up.warnings:
        print(f"{path}: warning: {w}")
    if not up.ok:
        for e in up.errors:
            print(f"{path}: {e}", file=sys.stderr)
        print(f"error: {len(up.errors)} mistake(s) in the workbook; nothing was written",
              file=sys.stderr)
        return USAGE
    for line in up.summary_lines():
        print(line)
    if up.empty:
        return 0
    if args.dry_run:
        print("dry run: nothing was written")
        return 0
    author = args.author or f"{getpass.getuser()} (command line)"
    try:
        version = save(store, prepared, author)
    except StaleVersion as exc:
        print(f"error: the knowledge base changed meanwhile ({exc}); nothing was written",
              file=sys.stderr)
        return USAGE
    except KbInvalid as exc:
        for p in exc.errors:
            print(p, file=sys.stderr)
        print("error: the change would not validate; nothing was written", file=sys.stderr)
        return USAGE
    print(f"written: {summary_of(up)} (version {version}); a running bot reloads by itself "
          "(knowledge.watch) or on /reload")
    return 0
