"""Validated configuration: ``config.yaml`` plus secrets from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = Path("config.yaml")
CONFIG_ENV = "BOT_CONFIG"
TOKEN_ENV = "BOT_TOKEN"


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits config.yaml."""


class _Model(BaseModel):
    # Unknown keys are errors: a misspelt key silently ignored is a bug in production.
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookConfig(_Model):
    url: str | None = Field(
        None,
        description="public base URL Telegram calls, e.g. https://bot.example.org")
    path: str = "/telegram/webhook"
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)
    secret_env: str = Field(
        "WEBHOOK_SECRET",
        description="name of the env variable holding the secret token")


class TelegramConfig(_Model):
    api_server: str | None = Field(
        None,
        description="self-hosted Bot API server, e.g. http://127.0.0.1:8081")
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookConfig = WebhookConfig()
    send_retries: int = Field(5, ge=0, le=20)
    max_retry_after: float = Field(120.0, gt=0)
    max_concurrent_updates: int = Field(
        64, ge=1, le=10_000,
        description="updates handled at once; more wait their turn (in polling mode at "
                    "Telegram: the next getUpdates waits for a free slot). Keeps a backlog "
                    "from slowing every update down")
    poll_linger_ms: int = Field(
        20, ge=0, le=1000,
        description="polling: after a getUpdates that brought a partial batch, wait until "
                    "this long after it before the next one, so a busy bot gets several "
                    "updates per request (adds at most this much latency; 0 = off)")


#: Database URL schemes the bot works with (SQLAlchemy's async drivers it ships with), and
#: the plain spellings people copy from elsewhere, mapped onto them.
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_DRIVER_ALIASES = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
                   "postgres": "postgresql+asyncpg"}
_DATABASE_EXAMPLES = ("sqlite+aiosqlite:///data/bot.db or "
                      "postgresql+asyncpg://user:password@host:5432/dbname")


def database_url(url: str) -> str:
    """The URL with a supported driver (plain ``postgresql://``/``sqlite://`` mapped onto
    the async drivers), else ValueError naming the supported ones (never the password)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme:
        raise ValueError(f"not a database URL: write e.g. {_DATABASE_EXAMPLES}")
    driver = _DRIVER_ALIASES.get(scheme.lower(), scheme.lower())
    if driver not in DATABASE_DRIVERS:
        raise ValueError(f"{scheme}:// is not supported; write {_DATABASE_EXAMPLES}")
    return f"{driver}://{rest}"


class DatabaseConfig(_Model):
    url: str = Field("sqlite+aiosqlite:///data/bot.db",
                     description="sqlite+aiosqlite:///path or "
                                 "postgresql+asyncpg://user:password@host:port/db")
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _driver(cls, url: str) -> str:
        return database_url(url)


class KnowledgeConfig(_Model):
    path: Path = Path("knowledge")
    watch: bool = True
    history_path: Path | None = Field(
        None,
        description="where staff changes keep the previous files (/kb history, /kb undo); "
                    "default <knowledge.path>/.history, beside the files on the same volume")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_weekdays(text: str) -> frozenset[int]:
    """"mon-fri", "mon-fri,sat", "mon,wed,fri", "fri-mon" (wraps) -> weekday numbers
    (Monday 0, as datetime.weekday())."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if first not in WEEKDAYS or (dash and last not in WEEKDAYS):
            raise ValueError(f"days: {part!r} is not a weekday or a range like mon-fri "
                             f"(weekdays: {', '.join(WEEKDAYS)})")
        a = WEEKDAYS.index(first)
        b = WEEKDAYS.index(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def parse_clock(text: str) -> int:
    """"09:00" -> minutes after midnight (0-1440; "24:00" is the end of the day)."""
    m = _CLOCK.match(text.strip())
    if not m or int(m[1]) * 60 + int(m[2]) > 24 * 60:
        raise ValueError(f"{text!r} is not a time of day like \"09:00\"")
    return int(m[1]) * 60 + int(m[2])


class OfficeHoursConfig(_Model):
    """When the admissions team answers hand-offs. Outside these hours a student who sends
    a question to the team is told when to expect the reply."""

    days: str = Field("mon-fri", description="working days: mon-fri, mon-fri,sat, mon,wed,fri")
    start: str = Field("09:00", description='opening time, "HH:MM" in quotes')
    end: str = Field("17:00", description='closing time, "HH:MM" in quotes, after start')
    timezone: str = Field("Europe/Minsk", description="IANA time zone of the office")

    @model_validator(mode="before")
    @classmethod
    def _quoted(cls, data):
        # YAML reads an unquoted 17:00 as the number 1020 (base 60).
        if isinstance(data, dict):
            for key in ("start", "end"):
                if isinstance(data.get(key), int):
                    raise ValueError(f'{key}: write the time in quotes, e.g. "17:00"')
        return data

    @model_validator(mode="after")
    def _check(self) -> OfficeHoursConfig:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        parse_weekdays(self.days)
        if parse_clock(self.start) >= parse_clock(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r} (use a name like "
                             f"Europe/Minsk)") from exc
        return self


class StaffConfig(_Model):
    admins: list[int] = Field(
        [],
        description="Telegram user ids of admissions staff (each learns theirs with /id); "
                    "BOT_STAFF_ADMINS=123,456 in the environment replaces this list")
    chat_id: int | None = Field(
        None,
        description="the staff group's chat id (send /id in the group); "
                    "BOT_STAFF_CHAT_ID in the environment replaces it")
    office_hours: OfficeHoursConfig | None = Field(
        None,
        description="when the team answers hand-offs (absent: no notice); outside them a "
                    "student who sends the team a question is told when to expect the reply. "
                    "The keys below default as shown once the section is given: "
                    "office_hours: {} is mon-fri 09:00-17:00 Europe/Minsk")


class MatchingConfig(_Model):
    """Scores are 0-100. At or above ``answer_threshold`` the best entry is answered, unless
    a runner-up is a real alternative (within ``margin``, or ``distinct_margin``: see
    AnswerEngine._in_doubt); from ``suggest_threshold`` up, "did you mean"; a question the
    best entry explains less than ``min_explained`` of falls back."""

    answer_threshold: float = Field(32.0, ge=0, le=100)
    suggest_threshold: float = Field(30.0, ge=0, le=100)
    margin: float = Field(6.0, ge=0, le=100)
    distinct_margin: float = Field(
        9.0, ge=0, le=100,
        description="a runner-up this close that has words of the question the best entry "
                    "lacks: ask too")
    min_explained: float = Field(
        0.3, ge=0, le=1,
        description="the best entry must have at least this share (by IDF) of the "
                    "question's content words; less: the question is about something else "
                    "and falls back (0 = off)")
    max_suggestions: int = Field(3, ge=1, le=10)
    # Penalties for words the knowledge base has never seen (0 = off, see bot/matching).
    unknown_penalty: float = Field(0.5, ge=0, le=5)
    name_penalty: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> MatchingConfig:
        if self.suggest_threshold > self.answer_threshold:
            raise ValueError("suggest_threshold must not exceed answer_threshold")
        return self


class FloodConfig(_Model):
    messages: int = Field(10, ge=1)
    seconds: float = Field(10.0, gt=0)


class BotConfig(_Model):
    default_language: Literal["en", "ru"] = "en"
    flood: FloodConfig = FloodConfig()
    admissions_email: str | None = None
    website: str = "https://www.bsmu.by"


class NewsConfig(_Model):
    feeds: list[str] = Field(
        [],
        description="RSS/Atom feed URLs polled in addition to knowledge/news/")
    poll_minutes: float = Field(15.0, gt=0)
    page_size: int = Field(5, ge=1, le=10)


def check_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name like Europe/Minsk "
                         "or UTC") from exc
    return name


_CRON_EXAMPLE = 'e.g. "0 10 * * *" (10:00 every day) or "0 10 * * mon"'
_CRON_WEEKDAY = re.compile(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?")


def check_cron(expr: str) -> str:
    """A 5-field crontab as bot.digest.schedule reads it (weekdays 0-7 with Sunday 0 or 7,
    or names), checked with APScheduler's parser; ValueError worded for config.yaml."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"{expr!r} is not a cron expression: write 5 fields, minute hour "
                         f"day month weekday, {_CRON_EXAMPLE}")
    names = []  # cron's numeric weekdays differ from APScheduler's: range-checked here
    for part in fields[4].split(","):
        if re.search(r"[a-zA-Z]", part):
            names.append(part)
            continue
        m = _CRON_WEEKDAY.fullmatch(part)
        bounds = [int(x) for x in (m[2], m[3]) if x] if m else []
        if not m or any(b > 7 for b in bounds) or bounds != sorted(bounds) or (
                m[4] is not None and int(m[4]) < 1):
            raise ValueError(f"{expr!r}: weekday {part!r} is not 0-7 (Sunday = 0 or 7) or a "
                             f"name like mon-fri; {_CRON_EXAMPLE}")
    try:
        CronTrigger.from_crontab(" ".join([*fields[:4], ",".join(names) or "*"]),
                                 timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"{expr!r} is not a valid cron expression ({exc}); "
                         f"{_CRON_EXAMPLE}") from exc
    return expr


class DigestConfig(_Model):
    timezone: str = "Europe/Minsk"
    daily: str = Field("0 10 * * *", description="cron: minute hour day month weekday")
    weekly: str = "0 10 * * mon"
    instant_check_seconds: float = Field(20.0, gt=0, le=60)
    rate: float = Field(25.0, gt=0, le=1000,
                        description="messages per second, all chats and instances together")
    per_chat_rate: float = Field(1.0, gt=0, le=30)
    paid_broadcast: bool = Field(
        False,
        description="pass allow_paid_broadcast (needed above ~30/s)")
    retries: int = Field(5, ge=0, le=20, description="for 5xx and network errors")
    lease_seconds: float = Field(300.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("daily", "weekly")
    @classmethod
    def _cron(cls, value: str) -> str:
        return check_cron(value)

    @model_validator(mode="after")
    def _check(self) -> DigestConfig:
        if self.rate > 30 and not self.paid_broadcast:
            raise ValueError("rate above 30 messages/s needs paid_broadcast: true")
        return self


class MonitoringConfig(_Model):
    """/healthz and /metrics. In webhook mode they are also served on the webhook port."""

    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=1, le=65535, description="None: no separate server")


class RedisConfig(_Model):
    url: str | None = None


class PrivacyConfig(_Model):
    keep_questions_days: int | None = Field(
        365, ge=0, le=36500,
        description="questions (their text) are deleted when older than this many days, by "
                    "a daily purge (03:30 in digest.timezone, and a minute after start-up) "
                    "that first folds them into anonymous daily counts, so statistics keep "
                    "their totals; 0 or none keeps questions forever. Students delete all "
                    "their data themselves with /forget")


class Config(_Model):
    telegram: TelegramConfig = TelegramConfig()
    database: DatabaseConfig = DatabaseConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    staff: StaffConfig = StaffConfig()
    matching: MatchingConfig = MatchingConfig()
    bot: BotConfig = BotConfig()
    news: NewsConfig = NewsConfig()
    digest: DigestConfig = DigestConfig()
    redis: RedisConfig = RedisConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    token: SecretStr | None = Field(default=None, exclude=True)
    _source: str = PrivateAttr("defaults")

    @property
    def source(self) -> str:
        """Where this configuration came from (a file, or the defaults and why), for
        messages that must say which config was used."""
        return self._source

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.staff.admins


def _format_error(source: str, err: ValidationError) -> str:
    lines = [f"{source}: invalid configuration"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def resolve_path(path: str | Path | None) -> Path | None:
    """``--config`` wins, then ``BOT_CONFIG``, then ./config.yaml if it exists."""
    if path:
        return Path(path)
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


#: Staff ids from the environment (they differ per installation, so they stay out of an image
#: and of the config file in version control); they replace the file's values.
STAFF_ADMINS_ENV = "BOT_STAFF_ADMINS"
STAFF_CHAT_ENV = "BOT_STAFF_CHAT_ID"


def _env_int(name: str, text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(f"{name}: {text.strip()!r} is not {what}; send /id to the bot to "
                          "learn the number") from None


def _staff_from_env(data: dict, env: Mapping[str, str]) -> dict:
    # Empty counts as unset: an env file or compose file may list the variable blank.
    admins = (env.get(STAFF_ADMINS_ENV) or "").strip() or None
    chat = (env.get(STAFF_CHAT_ENV) or "").strip() or None
    if admins is None and chat is None:
        return data
    staff = data.get("staff")
    staff = dict(staff) if isinstance(staff, dict) else {}
    if admins is not None:
        staff["admins"] = [_env_int(STAFF_ADMINS_ENV, part, "a Telegram user id "
                                    "(write ids separated by commas, e.g. 123456789,987654321)")
                           for part in admins.replace(";", ",").split(",") if part.strip()]
    if chat is not None:
        staff["chat_id"] = _env_int(STAFF_CHAT_ENV, chat, "a chat id (e.g. -1001234567890)")
    return {**data, "staff": staff}


def load_config(path: str | Path | None = None, *,
                env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    resolved = resolve_path(path)
    data: dict = {}
    source = (f"defaults (no --config, no {CONFIG_ENV}, no {DEFAULT_CONFIG} in "
              f"{Path.cwd()})")
    if resolved is not None:
        source = str(resolved)
        try:
            text = resolved.read_text(encoding="utf-8")
        except OSError as exc:
            how = ("--config" if path else CONFIG_ENV if os.environ.get(CONFIG_ENV)
                   else "the file's permissions")
            raise ConfigError(f"{source}: cannot read config file ({exc.strerror}); check "
                              f"{how}") from exc
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{source}{where}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the top level must be a mapping of sections")
        if "token" in data:
            raise ConfigError(f"{source}: token: never put the token in the file; set {TOKEN_ENV}")
    data = _staff_from_env(data, env)
    token = env.get(TOKEN_ENV)
    try:
        config = Config.model_validate({**data, "token": token or None})
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from exc
    config._source = source
    return config


# --- the bot token ---------------------------------------------------------------------------
#: What BotFather gives: the bot's id, a colon, then letters, digits, ``_`` and ``-`` (the
#: token goes into request URLs, so nothing else is let through).
TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


class TokenError(Exception):
    """BOT_TOKEN is missing or malformed: reported as a one-line error, not a traceback."""


def check_token(token: str | None) -> str:
    """The token if it has BotFather's shape, else :class:`TokenError`."""
    if not token:
        raise TokenError("BOT_TOKEN is not set: export the token BotFather gave you")
    if not TOKEN_SHAPE.fullmatch(token):
        raise TokenError("BOT_TOKEN is malformed: expected <digits>:<letters>, as given by "
                         "BotFather")
    return token
