"""A small Telegram Bot API client for digests and staff broadcasts, without aiogram.

Digests send plain HTML text and need nothing of aiogram but an HTTP POST: importing aiogram
costs a process about 130 MB of RSS (pydantic builds hundreds of models), more than the
digest engine itself at 100,000 subscribers. This client posts JSON bodies through one
aiohttp session (created on first use) and returns the ``result`` of an ``{"ok": true}``
answer as it came (a dict for a message). It has no retry logic of its own: the sender
decides what a 429, a 5xx or a network error means for a delivery (bot.digest.sender).

Telegram answers errors with HTTP status = ``error_code`` and
``{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": N}}``;
they become:

* :class:`RetryAfter` — ``parameters.retry_after`` (or a 429 without it: ``Retry-After``
  header, else :data:`DEFAULT_RETRY_AFTER`);
* :class:`Unauthorized` (401), :class:`Forbidden` (403), :class:`BadRequest` (400),
  :class:`ServerError` (5xx, also when the body is not JSON, e.g. a proxy's HTML page),
  :class:`ApiError` for any other error status;
* :class:`NetworkError` — no answer. ``maybe_sent`` tells the two kinds apart: False when
  the request provably never left (connection refused, DNS, TLS handshake, connect timeout:
  :class:`NotSent`), True when it may have been carried out (connection dropped after the
  request was written, read timeout): a sender must not repeat such a message;
* :class:`BadAnswer` — a 2xx answer that is not Telegram's JSON: the request most likely
  was carried out, but there is no telling.

The token is part of every URL; it never appears in an exception's text (aiohttp's errors
may quote the URL: it is masked) nor in ``repr``.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote

import aiohttp

DEFAULT_SERVER: Final = "https://api.telegram.org"
#: Total time for one request (seconds) unless the call gives its own.
DEFAULT_TIMEOUT: Final = 60.0
#: HTTP connections of a digest client: at least as many as workers (SendOptions.from_config
#: gives at most 256), so no row committed as "sending" waits for a free connection, which
#: would widen what a crash leaves uncertain (and, being never resent, undelivered).
CONNECTIONS: Final = 256
#: Seconds to open a TCP (and TLS) connection; failing within it proves nothing was sent.
CONNECT_TIMEOUT: Final = 10.0
#: A 429 that says neither ``parameters.retry_after`` nor ``Retry-After`` (seconds).
DEFAULT_RETRY_AFTER: Final = 1
MASK: Final = "<token>"


# --- errors ----------------------------------------------------------------------------------


class ApiError(Exception):
    """Telegram answered the request with an error: it was not carried out."""

    def __init__(self, method: str, error_code: int, description: str,
                 parameters: dict[str, Any] | None = None) -> None:
        self.method = method
        self.error_code = error_code
        self.description = description
        self.parameters = parameters or {}
        super().__init__(method, error_code, description)

    def __str__(self) -> str:
        return f"{self.description} (error {self.error_code} in {self.method})"


class BadRequest(ApiError):
    """400: chat not found, bad HTML, message not modified, ..."""


class Unauthorized(ApiError):
    """401: the token is wrong or revoked."""


class Forbidden(ApiError):
    """403: blocked by the user, deactivated, kicked from the chat."""


class ServerError(ApiError):
    """5xx: Telegram (or a proxy in front of it) failed; worth retrying."""


class RetryAfter(ApiError):
    """Flood control: nothing may be sent for ``retry_after`` seconds."""

    def __init__(self, method: str, error_code: int, description: str,
                 parameters: dict[str, Any] | None = None, *, retry_after: int) -> None:
        super().__init__(method, error_code, description, parameters)
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{super().__str__()}, retry after {self.retry_after} s"


class NetworkError(Exception):
    """No answer (connection dropped, timeout): the request may have arrived."""

    #: Whether Telegram may have carried the request out (see :class:`NotSent`).
    maybe_sent: bool = True

    def __init__(self, method: str, message: str) -> None:
        self.method = method
        self.message = message
        super().__init__(method, message)

    def __str__(self) -> str:
        return f"{self.message} (in {self.method})"


class NotSent(NetworkError):
    """No connection was made (refused, DNS, TLS, connect timeout): nothing reached Telegram,
    so the request can safely be repeated."""

    maybe_sent = False


class BadAnswer(Exception):
    """A 2xx answer that could not be read: the request was most likely carried out."""

    def __init__(self, method: str, status: int, message: str) -> None:
        self.method = method
        self.status = status
        self.message = message
        super().__init__(method, status, message)

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status} in {self.method})"


_BY_STATUS: Final[dict[int, type[ApiError]]] = {400: BadRequest, 401: Unauthorized,
                                                403: Forbidden}


def api_error(method: str, status: int, data: Any, *, reason: str = "",
              retry_after_header: str | None = None) -> ApiError:
    """The exception for an error answer: HTTP ``status`` and its decoded JSON ``data``
    (None, or anything else, when the body was not Telegram's JSON)."""
    body = data if isinstance(data, dict) else {}
    code = status
    if 200 <= status < 300 and isinstance(body.get("error_code"), int):
        code = body["error_code"]  # "ok": false with a 2xx status (Telegram never does)
    description = body.get("description")
    if not isinstance(description, str) or not description:
        description = f"HTTP {status}{' ' + reason if reason else ''}" + (
            "" if body else " (no Telegram answer in the body)")
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    retry_after = parameters.get("retry_after")
    if isinstance(retry_after, int) and not isinstance(retry_after, bool):
        return RetryAfter(method, code, description, parameters, retry_after=retry_after)
    if code == 429:
        header = (retry_after_header or "").strip()
        wait = int(header) if header.isdigit() else DEFAULT_RETRY_AFTER
        return RetryAfter(method, code, description, parameters, retry_after=wait)
    if code >= 500:
        return ServerError(method, code, description, parameters)
    return _BY_STATUS.get(code, ApiError)(method, code, description, parameters)


# --- the client ------------------------------------------------------------------------------


def url_template(api_server: str | None = None) -> str:
    """The request URL template of a Bot API server given by its base URL, as aiogram's
    ``TelegramAPIServer.from_base`` builds it (``telegram.api_server``)."""
    base = (api_server or DEFAULT_SERVER).rstrip("/")
    return f"{base}/bot{{token}}/{{method}}"


class BotApiClient:
    """Bot API calls over one aiohttp session. Close it with :meth:`close`.

    ``api_server`` is a base URL (``telegram.api_server``; default Telegram's);
    ``template`` a full URL template with ``{token}`` and ``{method}`` instead (what
    aiogram's ``TelegramAPIServer.base`` holds, see :meth:`like`).
    """

    def __init__(self, token: str, *, api_server: str | None = None,
                 template: str | None = None, connections: int = CONNECTIONS,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self._token = token
        self._template = template or url_template(api_server)
        self._masks = tuple({token, quote(token, safe="")})
        self.connections = connections
        self.timeout = timeout
        self._urls: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def like(cls, bot: Any, *, connections: int = CONNECTIONS) -> BotApiClient:
        """A client with the token and API server of a running aiogram ``Bot`` (duck-typed:
        ``bot.token`` and ``bot.session.api.base``, the URL template), and a session of its
        own: no RetryMiddleware, and nothing of aiogram imported here."""
        api = getattr(getattr(bot, "session", None), "api", None)
        template = getattr(api, "base", None)
        return cls(bot.token, template=template if isinstance(template, str) else None,
                   connections=connections)

    @property
    def token(self) -> str:
        return self._token

    def __repr__(self) -> str:
        host = self._template.split("/bot{token}", 1)[0]
        return f"<{type(self).__name__} {host}>"

    def url(self, method: str) -> str:
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = self._template.format(token=self._token, method=method)
        return url

    def _mask(self, text: str) -> str:
        for secret in self._masks:
            text = text.replace(secret, MASK)
        return text

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl: Any = True
            if self._template.startswith("https:"):
                ssl = _ssl_context()
            connector = aiohttp.TCPConnector(limit=self.connections, ssl=ssl,
                                             ttl_dns_cache=3600)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> BotApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, method: str, params: dict[str, Any], *,
                   timeout: float | None = None) -> Any:
        """POST ``params`` as JSON to ``method``; the answer's ``result``, or one of this
        module's exceptions."""
        session = self._get_session()
        body = json.dumps(params, ensure_ascii=False, separators=(",", ":")).encode()
        total = self.timeout if timeout is None else timeout
        # A separate connect limit: a connect timeout proves nothing was sent (NotSent), the
        # total one firing later may leave a carried-out request unanswered (NetworkError).
        limit = aiohttp.ClientTimeout(total=total, sock_connect=min(total, CONNECT_TIMEOUT))
        try:
            async with session.post(self.url(method), data=body, timeout=limit,
                                    headers={"Content-Type": "application/json"}) as resp:
                raw = await resp.read()
                status, reason = resp.status, resp.reason or ""
                retry_after = resp.headers.get("Retry-After")
        except aiohttp.ConnectionTimeoutError as exc:
            raise NotSent(method, f"no connection within {CONNECT_TIMEOUT:g} s") from exc
        except TimeoutError as exc:
            raise NetworkError(method, f"no answer within {limit.total:g} s") from exc
        except aiohttp.ClientError as exc:
            text = str(exc)
            masked = self._mask(text)
            message = f"{type(exc).__name__}: {masked}" if masked else type(exc).__name__
            kind = NotSent if isinstance(exc, aiohttp.ClientConnectorError) else NetworkError
            if masked != text:  # the cause would show the token in a traceback
                raise kind(method, message) from None
            raise kind(method, message) from exc
        try:
            data = json.loads(raw)
        except ValueError:  # not JSON (also: not UTF-8)
            data = None
        if 200 <= status < 300:
            if isinstance(data, dict):
                if data.get("ok") is True:
                    return data.get("result")
                if data.get("ok") is False:
                    raise api_error(method, status, data, reason=reason)
            raise BadAnswer(method, status, "the answer is not Telegram's JSON")
        raise api_error(method, status, data, reason=reason, retry_after_header=retry_after)

    # --- methods -----------------------------------------------------------------------------

    async def send_message(self, chat_id: int | str, text: str, *, parse_mode: str | None = "HTML",
                           disable_preview: bool = True, allow_paid_broadcast: bool = False,
                           message_thread_id: int | None = None,
                           timeout: float | None = None) -> Any:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        _options(params, parse_mode, disable_preview)
        if message_thread_id is not None:
            params["message_thread_id"] = message_thread_id
        if allow_paid_broadcast:
            params["allow_paid_broadcast"] = True
        return await self.call("sendMessage", params, timeout=timeout)

    async def edit_message_text(self, chat_id: int | str, message_id: int, text: str, *,
                                parse_mode: str | None = "HTML", disable_preview: bool = True,
                                timeout: float | None = None) -> Any:
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
        _options(params, parse_mode, disable_preview)
        return await self.call("editMessageText", params, timeout=timeout)


def _options(params: dict[str, Any], parse_mode: str | None, disable_preview: bool) -> None:
    if parse_mode:
        params["parse_mode"] = parse_mode
    if disable_preview:
        params["link_preview_options"] = {"is_disabled": True}


_SSL: Any = None


def _ssl_context() -> Any:
    """TLS with certifi's CA bundle when installed (as aiogram does: containers often lack
    the system's), else the system default."""
    global _SSL
    if _SSL is None:
        import ssl

        try:
            import certifi
        except ImportError:
            _SSL = ssl.create_default_context()
        else:
            _SSL = ssl.create_default_context(cafile=certifi.where())
    return _SSL


__all__ = ["CONNECTIONS", "ApiError", "BadAnswer", "BadRequest", "BotApiClient", "Forbidden",
           "NetworkError", "NotSent", "RetryAfter", "ServerError", "Unauthorized", "api_error",
           "url_template"]
