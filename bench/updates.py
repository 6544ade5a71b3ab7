"""End-to-end throughput of the production bot: questions answered per second.

The production dispatcher (bot.app.build_app / create_bot, the shipped knowledge base, SQLite
in WAL mode in a temp dir, INFO logging into a file as ``bsmu-bot run`` logs to stderr)
long-polls the fake Bot API on 127.0.0.1, exactly as it polls Telegram. By default the fake
API runs in a second process together with the load generator, so the bot process has its
Python thread to itself as in production, where Telegram's servers are elsewhere
(``--inprocess`` runs both in one event loop, which charges the fake server to the bot).

Simulated users (half with language_code en, half ru) ask questions from
tests/eval/questions.yaml (in_scope and out_of_scope, in their language). Each user waits for
the answer before asking again, and at most --concurrency questions are pending at once (a
closed loop): when an answer is complete, the next idle user's prebuilt update is injected
with api.inject_update. Latency runs from injection to the bot's last message of the answer,
as the fake API receives it. How many messages each question gets (answers with an action
get two) is learnt first in a calibration pass that asks every distinct question once.
Calibration and --warmup questions are not measured.

errors = updates that failed in the bot (handlers/errors.py logs each one at ERROR and
replies "something went wrong"), API calls the fake server refused, questions left without
an answer, and messages that belong to no question; all of the measured phase.

The per-user flood limit is raised to 1000 messages/s, so it drops nothing, and the token's
pacer (shared by replies and digests) to its ceiling of 1,000 messages/s.

``--bot production,minimal,echo`` runs the bots one after another, each in a fresh process
with the same parameters (``--rounds N`` repeats the sequence, interleaved, so a change in
the machine's load hits every bot alike), and prints their CPU per question side by side
with the ratios production ÷ minimal and production ÷ echo.

    python bench/updates.py                          # 20000 questions, 1000 users
    python bench/updates.py --questions 5000 --concurrency 50 --json
    python bench/updates.py --profile cprofile       # the bot process, measured phase only
    python bench/updates.py --bot production,minimal,echo --rounds 2 --questions 6000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import html
import json
import logging
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUESTIONS = ROOT / "tests" / "eval" / "questions.yaml"
TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"
FLOOD = {"messages": 1000, "seconds": 1}
DIGEST = {"rate": 1000, "paid_broadcast": True}  # the pacer's ceiling: see bench()
USER_BASE = 700_000_000  # benchmark users: USER_BASE + i
CALIB_BASE = 800_000_000  # calibration users: one per distinct question
log = logging.getLogger("bench.updates")


def load_questions(path: Path = QUESTIONS) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pools: dict[str, list[str]] = {"en": [], "ru": []}
    for item in [*data["in_scope"], *data["out_of_scope"]]:
        if item["q"] not in pools[item["lang"]]:
            pools[item["lang"]].append(item["q"])
    return pools


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return math.nan
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k]


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_mb() -> float:
    """Current resident set size."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- load generator (runs next to the fake API) ----------------------------------------------


class Load:
    """Drives simulated users against a FakeTelegram and times the bot's replies."""

    def __init__(self, api, *, users: int, questions: int, warmup: int, concurrency: int,
                 seed: int = 1, stall: float = 30.0, max_seconds: float = 600.0,
                 on_measure=None) -> None:
        self.api = api
        self.n_users = users
        self.n_measured = questions
        self.warmup = warmup
        self.concurrency = max(1, min(concurrency, users))
        self.rng = random.Random(seed)
        self.stall = stall
        self.max_seconds = max_seconds
        self.on_measure = on_measure
        self.pools = load_questions()
        self.expected: dict[tuple[str, str], int] = {}
        self.calibration: dict[str, Any] = {}
        from bot.i18n import Translator

        translator = Translator()
        #: The generic error reply (handlers/errors.py): a question that got it has failed.
        self.error_texts = {translator.get(lang, "error-generic") for lang in ("en", "ru")}
        self._handler = None  # current subscriber body
        #: chat id -> [question, messages so far] of the last question finished in that chat,
        #: to recognise a message that arrives after its question was considered answered.
        self._last: dict[int, list] = {}
        self.late_messages = 0

    def _on_sent(self, record: dict[str, Any]) -> None:
        if self._handler is not None:
            self._handler(record)

    def _straggler(self, chat_id: int) -> bool:
        """A message for a question already considered complete: the calibration counted too
        few messages for it (they came further apart than ``quiet``). Count it from now on."""
        last = self._last.get(chat_id)
        if last is None:
            return False
        last[1] += 1
        self.expected[last[0]] = max(self.expected[last[0]], last[1])
        self.late_messages += 1
        return True

    def _forget(self, chat_id: int) -> None:
        """Drop the chat's stored messages so the fake server's memory stays flat."""
        chat = self.api.chats.get(chat_id)
        if chat is not None:
            chat.messages.clear()
            chat.history.clear()

    @staticmethod
    def _update(user_id: int, lang: str, text: str) -> dict[str, Any]:
        return {"message": {
            "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id % 100000}",
                     "language_code": lang},
            "chat": {"id": user_id, "type": "private", "first_name": f"User{user_id % 100000}"},
            "text": text,
        }}

    async def calibrate(self, concurrency: int = 32, quiet: float = 1.5,
                        timeout: float = 180.0) -> None:
        """Ask every distinct question once, from fresh users, a few at a time, and count
        the bot's messages: a chat is finished once it has been quiet for ``quiet`` s."""
        todo = collections.deque((lang, q, 0) for lang in ("en", "ru") for q in self.pools[lang])
        n_pairs = len(todo)
        active: dict[int, list] = {}  # chat id -> [lang, q, tries, messages, last message at]
        failed: list[tuple[str, str]] = []
        uid = CALIB_BASE

        def handler(record: dict[str, Any]) -> None:
            a = active.get(record["chat_id"])
            if a is None:
                self._straggler(record["chat_id"])
                return
            if record.get("plain_text") in self.error_texts:
                a[3] = -1  # the bot reported an error: ask again later
            elif a[3] >= 0:
                a[3] += 1
            a[4] = time.perf_counter()

        self._handler = handler
        t0 = time.perf_counter()
        while (todo or active) and time.perf_counter() - t0 < timeout:
            while todo and len(active) < concurrency:
                lang, q, tries = todo.popleft()
                uid += 1
                active[uid] = [lang, q, tries, 0, math.inf]
                self.api.inject_update(self._update(uid, lang, q))
            await asyncio.sleep(0.05)
            now = time.perf_counter()
            for chat_id, (lang, q, tries, got, last) in list(active.items()):
                if now - last < quiet:
                    continue
                del active[chat_id]
                self._forget(chat_id)
                if got > 0:
                    self.expected[(lang, q)] = got
                    self._last[chat_id] = [(lang, q), got]
                elif tries < 2:
                    todo.append((lang, q, tries + 1))
                else:
                    failed.append((lang, q))
        self._handler = None
        failed += [(lang, q) for lang, q, *_ in [*todo, *active.values()]]
        for lang, q in failed:
            self.pools[lang].remove(q)
        self.calibration = {
            "questions": n_pairs, "users": uid - CALIB_BASE,
            "seconds": round(time.perf_counter() - t0, 2), "unanswered": len(failed),
            "messages_per_question": dict(collections.Counter(self.expected.values())),
        }

    async def run(self) -> dict[str, Any]:
        api, rng = self.api, self.rng
        total = self.warmup + self.n_measured
        n = self.n_users
        # Prebuilt updates: user i asks questions i, i+n, i+2n... of the run, in their language.
        langs = ["en" if i % 2 == 0 else "ru" for i in range(n)]
        plans: list[collections.deque] = [collections.deque() for _ in range(n)]
        for k in range(total):
            i = k % n
            q = rng.choice(self.pools[langs[i]])
            plans[i].append((self._update(USER_BASE + i, langs[i], q), (langs[i], q)))
        idle = collections.deque(rng.sample(range(n), n))
        # chat id -> [seq, t_injected, question, messages, t_first, message id of the question]
        pending: dict[int, list] = {}
        lat: list[float] = []
        first_lat: list[float] = []
        methods: collections.Counter[str] = collections.Counter()
        st = {"injected": 0, "done": 0, "measured": 0, "unexpected": 0, "error_replies": 0,
              "ok": 0, "failed_measured": 0,
              "t_start": None, "t_last": None, "progress": time.perf_counter(),
              "api_start": None, "api_errors_start": 0, "cpu_start": None}
        finished = asyncio.Event()

        def inject() -> None:
            while len(pending) < self.concurrency and idle and st["injected"] < total:
                i = idle.popleft()
                if not plans[i]:
                    continue
                update, key = plans[i].popleft()
                seq = st["injected"]
                st["injected"] = seq + 1
                now = time.perf_counter()
                if seq == self.warmup:
                    st["t_start"] = now
                    st["api_start"] = api.stats.requests
                    st["api_errors_start"] = api.stats.errors
                    st["cpu_start"] = cpu_seconds()
                    if self.on_measure:
                        self.on_measure()
                p = pending[USER_BASE + i] = [seq, now, key, 0, 0.0, 0]
                p[5] = api.inject_update(update)["message"]["message_id"]

        def handler(record: dict[str, Any]) -> None:
            now = time.perf_counter()
            methods[record["method"]] += 1
            chat_id = record["chat_id"]
            p = pending.get(chat_id)
            if p is None or record["message_id"] < p[5]:  # not an answer to the pending one
                if not self._straggler(chat_id):
                    st["unexpected"] += 1
                return
            failed = record.get("plain_text") in self.error_texts
            p[3] += 1
            if p[3] == 1:
                p[4] = now - p[1]
            if p[3] < self.expected[p[2]] and not failed:
                return
            self._last[chat_id] = [p[2], p[3]]
            del pending[chat_id]
            self._forget(chat_id)
            st["done"] += 1
            st["progress"] = now
            if failed:
                st["error_replies"] += 1
                st["failed_measured"] += p[0] >= self.warmup
            else:
                st["ok"] += 1
            if not failed and p[0] >= self.warmup:
                lat.append(now - p[1])
                first_lat.append(p[4])
                st["measured"] += 1
                st["t_last"] = now
            idle.append(chat_id - USER_BASE)
            inject()
            if st["done"] >= total:
                finished.set()

        self._handler = handler
        t0 = time.perf_counter()
        inject()
        reason = "done"
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), 0.25)
            now = time.perf_counter()
            if now - st["progress"] > self.stall:
                reason = f"stalled: no answer completed for {self.stall:.0f} s"
                break
            if now - t0 > self.max_seconds:
                reason = f"time limit: {self.max_seconds:.0f} s"
                break
        self._handler = None
        elapsed = (st["t_last"] - st["t_start"]) if st["t_start"] and st["t_last"] else math.nan
        cpu = cpu_seconds() - st["cpu_start"] if st["cpu_start"] is not None else math.nan
        api_requests = api.stats.requests - (st["api_start"] or 0)
        lat.sort()
        first_lat.sort()
        stats = api.stats
        return {
            "stop_reason": reason,
            "questions": self.n_measured, "users": n, "concurrency": self.concurrency,
            "warmup": self.warmup, "calibration": self.calibration,
            "answered": st["measured"], "unanswered": total - st["done"],
            "failed_measured": st["failed_measured"],
            "unanswered_measured": self.n_measured - st["measured"] - st["failed_measured"],
            "db_rows_expected": len(self.expected) + st["ok"],
            "unexpected_messages": st["unexpected"], "error_replies": st["error_replies"],
            "late_messages": self.late_messages,
            "seconds": round(elapsed, 3),
            "qps": st["measured"] / elapsed if elapsed and elapsed > 0 else math.nan,
            "p50_ms": percentile(lat, 50) * 1000, "p90_ms": percentile(lat, 90) * 1000,
            "p99_ms": percentile(lat, 99) * 1000, "max_ms": (lat[-1] * 1000 if lat else math.nan),
            "first_reply_p50_ms": percentile(first_lat, 50) * 1000,
            "first_reply_p99_ms": percentile(first_lat, 99) * 1000,
            "reply_methods": dict(methods),
            "api": {"requests": stats.requests, "errors": stats.errors,
                    "errors_measured": stats.errors - st["api_errors_start"],
                    "by_error": {str(k): v for k, v in stats.by_error.items()},
                    "by_method": dict(stats.by_method),
                    "req_per_s_measured": api_requests / elapsed if elapsed else math.nan,
                    "updates_per_getupdates": (stats.updates / stats.by_method["getUpdates"]
                                               if stats.by_method["getUpdates"] else 0)},
            "api_process_cpu_pct": 100 * cpu / elapsed if elapsed else math.nan,
            "api_process_peak_rss_mb": round(peak_rss_mb(), 1),
        }

    async def calibrate_and_run(self) -> dict[str, Any]:
        unsubscribe = self.api.subscribe(self._on_sent)
        try:
            await self.calibrate()
            return await self.run()
        finally:
            unsubscribe()


def new_api():
    from bot.fakeapi import FakeTelegram

    return FakeTelegram(token=TOKEN, bot_username="bsmu_bench_bot", history_limit=2000)


async def serve(params: dict[str, Any]) -> None:
    """Child process: fake API + load generator; talks to the bot process over stdin/stdout."""
    out = sys.stdout

    def emit(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    api = new_api()
    await api.start("127.0.0.1")
    emit({"event": "listening", "base_url": api.base_url})
    try:
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            return
        load = Load(api, **params, on_measure=lambda: emit({"event": "measure"}))
        result = await load.calibrate_and_run()
        emit({"event": "result", "result": result})
        await asyncio.to_thread(sys.stdin.readline)  # "stop" or EOF
    finally:
        await api.stop()


# --- bot process -----------------------------------------------------------------------------


class Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()
        self.measured: collections.Counter[str] = collections.Counter()
        self.measuring = False
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1
        if self.measuring:
            self.measured[record.levelname] += 1
        if record.levelno >= logging.ERROR and len(self.samples) < 5:
            self.samples.append(f"{record.name}: {record.getMessage()[:200]}")


class GcStats:
    """Time the bot process spends in the cyclic garbage collector (it stops the loop)."""

    def __init__(self) -> None:
        self.on = False
        self.count = collections.Counter()
        self.total = 0.0
        self.longest = 0.0
        self._t = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        elif self.on:
            dt = time.perf_counter() - self._t
            self.count[info["generation"]] += 1
            self.total += dt
            self.longest = max(self.longest, dt)

    def result(self, wall: float) -> dict[str, Any]:
        return {"collections": {f"gen{g}": n for g, n in sorted(self.count.items())},
                "ms_total": round(self.total * 1000), "longest_ms": round(self.longest * 1000, 1),
                "share_pct": round(100 * self.total / wall, 1) if wall else None}


class Profiler:
    def __init__(self, kind: str | None, out: Path | None) -> None:
        self.kind, self.out, self.prof = kind, out, None

    def start(self) -> None:
        if self.kind == "cprofile":
            import cProfile

            self.prof = cProfile.Profile()
            self.prof.enable()
        elif self.kind == "pyinstrument":
            from pyinstrument import Profiler as Pyi

            self.prof = Pyi(interval=0.0005, async_mode="disabled")
            self.prof.start()

    def stop(self) -> None:
        if self.prof is None:
            return
        prof, self.prof = self.prof, None
        if self.kind == "cprofile":
            import pstats

            prof.disable()
            path = self.out or Path(tempfile.gettempdir()) / "bench-updates.prof"
            prof.dump_stats(path)
            with open(path.with_suffix(".txt"), "w") as f:
                for key in ("tottime", "cumulative"):
                    pstats.Stats(prof, stream=f).sort_stats(key).print_stats(60)
            print(f"cProfile: {path} (pstats), {path.with_suffix('.txt')} (top 60)",
                  file=sys.stderr)
        else:
            prof.stop()
            path = self.out or Path(tempfile.gettempdir()) / "bench-updates.pyinstrument"
            path.with_suffix(".txt").write_text(prof.output_text(unicode=False, color=False,
                                                                 show_all=False))
            path.with_suffix(".html").write_text(prof.output_html())
            print(f"pyinstrument: {path.with_suffix('.txt')}, {path.with_suffix('.html')}",
                  file=sys.stderr)


def setup_logging(mode: str, directory: Path) -> Counting:
    counting = Counting()
    root = logging.getLogger()
    if mode == "production":  # what `bsmu-bot run` does, but into a file instead of stderr
        handler: logging.Handler = logging.FileHandler(directory / "bot.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
        root.addHandler(handler)
    else:
        root.setLevel(logging.WARNING)
    root.addHandler(counting)
    return counting


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select

    from bot.app.factory import build_app, create_bot
    from bot.app.runner import settle_memory
    from bot.db.models import Question
    from tests.support.harness import make_config

    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    params = {"users": args.users, "questions": args.questions, "warmup": args.warmup,
              "concurrency": args.concurrency, "seed": args.seed, "stall": args.stall,
              "max_seconds": args.max_seconds}
    profiler = Profiler(args.profile, Path(args.profile_out) if args.profile_out else None)
    measure = {"cpu": None, "t": None}
    gc_stats = GcStats()
    gc.callbacks.append(gc_stats)

    def on_measure() -> None:
        measure["cpu"], measure["t"] = cpu_seconds(), time.perf_counter()
        gc_stats.on = True
        counting.measuring = True
        profiler.start()

    with tempfile.TemporaryDirectory(prefix="bench-updates-", dir=args.db_dir) as tmp:
        tmp_path = Path(tmp)
        counting = setup_logging(args.log, tmp_path)
        proc = api = None
        if args.inprocess:
            api = new_api()
            base_url = await api.start("127.0.0.1")
        else:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--serve", json.dumps(params),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=2**20)
            hello = json.loads(await proc.stdout.readline())
            base_url = hello["base_url"]
        telegram = {} if args.max_concurrent is None else {
            "max_concurrent_updates": args.max_concurrent}
        # Replies share the token's pacer with digests (bot.telegram.retry): at the default
        # 25 messages/s it, not the CPU, would set the pace. The highest rate the config
        # allows (paid broadcasts, 1,000/s) leaves the pacer on the path but not binding.
        config = make_config(tmp_path, bot={"flood": FLOOD}, telegram=telegram, digest=DIGEST)
        app = await build_app(config)
        bot = create_bot(config, token=TOKEN, api_server=base_url,
                         on_forbidden=app.mark_blocked, metrics=app.metrics)
        settle_memory()  # as bot/app/runner.py does in production (each bot alike)
        dp = {"production": lambda: app.dispatcher, "echo": echo_dispatcher,
              "minimal": lambda: minimal_dispatcher(app)}[args.bot]()
        rss_idle = rss_mb()
        options = app.polling_options() if args.bot == "production" else {
            "allowed_updates": dp.resolve_used_update_types()}
        polling = asyncio.create_task(dp.start_polling(
            bot, handle_signals=False, close_bot_session=False, **options))
        try:
            if args.inprocess:
                result = await Load(api, **params, on_measure=on_measure).calibrate_and_run()
            else:
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()
                while True:
                    line = await proc.stdout.readline()
                    if not line:
                        raise RuntimeError("the fake API process died (see stderr)")
                    msg = json.loads(line)
                    if msg["event"] == "measure":
                        on_measure()
                    elif msg["event"] == "result":
                        result = msg["result"]
                        break
            t_end, cpu_end = time.perf_counter(), cpu_seconds()
            gc_stats.on = False
            counting.measuring = False
            profiler.stop()
        finally:
            profiler.stop()
            await dp.stop_polling()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(polling, 15)
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.write(b"stop\n")
                    await proc.stdin.drain()
                    proc.stdin.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.wait(), 15)
                if proc.returncode is None:
                    proc.kill()
            else:
                await api.stop()
        await app.inflight.wait_idle(10)
        async with app.services.sessionmaker() as session:
            db_rows = await session.scalar(select(func.count()).select_from(Question))
        await app.close()
        await bot.session.close()
        db_size = sum(f.stat().st_size for f in tmp_path.glob("bot.db*"))

    if measure["t"] is not None:
        wall = t_end - measure["t"]
        result["bot_process_cpu_pct"] = 100 * (cpu_end - measure["cpu"]) / wall
        result["bot_cpu_ms_per_question"] = (1000 * (cpu_end - measure["cpu"])
                                             / max(1, result["answered"]))
        result["bot_gc"] = gc_stats.result(wall)
    result["loadavg_1min_at_end"] = round(os.getloadavg()[0], 2)
    result["mode"] = "in-process" if args.inprocess else "fake API in a separate process"
    result["bot_rss_idle_mb"] = round(rss_idle, 1)
    result["bot_peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.tracemalloc:
        import tracemalloc

        result["bot_tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    result["db_question_rows"] = db_rows
    result["db_files_mb"] = round(db_size / 2**20, 1)
    result["log"] = {"mode": args.log, **counting.counts,
                     "measured": dict(counting.measured), "error_samples": counting.samples}
    # Errors of the measured phase: updates that failed in the bot (each logs an ERROR),
    # API calls refused by the fake server, questions never answered, stray messages.
    result["errors"] = (counting.measured["ERROR"] + counting.measured["CRITICAL"]
                        + result["api"]["errors_measured"] + result["unanswered_measured"]
                        + result["unexpected_messages"])
    result["errors_whole_run"] = (counting.counts["ERROR"] + counting.counts["CRITICAL"]
                                  + result["api"]["errors"] + result["unanswered"]
                                  + result["unexpected_messages"]
                                  + result["calibration"]["unanswered"])
    return result


def echo_dispatcher():
    """The ceiling: a bare aiogram bot that echoes each text, on the same Bot (session,
    RetryMiddleware), polling and fake API; no middlewares, database or engine."""
    from aiogram import Dispatcher
    from aiogram.types import Message

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(html.escape(message.text or "?"))

    return dp


def minimal_dispatcher(app):
    """The floor of what the issue asks of each question: the engine's answer (or the
    fallback text) sent and the question stored (batched, as production does), on the same
    Bot, polling and fake API. No middlewares, routers, keyboards, flood guard, feedback or
    news; each user is written once."""
    from aiogram import Dispatcher
    from aiogram.types import Message

    from bot.db import users
    from bot.ui.answers import OUTCOMES

    dp = Dispatcher()
    engine = app.services.knowledge.engine
    sessions = app.services.sessionmaker
    questions = app.services.questions  # batched, as in production (bot.db.question_log)
    known: set[int] = set()

    @dp.message()
    async def answer(message: Message) -> None:
        text = message.text or ""
        result = engine.match(text)
        user = message.from_user
        if user.id not in known:
            async with sessions() as session:
                await users.upsert_user(session, user.id, username=user.username,
                                       first_name=user.first_name,
                                       language_code=user.language_code)
                await session.commit()
            known.add(user.id)
        await questions.record(
            user_id=user.id, chat_id=message.chat.id, text=text, lang=result.lang,
            matched_id=result.id or result.best_guess, score=result.score,
            outcome=OUTCOMES[result.kind])
        reply = result.entry.answer_in(result.lang) if result.kind == "answer" else "?"
        await message.answer(reply[:4096])

    return dp


BOTS = ("production", "minimal", "echo")
RESULT_MARK = "BENCH-RESULT "


def compare(bots: list[str], rounds: int) -> None:
    """Each bot in a process of its own (same arguments but --bot), ``rounds`` times in
    turn; then their CPU per question side by side, with the ratios the issue sets."""
    argv, skip = [], False
    for a in sys.argv[1:]:  # the same arguments, minus --bot/--rounds/--json
        if skip:
            skip = False
            continue
        if a in ("--bot", "--rounds"):
            skip = True
            continue
        if a.startswith(("--bot=", "--rounds=")) or a == "--json":
            continue
        argv.append(a)
    runs: dict[str, list[dict[str, Any]]] = {b: [] for b in bots}
    import subprocess

    for n in range(rounds):
        for b in bots:
            proc = subprocess.run([sys.executable, __file__, *argv, "--bot", b, "--json"],
                                  capture_output=True, text=True)
            out = proc.stdout
            start = out.find("\n{")
            if proc.returncode != 0 or start < 0:
                print(out, proc.stderr, file=sys.stderr)
                raise SystemExit(f"{b}: the run failed (exit {proc.returncode})")
            r = json.loads(out[start + 1:])
            runs[b].append(r)
            print(f"round {n + 1}, {b}: {r['qps']:.0f} q/s, "
                  f"{r.get('bot_cpu_ms_per_question', math.nan):.2f} ms CPU per question, "
                  f"{r['errors']} errors", file=sys.stderr, flush=True)

    def spread(values: list[float], fmt: str) -> str:
        lo, hi = min(values), max(values)
        return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else \
            f"{fmt.format(lo)} – {fmt.format(hi)}"

    print(f"\n{rounds} round(s), each bot in its own process, in turn\n")
    print("| bot | questions/s | p50 | p99 | CPU per question | idle RSS | peak RSS | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for b in bots:
        rs = runs[b]
        print(f"| {b} | {spread([r['qps'] for r in rs], '{:,.0f}')} | "
              f"{spread([r['p50_ms'] for r in rs], '{:,.0f} ms')} | "
              f"{spread([r['p99_ms'] for r in rs], '{:,.0f} ms')} | "
              f"{spread([r['bot_cpu_ms_per_question'] for r in rs], '{:.2f} ms')} | "
              f"{spread([r['bot_rss_idle_mb'] for r in rs], '{:.0f} MB')} | "
              f"{spread([r['bot_peak_rss_mb'] for r in rs], '{:.0f} MB')} | "
              f"{sum(r['errors'] for r in rs)} |")
    if "production" in runs:
        prod = [r["bot_cpu_ms_per_question"] for r in runs["production"]]
        for other, target in (("minimal", 1.3), ("echo", 3.0)):
            if other in runs:
                ratios = [p / r["bot_cpu_ms_per_question"]
                          for p, r in zip(prod, runs[other], strict=True)]
                within = sum(r <= target for r in ratios)
                print(f"\nCPU per question, production ÷ {other} (same round): "
                      f"{spread(ratios, '{:.2f}×')}, median {statistics.median(ratios):.2f}×, "
                      f"{within} of {len(ratios)} round(s) within the target "
                      f"(≤ {target}×)", end="")
        print()


def fmt_ms(v: float) -> str:
    return "n/a" if v != v else (f"{v:.0f} ms" if v >= 100 else f"{v:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=20000, help="measured questions")
    ap.add_argument("--users", type=int, default=1000, help="distinct simulated users")
    ap.add_argument("--concurrency", "--batch", type=int, default=200,
                    help="questions pending at once (<= users; one per user)")
    ap.add_argument("--warmup", type=int, default=2000, help="unmeasured questions first")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-concurrent", type=int,
                    help="telegram.max_concurrent_updates (default: the config's default)")
    ap.add_argument("--inprocess", action="store_true",
                    help="run the fake API in the bot's event loop")
    ap.add_argument("--bot", default="production",
                    help="production, echo (a bare aiogram echo bot on the same set-up: the "
                         "ceiling), minimal (only the engine's answer and the stored "
                         "question), or several, comma-separated, compared side by side")
    ap.add_argument("--rounds", type=int, default=1,
                    help="with several bots: how many times to run the sequence")
    ap.add_argument("--log", choices=["production", "warning"], default="production",
                    help="production: INFO to a file, as `bsmu-bot run` logs (default)")
    ap.add_argument("--db-dir", help="where the temp dir with the SQLite file goes")
    ap.add_argument("--stall", type=float, default=30.0,
                    help="stop if no answer completes for this many seconds")
    ap.add_argument("--max-seconds", type=float, default=600.0, help="hard limit for the run")
    ap.add_argument("--profile", choices=["cprofile", "pyinstrument"],
                    help="profile the bot process during the measured phase")
    ap.add_argument("--profile-out", help="profile output path (default: $TMPDIR/bench-...)")
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    ap.add_argument("--json", action="store_true", help="print the full result as JSON too")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(json.loads(args.serve)))
        return
    bots = [b.strip() for b in args.bot.split(",") if b.strip()]
    if any(b not in BOTS for b in bots) or not bots:
        ap.error(f"--bot: choose from {', '.join(BOTS)} (comma-separated)")
    if len(bots) > 1 or args.rounds > 1:
        compare(bots, args.rounds)
        return
    r = asyncio.run(bench(args))
    print(f"Fake Bot API on 127.0.0.1 ({r['mode']}), long polling, SQLite WAL; per-user "
          f"flood limit raised to {FLOOD['messages']} messages/{FLOOD['seconds']} s; "
          f"{r['concurrency']} questions pending at once; {r['calibration']['questions']} "
          f"calibration and {r['warmup']} warm-up questions not measured.\n")
    print("| questions | users | q/s | p50 | p99 | peak RSS | errors |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {r['questions']} | {r['users']} | {r['qps']:.0f} | {fmt_ms(r['p50_ms'])} | "
          f"{fmt_ms(r['p99_ms'])} | {r['bot_peak_rss_mb']:.0f} MB | {r['errors']} |\n")
    notes = [
        f"{r['answered']} answered in {r['seconds']:.1f} s; first message of the answer "
        f"p50 {fmt_ms(r['first_reply_p50_ms'])}, p99 {fmt_ms(r['first_reply_p99_ms'])}",
        f"errors: {r['errors']} in the measured phase, {r['errors_whole_run']} in the whole "
        f"run ({r['error_replies']} \"something went wrong\" replies, "
        f"{r['unexpected_messages']} stray and {r['late_messages']} late messages)",
        f"bot process: {r.get('bot_process_cpu_pct', math.nan):.0f}% of a core, "
        f"{r.get('bot_cpu_ms_per_question', math.nan):.1f} ms CPU per question; RSS "
        f"{r['bot_rss_idle_mb']:.0f} MB idle, {r['bot_peak_rss_mb']:.0f} MB peak",
        f"fake API: {r['api']['req_per_s_measured']:.0f} requests/s, "
        + ("in the bot's process (its CPU is in the line above)" if args.inprocess else
           f"{r['api_process_cpu_pct']:.0f}% of a core in its own process")
        + f"; {r['api']['updates_per_getupdates']:.1f} updates per getUpdates",
        f"database: {r['db_question_rows']} question rows (expected "
        f"{r['db_rows_expected']}), {r['db_files_mb']} MB",
        f"load average {r['loadavg_1min_at_end']} on {os.cpu_count()} CPUs at the end; "
        f"stopped: {r['stop_reason']}",
    ]
    if "bot_gc" in r:
        g = r["bot_gc"]
        notes.append(f"bot GC: {g['collections']}, {g['ms_total']} ms "
                     f"({g['share_pct']}% of the time), longest pause {g['longest_ms']} ms")
    if "bot_tracemalloc_peak_mb" in r:
        notes.append(f"tracemalloc peak: {r['bot_tracemalloc_peak_mb']} MB")
    print("\n".join(f"- {n}" for n in notes))
    if r["log"].get("error_samples"):
        print("- first errors logged:", *(e.splitlines()[0] for e in r["log"]["error_samples"]),
              sep="\n  - ")
    if args.json:
        print(json.dumps(r, indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
