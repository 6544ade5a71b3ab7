"""Reply latency under Telegram's message limit: a burst, and a steady stream.

The production bot (build_app / create_bot, the shipped knowledge base, SQLite in a temp
dir) long-polls the fake Bot API, which enforces a global limit of ``--api-rate`` messages
per second the way Telegram does (429 with retry_after above it). Two scenarios:

* burst: ``--burst`` users (300) ask at the same moment;
* steady: ``--steady-rate`` questions per second (25) for ``--seconds`` (30).

Latency runs from the moment the user's message is queued at the fake API to the moment
the bot's answer has arrived there. Printed: answered, error replies (the "Sorry, something
went wrong" message), 429s the API had to answer, p50 / p95 / p99 / max.

    python bench/replies.py
    python bench/replies.py --burst 900 --api-rate 30 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app.factory import build_app, create_bot  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.fakeapi import FakeTelegram  # noqa: E402
from bot.i18n import LANGUAGES, Translator  # noqa: E402

TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"
QUESTIONS = ["how much are the fees?", "сколько стоит обучение?", "is there a dormitory?",
             "how do I apply?", "нужна ли виза?", "what documents do I need?"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def ask(api: FakeTelegram, uid: int, text: str, timeout: float,
              latencies: list[float], replies: list[str]) -> None:
    user = api.user(uid, "Bench", language_code="en")
    t0 = time.perf_counter()
    await user.send_text(text)
    got = await api.wait_for(1, chat_id=uid, timeout=timeout)
    latencies.append(time.perf_counter() - t0)
    replies.append(got[0].get("text") or "")


async def run(args: argparse.Namespace) -> dict:
    errors = {Translator().get(lang, "error-generic") for lang in LANGUAGES}
    with tempfile.TemporaryDirectory() as tmp:
        config = Config.model_validate({
            "database": {"url": f"sqlite+aiosqlite:///{Path(tmp) / 'bot.db'}"},
            "knowledge": {"path": str(ROOT / "knowledge"), "watch": False},
            "bot": {"flood": {"messages": 1000, "seconds": 1}},
            "digest": {"rate": args.bot_rate}})
        api = FakeTelegram(token=TOKEN, bot_username="bench_bot")
        api.set_rate_limits(global_rate=args.api_rate)
        await api.start()
        app = await build_app(config)
        bot = create_bot(config, token=TOKEN, api_server=api.base_url,
                         on_forbidden=app.mark_blocked, metrics=app.metrics)
        polling = asyncio.create_task(app.dispatcher.start_polling(
            bot, handle_signals=False, close_bot_session=False, polling_timeout=1,
            **app.polling_options()))
        try:
            results = {}
            next_id = 1_000_000
            for name in ("burst", "steady"):
                latencies: list[float] = []
                replies: list[str] = []
                limited = api.stats.rate_limited

                tasks = []
                if name == "burst":
                    n = args.burst
                    for i in range(n):
                        tasks.append(asyncio.create_task(ask(
                            api, next_id + i, QUESTIONS[i % 6], args.timeout, latencies, replies)))
                else:
                    n = int(args.steady_rate * args.seconds)
                    for i in range(n):
                        tasks.append(asyncio.create_task(ask(
                            api, next_id + i, QUESTIONS[i % 6], args.timeout, latencies, replies)))
                        await asyncio.sleep(1 / args.steady_rate)
                next_id += n
                done = await asyncio.gather(*tasks, return_exceptions=True)
                missing = sum(1 for d in done if isinstance(d, BaseException))
                results[name] = {
                    "questions": n, "answered": len(latencies), "unanswered": missing,
                    "error_replies": sum(1 for r in replies if r in errors),
                    "api_429s": api.stats.rate_limited - limited,
                    "p50_s": round(percentile(latencies, 50), 3),
                    "p95_s": round(percentile(latencies, 95), 3),
                    "p99_s": round(percentile(latencies, 99), 3),
                    "max_s": round(max(latencies, default=float("nan")), 3)}
                await asyncio.sleep(2)  # let the limiter's window pass
            return results
        finally:
            await app.dispatcher.stop_polling()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(polling, 10)
            await app.close()
            await bot.session.close()
            await api.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--burst", type=int, default=300)
    ap.add_argument("--steady-rate", type=float, default=25.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--api-rate", type=float, default=30.0, help="the fake API's limit")
    ap.add_argument("--bot-rate", type=float, default=25.0, help="digest.rate of the bot")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = asyncio.run(run(args))
    print(f"fake API limit {args.api_rate:g} msg/s, bot pacing {args.bot_rate:g} msg/s")
    print("| scenario | questions | answered | error replies | 429s | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        label = (f"burst of {r['questions']}" if name == "burst"
                 else f"steady {args.steady_rate:g}/s for {args.seconds:g} s")
        print(f"| {label} | {r['questions']} | {r['answered']} | {r['error_replies']} | "
              f"{r['api_429s']} | {r['p50_s']} s | {r['p95_s']} s | {r['p99_s']} s | "
              f"{r['max_s']} s |")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
