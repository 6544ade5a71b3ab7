"""Answer-engine latency, KB load time and peak memory on generated knowledge bases.

Each size runs in its own process so peak memory (max RSS) belongs to that size alone.
Phrasings are built from CLINC150 utterances plus generated topic words, so the vocabulary
and word frequencies look like real questions; queries are perturbed phrasings (typos,
dropped words) and unrelated questions.

    python bench/latency.py                  # 30, 1000 and 10000 entries, 10 phrasings each
    python bench/latency.py --sizes 1000 --queries 5000
    python bench/latency.py --sizes 10000 --news 1000   # with 1,000 news items too
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLINC = ROOT.parent / "shared" / "benchmarks" / "clinc150" / "data_full.json"
SYLLABLES = "ka lo mi ne su ta ri vo pe zu an el or is um ba de fi go hu".split()


def topic_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def generate(directory: Path, n_entries: int, seed: int = 1, n_news: int = 0) -> list[str]:
    rng = random.Random(seed)
    if CLINC.exists():
        base = [t for t, _ in json.loads(CLINC.read_text())["train"]]
    else:  # pragma: no cover - the benchmark data ships in shared/
        base = ["how do i get there", "what does it cost", "when does it start"]
    entries, used = [], set()
    for i in range(n_entries):
        topic = [topic_word(rng) for _ in range(2)]
        qs = []
        while len(qs) < 10:
            words = rng.choice(base).split()
            words.insert(rng.randint(0, len(words)), rng.choice(topic))
            q = " ".join(words) + f" {i}"
            if q not in used:
                used.add(q)
                qs.append(q)
        entries.append({
            "id": f"gen.e{i}", "category": "gen", "questions": {"en": qs, "ru": [f"вопрос {i}"]},
            "answer": {"en": f"Answer {i}", "ru": f"Ответ {i}"},
        })
    categories = [{"id": "gen", "title": {"en": "Gen", "ru": "Ген"}}]
    if n_news:
        # The news entry (the action that shows news) and the news items, which the engine
        # searches with the entries.
        categories.append({"id": "news", "title": {"en": "News", "ru": "Новости"}})
        entries.append({
            "id": "news.latest", "category": "news", "action": "show_news",
            "questions": {"en": ["latest news", "any news?"], "ru": ["новости"]},
            "answer": {"en": "News", "ru": "Новости"},
        })
        items = []
        for i in range(n_news):
            topic = " ".join(topic_word(rng) for _ in range(2))
            title = f"{rng.choice(base)} {topic}"
            summary = f"{rng.choice(base)} {rng.choice(base)} {topic} {i}"
            items.append({"id": f"n{i}", "date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
                          "title": {"en": title, "ru": f"новость {topic}"},
                          "summary": {"en": summary, "ru": f"сводка {i}"},
                          "body": {"en": summary, "ru": f"текст {i}"}, "tags": ["gen"]})
        (directory / "news").mkdir()
        (directory / "news" / "items.yaml").write_text(
            yaml.safe_dump({"news": items}, allow_unicode=True))
    (directory / "categories.yaml").write_text(yaml.safe_dump({"categories": categories}))
    for start in range(0, len(entries), 500):
        (directory / f"gen{start:06d}.yaml").write_text(
            yaml.safe_dump({"entries": entries[start:start + 500]}, allow_unicode=True))
    return [q for e in entries for q in e["questions"]["en"]]


def perturb(q: str, rng: random.Random) -> str:
    words = q.split()[:-1]
    if len(words) > 3 and rng.random() < 0.5:
        words.pop(rng.randrange(len(words)))
    w = rng.randrange(len(words))
    if len(words[w]) > 4:
        i = rng.randrange(1, len(words[w]) - 1)
        words[w] = words[w][:i] + words[w][i + 1] + words[w][i] + words[w][i + 2:]
    return " ".join(words)


def measure(n_entries: int, n_queries: int, n_news: int = 0) -> dict:
    from bot.knowledge import load_knowledge
    from bot.matching import AnswerEngine

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        phrasings = generate(Path(tmp), n_entries, n_news=n_news)
        t0 = time.perf_counter()
        kb, _ = load_knowledge(tmp)
        t1 = time.perf_counter()
        engine = AnswerEngine(kb)
        t2 = time.perf_counter()
    queries = [perturb(rng.choice(phrasings), rng) if i % 4 else
               f"unrelated question number {i} about the weather" for i in range(n_queries)]
    for q in queries[:50]:
        engine.match(q)
    times = []
    for q in queries:
        s = time.perf_counter()
        engine.match(q)
        times.append(time.perf_counter() - s)
    times.sort()
    return {
        "entries": n_entries, "news": len(kb.news), "phrasings": len(phrasings),
        "yaml_load_s": round(t1 - t0, 2), "index_build_s": round(t2 - t1, 2),
        "p50_ms": round(statistics.median(times) * 1000, 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1] * 1000, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[30, 1000, 10000])
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--news", type=int, default=0, help="news items in the KB too")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.queries, args.news)))
        return
    print("| entries | news items | phrasings | YAML load + validate | index build | p50 | p99 "
          "| peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--queries",
                              str(args.queries), "--news", str(args.news)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {r['entries']} | {r['news']} | {r['phrasings']} | {r['yaml_load_s']} s | "
              f"{r['index_build_s']} s | {r['p50_ms']} ms | {r['p99_ms']} ms | "
              f"{r['peak_rss_mb']} MB |", flush=True)


if __name__ == "__main__":
    main()
