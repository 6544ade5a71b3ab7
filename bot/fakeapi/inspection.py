"""What tests read back: recorded calls and sent messages, chat state, transcripts, marks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .params import Params
from .render import render_message
from .state import Chat, Stats
from .users import FakeGroup, FakeUser

log = logging.getLogger("bot.fakeapi")


class InspectionMixin:
    """Records every call and sent message, wakes waiters, and lets tests look at the results.

    Part of FakeTelegram, which initialises the state declared below.
    """

    bot_id: int
    stats: Stats
    callback_answers: list[dict[str, Any]]
    chat_actions: list[dict[str, Any]]
    deleted: list[dict[str, Any]]
    _history_limit: int | None
    _sent: list[dict[str, Any]]
    _sent_base: int
    _calls: deque[dict[str, Any]]
    _call_seq: int
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]]
    _subscribers: list[Callable[[dict[str, Any]], Any]]

    if TYPE_CHECKING:
        def chat(self, ref: Any) -> Chat: ...  # from ChatsMixin

    # --- recording -------------------------------------------------------------------------

    def _record_call(self, record: dict[str, Any]) -> None:
        self._call_seq += 1
        record["seq"] = self._call_seq
        self._calls.append(record)
        if self._waiters:
            self.notify()

    def record_sent(self, record: dict[str, Any]) -> None:
        """Called by send/edit methods; feeds sent(), wait_for() and subscribers."""
        sent = self._sent
        record["seq"] = self._sent_base + len(sent)
        sent.append(record)
        limit = self._history_limit
        if limit is not None and len(sent) > limit:
            drop = len(sent) - limit // 2
            del sent[:drop]
            self._sent_base += drop
        if self._waiters:
            self.notify()
        for callback in self._subscribers:
            try:
                callback(record)
            except Exception:
                log.exception("FakeTelegram subscriber failed")

    def notify(self) -> None:
        """Re-evaluate pending wait_for() conditions after any recorded change."""
        if not self._waiters:
            return
        keep = []
        for check, fut in self._waiters:
            if fut.done():
                continue
            try:
                ready = check()
            except Exception as exc:  # a broken predicate must fail the test, not hang it
                fut.set_exception(exc)
                continue
            if ready:
                fut.set_result(None)
            else:
                keep.append((check, fut))
        self._waiters = keep

    async def _wait(self, check: Callable[[], bool], timeout: float) -> None:
        if check():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((check, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            if not fut.done():
                fut.cancel()

    # --- inspection ------------------------------------------------------------------------

    def sent(
        self, chat_id: Any = None, *, method: str | tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        """Successful outgoing messages and edits, in order.

        Each record: method, chat_id, message_id, text / caption (as the bot sent them),
        plain_text (after entity parsing), parse_mode, reply_markup (parsed),
        message_thread_id, params (all parameters), message (the returned Message), seq.
        """
        return self._select(self._sent, chat_id, method)

    def _select(
        self, records: list[dict[str, Any]], chat_id: Any, method: str | tuple[str, ...] | None
    ) -> list[dict[str, Any]]:
        key = None if chat_id is None else self._key(chat_id)
        methods = None if method is None else (
            {method.lower()} if isinstance(method, str) else {m.lower() for m in method}
        )
        return [
            r for r in records
            if (key is None or r["chat_id"] == key)
            and (methods is None or r["method"].lower() in methods)
        ]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every API call received, failed ones included: method, params, ok, result, error."""
        wanted = method.lower() if method else None
        return [
            self._call_view(c) for c in self._calls
            if wanted is None or c["method"].lower() == wanted
        ]

    @staticmethod
    def _call_view(record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record)
        params = view["params"]
        if isinstance(params, Params):
            view["params"] = params.as_dict()
        return view

    def errors(self) -> list[dict[str, Any]]:
        """Calls that were answered with an error (or dropped)."""
        return [self._call_view(c) for c in self._calls if not c["ok"]]

    def message(self, chat_id: Any, message_id: int) -> dict[str, Any] | None:
        """Current state of a message (after edits); None if deleted or unknown."""
        try:
            return self.chat(chat_id).messages.get(message_id)
        except LookupError:
            return None

    def messages(self, chat_id: Any) -> list[dict[str, Any]]:
        """All live messages of a chat (users' and the bot's), oldest first."""
        chat = self.chat(chat_id)
        return [chat.messages[mid] for mid, _ in chat.history if mid in chat.messages]

    def reactions(self, chat_id: Any, message_id: int) -> list[dict[str, Any]]:
        return self.chat(chat_id).reactions.get(message_id, [])

    def locate(
        self, message: Any, default_chat: Chat | None = None
    ) -> tuple[Chat, dict[str, Any]]:
        """Find the current state of a message given a sent-record, Message dict or id."""
        if isinstance(message, int):
            if default_chat is None:
                raise LookupError("a bare message id needs a chat")
            chat, mid = default_chat, message
        elif isinstance(message, dict):
            chat = self.chat(message)
            mid = int(message["message_id"])
        else:
            raise TypeError(f"can't locate a message from {message!r}")
        current = chat.messages.get(mid)
        if current is None:
            raise LookupError(f"message {mid} in chat {chat.id} does not exist (deleted?)")
        return chat, current

    def transcript(self, chat_id: Any) -> str:
        """The chat as a readable log (current state of each message), for debugging."""
        chat = self.chat(chat_id)
        lines = []
        for mid, original in chat.history:
            msg = chat.messages.get(mid)
            sender = "bot" if original.get("from", {}).get("id") == self.bot_id else (
                original.get("from", {}).get("first_name", "user")
            )
            body = "(deleted)" if msg is None else render_message(msg)
            lines.append(f"#{mid} {sender}: {body}".replace("\n", "\n    "))
        return "\n".join(lines)

    def subscribe(self, callback: Callable[[dict[str, Any]], Any]) -> Callable[[], None]:
        """Call ``callback(record)`` for each sent/edited message (console mode prints them).

        Returns a function that unsubscribes.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def mark(self) -> int:
        """Position in the sent log; pass as ``since=`` to wait only for later messages."""
        return self._sent_base + len(self._sent)

    def call_mark(self) -> int:
        """Position in the call log; pass as ``since=`` to wait_for_call()."""
        return self._call_seq

    def reset_records(self) -> None:
        """Forget recorded calls, messages sent and answers (benchmarks between phases)."""
        self._sent_base += len(self._sent)
        self._sent = []
        self._calls.clear()
        self.callback_answers.clear()
        self.chat_actions.clear()
        self.deleted.clear()
        self.stats.reset()

    def _key(self, chat_id: Any) -> int:
        if isinstance(chat_id, (FakeUser, FakeGroup, Chat)):
            return chat_id.id
        return int(chat_id)
