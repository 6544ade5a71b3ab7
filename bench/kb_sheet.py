"""The knowledge base as a spreadsheet: export and import time for a large KB, and the taps
and messages from "I know the fee" to "the bot answers it" on the spreadsheet path.

1. Timing: a generated KB of N entries (default 1,000; answers of a few hundred characters
   in both languages, 10 English and 5 Russian phrasings, keywords, related ids, like the
   shipped entries) in a temporary directory:
   - export: read and check the files, version hash, write the workbook (``kb export``);
   - import, no edits: open, check every cell with the rules of ``kb check``, compare;
   - import with one changed answer and write it (``kb import``: check, diff, KbStore.apply,
     which checks the result again in a scratch copy and keeps the history).
2. Taps: the production bot against the fake Bot API, a staff member in private: /kb export,
   the tuition fee typed into the workbook (openpyxl here), the file sent back, Confirm; then
   a student asks about the fee. Counted: what the staff member sends and taps in Telegram,
   the bot's messages, and the seconds from the upload to the student's new answer.

    python bench/kb_sheet.py                 # 1,000 entries, 3 runs each
    python bench/kb_sheet.py --entries 3000 --runs 1 --json
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("admission tuition visa dormitory faculty dentistry pharmacy diploma semester "
         "document deadline interview scholarship campus hostel library clinic exam "
         "certificate insurance registration arrival language course fee payment").split()
SLOVA = ("поступление оплата виза общежитие факультет стоматология фармация диплом семестр "
         "документ срок собеседование стипендия кампус библиотека клиника экзамен "
         "сертификат страховка регистрация приезд язык курс").split()


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def generate(directory: Path, n_entries: int, seed: int = 1) -> None:
    """N entries in 10 categories, 100 per file, with the shipped KB's shape."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    cats = [f"topic{c}" for c in range(10)]
    (directory / "categories.yaml").write_text(yaml.safe_dump(
        {"categories": [{"id": c, "order": i, "title": {"en": c.title(), "ru": c.title()}}
                        for i, c in enumerate(cats)]}, allow_unicode=True))
    entries = []
    for i in range(n_entries):
        cat = cats[i % len(cats)]
        en = [f"{_sentence(rng, WORDS, rng.randint(3, 8))[:-1]} {i} q{k}?" for k in range(10)]
        ru = [f"{_sentence(rng, SLOVA, rng.randint(3, 7))[:-1]} {i} в{k}?" for k in range(5)]
        answer_en = f"<b>Topic {i}</b>\n" + " ".join(_sentence(rng, WORDS, 12)
                                                      for _ in range(6))
        answer_ru = f"<b>Тема {i}</b>\n" + " ".join(_sentence(rng, SLOVA, 12)
                                                     for _ in range(6))
        entries.append({
            "id": f"{cat}.e{i}", "category": cat, "title": {"en": f"Topic {i}",
                                                            "ru": f"Тема {i}"},
            "questions": {"en": en, "ru": ru},
            "answer": {"en": answer_en + "\n", "ru": answer_ru + "\n"},
            "keywords": {"en": [f"kw{i}"], "ru": [f"кс{i}"]},
            "related": [f"{cats[(i + 1) % len(cats)]}.e{(i + 1) % n_entries}"]
            if n_entries > 1 else [],
            "source": "generated", "verified": bool(i % 2),
        })
    for start in range(0, n_entries, 100):
        (directory / f"gen{start:06d}.yaml").write_text(
            "# generated for bench/kb_sheet.py\n" + yaml.safe_dump(
                {"entries": entries[start:start + 100]}, allow_unicode=True, sort_keys=False,
                width=4096))


def _edit_answer(data: bytes, entry_id: str, text: str) -> bytes:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    ws = wb["Entries"]
    cols = {c.value: i + 1 for i, c in enumerate(ws[1])}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == entry_id)
    ws.cell(row, cols["answer (en)"]).value = text
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def timing(n_entries: int, runs: int) -> dict:
    from bot.knowledge.store import KbStore
    from bot.knowledge.workbook import export_from, prepare, save

    results: dict[str, list[float]] = {"export": [], "import_no_edits": [],
                                       "import_one_edit_and_write": []}
    size = 0
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "kb"
            generate(root, n_entries, seed=run + 1)
            store = KbStore(root, Path(tmp) / "history")
            t0 = time.perf_counter()
            data, _kb, _version = export_from(store)
            results["export"].append(time.perf_counter() - t0)
            size = len(data)
            t0 = time.perf_counter()
            prepared = prepare(store, data)
            results["import_no_edits"].append(time.perf_counter() - t0)
            assert prepared.upload.ok and prepared.upload.empty, prepared.upload.errors[:3]
            edited = _edit_answer(data, "topic0.e0", "The fee is <b>4,900 USD</b> a year.")
            t0 = time.perf_counter()
            prepared = prepare(store, edited)
            save(store, prepared, "bench")
            results["import_one_edit_and_write"].append(time.perf_counter() - t0)
    return {"entries": n_entries, "workbook_bytes": size, "runs": runs,
            **{f"{k}_s": round(statistics.median(v), 2) for k, v in results.items()}}


async def taps() -> dict:
    from openpyxl import load_workbook

    from tests.support.harness import buttons, make_config, running_bot
    from tests.support.kb import copy_knowledge

    staff_id = 920_001
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        kb = copy_knowledge(tmp_path / "knowledge")
        config = make_config(tmp_path, staff={"admins": [staff_id]},
                             knowledge={"path": str(kb), "watch": False})
        async with running_bot(tmp_path, config=config) as h:
            staff = h.api.user(staff_id, first_name="Olga")
            student = h.api.user(930_001, language_code="en")
            sent_by_staff = taps_by_staff = 0
            start = h.api.mark()
            # 1. /kb export (typed, or one tap on the command menu)
            await staff.send_text("/kb export")
            sent_by_staff += 1
            (doc,) = await h.api.wait_for(1, chat_id=staff.id, method="sendDocument")
            data = h.api.files.get(doc["message"]["document"]["file_id"]).data
            # 2. In the spreadsheet: type the fee into the answer cell (not a Telegram tap).
            wb = load_workbook(io.BytesIO(data))
            ws = wb["Entries"]
            cols = {c.value: i + 1 for i, c in enumerate(ws[1])}
            row = next(r for r in range(2, ws.max_row + 1)
                       if ws.cell(r, 1).value == "tuition.fees")
            ws.cell(row, cols["answer (en)"]).value = (
                "<b>Tuition fees</b>\nThe tuition fee is <b>4,900 USD</b> a year.")
            out = io.BytesIO()
            wb.save(out)
            # 3. Send the file back (attach → pick the file → send: one message).
            t_upload = time.perf_counter()
            await staff.send_document("knowledge.xlsx", out.getvalue(), mime_type=None)
            sent_by_staff += 1
            preview = await h.api.wait_for(
                lambda r: any(b["text"] == "✅ Confirm" for b in buttons(r)),
                chat_id=staff.id, method="sendMessage", timeout=20)
            # 4. Confirm (one tap).
            await staff.press(preview[-1], text="✅ Confirm")
            taps_by_staff += 1
            await h.api.wait_for(lambda r: r["plain_text"].startswith("✅ Saved"),
                                 chat_id=staff.id, method="sendMessage", timeout=20)
            (answer, *_) = await student.ask("how much is the tuition fee")
            seconds = time.perf_counter() - t_upload
            assert "4,900 USD" in answer["plain_text"], answer["plain_text"]
            bot_messages = len([r for r in h.api.sent(staff.id) if r["seq"] >= start])
    return {"staff_messages_sent": sent_by_staff, "staff_taps_in_telegram": taps_by_staff,
            "bot_messages_to_staff": bot_messages,
            "upload_to_student_answer_s": round(seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    result = {"timing": timing(args.entries, args.runs), "taps": asyncio.run(taps())}
    if args.json:
        print(json.dumps(result))
        return
    t, k = result["timing"], result["taps"]
    print(f"KB of {t['entries']} entries: workbook {t['workbook_bytes'] / 1024:.0f} KB; "
          f"median of {t['runs']} run(s)")
    print(f"  export (read files, check, write xlsx):        {t['export_s']:.2f} s")
    print(f"  import without edits (open, check, compare):    {t['import_no_edits_s']:.2f} s")
    print(f"  import one changed answer and write it:         "
          f"{t['import_one_edit_and_write_s']:.2f} s")
    print("spreadsheet path, 'I know the fee' → 'the bot answers it':")
    print(f"  staff messages sent: {k['staff_messages_sent']} (/kb export, the file), "
          f"taps: {k['staff_taps_in_telegram']} (Confirm), plus typing the fee in the "
          "spreadsheet")
    print(f"  bot messages to staff: {k['bot_messages_to_staff']}; upload → student's new "
          f"answer: {k['upload_to_student_answer_s']:.2f} s")


if __name__ == "__main__":
    main()
