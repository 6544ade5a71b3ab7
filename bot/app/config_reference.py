"""The configuration reference (deploy/CONFIG.md), generated from the config models so it
can never drift from what the code accepts."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from bot.config import Config

HEADER = """# Configuration reference

Generated from `bot/config.py` by `python -m bot config reference > deploy/CONFIG.md`;
a test fails when it is out of date. Every key is optional. Secrets never go in the file:
the bot token comes from `BOT_TOKEN`, the webhook secret from the variable named by
`telegram.webhook.secret_env` (default `WEBHOOK_SECRET`).

The environment also sets what differs per installation, so that neither an image nor a
config file in version control has to carry it (set and not empty, the environment wins
over the file):

| variable | replaces | example |
|---|---|---|
| `BOT_CONFIG` | the config file's path (`--config` wins over it) | `/etc/bsmu-bot/config.yaml` |
| `BOT_STAFF_ADMINS` | `staff.admins` | `123456789,987654321` |
| `BOT_STAFF_CHAT_ID` | `staff.chat_id` | `-1001234567890` |
| `LOG_LEVEL` | the log level of `run` (`DEBUG` adds tracebacks, as `--debug`) | `WARNING` |

Checked at start-up, before anything runs: unknown keys, cron expressions
(`digest.daily`, `digest.weekly`), time zones, the database driver (`sqlite+aiosqlite://`
or `postgresql+asyncpg://`; plain `sqlite://`, `postgresql://` and `postgres://` are read
as those) and the knowledge directory. `python -m bot doctor` checks the rest.

| key | type | default | notes |
|---|---|---|---|
"""


def _type_name(annotation) -> str:
    text = str(annotation).replace("typing.", "").replace("pathlib.", "")
    for prefix in ("<class '", "'>"):
        text = text.replace(prefix, "")
    return text.replace("|", "or").replace("NoneType", "none")


def _optional_section(annotation) -> type[BaseModel] | None:
    """``SomeModel | None``: a section that is off unless given (its keys' defaults apply
    once it is)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1 and len(typing.get_args(annotation)) == 2 and isinstance(
            args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(_rows(ann, key + "."))
            continue
        if (section := _optional_section(ann)) is not None:  # e.g. staff.office_hours
            notes = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{key}` | section or none | none | {notes} |")
            rows.extend(_rows(section, key + "."))
            continue
        default = field.get_default(call_default_factory=True)
        default_text = "none" if default is None else f"`{default}`"
        if isinstance(default, Path):
            default_text = f"`{default}`"
        notes = (field.description or "").replace("|", "\\|")
        if typing.get_origin(ann) is typing.Literal:
            notes = "one of " + ", ".join(f"`{a}`" for a in typing.get_args(ann))
        rows.append(f"| `{key}` | {_type_name(ann)} | {default_text} | {notes} |")
    return rows


def reference() -> str:
    return HEADER + "\n".join(_rows(Config)) + "\n"
