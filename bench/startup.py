"""Start-up time and idle memory: the production bot beside a bare aiogram echo bot.

Each bot runs as its own process against the fake Bot API (bot/fakeapi, in this process on
127.0.0.1), the way it runs in production:

* production: ``python -m bot run`` with a config file (the shipped knowledge base, SQLite in
  a temp dir, long polling, the file watcher and the digest scheduler as configured by
  default);
* echo: a bare aiogram bot (one handler that echoes text, aiogram's own session), started
  with ``Dispatcher.start_polling`` — the framework's floor, what the targets compare with;
* echo, lazy aiogram: the same echo bot with aiogram's types and methods built on first use
  (``bot/telegram/lazy_models.py``, as the production bot does), so that what the bot's own
  code and libraries cost is seen against the same floor.

Measured per start: seconds from spawning the process to its first ``getUpdates`` (as the
fake API receives it), the resident set size (VmRSS of /proc/<pid>/status) at that moment
and after ``--idle`` seconds of idling. The production bot's first start on an empty
database runs every migration; it is reported apart (``first start``) and the restarts,
with the database at the newest migration, are what is compared. The runs interleave
(production, echo, production, echo…) so a change in the machine's load hits both.

    python bench/startup.py                  # 3 starts of each, 5 s idle
    python bench/startup.py --repeat 5 --idle 10 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "123456789:TESTtestTESTtestTESTtestTESTtest123"
KNOWLEDGE = ROOT / "knowledge"


def rss_mb(pid: int) -> float:
    """VmRSS of a process, in MB (nan when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def echo_child(base_url: str, *, lazy: bool = False) -> None:
    """The bare echo bot (runs as its own process)."""
    import html

    if lazy:
        from bot.telegram.lazy_models import defer_aiogram_models

        defer_aiogram_models()

    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(html.escape(message.text or "?"))

    async def main() -> None:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
        await dp.start_polling(bot, handle_signals=True)

    asyncio.run(main())


def write_config(directory: Path, base_url: str) -> Path:
    data = {"database": {"url": f"sqlite+aiosqlite:///{directory / 'bot.db'}"},
            "knowledge": {"path": str(KNOWLEDGE)},
            "telegram": {"api_server": base_url}}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def one_start(api, argv: list[str], *, idle: float, timeout: float,
                    env: dict[str, str]) -> dict[str, Any]:
    polls = api.stats.by_method["getUpdates"]
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=str(ROOT), env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        while api.stats.by_method["getUpdates"] == polls:
            if proc.returncode is not None or time.perf_counter() - t0 > timeout:
                err = (await proc.stderr.read()).decode(errors="replace")[-2000:]
                raise RuntimeError(f"{argv[-2:]}: no getUpdates (exit {proc.returncode}):\n"
                                   f"{err}")
            await asyncio.sleep(0.002)
        first_poll = time.perf_counter() - t0
        rss_first = rss_mb(proc.pid)
        await asyncio.sleep(idle)
        rss_idle = rss_mb(proc.pid)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    return {"first_poll_s": round(first_poll, 3), "rss_first_poll_mb": round(rss_first, 1),
            "rss_idle_mb": round(rss_idle, 1)}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from bot.fakeapi import FakeTelegram

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env |= {"BOT_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    results: dict[str, list[dict[str, Any]]] = {"production": [], "echo": [], "echo_lazy": []}
    async with FakeTelegram(token=TOKEN, bot_username="bsmu_bench_bot") as api:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            cfg = write_config(Path(tmp), api.base_url)
            prod = [sys.executable, "-m", "bot", "run", "--config", str(cfg)]
            echo = [sys.executable, str(Path(__file__).resolve()), "--echo-child",
                    api.base_url]
            kw = {"idle": args.idle, "timeout": args.timeout, "env": env}
            first = await one_start(api, prod, **kw)  # empty database: every migration
            for _ in range(args.repeat):
                results["production"].append(await one_start(api, prod, **kw))
                results["echo"].append(await one_start(api, echo, **kw))
                results["echo_lazy"].append(await one_start(api, [*echo, "--lazy"], **kw))
    summary: dict[str, Any] = {"first_start_production": first, "runs": results,
                               "idle_s": args.idle, "repeat": args.repeat}
    for name, runs in results.items():
        summary[name] = {key: {"median": statistics.median(r[key] for r in runs),
                               "min": min(r[key] for r in runs),
                               "max": max(r[key] for r in runs)}
                         for key in ("first_poll_s", "rss_first_poll_mb", "rss_idle_mb")}
    p, e = summary["production"], summary["echo"]
    summary["ratio_first_poll"] = round(p["first_poll_s"]["median"]
                                        / e["first_poll_s"]["median"], 2)
    summary["ratio_rss_idle"] = round(p["rss_idle_mb"]["median"] / e["rss_idle_mb"]["median"],
                                      2)
    lazy = summary["echo_lazy"]
    summary["ratio_rss_idle_lazy_echo"] = round(p["rss_idle_mb"]["median"]
                                                / lazy["rss_idle_mb"]["median"], 2)
    summary["loadavg_1min_at_end"] = round(os.getloadavg()[0], 2)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="starts of each bot (interleaved)")
    ap.add_argument("--idle", type=float, default=5.0,
                    help="seconds of idling after the first getUpdates before RSS is read")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="give up on a start after this many seconds")
    ap.add_argument("--json", action="store_true", help="print the full result as JSON too")
    ap.add_argument("--echo-child", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--lazy", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.echo_child:
        echo_child(args.echo_child, lazy=args.lazy)
        return
    r = asyncio.run(bench(args))

    def cell(name: str, key: str, fmt: str) -> str:
        v = r[name][key]
        lo, mid, hi = fmt.format(v["min"]), fmt.format(v["median"]), fmt.format(v["max"])
        return mid if lo == hi else f"{mid} ({lo} – {hi})"

    print(f"{r['repeat']} starts of each, interleaved; medians (min – max); RSS after "
          f"{r['idle_s']:g} s idle\n")
    print("| bot | to first getUpdates | RSS at first getUpdates | idle RSS |")
    print("|---|---|---|---|")
    for name, label in (("production", "production (`python -m bot run`)"),
                        ("echo", "bare aiogram echo bot"),
                        ("echo_lazy", "the echo bot, aiogram built on first use")):
        print(f"| {label} | {cell(name, 'first_poll_s', '{:.2f} s')} | "
              f"{cell(name, 'rss_first_poll_mb', '{:.0f} MB')} | "
              f"{cell(name, 'rss_idle_mb', '{:.0f} MB')} |")
    f = r["first_start_production"]
    print(f"\n- production ÷ echo: start-up {r['ratio_first_poll']}× (target ≤ 2×), idle RSS "
          f"{r['ratio_rss_idle']}× (target ≤ 1.3×); idle RSS ÷ the lazy echo bot "
          f"{r['ratio_rss_idle_lazy_echo']}×")
    print(f"- production's first start on an empty database (every migration): "
          f"{f['first_poll_s']:.2f} s, idle RSS {f['rss_idle_mb']:.0f} MB")
    print(f"- load average {r['loadavg_1min_at_end']} on {os.cpu_count()} CPUs at the end")
    if args.json:
        print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
