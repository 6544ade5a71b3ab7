"""The pacer, on virtual time: exact spacing, no waiting."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.digest.pace import Pacer
from tests.support.digest import VirtualTime


def make(rate: float = 25, per_chat: float = 1, **kw) -> tuple[Pacer, VirtualTime]:
    vt = VirtualTime()
    return Pacer(rate, per_chat, clock=vt.clock, sleep=vt.sleep, **kw), vt


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def sender(pacer: Pacer, vt: VirtualTime, chats, out: list) -> None:
    for chat in chats:
        await pacer.acquire(chat)
        out.append((vt.now, chat))


def test_rates_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(0)


async def test_one_sender_gets_exactly_the_rate() -> None:
    pacer, vt = make(25, burst=0)
    start = vt.now
    out: list = []
    await vt.run(sender(pacer, vt, range(100), out))
    times = [t - start for t, _ in out]
    assert times[0] == 0
    assert times[-1] == pytest.approx(99 / 25)
    assert all(b - a == pytest.approx(0.04) for a, b in itertools.pairwise(times))


async def test_many_concurrent_senders_share_the_global_rate() -> None:
    pacer, vt = make(100, burst=0.1)
    out: list = []
    await vt.run(*(sender(pacer, vt, range(w * 1000, w * 1000 + 50), out) for w in range(40)))
    times = [t for t, _ in out]
    assert len(times) == 2000
    span = max(times) - min(times)
    assert (len(times) - 1) / span == pytest.approx(100, rel=0.01)
    # Any one second: at most rate x (1 + burst) + 1 (what Telegram tolerates).
    assert max_in_window(times, 1.0) <= 100 * 1.1 + 1


async def test_burst_after_idle_is_capped() -> None:
    pacer, vt = make(10, burst=0.5)
    vt.now += 60  # idle before the first use: no credit for that
    out: list = []
    await vt.run(*(sender(pacer, vt, [i], out) for i in range(5)))
    assert [t - out[0][0] for t, _ in out] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    vt.now += 60  # a long idle spell between runs
    out.clear()
    await vt.run(*(sender(pacer, vt, [i], out) for i in range(20)))
    immediate = [t for t, _ in out if t == out[0][0]]
    assert 2 <= len(immediate) <= 6  # 0.5 s of slots at 10/s, plus the current one
    assert max_in_window([t for t, _ in out], 1.0) <= 10 * 1.5 + 1


async def test_parts_of_one_chat_are_spaced_by_the_per_chat_limit() -> None:
    pacer, vt = make(30, per_chat=1, chat_margin=1.1)
    out: list = []
    # One chat with 4 parts next to 60 other chats with one message each.
    await vt.run(sender(pacer, vt, [7, 7, 7, 7], out),
                 *(sender(pacer, vt, [100 + i], out) for i in range(60)))
    mine = [t for t, chat in out if chat == 7]
    assert all(b - a >= 1.1 - 1e-9 for a, b in itertools.pairwise(mine))
    others = sorted(t for t, chat in out if chat != 7)
    # The chat waiting for its own limit does not hold up everybody else.
    assert others[-1] - others[0] == pytest.approx(60 / 30, abs=0.1)


async def test_a_429_pauses_everyone_then_no_burst() -> None:
    pacer, vt = make(50, burst=0.2)
    out: list = []

    async def hit_429_after(n: int) -> None:
        while len(out) < n:
            await vt.sleep(0.001)
        pacer.pause(3)
        out.append((vt.now, "pause"))

    await vt.run(hit_429_after(20),
                 *(sender(pacer, vt, range(w * 100, w * 100 + 10), out) for w in range(10)))
    t_pause = next(t for t, c in out if c == "pause")
    after = sorted(t for t, c in out if c != "pause" and t > t_pause)
    assert after and after[0] >= t_pause + 3 - 1e-9  # nobody sent during the pause
    assert max_in_window(after, 1.0) <= 50 + 1  # and the schedule restarted without burst
    assert pacer.pauses == 1
    assert not any(t_pause < t < t_pause + 3 for t, c in out if c != "pause")


async def test_shorter_pause_does_not_shorten_a_longer_one() -> None:
    pacer, vt = make()
    pacer.pause(5)
    pacer.pause(1)
    assert pacer.paused_until == pytest.approx(vt.now + 5)


async def test_per_chat_memory_is_pruned() -> None:
    pacer, vt = make(1000, per_chat=1)
    out: list = []
    await vt.run(sender(pacer, vt, range(4000), out))
    vt.now += 5
    await vt.run(sender(pacer, vt, range(20_000, 20_200), out))
    assert pacer.tracked_chats < 1000  # old chats were forgotten


async def test_real_clock_smoke() -> None:
    pacer = Pacer(200, 1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(20):
        await pacer.acquire(i)
    assert 19 / 200 * 0.8 <= loop.time() - t0 < 1.0


async def test_urgent_replies_go_ahead_of_digests_within_the_same_rate() -> None:
    # Digest workers keep the pacer busy; a 429 pauses everybody; replies that arrive during
    # the pause are sent first when it ends, and together they never exceed the rate.
    pacer, vt = make(20, burst=0)
    start = vt.now
    out: list = []

    async def digests(worker: int) -> None:
        for chat in range(1000 + worker * 100, 1000 + worker * 100 + 12):
            await pacer.acquire(chat)
            out.append((vt.now, "digest"))

    async def replies() -> None:
        await vt.sleep(0.9)
        pacer.pause(2.0)  # flood control: nobody sends before 2.9
        await vt.sleep(0.1)

        async def one() -> None:
            await pacer.acquire(urgent=True)
            out.append((vt.now, "reply"))

        await asyncio.gather(*(one() for _ in range(10)))

    await vt.run(*(digests(w) for w in range(5)), replies())
    after_pause = [k for t, k in out if t - start >= 2.9 - 1e-9]
    assert after_pause[:10] == ["reply"] * 10
    assert [k for _, k in out].count("digest") == 60  # every digest message still went out
    times = [t for t, _ in out]
    assert max_in_window(times, 1.0) <= 20 + 1
    assert pacer.urgent_waiting == 0
