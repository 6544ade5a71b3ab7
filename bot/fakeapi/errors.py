"""The error shape every Bot API failure has, so all modules raise one thing.

Telegram answers failures with ``{"ok": false, "error_code": N, "description": "...",
"parameters": {...}}`` and the same HTTP status as ``error_code``; bots branch on both the
code and the description text (aiogram maps 400/403/409/429 to different exceptions), so the
fake reproduces the exact wording wherever Telegram's is known.
"""

from __future__ import annotations

from typing import Any

#: Default descriptions per code, used when a fault is injected without one.
DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    420: "Flood",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


class ApiError(Exception):
    """A Bot API failure; raised anywhere below the HTTP layer, rendered once by the server."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """400 with Telegram's ``Bad Request: `` prefix, which aiogram strips and tests match on."""
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 as Telegram words it: clients read ``parameters.retry_after``, humans the text."""
    retry_after = max(1, int(retry_after))
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def make_error(
    error_code: int,
    description: str | None = None,
    retry_after: int | None = None,
    parameters: dict[str, Any] | None = None,
) -> ApiError:
    """Build an injected error, filling in Telegram's usual wording for the code."""
    if error_code == 429:
        ra = max(1, int(retry_after if retry_after is not None else 1))
        err = too_many_requests(ra)
        if description is not None:
            err.description = description
        if parameters:
            err.parameters = {**(err.parameters or {}), **parameters}
        return err
    if description is None:
        description = DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
    return ApiError(error_code, description, parameters)
