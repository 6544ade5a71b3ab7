"""The answer engine on CLINC150 (intent classification with out-of-scope queries).

Protocol (shared/benchmarks/clinc150/README.md): K training utterances per intent become the
phrasings of one entry; a test query is right if its intent is answered (top entry, score at
or above the threshold), an out-of-scope query is right if the engine falls back. The
threshold is chosen on val + oos_val only: the highest in-scope accuracy whose OOS recall on
val is at least --oos-target. Results are the mean of --draws random draws of the phrasings.

    python bench/clinc150.py                 # K=5 and K=10, report on test
    python bench/clinc150.py --tune          # grid over the engine's weights, on val only

--oos-examples N gives the engine the first N out-of-scope training utterances (oos_train)
as its out-of-scope examples, as knowledge/out_of_scope.yaml does for the bot.

The engine's knowledge-base-specific knobs, the penalty for unknown words (matching.
unknown_penalty in config.yaml) and the share of a question the answered intent must explain
(matching.min_explained), are chosen on val too, from --penalties and --min-explained.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.matching.index import Params, build  # noqa: E402

DATA = ROOT.parent / "shared" / "benchmarks" / "clinc150" / "data_full.json"


def load(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def draw(train: list, k: int, seed: int) -> list[tuple[str, str]]:
    by_intent = defaultdict(list)
    for text, intent in train:
        by_intent[intent].append(text)
    rng = random.Random(seed)
    docs = []
    for intent in sorted(by_intent):
        docs.extend((intent, t) for t in rng.sample(by_intent[intent], k))
    return docs


def predict(index, items: list, min_explained: float = 0.0) -> list[tuple[str | None, float, str]]:
    """(best key, score, intent) per query; the score is 0 when the question is out of
    scope for the engine: closer to an out-of-scope example, or the best entry explains
    less than ``min_explained`` of its words (matching.min_explained)."""
    out = []
    for text, intent in items:
        ranking = index.rank(text, limit=1)
        if not ranking.hits:
            out.append((None, 0.0, intent))
            continue
        key, score = ranking.hits[0].key, ranking.hits[0].score
        out.append((key, 0.0 if index.falls_back(ranking, key, min_explained) else score,
                    intent))
    return out


def rates(preds_in, preds_oos, threshold: float) -> tuple[float, float, float]:
    """In-scope accuracy, OOS recall, answer precision."""
    right = sum(1 for key, s, intent in preds_in if s >= threshold and key == intent)
    answered_in = sum(1 for _, s, _ in preds_in if s >= threshold)
    rejected = sum(1 for _, s, _ in preds_oos if s < threshold)
    answered = answered_in + (len(preds_oos) - rejected)
    precision = right / answered if answered else 1.0
    return right / len(preds_in), rejected / len(preds_oos), precision


def choose_threshold(preds_in, preds_oos, oos_target: float) -> float:
    candidates = sorted({round(s, 4) for _, s, _ in preds_in + preds_oos})
    best = (-1.0, 1.0)
    for t in candidates:
        acc, rec, _ = rates(preds_in, preds_oos, t)
        if rec >= oos_target and acc > best[0]:
            best = (acc, t)
    return best[1]


def run(data: dict, k: int, seed: int, params: Params, oos_target: float, split: str,
        negatives: int = 0, min_explained: float = 0.0):
    examples = [text for text, _ in data["oos_train"][:negatives]]
    index = build(draw(data["train"], k, seed), params=params, negatives=examples)
    val_in = predict(index, data["val"], min_explained)
    val_oos = predict(index, data["oos_val"], min_explained)
    t = choose_threshold(val_in, val_oos, oos_target)
    if split == "val":
        return (*rates(val_in, val_oos, t), t)
    test_in = predict(index, data["test"], min_explained)
    test_oos = predict(index, data["oos_test"], min_explained)
    return (*rates(test_in, test_oos, t), t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--k", type=int, nargs="*", default=[5, 10])
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--oos-target", type=float, default=0.90)
    ap.add_argument("--tune", action="store_true", help="grid search on val only")
    ap.add_argument("--penalties", type=float, nargs="*", default=[0.0, 0.5, 1.0])
    ap.add_argument("--oos-examples", type=int, default=0, metavar="N",
                    help="the first N of oos_train as out-of-scope examples (0-100)")
    ap.add_argument("--min-explained", type=float, nargs="*", default=[0.0, 0.3],
                    help="matching.min_explained values to choose from on val")
    args = ap.parse_args()
    data = load(args.data)
    if args.tune:
        grid = itertools.product((0.4, 0.55, 0.7), (0.4, 0.6, 0.8), (0.0, 0.2, 0.35))
        for a, b, g in grid:
            p = Params(word_weight=a, max_weight=b, fuzzy_weight=g)
            res = [run(data, 10, s, p, args.oos_target, "val") for s in range(2)]
            acc = statistics.mean(r[0] for r in res)
            rec = statistics.mean(r[1] for r in res)
            print(f"A={a} B={b} G={g}: val in-scope {acc:.3f} oos {rec:.3f}", flush=True)
        return
    print(f"CLINC150, {args.draws} draws, threshold on val (OOS recall >= {args.oos_target})")
    print("| K | in-scope accuracy | OOS recall | answer precision | threshold | "
          "unknown_penalty | min_explained | s/draw |")
    print("|---|---|---|---|---|---|---|---|")
    for k in args.k:
        val = {(p, m): run(data, k, 0, Params(unknown_penalty=p), args.oos_target, "val",
                           args.oos_examples, m)[0]
               for p in args.penalties for m in args.min_explained}
        penalty, min_explained = max(val, key=val.get)
        params = Params(unknown_penalty=penalty)
        res, times = [], []
        for s in range(args.draws):
            t0 = time.perf_counter()
            res.append(run(data, k, s, params, args.oos_target, "test", args.oos_examples,
                           min_explained))
            times.append(time.perf_counter() - t0)
        acc, rec, prec, thr = (statistics.mean(r[i] for r in res) for i in range(4))
        print(f"| {k} | {acc:.1%} | {rec:.1%} | {prec:.1%} | {thr * 100:.1f} | "
              f"{penalty} | {min_explained} | {statistics.mean(times):.1f} |", flush=True)


if __name__ == "__main__":
    main()
