"""The knowledge base as a spreadsheet, end to end through the fake Bot API: /kb export, the
workbook edited with openpyxl, sent back as a document, the preview, Confirm, and students
answered with the new text; every broken workbook refused with the cell named and the KB
files byte-identical; a non-staff user's upload; a stale upload after another change."""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy import select

from bot.db.models import StaffAction
from bot.fakeapi import FakeUser
from tests.support.harness import Harness, buttons, make_config, running_bot, settle
from tests.support.kb import copy_knowledge

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFF, STAFF2 = 910_001, 910_002
STAFF_CHAT = -1_001_000_000_912
_ids = itertools.count(71_001)
NOT_TEXT = "I can only read text messages. Please type your question."
UNKNOWN = "I don't know this command. Send /help to see what I can do."
NEW_FEE = "The tuition fee is <b>4,900 USD</b> a year for the English-medium programme."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def h(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    tmp = tmp_path_factory.mktemp("kb_sheet")
    kb = copy_knowledge(tmp / "knowledge")
    config = make_config(tmp, staff={"admins": [STAFF, STAFF2], "chat_id": STAFF_CHAT},
                         knowledge={"path": str(kb), "watch": False},
                         bot={"flood": {"messages": 1000, "seconds": 1}})
    async with running_bot(tmp, config=config) as harness:
        harness.api.group(STAFF_CHAT, "Admissions staff")
        yield harness


def kb_dir(h: Harness) -> Path:
    return Path(h.config.knowledge.path)


def snapshot(h: Harness) -> dict[str, bytes]:
    root = kb_dir(h)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.yaml"))
            if ".history" not in p.parts}


def staff(h: Harness, user_id: int = STAFF) -> FakeUser:
    return h.api.user(user_id, first_name="Olga" if user_id == STAFF else "Ivan")


async def export(h: Harness, user: FakeUser, chat=None) -> bytes:
    mark = h.api.mark()
    msg = await user.send_text("/kb export", chat=chat)
    (doc,) = await h.api.wait_for(1, chat_id=msg["chat"]["id"], since=mark,
                                  method="sendDocument")
    document = doc["message"]["document"]
    assert document["file_name"] == "knowledge.xlsx"
    assert "Edit it in Excel" in doc["plain_text"]
    return h.api.files.get(document["file_id"]).data


def edited(data: bytes, change: Callable) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Entries"]
    cols = {c.value: i + 1 for i, c in enumerate(ws[1])}
    change(wb, ws, cols)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row_of(ws, entry_id: str) -> int:
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == entry_id)


def set_cell(entry_id: str, column: str, value) -> Callable:
    def change(wb, ws, cols):
        ws.cell(row_of(ws, entry_id), cols[column]).value = value
    return change


async def upload(h: Harness, user: FakeUser, data: bytes, *, name: str = "knowledge.xlsx",
                 chat=None, predicate=None) -> list[dict]:
    """Send the workbook; the bot's reply (the preview: up to its Confirm button)."""
    mark = h.api.mark()
    msg = await user.send_document(name, data, mime_type=None, chat=chat)
    return await h.api.wait_for(predicate or 1, chat_id=msg["chat"]["id"], since=mark,
                                method="sendMessage", timeout=15)


def has_confirm(record: dict) -> bool:
    return any(b["text"] == "✅ Confirm" for b in buttons(record))


async def press(h: Harness, user: FakeUser, record: dict, label: str) -> dict:
    mark = h.api.mark()
    await user.press(record, text=label)
    (msg,) = await h.api.wait_for(1, chat_id=record["chat_id"], since=mark,
                                  method="sendMessage", timeout=15)
    return msg


async def test_export_edit_upload_confirm_then_students_get_the_new_answer(h: Harness) -> None:
    olga = staff(h)
    data = await export(h, olga)

    def change(wb, ws, cols):
        r = row_of(ws, "tuition.fees")
        ws.cell(r, cols["answer (en)"]).value = NEW_FEE
        ws.cell(r, cols["phrasings (en)"]).value += "\nwhat does a year of study cost in dollars"
        ws.cell(r, cols["verified"]).value = "yes"

    replies = await upload(h, olga, edited(data, change), predicate=has_confirm)
    preview = "\n".join(r["plain_text"] for r in replies)
    assert "What this workbook changes" in preview
    assert "tuition.fees: questions, answer, verified" in preview
    assert '+ "what does a year of study cost in dollars"' in preview
    assert "→ \"The tuition fee is <b>4,900 USD</b> a year" in preview
    assert "verified: False → True" in preview
    before = snapshot(h)
    done = await press(h, olga, replies[-1], "✅ Confirm")
    assert done["plain_text"].startswith("✅ Saved by Olga: 1 changed.")
    after = snapshot(h)
    assert [f for f in after if after[f] != before[f]] == ["tuition.yaml"]
    assert b"4,900 USD" in after["tuition.yaml"]
    assert b"# " in after["tuition.yaml"]  # comments kept
    student = h.api.user(next(_ids), language_code="en")
    (answer, *_) = await student.ask("what does a year of study cost in dollars")
    assert "4,900 USD" in answer["plain_text"]
    async with h.app.services.sessionmaker() as session:
        actions = (await session.execute(select(StaffAction.action, StaffAction.details)
                                         .where(StaffAction.user_id == STAFF))).all()
    assert ("kb import", "spreadsheet: 1 changed") in actions
    # The buttons are gone: a second tap on an old preview cannot apply it again.
    assert not buttons(h.api.chats[olga.id].messages[replies[-1]["message_id"]])


async def test_round_trip_without_edits_changes_nothing(h: Harness) -> None:
    olga = staff(h)
    (reply,) = await upload(h, olga, await export(h, olga))
    assert reply["plain_text"] == ("The workbook is the same as the knowledge base: "
                                   "nothing to change.")


async def test_cancel_changes_nothing(h: Harness) -> None:
    olga = staff(h)
    data = edited(await export(h, olga), set_cell("tuition.fees", "answer (ru)", "Дорого."))
    replies = await upload(h, olga, data, predicate=has_confirm)
    before = snapshot(h)
    done = await press(h, olga, replies[-1], "Cancel")
    assert done["plain_text"] == "Cancelled: nothing was changed."
    assert snapshot(h) == before


def _delete_column(header: str) -> Callable:
    def change(wb, ws, cols):
        ws.delete_cols(cols[header])
    return change


def _duplicate_id(wb, ws, cols):
    ws.cell(row_of(ws, "about.history"), 1).value = "about.overview"


BAD = {
    "unclosed html": (set_cell("tuition.fees", "answer (ru)", "<b>Стоимость обучения"),
                      "answer (ru): <b> is never closed"),
    "duplicate id": (_duplicate_id, "id: duplicate id (first in row"),
    "missing russian answer": (set_cell("visa.process", "answer (ru)", None),
                               "answer (ru): empty: this cell is required"),
    "empty required cell": (set_cell("visa.process", "category", ""),
                            "category: empty: this cell is required"),
    "number where text belongs": (set_cell("visa.process", "source", 2024),
                                  "source: a number (2024) where text belongs"),
    "renamed column": (lambda wb, ws, cols: setattr(ws.cell(1, cols["answer (ru)"]), "value",
                                                    "Ответ"),
                       "Entries: the column 'answer (ru)' is missing (renamed or deleted?)"),
    "deleted column": (_delete_column("phrasings (ru)"),
                       "Entries: the column 'phrasings (ru)' is missing"),
    "formula": (set_cell("visa.process", "title (en)", '=UPPER("visa")'),
                'title (en): a formula (=UPPER("visa")): type the text itself'),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_a_broken_workbook_is_refused_with_the_cell_and_changes_nothing(
        h: Harness, case: str) -> None:
    olga = staff(h)
    change, expected = BAD[case]
    data = edited(await export(h, olga), change)
    before = snapshot(h)
    (reply,) = await upload(h, olga, data)
    text = reply["plain_text"]
    assert "nothing was changed" in text, text
    assert expected in text, text
    if case not in ("renamed column", "deleted column"):
        assert "Entries!" in text
    await settle(h)
    assert snapshot(h) == before


async def test_the_cell_of_an_error_is_named_like_a_spreadsheet(h: Harness) -> None:
    olga = staff(h)

    def change(wb, ws, cols):
        ws.cell(12, cols["answer (ru)"]).value = "<b>Стоимость"

    (reply,) = await upload(h, olga, edited(await export(h, olga), change))
    assert "Entries!F12: answer (ru): <b> is never closed" in reply["plain_text"]


async def test_not_a_workbook_though_named_xlsx(h: Harness) -> None:
    olga = staff(h)
    before = snapshot(h)
    (reply,) = await upload(h, olga, b"%PDF-1.4 not a spreadsheet")
    assert reply["plain_text"].startswith("⚠️ The file is not an Excel workbook (.xlsx) even "
                                          "if its name says so")
    assert snapshot(h) == before


async def test_other_spreadsheet_formats_are_told_to_save_as_xlsx(h: Harness) -> None:
    olga = staff(h)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    (reply,) = await upload(h, olga, buf.getvalue(), name="knowledge.ods")
    assert reply["plain_text"] == ("⚠️ This is an OpenDocument spreadsheet (.ods): save it as "
                                   "Excel Workbook (.xlsx). Nothing was changed.")
    (reply,) = await upload(h, olga, b"id,category\ntuition.fees,tuition\n", name="kb.csv")
    assert "not an Excel workbook (.xlsx)" in reply["plain_text"]


async def test_a_20_mb_file_is_refused_before_downloading(h: Harness) -> None:
    olga = staff(h)
    before = snapshot(h)
    calls = len(h.api.calls("getFile"))
    (reply,) = await upload(h, olga, b"PK" + b"\0" * (20 * 1024 * 1024))
    assert reply["plain_text"] == ("⚠️ The file is 20.0 MB; I accept workbooks of at most 5 MB. "
                                   "Nothing was changed.")
    assert len(h.api.calls("getFile")) == calls  # refused by document.file_size
    assert snapshot(h) == before


async def test_a_file_larger_than_it_said_is_refused_after_downloading(h: Harness) -> None:
    olga = staff(h)
    before = snapshot(h)
    mark = h.api.mark()
    msg = await olga.send_document("knowledge.xlsx", b"PK small", mime_type=None)
    # Telegram said a few bytes; the download brings 6 MB.
    h.api.files.get(msg["document"]["file_id"]).data = b"PK" + b"\0" * (6 * 1024 * 1024)
    (reply,) = await h.api.wait_for(1, chat_id=olga.id, since=mark, method="sendMessage")
    assert reply["plain_text"] == ("⚠️ The file is 6.0 MB; I accept workbooks of at most 5 MB. "
                                   "Nothing was changed.")
    assert snapshot(h) == before


async def test_non_staff_see_nothing_of_it(h: Harness) -> None:
    student = h.api.user(next(_ids), language_code="en")
    data = await export(h, staff(h))
    before = snapshot(h)
    (reply,) = await upload(h, student, data)
    assert reply["plain_text"] == NOT_TEXT  # what any document gets
    (reply,) = await student.ask("/kb export")
    assert reply["plain_text"] == UNKNOWN
    # In the staff chat a member who is not in staff.admins gets no reaction at all.
    chat = h.api.group(STAFF_CHAT, "Admissions staff")
    mark = h.api.mark()
    await student.send_document("knowledge.xlsx", data, mime_type=None, chat=chat)
    await settle(h)
    assert [r for r in h.api.sent(STAFF_CHAT) if r["seq"] >= mark] == []
    assert snapshot(h) == before


async def test_staff_chat_works_too(h: Harness) -> None:
    ivan = staff(h, STAFF2)
    chat = h.api.group(STAFF_CHAT, "Admissions staff")
    data = edited(await export(h, ivan, chat=chat),
                  set_cell("visa.process", "title (en)", "Visa: how to get one"))
    replies = await upload(h, ivan, data, chat=chat, predicate=has_confirm)
    assert "visa.process: title" in replies[-1]["plain_text"]
    done = await press(h, ivan, replies[-1], "✅ Confirm")
    assert done["plain_text"].startswith("✅ Saved by Ivan")
    assert h.app.services.knowledge.kb.entries["visa.process"].title["en"] == \
        "Visa: how to get one"


async def test_a_stale_upload_is_refused_never_merged(h: Harness) -> None:
    olga, ivan = staff(h), staff(h, STAFF2)
    olgas = await export(h, olga)
    ivans = await export(h, ivan)
    # Olga previews her change; Ivan saves his; then Olga confirms: refused.
    replies = await upload(h, olga, edited(olgas, set_cell("tuition.fees", "source",
                                                           "Olga's price list")),
                           predicate=has_confirm)
    ivans = edited(ivans, set_cell("tuition.fees", "source", "Ivan's price list"))
    preview = await upload(h, ivan, ivans, predicate=has_confirm)
    done = await press(h, ivan, preview[-1], "✅ Confirm")
    assert done["plain_text"].startswith("✅ Saved by Ivan")
    before = snapshot(h)
    refused = await press(h, olga, replies[-1], "✅ Confirm")
    assert "exported from an older version of the knowledge base" in refused["plain_text"]
    assert "last change by Ivan (id 910002)" in refused["plain_text"]
    assert snapshot(h) == before
    # Sending the old workbook again is refused the same way, before any preview.
    (again,) = await upload(h, olga, edited(olgas, set_cell("tuition.fees", "source", "x")))
    assert "exported from an older version" in again["plain_text"]
    assert snapshot(h) == before
    assert b"Ivan's price list" in before["tuition.yaml"]


async def test_a_second_tap_on_confirm_says_it_is_already_saved(h: Harness) -> None:
    olga = staff(h)
    data = edited(await export(h, olga), set_cell("visa.process", "source", "consulate 2025"))
    replies = await upload(h, olga, data, predicate=has_confirm)
    mark = h.api.mark()
    await olga.press(replies[-1], text="✅ Confirm")
    await olga.press(replies[-1], text="✅ Confirm")  # before the first one is handled
    notes = await h.api.wait_for(2, chat_id=olga.id, since=mark, method="sendMessage",
                                 timeout=15)
    texts = sorted(n["plain_text"] for n in notes)
    assert texts[0].startswith("This workbook has already been saved"), texts
    assert texts[1].startswith("✅ Saved by Olga: 1 changed."), texts
    assert len(list(h.app.services.config.knowledge.path.parent.rglob("manifest.json"))) >= 1


async def test_a_long_preview_is_split_and_confirm_comes_last(h: Harness) -> None:
    olga = staff(h)
    kb = h.app.services.knowledge.kb
    ids = [e for e in kb.entries if not e.startswith(("news.", "bot."))][:25]

    def change(wb, ws, cols):
        for eid in ids:
            c = ws.cell(row_of(ws, eid), cols["answer (en)"])
            c.value = "Revised: " + c.value[::-1].replace("<", "").replace(">", "")[:900]

    data = edited(await export(h, olga), change)
    mark = h.api.mark()
    await upload(h, olga, data, predicate=has_confirm)
    replies = [r for r in h.api.sent(olga.id, method="sendMessage") if r["seq"] >= mark]
    assert len(replies) > 1
    assert all(len(r["plain_text"]) <= 4096 for r in replies)
    assert [has_confirm(r) for r in replies] == [False] * (len(replies) - 1) + [True]
    assert replies[0]["plain_text"].startswith("📝 What this workbook changes\n"
                                               f"entries changed ({len(ids)}):")
    done = await press(h, olga, replies[-1], "✅ Confirm")
    assert done["plain_text"].startswith(f"✅ Saved by Olga: {len(ids)} changed.")
