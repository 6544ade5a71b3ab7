"""Staff broadcasts: a one-off message to every active subscriber (or those of one topic, or
one language), delivered through the digest engine's persisted queue with the same pacing and
guarantees as digests.

The life of a broadcast, all of it in the digest tables:

1. **Draft.** ``/broadcast`` stores a ``digest_runs`` row of kind ``broadcast`` in status
   ``draft`` (slot ``broadcast:<token>``, the token travels in the Confirm/Cancel buttons)
   and its one payload: the messages exactly as previewed. The filters, the preview's chat
   and the staff member's language are in the row's ``note`` (JSON). A draft lives
   :data:`DRAFT_TTL`; older ones are refused and purged. Drafts are in the database, not in
   memory, so a button works whichever instance gets the callback, and a double tap (or two
   instances) confirms it once.
2. **Confirm** (only by its creator): ``draft`` → ``planning`` in one conditional UPDATE,
   with the audit row in the same transaction. **Cancel** deletes the draft.
3. **Planning** (:func:`plan`): one pending delivery per matching active subscriber (not
   blocked), in batches of :data:`~bot.digest.queue.PLAN_BATCH`, each batch one transaction.
   A planner that restarts continues with the subscribers that have no delivery in the run
   yet, as :func:`bot.digest.planner.plan_run` does; then the run becomes ``sending``.
4. **Sending** is the digest engine's (:meth:`DigestService.send_planned`): the shared pacer
   and group-commit writer, 429 pauses, 5xx retries, 403 → subscription inactive, nothing
   sent twice, and an unfinished broadcast is resumed after a restart like any run
   (:meth:`DigestService.resume` comes here, :func:`deliver`).
5. **Reporting** (:class:`Reporter`): the staff member's status message is edited with the
   progress (at 25/50/75 % and at most every :data:`PROGRESS_EVERY` seconds otherwise), and
   the final counts are reported once: a flag in the note is set with compare-and-set before
   the report goes out, so once even across instances and restarts.

Filters: ``tag`` matches the subscribers who chose that topic and those who chose every
topic (as a digest item with that tag would); ``lang`` the language of their news.

Modules: :mod:`~bot.digest.broadcast_drafts` (the command, filters, recipients, drafts: 1-2)
and :mod:`~bot.digest.broadcast_send` (planning, sending, reporting: 3-5); this module
gathers both. The statements are in :mod:`bot.db.broadcasts`.
"""

from __future__ import annotations

from bot.digest.broadcast_drafts import (
    DRAFT,
    DRAFT_TTL,
    KIND,
    MAX_PROBLEMS,
    Draft,
    Filters,
    Recipients,
    UsageError,
    cancel_draft,
    confirm_draft,
    count_recipients,
    create_draft,
    get_draft,
    parse_command,
    purge_expired,
    render,
)
from bot.digest.broadcast_send import (
    POLL_EVERY,
    PROGRESS_EVERY,
    Engine,
    Reporter,
    RunState,
    deliver,
    load_run,
    plan,
)

__all__ = [
    "DRAFT", "DRAFT_TTL", "KIND", "MAX_PROBLEMS", "POLL_EVERY", "PROGRESS_EVERY", "Draft",
    "Engine", "Filters", "Recipients", "Reporter", "RunState", "UsageError", "cancel_draft",
    "confirm_draft", "count_recipients", "create_draft", "deliver", "get_draft", "load_run",
    "parse_command", "plan", "purge_expired", "render",
]
