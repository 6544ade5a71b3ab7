"""Answer quality on the evaluation sets in tests/eval/, and where the KB is weak.

For each set: in-scope top-1 (the answer or the first suggestion is the right entry),
answered outright (right and answered), confidently wrong (an in-scope question answered
with another entry), out-of-scope rejected (fell back) and answered (got an answer); then
a per-entry confusion table on all the sets together: for each entry, how many of its
questions went right, which entries took the others (and how many questions of other
entries, or out-of-scope ones, it took, as answer or first suggestion); the row
"(out of scope)" counts a rejection as right.

Questions that coincide (after normalisation) with a KB phrasing, and out-of-scope questions
that coincide with an example of knowledge/out_of_scope.yaml, are left out, as in
tests/unit/test_eval_quality.py: they measure recall of the KB's own text.

    python bench/quality.py                      # every set in tests/eval/
    python bench/quality.py --sets questions     # one set
    python bench/quality.py --misses             # also list every miss (dev set only!)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from bot.matching import AnswerEngine  # noqa: E402
from bot.text.normalize import normalize  # noqa: E402

EVAL = ROOT / "tests" / "eval"
OOS = "(out of scope)"
FALLBACK = "(fallback)"


def evaluate(engine: AnswerEngine, data: dict) -> dict:
    """Counts and per-question outcomes (expected id, predicted id or FALLBACK, kind)."""
    kb_phrasings = {normalize(q) for e in engine.kb.entries.values()
                    for qs in e.questions.values() for q in qs}
    items = [q for q in data.get("in_scope") or [] if normalize(q["q"]) not in kb_phrasings]
    examples = {normalize(x.text) for x in engine.kb.out_of_scope}
    oos = [q for q in data.get("out_of_scope") or [] if normalize(q["q"]) not in examples]
    out = {"n_in": len(items), "top1": 0, "answered": 0, "wrong": 0,
           "n_oos": len(oos), "rejected": 0, "oos_answered": 0, "rows": []}
    for item in items:
        r = engine.match(item["q"], hint=item["lang"])
        best = r.id or (r.suggestions[0].id if r.suggestions else None)
        out["top1"] += best == item["id"]
        out["answered"] += r.kind == "answer" and best == item["id"]
        out["wrong"] += r.kind == "answer" and best != item["id"]
        out["rows"].append((item["id"], best or FALLBACK, r.kind, item["q"], r.score))
    for item in oos:
        r = engine.match(item["q"], hint=item["lang"])
        out["rejected"] += r.kind == "fallback"
        out["oos_answered"] += r.kind == "answer"
        best = r.id or (r.suggestions[0].id if r.suggestions else None)
        out["rows"].append((OOS, best or FALLBACK, r.kind, item["q"], r.score))
    return out


def pct(a: int, b: int) -> str:
    return f"{a / b:.1%}" if b else "-"


def summary_table(results: dict[str, dict]) -> None:
    print("| set | in-scope | top-1 | answered outright | confidently wrong | "
          "out-of-scope | rejected | answered |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['n_in']} | {pct(r['top1'], r['n_in'])} | "
              f"{pct(r['answered'], r['n_in'])} | {r['wrong']} | {r['n_oos']} | "
              f"{pct(r['rejected'], r['n_oos'])} | {r['oos_answered']} |")


def confusion_table(results: dict[str, dict], top: int = 3) -> None:
    """Per entry: its questions (right / answered), who took the rest, what it took."""
    right: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    total: Counter[str] = Counter()
    lost: dict[str, Counter[str]] = defaultdict(Counter)  # expected -> predicted
    took: dict[str, Counter[str]] = defaultdict(Counter)  # predicted -> expected
    for r in results.values():
        for expected, got, kind, _, _ in r["rows"]:
            total[expected] += 1
            if got == expected or (expected == OOS and kind == "fallback"):
                right[expected] += 1
                answered[expected] += kind == "answer" or expected == OOS
                continue
            shown = FALLBACK if kind == "fallback" else got
            lost[expected][shown] += 1
            if kind != "fallback":
                took[got][expected] += 1

    def fmt(c: Counter[str]) -> str:
        return ", ".join(f"{k} {n}" for k, n in c.most_common(top)) or ""

    print("| entry | questions | top-1 | answered | lost to | took from |")
    print("|---|---|---|---|---|---|")
    ids = sorted(total, key=lambda k: (right[k] / total[k], k))
    for k in ids:
        print(f"| {k} | {total[k]} | {pct(right[k], total[k])} | "
              f"{pct(answered[k], total[k])} | {fmt(lost[k])} | {fmt(took[k])} |")
    others = sorted(k for k in took if k not in total)
    for k in others:
        print(f"| {k} | 0 | - | - | | {fmt(took[k])} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    ap.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    ap.add_argument("--sets", nargs="*", help="names in tests/eval/ (default: all)")
    ap.add_argument("--misses", action="store_true", help="list every miss")
    ap.add_argument("--no-confusion", action="store_true")
    args = ap.parse_args()
    kb, _ = load_knowledge(args.knowledge)
    t0 = time.perf_counter()
    engine = AnswerEngine(kb, load_config(args.config).matching)
    build = time.perf_counter() - t0
    names = args.sets or sorted(p.stem for p in EVAL.glob("*.yaml"))
    results = {}
    for name in names:
        data = yaml.safe_load((EVAL / f"{name}.yaml").read_text("utf-8"))
        results[name] = evaluate(engine, data)
    print(f"{len(kb.entries)} entries, engine built in {build:.2f} s\n")
    summary_table(results)
    if not args.no_confusion:
        print()
        confusion_table(results)
    if args.misses:
        for name, r in results.items():
            print(f"\n## misses: {name}")
            for expected, got, kind, q, score in r["rows"]:
                ok = got == expected if expected != OOS else kind == "fallback"
                if not ok or (expected != OOS and kind != "answer"):
                    print(f"{expected:28} {kind:8} {got:28} {score:5.1f}  {q}")


if __name__ == "__main__":
    main()
