"""The method table (name -> handler) that every method family registers into."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..params import Params

if TYPE_CHECKING:
    from ..server import FakeTelegram

Handler = Callable[["FakeTelegram", Params], Awaitable[Any]]

#: lowercase name -> (canonical name, handler); Telegram method names are case-insensitive.
METHODS: dict[str, tuple[str, Handler]] = {}

#: Methods that create a message; these are what flood control counts.
SEND_METHODS = frozenset({
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendvoice",
    "sendaudio",
    "sendvideo",
    "sendanimation",
    "sendsticker",
    "sendlocation",
    "copymessage",
    "forwardmessage",
})


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name.lower()] = (name, fn)
        return fn

    return register
