"""How a process sends: :class:`SendOptions` and the pacer from the configuration, and the
digest client of the CLI (which has no running bot to take the token from)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.config import Config, DigestConfig, check_token
from bot.digest.client import CONNECTIONS, BotApiClient
from bot.digest.pace import Pacer

REQUEST_TIMEOUT = 20


def create_digest_client(config: Config, token: str | None = None, *,
                         api_server: str | None = None,
                         connections: int = CONNECTIONS) -> BotApiClient:
    """A digest client straight from the configuration (the CLI has no running bot).
    :class:`~bot.config.TokenError` when BOT_TOKEN is missing or malformed. Close it with
    ``await client.close()``."""
    token = check_token(token or (config.token.get_secret_value() if config.token else None))
    return BotApiClient(token, api_server=api_server or config.telegram.api_server,
                        connections=connections)


@dataclass
class SendOptions:
    retries: int = 5
    lease_seconds: float = 300.0
    paid_broadcast: bool = False
    workers: int = 32
    claim_batch: int = 100
    base_delay: float = 0.5  # backoff for 5xx / network errors: base * 2**n, capped
    max_delay: float = 30.0
    request_timeout: int = REQUEST_TIMEOUT

    @classmethod
    def from_config(cls, cfg: DigestConfig, **overrides: Any) -> SendOptions:
        # Workers wait for their slot, then for the commit and Telegram's answer: enough of
        # them to cover ~0.2 s of that at the full rate (parts of long digests wait for
        # their chat in a timer, not in a worker).
        workers = min(256, max(8, math.ceil(cfg.rate * 0.2)))
        claim_batch = min(1000, max(20, math.ceil(cfg.rate * 2)))
        values: dict[str, Any] = {"retries": cfg.retries, "lease_seconds": cfg.lease_seconds,
                                  "paid_broadcast": cfg.paid_broadcast, "workers": workers,
                                  "claim_batch": claim_batch}
        values.update(overrides)
        return cls(**values)


def make_pacer(cfg: DigestConfig, **kwargs: Any) -> Pacer:
    return Pacer(cfg.rate, cfg.per_chat_rate, **kwargs)
