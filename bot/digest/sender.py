"""Sending a planned run: async workers, the pacer, and Telegram's answers turned into
delivery states.

Digests go through a :class:`~bot.digest.client.BotApiClient` of their own, not aiogram:
plain HTTP posts, with no retry logic of their own (aiogram's RetryMiddleware sleeps
through a 429 by itself and retries 5xx up to its own limit, which would hide from the queue
what it must record and would stall one worker instead of pausing all of them), and without
aiogram's import, which alone would be most of a digest process's memory. The running bot
hands its token and API server over (:meth:`BotApiClient.like`); the CLI builds one from the
configuration (:func:`create_digest_client`). Here:

* 429 — everybody pauses for ``retry_after`` (:class:`~bot.digest.pace.Pacer`), then the same
  message is retried; not counted as a failed attempt, nothing is dropped;
* 5xx and network errors that prove nothing was sent (connection refused, DNS, TLS,
  connect timeout: :class:`~bot.digest.client.NotSent`) — exponential backoff with jitter,
  up to ``config.digest.retries`` retries, then ``failed`` with the last error;
* a network error after the request left (connection dropped, no answer within the
  timeout) — ``uncertain``, like a crash in flight: Telegram may have delivered it and
  offers no idempotency key, so it is never resent ("never twice" over "always once");
* 403 (blocked by the user, deactivated, kicked) — ``blocked``, the subscription becomes
  inactive and the user is marked blocked; never retried;
* any other API error (400 "chat not found", bad HTML, ...) — ``failed`` with the error text;
  the run goes on;
* 401 — the token is wrong: nothing can be sent, the run stops (rows stay pending);
* a 2xx answer that cannot be read, or anything unexpected — ``uncertain``: it may have
  arrived, so it is never resent.

A message is durable as ``sending`` before it goes out; see :mod:`bot.digest.queue`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from bot.db.models import utcnow
from bot.digest import queue
from bot.digest.client import (
    ApiError,
    BadAnswer,
    BotApiClient,
    Forbidden,
    NetworkError,
    RetryAfter,
    ServerError,
    Unauthorized,
)
from bot.digest.options import REQUEST_TIMEOUT, SendOptions, create_digest_client, make_pacer
from bot.digest.pace import Pacer, Sleep
from bot.digest.summary import Progress, Summary

__all__ = ["REQUEST_TIMEOUT", "SHARE_EVERY", "FatalSendError", "Progress", "RunSender",
           "SendOptions", "Summary", "create_digest_client", "make_pacer"]

log = logging.getLogger(__name__)

#: How often a sender counts the instances sending with it (seconds; see Pacer.set_share).
SHARE_EVERY = 1.0


class FatalSendError(RuntimeError):
    """Nothing can be sent (e.g. 401: the token was revoked)."""


# --- sending one run -------------------------------------------------------------------------


class RunSender:
    """Sends the deliveries of one run that this worker can claim, until none is left
    (or :meth:`request_stop`).

    A feeder claims rows in batches into a local queue; workers take one job at a time and
    send its next part. A multi-part digest goes back to the queue when its chat may get
    the next part (about a second later), so no worker sits idle through per-chat waits.
    """

    def __init__(self, sessions: queue.Sessions, client: BotApiClient, run_id: int, *,
                 pacer: Pacer, writer: queue.DeliveryWriter, options: SendOptions,
                 worker_id: str, payloads: queue.PayloadCache | None = None,
                 progress: Progress | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.sessions = sessions
        self.client = client
        self.run_id = run_id
        self.pacer = pacer
        self.writer = writer
        self.options = options
        self.worker_id = worker_id
        self.payloads = payloads or queue.PayloadCache(sessions)
        self.progress = progress
        self.sleep = sleep
        self.summary = Summary(runs=[run_id])
        self.total = 0
        self._stop = asyncio.Event()
        self._jobs: asyncio.Queue[queue.Job | None] = asyncio.Queue()
        self._outstanding = 0  # claimed jobs not finished yet (queued, deferred, sending)
        self._held: set[int] = set()  # their ids (a claim may return them again, see _feed)
        self._feeding = True
        self._deferred: dict[int, asyncio.TimerHandle] = {}  # waiting for their chat
        self._in_flight: set[int] = set()  # rows committed as sending, answer not yet in
        self._unsent: set[int] = set()  # marked sending, but the send never started
        self._fatal: BaseException | None = None
        self._n_workers = max(1, options.workers)

    def request_stop(self) -> None:
        """Finish the messages on their way, send nothing new, give back the rest."""
        self._stop.set()
        for handle in self._deferred.values():
            handle.cancel()
        self._outstanding -= len(self._deferred)
        self._deferred.clear()
        self._maybe_done()

    async def run(self) -> Summary:
        recovered = await queue.recover(self.sessions, self.run_id, self.worker_id)
        self.summary.uncertain += recovered.uncertain
        counts = await queue.counts(self.sessions, self.run_id)
        self.total = sum(counts.values())
        if self.progress and (finished := sum(counts[s] for s in queue.FINAL)):
            self.progress(self.run_id, finished, self.total)
        self.writer.add_run(self.run_id)
        workers = [asyncio.create_task(self._worker(), name=f"digest-{self.run_id}-{i}")
                   for i in range(self._n_workers)]
        feeder = asyncio.create_task(self._feed(), name=f"digest-{self.run_id}-feed")
        try:
            await asyncio.gather(feeder, *workers)
        except BaseException:
            feeder.cancel()
            for w in workers:
                w.cancel()
            await asyncio.gather(feeder, *workers, return_exceptions=True)
            raise
        finally:
            await self._cleanup()
        if self._fatal is not None:
            raise self._fatal
        self.summary.remaining = await queue.finish_if_done(self.sessions, self.run_id)
        return self.summary

    async def _cleanup(self) -> None:
        for handle in self._deferred.values():
            handle.cancel()
        self._deferred.clear()
        with contextlib.suppress(Exception):
            await self.writer.flush()
        if self._unsent:
            with contextlib.suppress(Exception):
                await queue.revert_sending(self.sessions, sorted(self._unsent),
                                           self.worker_id)
            self._unsent.clear()
        # Rows cancelled while on their way: nobody knows whether they arrived.
        if self._in_flight:
            with contextlib.suppress(Exception):
                n = await queue.mark_uncertain(self.sessions, sorted(self._in_flight))
                self.summary.uncertain += n
            self._in_flight.clear()
        with contextlib.suppress(Exception):  # claimed, queued or deferred: give back
            await queue.release(self.sessions, self.run_id, self.worker_id)
        self.writer.remove_run(self.run_id)

    def _maybe_done(self) -> None:
        """Once nothing more will be claimed and every job is settled, end the workers."""
        if (not self._feeding or self._stop.is_set()) and self._outstanding <= 0:
            for _ in range(self._n_workers):
                self._jobs.put_nowait(None)
            self._n_workers = 0  # sentinels sent once

    async def _share(self) -> None:
        """Keep to this instance's share of the rate while others send too."""
        try:
            senders = await queue.live_senders(self.sessions, self.worker_id)
        except Exception as exc:  # a failed count must not stop the sending
            log.warning("digest run %s: could not count the senders: %s", self.run_id, exc)
            return
        if senders != self.pacer.share:
            log.info("digest: %d instance(s) sending, this one at %.4g messages/s", senders,
                     self.pacer.rate / senders)
            self.pacer.set_share(senders)

    async def _feed(self) -> None:
        batch_size = self.options.claim_batch
        loop = asyncio.get_running_loop()
        next_share = 0.0
        first = True
        try:
            while not self._stop.is_set():
                if loop.time() >= next_share:
                    next_share = loop.time() + SHARE_EVERY
                    await self._share()
                if self._jobs.qsize() >= batch_size:
                    await asyncio.sleep(0.01)  # enough work queued: claim when it runs low
                    continue
                batch = await queue.claim(self.sessions, self.run_id, self.worker_id,
                                          batch_size, self.options.lease_seconds)
                if not batch:
                    break
                if first:  # instances starting together only see each other's claims now
                    first = False
                    next_share = min(next_share, loop.time() + SHARE_EVERY / 4)
                # Rows whose lease ran out while they waited here come back to this worker
                # (the claim renewed their lease): they are queued already, and a second job
                # for one would pass the claim check too and send it twice.
                fresh = [job for job in batch if job.id not in self._held]
                self._held.update(job.id for job in fresh)
                self._outstanding += len(fresh)
                for job in fresh:
                    self._jobs.put_nowait(job)
        finally:
            self._feeding = False
            self._maybe_done()

    async def _worker(self) -> None:
        while True:
            job = await self._jobs.get()
            if job is None:
                return
            again = False
            try:
                if not self._stop.is_set():  # when stopping, queued jobs are given back
                    again = await self._deliver_part(job)
            except (queue.WriterError, FatalSendError) as exc:
                self._fatal = self._fatal or exc
                self.request_stop()
            except BaseException:
                self._settle(job)
                raise
            if again and not self._stop.is_set():
                delay = max(0.0, self.pacer.chat_ready(job.chat_id) - self.pacer.clock())
                loop = asyncio.get_running_loop()
                self._deferred[job.id] = loop.call_later(delay, self._requeue, job)
            else:
                self._settle(job)

    def _requeue(self, job: queue.Job) -> None:
        if self._deferred.pop(job.id, None) is not None:
            self._jobs.put_nowait(job)

    def _settle(self, job: queue.Job) -> None:
        self._held.discard(job.id)
        self._outstanding -= 1
        self._maybe_done()

    def _finished(self, job: queue.Job) -> None:
        summary = self.summary
        if job.status == "sent":
            summary.sent += 1
        elif job.status == "failed":
            summary.failed += 1
        elif job.status == "blocked":
            summary.blocked += 1
        self.writer.update(job)
        if self.progress is not None:
            self.progress(self.run_id, 1, self.total)

    async def _deliver_part(self, job: queue.Job) -> bool:
        """Send the job's next part (retrying 429/5xx/network errors as described in the
        module docstring). True when more parts remain, False when the job is settled or
        must be left as it is (stopping, claim lost)."""
        messages = await self.payloads.get(job.payload_id)
        loop = asyncio.get_running_loop()
        while job.parts_sent < len(messages):
            if self._stop.is_set():
                return False  # pending, maybe with parts sent: resumes from there
            await self.pacer.acquire(job.chat_id)
            if self._stop.is_set():  # stopped while waiting for the slot: not on its way
                return False
            try:
                await self.writer.mark_sending(job)
            except asyncio.CancelledError:
                self._unsent.add(job.id)
                raise
            except queue.LostClaim:
                log.warning("delivery %s was taken over by another worker; not sending",
                            job.id)
                return False
            self._in_flight.add(job.id)
            try:
                await self.client.send_message(
                    job.chat_id, messages[job.parts_sent],
                    allow_paid_broadcast=self.options.paid_broadcast,
                    timeout=self.options.request_timeout)
            except RetryAfter as exc:
                self._in_flight.discard(job.id)
                self.summary.retry_after_waits += 1
                self.pacer.pause(exc.retry_after)
                job.status = "pending"
                self.writer.update(job)
                continue
            except NetworkError as exc:
                self._in_flight.discard(job.id)
                if not exc.maybe_sent:
                    if not await self._retry(job, exc):
                        return False
                    continue
                log.warning("delivery %s: %s; it may have arrived, so it is counted as "
                            "uncertain and not resent", job.id, exc)
                self._uncertain(job, exc)
                return False
            except ServerError as exc:
                self._in_flight.discard(job.id)
                if not await self._retry(job, exc):
                    return False
                continue
            except Forbidden as exc:
                self._in_flight.discard(job.id)
                job.status, job.last_error = "blocked", _describe(exc)
                self.writer.block_user(job.user_id)
                self._finished(job)
                return False
            except Unauthorized as exc:
                self._in_flight.discard(job.id)
                job.status, job.last_error = "pending", _describe(exc)
                self.writer.update(job)
                raise FatalSendError(f"Telegram refused the token: {exc}") from exc
            except ApiError as exc:  # 400 and the like: can never succeed
                self._in_flight.discard(job.id)
                job.attempts += 1
                job.status, job.last_error = "failed", _describe(exc)
                self._finished(job)
                return False
            except Exception as exc:  # an unreadable 2xx answer, or a bug: it may have arrived
                self._in_flight.discard(job.id)
                if isinstance(exc, BadAnswer):
                    log.error("delivery %s: %s; counted as uncertain", job.id, exc)
                else:
                    log.exception("delivery %s: unexpected error", job.id)
                self._uncertain(job, exc)
                return False
            self._in_flight.discard(job.id)
            now = loop.time()
            self.summary.messages += 1
            if self.summary.first_send is None:
                self.summary.first_send = now
            self.summary.last_send = now
            job.parts_sent += 1
            if job.parts_sent >= len(messages):
                job.status, job.sent_at, job.last_error = "sent", utcnow(), None
                self._finished(job)
                return False
            job.status = "pending"  # between parts: safe to resume from parts_sent
            self.writer.update(job)
            self.pacer.sent(job.chat_id)
            return True
        # Nothing (left) to send, e.g. an empty payload.
        job.status, job.sent_at = "sent", job.sent_at or utcnow()
        self._finished(job)
        return False

    async def _retry(self, job: queue.Job, exc: BaseException) -> bool:
        """A failure that proves nothing was delivered: back off and try again (True), or
        give up after ``retries`` attempts (False, the job is ``failed``)."""
        job.attempts += 1
        job.last_error = _describe(exc)
        if job.attempts > self.options.retries:
            job.status = "failed"
            self._finished(job)
            return False
        self.summary.retries += 1
        job.status = "pending"
        self.writer.update(job)
        await self.sleep(self._backoff(job.attempts))
        return True

    def _uncertain(self, job: queue.Job, exc: BaseException) -> None:
        """The message may have arrived: recorded as ``uncertain``, never resent."""
        job.status, job.last_error = "uncertain", _describe(exc)
        self.summary.uncertain += 1
        self.writer.update(job)
        if self.progress is not None:
            self.progress(self.run_id, 1, self.total)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.options.max_delay, self.options.base_delay * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ApiError):  # Telegram's description says what it is
        return text[:1000]
    return f"{type(exc).__name__}: {text}"[:1000]
