"""doctor's verdicts are pure: what was observed in, one ✓/!/✗ line with its fix out."""

from __future__ import annotations

from types import SimpleNamespace as NS

from bot.app.doctor import (
    Check,
    database_verdict,
    exit_code,
    knowledge_verdict,
    render,
    staff_chat_verdict,
    webhook_verdict,
)
from bot.config import Config

WEBHOOK = Config.model_validate({"telegram": {"mode": "webhook", "webhook": {
    "url": "https://bot.example.org"}}})


def chat(type_: str = "supergroup", forum: bool = False) -> NS:
    return NS(type=type_, title="Staff", is_forum=forum)


def test_staff_chat_rights() -> None:
    ok = staff_chat_verdict(-100, chat(), NS(status="member"))
    assert (ok.status, ok.summary) == ("ok", '"Staff", supergroup: the bot can post')
    muted = staff_chat_verdict(-100, chat(), NS(status="restricted", can_send_messages=False))
    assert muted.status == "fail" and "restrictions" in muted.fix
    channel = staff_chat_verdict(-100, chat("channel"), NS(status="administrator",
                                                           can_post_messages=False))
    assert channel.status == "fail" and "'Post messages'" in channel.fix
    private = staff_chat_verdict(42, NS(type="private", title=None), NS(status="member"))
    assert private.status == "fail" and "/id" in private.fix
    owner = staff_chat_verdict(-100, chat(forum=True), NS(status="creator"))
    assert owner.status == "ok"


def test_database_revisions() -> None:
    known = ["0001", "0002", "0003"]
    assert database_verdict("db", "0003", "0003", known).status == "ok"
    behind = database_verdict("db", "0002", "0003", known)
    assert behind.status == "fail" and behind.summary == "db is at revision 0002; this " \
                                                         "version needs 0003"
    assert "db upgrade" in behind.fix
    assert "empty (never migrated)" in database_verdict("db", None, "0003", known).summary
    newer = database_verdict("db", "0009", "0003", known)
    assert newer.status == "fail" and "does not know" in newer.summary


def test_knowledge() -> None:
    bad = knowledge_verdict("/kb", 3, ["a.yaml:4: error: x", "b"], 0)
    assert bad.status == "fail" and bad.summary == "/kb: 2 error(s), first: a.yaml:4: error: x"
    assert knowledge_verdict("/kb", 3, [], 0).status == "ok"
    assert knowledge_verdict("/kb", 3, [], 2).status == "warn"


def test_webhook() -> None:
    polling = webhook_verdict(Config(), NS(url="https://old.example.org/hook"), False)
    assert polling.status == "warn" and "removes the webhook" in polling.fix
    good = webhook_verdict(WEBHOOK, NS(url="https://bot.example.org/telegram/webhook",
                                       pending_update_count=3), True)
    assert (good.status, good.summary) == (
        "ok", "https://bot.example.org/telegram/webhook (pending updates: 3)")
    failing = webhook_verdict(WEBHOOK, NS(url="https://bot.example.org/telegram/webhook",
                                          last_error_message="SSL error", last_error_date=1000),
                              True, now=1000 + 600)
    assert failing.status == "fail"
    assert failing.summary.endswith("failed 10 min ago: SSL error")


def test_render_and_exit_code() -> None:
    checks = [Check("a", "ok", "fine", "unused"), Check("b", "warn", "hm", "look"),
              Check("c", "fail", "broken", "fix it")]
    assert render(checks) == ("✓ a: fine\n! b: hm\n    fix: look\n✗ c: broken\n"
                              "    fix: fix it\n1 check(s) failed")
    assert exit_code(checks) == 1 and exit_code(checks[:2]) == 0
