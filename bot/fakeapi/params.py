"""Request parameters in whatever shape the client sent them.

A JSON body arrives typed, but form bodies (what aiogram always sends) carry only strings,
with nested objects such as reply_markup JSON-encoded inside a field and uploads as separate
parts referenced by ``attach://name``. Accessors coerce lazily so a method only pays for the
parameters it reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

#: Parameters whose value is an object or array (JSON-encoded when sent as a form field).
JSON_PARAMS = frozenset({
    "reply_markup",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "allowed_updates",
    "commands",
    "scope",
    "reaction",
    "message_ids",
    "menu_button",
    "rights",
    "media",
    "suggested_post_parameters",
})

_JSON_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
    "allowed_updates": "can't parse allowed updates JSON object",
}


@dataclass(slots=True)
class Upload:
    """A file sent in a multipart body."""

    filename: str | None
    content_type: str | None
    data: bytes

    def describe(self) -> dict[str, Any]:
        return {"upload": self.filename, "size": len(self.data), "content_type": self.content_type}


class Params:
    """Typed, lazily coerced view over raw request parameters."""

    __slots__ = ("_parsed", "raw")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self._parsed: dict[str, Any] = {}

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get(self, name: str, default: Any = None) -> Any:
        value = self.raw.get(name)
        return default if value is None else value

    def str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, Upload):
            raise bad_request(f"{name} must be a String")
        return json.dumps(value) if isinstance(value, (dict, list)) else str(value)

    def int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def float(self, name: str, default: float | None = None) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Float') from None

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        return str(value).strip().lower() in ("true", "1", "yes")

    def obj(self, name: str) -> Any:
        """A nested object or array, decoding it if it came JSON-encoded in a string."""
        if name in self._parsed:
            return self._parsed[name]
        value = self.raw.get(name)
        if isinstance(value, str):
            if value == "":
                value = None
            else:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise bad_request(
                        _JSON_ERRORS.get(name, f"can't parse {name} JSON object")
                    ) from None
        self._parsed[name] = value
        return value

    def file(self, name: str) -> Upload | str | None:
        """An input file: an upload, ``attach://`` reference, file_id or URL."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, Upload):
            return value
        if not isinstance(value, str):
            raise bad_request(f"wrong type of {name}")
        if value.startswith("attach://"):
            attached = self.raw.get(value[len("attach://") :])
            if not isinstance(attached, Upload):
                raise bad_request(f"can't find attached file \"{value[len('attach://'):]}\"")
            return attached
        return value

    def as_dict(self) -> dict[str, Any]:
        """Parameters as recorded for tests: objects decoded, uploads summarised."""
        out: dict[str, Any] = {}
        for key, value in self.raw.items():
            if isinstance(value, Upload):
                out[key] = value.describe()
            elif key in JSON_PARAMS and isinstance(value, str):
                try:
                    out[key] = self.obj(key)
                except Exception:
                    out[key] = value
            else:
                out[key] = value
        return out
