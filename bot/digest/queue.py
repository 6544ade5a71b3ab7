"""The persisted delivery queue: planning a run, claiming deliveries, recording outcomes.

One ``digest_runs`` row per (kind, slot); one ``deliveries`` row per (run, subscriber). The
invariants that make a crash (even ``kill -9``) lose nothing and send nothing twice:

* **Planning** (:mod:`bot.digest.planner`) works in batches of subscribers, each inserting
  its deliveries *and* advancing those subscribers' cursors in one transaction; a planner
  that restarts continues with the subscribers that have no delivery in the run yet.
* **Claiming** (:mod:`bot.digest.claims`) marks up to N pending rows with this worker's id
  and a lease in one statement, so concurrent workers (processes or instances) get
  disjoint rows.
* **Sending**: a row is committed as ``sending`` before its message goes out (group commit,
  :mod:`bot.digest.writer`), and becomes ``sent`` (or ``pending`` again between the parts
  of a multi-part digest, or after a retryable error) afterwards.
* **Recovery** (:func:`~bot.digest.claims.recover`): rows a dead worker left in ``sending``
  become ``uncertain`` and are never resent; its ``pending`` rows are claimable again.

This module is the queue's interface for the sender and the engine: everything above,
gathered from :mod:`~bot.digest.runs` (runs and their status), :mod:`~bot.digest.planner`,
:mod:`~bot.digest.claims`, :mod:`~bot.digest.writer` and :mod:`~bot.digest.payloads`. The
SQL itself is in :mod:`bot.db.digest_runs`, :mod:`bot.db.deliveries`,
:mod:`bot.db.digest_payloads` and :mod:`bot.db.subscriptions`.
"""

from __future__ import annotations

from bot.db.deliveries import FINAL, IN_CHUNK, OPEN
from bot.db.models import utcnow
from bot.digest.claims import (
    _HOST,
    UNCERTAIN_NOTE,
    Job,
    Recovered,
    claim,
    live_senders,
    make_worker_id,
    mark_uncertain,
    recover,
    release,
    revert_sending,
    worker_is_dead,
)
from bot.digest.payloads import PayloadCache
from bot.digest.planner import (
    FREQUENCY_OF_KIND,
    PLAN_BATCH,
    BatchHook,
    PlanResult,
    plan_run,
    plan_run_detailed,
)
from bot.digest.runs import (
    RunInfo,
    RunStatus,
    Sessions,
    counts,
    finish_if_done,
    get_or_create_run,
    get_run,
    news_snapshot,
    status,
    unfinished_runs,
)
from bot.digest.writer import DeliveryWriter, LostClaim, WriterError

__all__ = [
    "FINAL", "FREQUENCY_OF_KIND", "IN_CHUNK", "OPEN", "PLAN_BATCH", "UNCERTAIN_NOTE", "_HOST",
    "BatchHook", "DeliveryWriter", "Job", "LostClaim", "PayloadCache", "PlanResult",
    "Recovered", "RunInfo", "RunStatus", "Sessions", "WriterError", "claim", "counts",
    "finish_if_done", "get_or_create_run", "get_run", "live_senders", "make_worker_id",
    "mark_uncertain", "news_snapshot", "plan_run", "plan_run_detailed", "recover", "release",
    "revert_sending", "status", "unfinished_runs", "utcnow", "worker_is_dead",
]
