"""After start-up the bot freezes what it built out of the collector's scans and makes the
collector's young generation larger (bot.app.runner.settle_memory)."""

from __future__ import annotations

import gc

from bot.app.runner import GC_GEN0_THRESHOLD, settle_memory


def test_settle_memory_freezes_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_GEN0_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
