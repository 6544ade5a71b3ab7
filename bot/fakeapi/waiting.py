"""Waiting for the bot: wait_for(), wait_for_call(), wait_callback_answer(), timeout reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .inspection import InspectionMixin
from .render import render_record

if TYPE_CHECKING:
    from .state import UpdateQueue


class WaitingMixin(InspectionMixin):
    """Waits on the records InspectionMixin keeps; a timeout says what the bot did instead."""

    updates: UpdateQueue
    _marks: dict[int | None, tuple[int, int]]

    async def wait_for(
        self,
        predicate_or_count: int | Callable[[dict[str, Any]], bool] = 1,
        chat_id: Any = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
        method: str | tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Wait for bot messages (sent-records, edits included) after a starting point.

        The start is ``since`` (from mark()) or, by default, the moment a simulated user last
        acted in that chat (any chat if chat_id is None), so a reply that arrives before this
        call is not missed. A count waits for at least that many records and returns all of
        them; a predicate returns the records that satisfy it once there is at least one.
        Raises TimeoutError describing what the bot did send.
        """
        key = None if chat_id is None else self._key(chat_id)
        start = since if since is not None else self._marks.get(key, (0, 0))[0]
        methods = None if method is None else (
            {method.lower()} if isinstance(method, str) else {m.lower() for m in method}
        )
        result: list[dict[str, Any]] = []
        cursor = start  # absolute seq of the next record to look at: each check is incremental

        def check() -> bool:
            nonlocal cursor
            sent = self._sent
            for record in sent[max(0, cursor - self._sent_base):]:
                if (key is None or record["chat_id"] == key) and (
                    methods is None or record["method"].lower() in methods
                ) and (not callable(predicate_or_count) or predicate_or_count(record)):
                    result.append(record)
            cursor = self._sent_base + len(sent)
            if callable(predicate_or_count):
                return bool(result)
            return len(result) >= predicate_or_count

        try:
            await self._wait(check, timeout)
        except TimeoutError:
            raise TimeoutError(self._describe_timeout(
                predicate_or_count, key, start, timeout, result
            )) from None
        return result

    async def wait_for_call(
        self,
        method: str,
        timeout: float = 5.0,
        *,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        since: int | None = None,
    ) -> dict[str, Any]:
        """Wait for an API call of ``method`` (successful or not) after the last user action."""
        start = since if since is not None else self._marks.get(None, (0, 0))[1]
        wanted = method.lower()
        found: list[dict[str, Any]] = []
        cursor = start  # highest call seq already examined

        def check() -> bool:
            nonlocal cursor
            fresh = []
            for c in reversed(self._calls):
                if c["seq"] <= cursor:
                    break
                fresh.append(c)
            if fresh:
                cursor = fresh[0]["seq"]
            for c in reversed(fresh):
                if c["method"].lower() == wanted:
                    view = self._call_view(c)
                    if predicate is None or predicate(view):
                        found.append(view)
            return bool(found)

        try:
            await self._wait(check, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"FakeTelegram: no {method} call within {timeout}s; recent calls: "
                f"{[(c['method'], c['ok']) for c in list(self._calls)[-10:]]}"
            ) from None
        return found[0]

    async def wait_callback_answer(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the bot answers the callback query returned by FakeUser.press()."""

        def check() -> bool:
            return any(a["callback_query_id"] == query_id for a in self.callback_answers)

        try:
            await self._wait(check, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"FakeTelegram: callback query {query_id} was not answered within {timeout}s"
            ) from None
        return next(a for a in self.callback_answers if a["callback_query_id"] == query_id)

    def _describe_timeout(
        self,
        what: Any,
        key: int | None,
        start: int,
        timeout: float,
        got: list[dict[str, Any]],
    ) -> str:
        wanted = f"{what} message(s)" if isinstance(what, int) else "a matching message"
        where = "any chat" if key is None else f"chat {key}"
        lines = [f"FakeTelegram: timed out after {timeout}s waiting for {wanted} in {where} "
                 f"(since #{start})."]
        lo = max(0, start - self._sent_base)
        since = self._select(self._sent[lo:], key, None)
        if since:
            lines.append(f"The bot sent {len(since)} message(s) there since then:")
            for r in since[-10:]:
                lines.append(f"  #{r['seq']} {r['method']} -> {r['chat_id']}: "
                             + render_record(r).replace("\n", "\n      "))
        else:
            lines.append("The bot sent nothing there since then.")
        failed = [c for c in list(self._calls)[-200:] if not c["ok"]][-5:]
        if failed:
            lines.append("Recent failed calls:")
            for c in failed:
                err = c.get("error") or {"description": "connection dropped"}
                lines.append(f"  {c['method']}: {err.get('description')}")
        if len(self.updates):
            lines.append(f"{len(self.updates)} update(s) still pending (the bot has not "
                         "fetched/confirmed them: is it polling, or is a webhook set?).")
        return "\n".join(lines)
