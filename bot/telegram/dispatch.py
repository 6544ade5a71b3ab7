"""aiogram's event propagation, with aiogram's semantics and a fraction of its overhead.

A free-text question is the last thing the routers take: it passes every router before
``questions`` (a dozen and more). aiogram, for each router, builds a closure and wraps it in
the observer's outer middlewares (``functools.wraps`` and partials, even when there are
none), copies the whole context dict several times (``**kwargs`` at each of half a dozen
calls), and tries every ``Command`` filter by parsing the text and raising an exception when
it does not start with ``/``. On the bench (bench/updates.py) that was about a millisecond
of CPU per question, as much as the answer engine.

:class:`FastDispatcher` walks the same routers in the same order and applies the same rules:

* a router's outer middlewares wrap its part of the walk (when a router has any, that router
  is handed to aiogram as is);
* its observer's router-level filters (``router.message.filter(...)``) run first; their data
  goes to that router and its sub-routers only;
* handlers in order, each handler's filters in order with the data of the earlier ones; the
  first whose filters pass runs inside the inner middlewares of its router and the routers
  above; ``SkipHandler`` moves on to the next handler;
* then the sub-routers, until one handles the event.

What changes is the cost: one context dict shared by the walk (copied only where a filter
adds data, and once for the handler that runs), no wrappers where there are no middlewares,
a ``Command`` filter answers "no" without parsing when the text does not start with one
of its prefixes (which is what parsing concludes), and a router whose handlers all begin
with a ``Command`` filter (sub-routers included) is passed over whole for such a text:
a free-text question skips a dozen command routers, their root filters unrun. Routers,
filters and handlers are aiogram's own objects; anything this does not recognise (a
synchronous filter, a magic filter) goes through aiogram's code.
tests/unit/test_fast_dispatch.py compares the two dispatchers on the same routers.
"""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, CommandStart
from aiogram.types import Message, TelegramObject

_MISSING = object()


class FastDispatcher(Dispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: update type -> router -> its command prefixes, or None (see _commands_only).
        self._commands_only: dict[str, dict[Router, str | None]] = {}

    async def _propagate_event(self, observer: TelegramEventObserver | None,
                               update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        # The dispatcher itself: aiogram's way (its own observers rarely have handlers).
        if observer:
            result, data = await observer.check_root_filters(event, **kwargs)
            if not result:
                return UNHANDLED
            kwargs.update(data)
            response = await observer.trigger(event, **kwargs)
            if response is REJECTED:  # pragma: no cover
                return UNHANDLED
            if response is not UNHANDLED:
                return response
        only = self._commands_only.get(update_type)
        if only is None:
            only = self._commands_only[update_type] = {}
        walk = _Walk(update_type, event, only)
        for router in self.sub_routers:
            if walk.passes_over(router):
                continue
            response = await _propagate(router, walk, kwargs)
            if response is not UNHANDLED:
                return response
        return UNHANDLED


class _Walk:
    """What stays the same while one event goes through the routers: its type, the event,
    the first character of its text (None when it is not a message), and which routers
    are for commands only (FastDispatcher keeps that for each update type)."""

    __slots__ = ("event", "first", "only", "update_type")

    def __init__(self, update_type: str, event: TelegramObject,
                 only: dict[Router, str | None]) -> None:
        self.update_type, self.event, self.only = update_type, event, only
        self.first = _first_char(event)

    def passes_over(self, router: Router) -> bool:
        """The router has only commands below and this is not one: nothing would match."""
        prefixes = self.only.get(router, _MISSING)
        if prefixes is _MISSING:
            prefixes = self.only[router] = _commands_only(router, self.update_type)
        return prefixes is not None and not _may_start(prefixes, self.first)


async def _propagate(router: Router, walk: _Walk, ctx: dict[str, Any]) -> Any:
    """Router.propagate_event(update_type, event, **ctx) without the copies. ``ctx`` is the
    caller's: whatever is added for this router goes into a copy. The caller has checked
    ``walk.passes_over(router)``."""
    event = walk.event
    observer = router.observers.get(walk.update_type)
    if observer is not None and observer.outer_middleware._middlewares:
        return await router.propagate_event(update_type=walk.update_type, event=event, **ctx)
    outer = ctx
    saved = ctx.get("event_router", _MISSING), ctx.get("handler", _MISSING)
    ctx["event_router"] = router
    try:
        if observer is not None:
            root = observer._handler.filters
            if root:
                passed, data = await _check(root, event, ctx)
                if not passed:
                    return UNHANDLED
                if data is not ctx:  # the root filters' data: this router and below
                    ctx = data
            if observer.handlers:
                response = await _trigger(observer, event, ctx)
                if response is REJECTED:  # pragma: no cover
                    return UNHANDLED
                if response is not UNHANDLED:
                    return response
        for sub in router.sub_routers:
            if walk.passes_over(sub):
                continue
            response = await _propagate(sub, walk, ctx)
            if response is not UNHANDLED:
                return response
        return UNHANDLED
    finally:  # the caller's context as it was (aiogram gives each router a copy)
        for key, value in zip(("event_router", "handler"), saved, strict=True):
            if value is _MISSING:
                outer.pop(key, None)
            else:
                outer[key] = value


async def _trigger(observer: TelegramEventObserver, event: TelegramObject,
                   ctx: dict[str, Any]) -> Any:
    for handler in observer.handlers:
        ctx["handler"] = handler
        if handler.filters:
            passed, data = await _check(handler.filters, event, ctx)
            if not passed:
                continue
        else:
            data = ctx
        kwargs = dict(data)  # the handler's own: middlewares may add to it
        try:
            return await _call(observer, handler, event, kwargs)
        except SkipHandler:
            ctx = data  # as in aiogram, the skipped handler's filter data stays for the next
    return UNHANDLED


async def _call(observer: TelegramEventObserver, handler: HandlerObject,
                event: TelegramObject, kwargs: dict[str, Any]) -> Any:
    middlewares = observer._resolve_middlewares()
    if middlewares:
        wrapped = observer.outer_middleware.wrap_middlewares(middlewares, handler.call)
        return await wrapped(event, kwargs)
    return await handler.call(event, **kwargs)


async def _check(filters: list[FilterObject], event: TelegramObject,
                 ctx: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """HandlerObject.check: every filter in turn, each seeing the data of the earlier ones.
    Returns ``ctx`` itself when no filter added data, else a copy with it."""
    data = ctx
    for flt in filters:
        callback = flt.callback
        if type(callback) in _COMMANDS and not _may_be_command(callback, event):
            return False, ctx
        if flt.awaitable and flt.magic is None:
            check = await callback(event, **flt._prepare_kwargs(data))
        else:
            check = await flt.call(event, **data)
        if not check:
            return False, ctx
        if isinstance(check, dict):
            if data is ctx:
                data = {**ctx, **check}
            else:
                data.update(check)
    return True, data


def _commands_only(router: Router, update_type: str) -> str | None:
    """The command prefixes of a router whose every handler, its sub-routers' included,
    begins with a ``Command`` filter (and that has no outer middlewares below); None when
    some handler could take other events. Such a router cannot handle a message that does
    not start with one of those prefixes: its root filters would only decide which of its
    handlers are tried, and each would answer no. Worked out once per router (the routers
    are assembled before polling starts: FastDispatcher keeps the answer)."""
    observer = router.observers.get(update_type)
    found = ""
    if observer is not None:
        if observer.outer_middleware._middlewares:
            return None
        for handler in observer.handlers:
            first = handler.filters[0].callback if handler.filters else None
            if type(first) not in _COMMANDS:
                return None
            found += "".join(p for p in first.prefix if p not in found)
    for sub in router.sub_routers:
        below = _commands_only(sub, update_type)
        if below is None:
            return None
        found += "".join(p for p in below if p not in found)
    return found


#: Filters whose answer for a text without one of their prefixes is known: parse_command
#: begins with extract_command + validate_prefix, which fail (CommandException: False).
_COMMANDS = (Command, CommandStart)


def _may_be_command(flt: Command, event: TelegramObject) -> bool:
    return _may_start(flt.prefix, _first_char(event))


def _first_char(event: TelegramObject) -> str | None:
    """The first character of a message's text or caption after leading spaces ("" when it
    has none); None for other events (only a message is known not to be a command)."""
    if not isinstance(event, Message):
        return None
    return (event.text or event.caption or "").lstrip()[:1]


def _may_start(prefixes: str, first: str | None) -> bool:
    """Whether an event whose text begins with ``first`` (see _first_char) may be a command
    with one of these prefixes; for other events Command decides itself."""
    return first is None or (first != "" and first in prefixes)
