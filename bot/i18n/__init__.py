"""User-visible strings live in Fluent files (bot/i18n/locales/<lang>.ftl), one per language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fluent.runtime import FluentBundle, FluentResource

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("en", "ru")
DEFAULT = "en"
log = logging.getLogger(__name__)

Translate = Callable[..., str]

#: Fluent refuses a placeable over 2,500 characters and prints ``{???}`` instead of the whole
#: message. Longer values go in after formatting, in place of a short marker (private-use
#: characters, which no Fluent syntax touches); the caller splits a message over Telegram's
#: limit (bot.telegram.replies.send_long).
LONG_VALUE = 2000
_MARK = "\ue000{}\ue001"


def language_of(code: str | None, default: str = DEFAULT) -> str:
    """Telegram's language_code ("ru", "ru-RU", "be", "en-GB") -> a language we speak."""
    if not code:
        return default
    base = code.lower().replace("_", "-").split("-")[0]
    if base in LANGUAGES:
        return base
    return "ru" if base in ("be", "uk", "kk", "ky", "uz", "tg") else default


class Translator:
    def __init__(self, directory: Path = LOCALES):
        self.bundles: dict[str, FluentBundle] = {}
        self._plain: dict[tuple[str, str], str] = {}  # (lang, key) -> text, messages without args
        self.keys: dict[str, set[str]] = {}
        for lang in LANGUAGES:
            # <lang>.ftl, plus one file per feature in <lang>/ (staff.ftl, ...).
            files = [directory / f"{lang}.ftl", *sorted((directory / lang).glob("*.ftl"))]
            bundle = FluentBundle([lang], use_isolating=False)
            self.keys[lang] = set()
            for path in files:
                resource = FluentResource(path.read_text(encoding="utf-8"))
                bundle.add_resource(resource)
                self.keys[lang] |= {getattr(e.id, "name", "") for e in resource.body
                                    if hasattr(e, "id")}
            self.bundles[lang] = bundle

    def get(self, lang: str, key: str, /, **args: object) -> str:
        if not args:  # a button label, a fixed reply: formatted once (several per answer)
            text = self._plain.get((lang, key))
            if text is None:
                text = self._plain[(lang, key)] = self._get(lang, key)
            return text
        return self._get(lang, key, **args)

    def _get(self, lang: str, key: str, /, **args: object) -> str:
        bundle = self.bundles.get(lang) or self.bundles[DEFAULT]
        if not bundle.has_message(key):
            log.error("missing translation %s for %s", key, lang)
            bundle = self.bundles[DEFAULT]
            if not bundle.has_message(key):
                return key
        long_values: list[str] = []
        if any(isinstance(v, str) and len(v) > LONG_VALUE for v in args.values()):
            args = dict(args)
            for name, value in args.items():
                if isinstance(value, str) and len(value) > LONG_VALUE:
                    args[name] = _MARK.format(len(long_values))
                    long_values.append(value)
        text, errors = bundle.format_pattern(bundle.get_message(key).value, args)
        if errors:
            log.error("translation %s/%s: %s", lang, key, errors)
        for i, value in enumerate(long_values):
            text = text.replace(_MARK.format(i), value)
        return text

    def for_lang(self, lang: str) -> Translate:
        def t(key: str, /, **args: object) -> str:
            return self.get(lang, key, **args)

        return t
