"""``kb check``: every problem with file, line and entry, then a summary."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.knowledge.loader import KBError, load_knowledge
from bot.knowledge.models import LANGS


def run_check(directory: Path, *, verbose: bool = False, out=None) -> int:
    out = out or sys.stdout
    try:
        kb, problems = load_knowledge(directory, strict=False)
    except KBError as exc:
        for p in exc.problems:
            print(p, file=out)
        return 1
    errors = [p for p in problems if p.level == "error"]
    warnings = [p for p in problems if p.level == "warning"]
    for p in errors + warnings:
        print(p, file=out)
    phrasings = {lang: sum(len(e.questions.get(lang, ())) for e in kb.entries.values())
                 for lang in LANGS}
    unverified = sorted(e.id for e in kb.entries.values() if not e.verified)
    print(f"\n{directory}: {len(kb.entries)} entries in {len(kb.categories)} categories, "
          f"{len(kb.files)} files", file=out)
    print("phrasings: " + ", ".join(f"{lang} {n}" for lang, n in phrasings.items()), file=out)
    print(f"news items: {len(kb.news)}", file=out)
    oos = {lang: sum(1 for x in kb.out_of_scope if x.lang == lang) for lang in LANGS}
    print("out-of-scope examples: " + ", ".join(f"{lang} {n}" for lang, n in oos.items()),
          file=out)
    print(f"unverified entries (staff to confirm): {len(unverified)}", file=out)
    if unverified and verbose:
        print("  " + ", ".join(unverified), file=out)
    print(f"{len(errors)} error(s), {len(warnings)} warning(s)", file=out)
    return 1 if errors else 0
