"""Digest delivery throughput: achieved rate / configured rate, and memory, at 100,000
subscribers.

The production engine (bot.digest: planning into the persisted queue, the pacer, the group
commit writer, its own Bot API client over aiohttp, bot.digest.client) sends a daily digest
to N subscribers kept in SQLite (WAL, a temp dir) through the fake Bot API on 127.0.0.1.
The fake API runs in a second process (``--inprocess``: same event loop) and enforces the
configured limit itself (global token bucket + 1 message/s per chat, answering 429 with
retry_after), so a sender that exceeded it would be slowed by its own 429s. Rates are
measured by the fake API, from its own clock: (messages - 1) / (last - first).

Two phases, each on a fresh database with N subscribers (two languages, three topic
filters, so several distinct payloads):

* 25 messages/s (Telegram's free limit): a window of --window seconds, then a graceful
  stop (the rest stays queued, as at a shutdown);
* 1,000 messages/s (paid broadcasts, ``allow_paid_broadcast``): the full run of all N.

Peak memory is the bench process's peak RSS (planning, sending, seeding included); RSS is
also sampled every second while sending, to show it stays flat. The digest path does not
import aiogram (its pydantic models alone would be ~130 MB of RSS); the result says whether
it got loaded all the same. Bounded: every phase has a time limit (--max-seconds) and stops
by itself.

    python bench/digest.py                       # 100,000 subscribers, 25/s for 25 s, 1000/s
    python bench/digest.py --subscribers 20000 --window 10 --json

Scale-out (``--instances``): the run is planned first, then N sender processes (each a
``DigestService`` with its own engine, pacer and writer, i.e. an instance) send it
together, claiming rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL. Each phase is a
fresh database; the fake API measures the rate and counts chats that got two copies. A
limit of 0 means unlimited: no limit in the fake API and none in the senders' pacers
(the engine's own throughput). ``--db postgres`` uses a temporary PostgreSQL database
(``TEST_POSTGRES_URL`` or the local default, see tests/support/db.py)::

    python bench/digest.py --db postgres --instances 1,2 --limits 1000,0 --subscribers 30000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"
USER_BASE = 500_000_000
log = logging.getLogger("bench.digest")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the fake API process ---------------------------------------------------------------------


class Counter:
    """Counts delivered sendMessage calls with the fake server's clock; drops what the fake
    would keep, so its memory stays flat over 100,000 messages."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.reset()

    def reset(self) -> None:
        self.sent = 0
        self.first: float | None = None
        self.last: float | None = None
        self.chats: dict[int, int] = {}
        self.api.stats.reset()

    def __call__(self, record: dict[str, Any]) -> None:
        now = time.monotonic()
        if record["method"] != "sendMessage":
            return
        self.sent += 1
        self.first = self.first or now
        self.last = now
        cid = record["chat_id"]
        self.chats[cid] = self.chats.get(cid, 0) + 1
        chat = self.api.chats.get(cid)
        if chat is not None:
            chat.messages.clear()
            chat.history.clear()

    def stats(self) -> dict[str, Any]:
        span = (self.last - self.first) if self.first and self.last else 0.0
        stats = self.api.stats
        return {"sent": self.sent, "span": span,
                "rate": (self.sent - 1) / span if span > 0 else 0.0,
                "rate_limited": stats.rate_limited, "errors": stats.errors,
                "duplicates": sum(1 for n in self.chats.values() if n > 1),
                "chats": len(self.chats)}


def new_api(rate: float | None, chats: int) -> tuple[Any, Counter]:
    from bot.fakeapi import FakeTelegram

    api = FakeTelegram(token=TOKEN, bot_username="bsmu_bench_bot", global_rate=rate,
                       per_chat_rate=1.0, history_limit=1000)
    for i in range(chats):
        api.add_chat(USER_BASE + i)
    counter = Counter(api)
    api.subscribe(counter)
    return api, counter


async def serve(chats: int) -> None:
    """Child process: the fake API; commands as JSON lines on stdin, answers on stdout."""
    api, counter = new_api(None, chats)
    await api.start("127.0.0.1")
    out = sys.stdout

    def emit(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    emit({"event": "listening", "base_url": api.base_url})
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line or line.strip() == "stop":
                return
            cmd = json.loads(line)
            if cmd["cmd"] == "reset":
                api.set_rate_limits(cmd.get("rate"), 1.0)
                for chat in api.chats.values():
                    chat.forbidden = None
                counter.reset()
                emit({"ok": True})
            elif cmd["cmd"] == "stats":
                emit(counter.stats())
    finally:
        await api.stop()


class RemoteApi:
    """The bench side of the fake API process."""

    def __init__(self, proc: asyncio.subprocess.Process, base_url: str) -> None:
        self.proc, self.base_url = proc, base_url

    @classmethod
    async def start(cls, chats: int) -> RemoteApi:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", str(chats),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**20)
        hello = json.loads(await asyncio.wait_for(proc.stdout.readline(), 120))
        return cls(proc, hello["base_url"])

    async def call(self, cmd: dict[str, Any]) -> dict[str, Any]:
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the fake API process died")
        return json.loads(line)

    async def reset(self, rate: float) -> None:
        await self.call({"cmd": "reset", "rate": rate})

    async def stats(self) -> dict[str, Any]:
        return await self.call({"cmd": "stats"})

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.write(b"stop\n")
            await self.proc.stdin.drain()
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class LocalApi:
    def __init__(self, chats: int) -> None:
        self.api, self.counter = new_api(None, chats)
        self.base_url = ""

    async def begin(self) -> LocalApi:
        self.base_url = await self.api.start("127.0.0.1")
        return self

    async def reset(self, rate: float) -> None:
        self.api.set_rate_limits(rate, 1.0)
        self.counter.reset()

    async def stats(self) -> dict[str, Any]:
        return self.counter.stats()

    async def stop(self) -> None:
        await self.api.stop()


# --- the bench process ------------------------------------------------------------------------


async def seed(sessions: Any, n: int) -> None:
    """N users + daily subscriptions (en/ru, three topic filters) and three news items."""
    from sqlalchemy import insert

    from bot.db.models import NewsItem, Subscription, User

    now = datetime.now(UTC)
    topics = [None, ["admission"], ["science", "international"]]
    chunk = 5000
    async with sessions() as s:
        for start in range(0, n, chunk):
            ids = range(USER_BASE + start, USER_BASE + min(n, start + chunk))
            await s.execute(insert(User), [{"id": i, "first_name": "Bench", "first_seen": now,
                                            "last_seen": now, "blocked": False} for i in ids])
            await s.execute(insert(Subscription), [
                {"user_id": i, "chat_id": i, "frequency": "daily",
                 "lang": "ru" if i % 2 else "en", "tags": topics[i % 3], "active": True,
                 "cursor": 0, "created_at": now, "updated_at": now} for i in ids])
        items = [("admission", "Admission 2027 is open", "Приём 2027 открыт"),
                 ("science", "A new research lab", "Новая лаборатория"),
                 ("international", "Partnership with AMU", "Партнёрство с АМУ")]
        for k, (tag, en, ru) in enumerate(items):
            s.add(NewsItem(key=f"kb:bench-{k}", source="kb", url="https://www.bsmu.by/",
                           published=datetime(2026, 11, 20 + k, tzinfo=UTC), tags=[tag],
                           content={"title": {"en": en, "ru": ru},
                                    "summary": {"en": en + ": details inside.",
                                                "ru": ru + ": подробности внутри."}}))
        await s.commit()


class Sampler:
    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task | None = None

    async def _loop(self) -> None:
        while True:
            self.samples.append(rss_mb())
            await asyncio.sleep(1.0)

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()


async def phase(api: Any, tmp: Path, n: int, rate: float, window: float | None,
                max_seconds: float) -> dict[str, Any]:
    from bot.config import Config
    from bot.db import create_engine, create_sessionmaker, upgrade
    from bot.digest import queue
    from bot.digest.sender import create_digest_client
    from bot.digest.service import DigestService

    db = tmp / f"digest-{int(rate)}.db"
    config = Config.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{db}"},
        "telegram": {"api_server": api.base_url},
        "digest": {"rate": rate, "paid_broadcast": rate > 30}})
    engine = create_engine(config.database.url)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    t0 = time.perf_counter()
    await seed(sessions, n)
    seed_s = time.perf_counter() - t0
    await api.reset(rate)
    client = create_digest_client(config, token=TOKEN)
    service = DigestService(config, sessions, client, own_client=True)
    t0 = time.perf_counter()
    run_id = await queue.plan_run(sessions, "daily", f"bench-{rate:g}")
    plan_s = time.perf_counter() - t0
    planned = sum((await queue.counts(sessions, run_id)).values())
    rss_planned = rss_mb()
    limit = window if window is not None else max_seconds
    with Sampler() as sampler:
        task = asyncio.create_task(service.run("daily", f"bench-{rate:g}"))
        t0, cpu0 = time.perf_counter(), time.process_time()
        # Planning is done already (run() finds the run planned), so sending starts at once.
        while not task.done() and time.perf_counter() - t0 < limit:
            await asyncio.sleep(0.1)
        timed_out = window is None and not task.done()
        await service.stop(timeout=15)
        with contextlib.suppress(Exception):
            await task
        send_s = time.perf_counter() - t0
        cpu_s = time.process_time() - cpu0
    fake = await api.stats()
    counts = await queue.counts(sessions, run_id)
    db_mb = sum(f.stat().st_size for f in tmp.glob(db.name + "*")) / 2**20
    await engine.dispose()
    return {
        "rate": rate, "subscribers": n, "planned": planned, "seed_s": round(seed_s, 1),
        "plan_s": round(plan_s, 2), "send_s": round(send_s, 1), "fake": fake,
        "achieved": round(fake["rate"], 2), "ratio": round(fake["rate"] / rate, 3),
        "counts": counts, "timed_out": timed_out, "summary": service.summary.as_dict(),
        "rss_planned_mb": round(rss_planned, 1),
        "rss_sending_min_mb": round(min(sampler.samples or [0]), 1),
        "rss_sending_max_mb": round(max(sampler.samples or [0]), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1), "db_mb": round(db_mb, 1),
        "writer_commits": service.writer.commits,
        "cpu_ms_per_message": round(1000 * cpu_s / max(1, service.summary.messages), 3),
        "cpu_pct": round(100 * cpu_s / send_s, 1),
    }


def import_baseline() -> dict[str, float]:
    """RSS after importing what the digest process needs (as ``python -m bot digest send``
    does), before any data."""
    before = rss_mb()
    import bot.digest.cli
    import bot.digest.service  # noqa: F401

    return {"python_mb": round(before, 1), "all_imports_mb": round(rss_mb(), 1)}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    baseline = import_baseline()
    api: Any
    if args.inprocess:  # the fake API's imports are charged to this process too
        api = await LocalApi(args.subscribers).begin()
    else:
        api = await RemoteApi.start(args.subscribers)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-digest-", dir=args.db_dir) as tmp:
            if not args.skip_low:
                results.append(await phase(api, Path(tmp), args.subscribers, args.low_rate,
                                           args.window, args.max_seconds))
            if not args.skip_high:
                results.append(await phase(api, Path(tmp), args.subscribers, args.high_rate,
                                           None, args.max_seconds))
    finally:
        await api.stop()
    return {"mode": "in-process" if args.inprocess else "fake API in a separate process",
            "phases": results, "peak_rss_mb": round(peak_rss_mb(), 1), "baseline": baseline,
            "aiogram_loaded": "aiogram" in sys.modules}


def markdown(result: dict[str, Any]) -> str:
    lines = ["| configured rate | run | messages | achieved rate | ratio | 429s | duplicates "
             "| plan (s) | sender CPU/msg | RSS while sending (MB) | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in result["phases"]:
        kind = (f"window {p['send_s']:.0f} s" if p["rate"] <= 30
                else f"full run of {p['planned']:,}")
        if p["timed_out"]:
            kind += " (stopped at --max-seconds)"
        lines.append(
            f"| {p['rate']:g}/s | {kind} | {p['fake']['sent']:,} | {p['achieved']:.2f}/s "
            f"| {p['ratio']:.3f} | {p['fake']['rate_limited']} | {p['fake']['duplicates']} "
            f"| {p['plan_s']:.1f} | {p['cpu_ms_per_message']:.2f} ms "
            f"| {p['rss_sending_min_mb']:.0f}-{p['rss_sending_max_mb']:.0f}"
            f" | {p['peak_rss_mb']:.0f} |")
    b = result["baseline"]
    lines.append("")
    lines.append(f"Memory baseline before any data: {b['all_imports_mb']:.0f} MB RSS after "
                 f"the digest engine's imports ({b['python_mb']:.0f} MB before them); the "
                 f"peak at {result['phases'][-1]['subscribers']:,} subscribers is "
                 f"{result['peak_rss_mb'] - b['all_imports_mb']:.0f} MB above that.")
    if result["aiogram_loaded"]:
        lines.append("WARNING: aiogram was imported by the digest path (about 130 MB).")
    return "\n".join(lines)


# --- scale-out: several sender processes on one database --------------------------------------


UNLIMITED_RATE = 1_000_000.0  # the senders' pacer rate when the phase has no limit


async def sender_process(spec: dict[str, Any]) -> None:
    """Child process: one instance. Prints "ready", waits for "go" on stdin, sends the run
    (as much of it as it can claim), prints its summary as JSON."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.config import Config
    from bot.db import create_engine, create_sessionmaker
    from bot.digest.pace import Pacer
    from bot.digest.sender import SendOptions, create_digest_client
    from bot.digest.service import DigestService

    limit = spec["limit"]
    config = Config.model_validate({
        "database": {"url": spec["db"]},
        "telegram": {"api_server": spec["api"]},
        "digest": {"rate": min(limit or 1000, 1000), "paid_broadcast": True,
                   "lease_seconds": spec["lease"]}})
    engine = create_engine(config.database.url)
    sessions = create_sessionmaker(engine)
    if limit:
        pacer, options = None, None  # as configured: digest.rate
    else:
        pacer = Pacer(UNLIMITED_RATE, config.digest.per_chat_rate)
        options = SendOptions.from_config(config.digest, workers=256, claim_batch=1000)
    client = create_digest_client(config, token=TOKEN)
    service = DigestService(config, sessions, client, pacer=pacer, options=options,
                            own_client=True)
    print(json.dumps({"event": "ready", "worker": service.worker_id}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "go"
    t0, cpu0 = time.perf_counter(), time.process_time()
    task = asyncio.create_task(service.run(spec["kind"], spec["slot"]))
    while not task.done() and time.perf_counter() - t0 < spec["max_seconds"]:
        await asyncio.sleep(0.1)
    timed_out = not task.done()
    await service.stop(timeout=15)
    with contextlib.suppress(Exception):
        await task
    send_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    await engine.dispose()
    print(json.dumps({"event": "done", "worker": service.worker_id,
                      "summary": service.summary.as_dict(), "send_s": send_s, "cpu_s": cpu_s,
                      "timed_out": timed_out, "commits": service.writer.commits}), flush=True)


@contextlib.asynccontextmanager
async def bench_database(kind: str, tmp: Path, name: str) -> Any:
    """A fresh database URL: a SQLite file in ``tmp`` or a temporary PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / (name + '.db')}"
        return
    from tests.support.db import probe_postgres, temporary_database

    admin, why = await probe_postgres()
    if admin is None:
        raise SystemExit(f"PostgreSQL not reachable: {why}")
    async with temporary_database(admin, prefix="bsmu_bench") as url:
        yield url


async def start_senders(n: int, spec: dict[str, Any]) -> list[asyncio.subprocess.Process]:
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--sender", json.dumps(spec),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**20)
        for _ in range(n)]
    for proc in procs:  # imports and connections done before anyone starts
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if not line:
            raise RuntimeError("a sender process died at start-up")
    return procs


async def multi_phase(api: Any, tmp: Path, args: argparse.Namespace, instances: int,
                      limit: float) -> dict[str, Any]:
    """One run of N subscribers sent by ``instances`` sender processes at ``limit``/s
    (0: unlimited)."""
    from bot.db import create_engine, create_sessionmaker, upgrade
    from bot.digest import queue

    slot = f"bench-{instances}x{limit:g}"
    async with bench_database(args.db, tmp, slot) as url:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            sessions = create_sessionmaker(engine)
            t0 = time.perf_counter()
            await seed(sessions, args.subscribers)
            seed_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            run_id = await queue.plan_run(sessions, "daily", slot)
            plan_s = time.perf_counter() - t0
            planned = sum((await queue.counts(sessions, run_id)).values())
            await api.reset(limit or None)
            spec = {"db": url, "api": api.base_url, "limit": limit, "kind": "daily",
                    "slot": slot, "lease": args.lease_seconds,
                    "max_seconds": args.max_seconds}
            procs = await start_senders(instances, spec)
            try:
                for proc in procs:
                    proc.stdin.write(b"go\n")
                for proc in procs:
                    await proc.stdin.drain()
                outs = await asyncio.wait_for(
                    asyncio.gather(*(p.communicate() for p in procs)), args.max_seconds + 90)
            finally:
                for proc in procs:
                    if proc.returncode is None:
                        proc.kill()
                        await proc.wait()
            senders = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outs]
            fake = await api.stats()
            counts = await queue.counts(sessions, run_id)
        finally:
            await engine.dispose()
    messages = sum(s["summary"]["messages"] for s in senders)
    cpu = sum(s["cpu_s"] for s in senders)
    return {
        "instances": instances, "limit": limit, "db": args.db, "subscribers": args.subscribers,
        "planned": planned, "seed_s": round(seed_s, 1), "plan_s": round(plan_s, 2),
        "fake": fake, "achieved": round(fake["rate"], 1), "counts": counts,
        "per_instance": [s["summary"]["messages"] for s in senders],
        "send_s": round(max(s["send_s"] for s in senders), 1),
        "timed_out": any(s["timed_out"] for s in senders),
        "cpu_ms_per_message": round(1000 * cpu / max(1, messages), 3),
    }


async def bench_multi(args: argparse.Namespace) -> dict[str, Any]:
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    api = await RemoteApi.start(args.subscribers)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-digest-", dir=args.db_dir) as tmp:
            for limit in args.limits:
                for n in args.instances:
                    results.append(await multi_phase(api, Path(tmp), args, n, limit))
                    print(f"# {n} instance(s), limit {limit or 'none'}: "
                          f"{results[-1]['achieved']}/s", file=sys.stderr, flush=True)
    finally:
        await api.stop()
    return {"mode": f"{args.db}, fake API and each instance in its own process",
            "phases": results}


def markdown_multi(result: dict[str, Any]) -> str:
    lines = ["| instances | limit | messages | achieved rate | ratio 2/1 | duplicates | 429s "
             "| per instance | sender CPU/msg |",
             "|---|---|---|---|---|---|---|---|---|"]
    one = {p["limit"]: p["achieved"] for p in result["phases"] if p["instances"] == 1}
    for p in result["phases"]:
        base = one.get(p["limit"])
        ratio = (f"{p['achieved'] / base:.2f}" if p["instances"] > 1 and base else "-")
        limit = f"{p['limit']:g}/s" if p["limit"] else "unlimited"
        messages = f"{p['fake']['sent']:,} of {p['planned']:,}"
        if p["timed_out"]:
            messages += " (stopped at --max-seconds)"
        lines.append(
            f"| {p['instances']} | {limit} | {messages} | {p['achieved']:,.0f}/s | {ratio} "
            f"| {p['fake']['duplicates']} | {p['fake']['rate_limited']} "
            f"| {' + '.join(f'{m:,}' for m in p['per_instance'])} "
            f"| {p['cpu_ms_per_message']:.2f} ms |")
    return "\n".join(lines)


def int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def float_list(text: str) -> list[float]:
    return [0.0 if x.strip() in ("0", "none", "unlimited") else float(x)
            for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subscribers", type=int, default=100_000)
    ap.add_argument("--low-rate", type=float, default=25.0)
    ap.add_argument("--window", type=float, default=25.0, help="seconds of the 25/s phase")
    ap.add_argument("--high-rate", type=float, default=1000.0)
    ap.add_argument("--max-seconds", type=float, default=300.0,
                    help="stop a phase's sending after this long in any case")
    ap.add_argument("--skip-low", action="store_true")
    ap.add_argument("--skip-high", action="store_true")
    ap.add_argument("--inprocess", action="store_true",
                    help="run the fake API in this process (charges its work to the sender)")
    ap.add_argument("--db-dir", help="directory for the temporary SQLite databases")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--instances", type=int_list,
                    help="scale-out mode: sender processes, e.g. 1 or 2 or 1,2 (ratio 2/1)")
    ap.add_argument("--limits", type=float_list, default=[1000.0, 0.0],
                    help="scale-out mode: limits in messages/s, 0 = unlimited "
                         "(default 1000,0)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                    help="scale-out mode: database (default sqlite)")
    ap.add_argument("--lease-seconds", type=float, default=300.0,
                    help="scale-out mode: digest.lease_seconds of the instances")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sender", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    if args.sender is not None:
        asyncio.run(sender_process(json.loads(args.sender)))
        return
    if args.instances or args.db != "sqlite":
        args.instances = args.instances or [1]
        report(asyncio.run(bench_multi(args)), markdown_multi, args.json)
        return
    report(asyncio.run(bench(args)), markdown, args.json)


def report(result: dict[str, Any], render: Callable[[dict[str, Any]], str],
           as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(f"mode: {result['mode']}")
        print(render(result))


if __name__ == "__main__":
    main()
