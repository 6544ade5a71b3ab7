"""aiogram's types built on first use (bot/telegram/lazy_models.py) are the types aiogram
builds at import: every one of them builds, with the same schema, and validates the same.

Each mode runs in a fresh interpreter (the hook only acts before aiogram is imported)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

UPDATES = [
    {"update_id": 1, "message": {
        "message_id": 5, "date": 1700000000, "chat": {"id": 7, "type": "private",
                                                       "first_name": "Анна"},
        "from": {"id": 7, "is_bot": False, "first_name": "Анна", "language_code": "ru"},
        "text": "сколько стоит обучение?",
        "entities": [{"type": "bold", "offset": 0, "length": 7}]}},
    {"update_id": 2, "callback_query": {
        "id": "9", "chat_instance": "c", "data": "q:1:2",
        "from": {"id": 7, "is_bot": False, "first_name": "A"},
        "message": {"message_id": 6, "date": 1700000001,
                    "chat": {"id": 7, "type": "private"}, "text": "x",
                    "reply_markup": {"inline_keyboard": [[{"text": "b",
                                                           "callback_data": "q:1:2"}]]}}}},
    {"update_id": 3, "message": {
        "message_id": 8, "date": 1700000002,
        "chat": {"id": -100, "type": "supergroup", "title": "g"},
        "sender_chat": {"id": -100, "type": "supergroup", "title": "g"},
        "from": {"id": 1087968824, "is_bot": True, "first_name": "Group",
                 "username": "GroupAnonymousBot"},
        "sticker": {"file_id": "f", "file_unique_id": "u", "type": "regular", "width": 1,
                    "height": 1, "is_animated": False, "is_video": False,
                    "thumbnail": {"file_id": "t", "file_unique_id": "tu", "width": 1,
                                  "height": 1}}}},
    {"update_id": 4, "my_chat_member": {
        "chat": {"id": 7, "type": "private"}, "date": 1700000003,
        "from": {"id": 7, "is_bot": False, "first_name": "A"},
        "old_chat_member": {"status": "member", "user": {"id": 9, "is_bot": True,
                                                         "first_name": "bot"}},
        "new_chat_member": {"status": "kicked", "until_date": 0,
                            "user": {"id": 9, "is_bot": True, "first_name": "bot"}}}},
    {"update_id": 5, "message": {"message_id": 9, "date": 1700000004,
                                 "chat": {"id": 7, "type": "private"},
                                 "voice": {"file_id": "v", "file_unique_id": "vu",
                                           "duration": 3}}},
]

CHILD = textwrap.dedent("""
    import hashlib, json, sys, warnings
    warnings.simplefilter("ignore")
    from bot.telegram.lazy_models import defer_aiogram_models
    installed = defer_aiogram_models() if sys.argv[1] == "lazy" else False
    from aiogram import methods, types
    from aiogram.methods.base import Response
    from pydantic import BaseModel

    def schema(cls):
        cls.__pydantic_validator__.validate_python  # builds it when deferred
        assert cls.__pydantic_complete__, cls
        try:
            text = json.dumps(cls.model_json_schema(), sort_keys=True)
        except Exception as e:  # the same models fail the same way in both modes
            text = type(e).__name__
        return hashlib.sha1(text.encode()).hexdigest()

    def models(module):
        for name in module.__all__:
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, BaseModel):
                yield name, cls

    def schemas():
        lazy_before = sum(1 for _, cls in models(types) if not cls.__pydantic_complete__)
        # the way the bot meets them: inside a response, inside a method, then alone
        sent = Response[types.Message].model_validate(
            {"ok": True, "result": json.loads(sys.argv[2])[0]["message"]})
        out = {"Response[Message]": schema(Response[types.Message])}
        out.update((f"methods.{name}", schema(cls)) for name, cls in models(methods))
        dumps = [types.Update.model_validate(u).model_dump(mode="json", exclude_none=True)
                 for u in json.loads(sys.argv[2])]
        out.update((name, schema(cls)) for name, cls in models(types))
        return {"installed": installed, "deferred_at_import": lazy_before,
                "sent": sent.result.text, "updates": dumps, "schemas": out}

    def depth(n):  # pydantic's lazy build looks some frames up the stack
        return depth(n - 1) if n else schemas()

    print(json.dumps(depth(8)))
""")


def _run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, json.dumps(UPDATES)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_deferred_types_build_the_same_schemas_and_validate_the_same():
    with ThreadPoolExecutor(2) as pool:
        lazy, eager = pool.map(_run, ["lazy", "eager"])
    assert lazy["installed"] is True and eager["installed"] is False
    # the hook did defer: hundreds of types were not built at import, none in eager mode
    assert lazy["deferred_at_import"] > 300
    assert eager["deferred_at_import"] == 0
    assert len(lazy["schemas"]) > 450  # every type, every method
    assert lazy["sent"] == eager["sent"] == "сколько стоит обучение?"
    differ = sorted(k for k in eager["schemas"] if lazy["schemas"].get(k) != eager["schemas"][k])
    assert differ == []
    assert lazy["updates"] == eager["updates"]
    assert lazy["updates"][0]["message"]["text"] == "сколько стоит обучение?"
    assert lazy["updates"][2]["message"]["sticker"]["thumbnail"]["file_id"] == "t"


def test_too_late_once_aiogram_is_imported():
    import aiogram.types  # noqa: F401  (this process has imported it)

    from bot.telegram.lazy_models import defer_aiogram_models

    assert defer_aiogram_models() is False
