"""Bot API methods, implemented from the documentation, against the fake's state.

Each handler takes the server and the request's Params and returns the ``result`` value or
raises ApiError. Validation runs before anything is charged or stored, so a refused call has
no side effects, message ids stay gap-free and a 429 never delivers half a message.

Handlers register themselves in METHODS as their module is imported; this package imports
every family, so importing it makes the whole table available.
"""

from __future__ import annotations

# Imported for their side effect: each module registers its handlers in METHODS.
from . import account, editing, interaction, media, members, sending  # noqa: F401
from .registry import METHODS, SEND_METHODS

__all__ = ["METHODS", "SEND_METHODS"]
