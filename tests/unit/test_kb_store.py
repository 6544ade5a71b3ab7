"""KbStore: the one writer of the KB files (edits keep comments, validation before writing,
history, byte-identical undo, stale versions refused, writers serialised by a file lock)."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import date
from pathlib import Path

import pytest

from bot.knowledge import load_knowledge
from bot.knowledge.store import (
    KEEP_HISTORY,
    EntryEdit,
    KbInvalid,
    KbStore,
    StaleVersion,
)
from tests.support.kb import copy_knowledge, write_small_kb


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*.yaml")) if ".history" not in p.parts}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return copy_knowledge(tmp_path / "knowledge")


def test_version_is_a_content_hash(kb: Path, tmp_path: Path) -> None:
    other = copy_knowledge(tmp_path / "other")
    assert KbStore(kb).version() == KbStore(other).version()
    (other / "about.yaml").write_text((other / "about.yaml").read_text() + "\n")
    assert KbStore(kb).version() != KbStore(other).version()


def test_edit_keeps_comments_order_and_other_files(kb: Path) -> None:
    store = KbStore(kb)
    before = _snapshot(kb)
    store.apply([EntryEdit.set("tuition.fees", answer={"en": "Fees: <b>5,000 USD</b> a year."},
                               verified=True, verified_by="Anna (123)",
                               verified_at=date(2026, 12, 3))],
                author="Anna (123)", summary="fees confirmed")
    after = _snapshot(kb)
    assert [f for f in before if before[f] != after[f]] == ["tuition.yaml"]
    text = after["tuition.yaml"].decode()
    assert text.startswith("# Fees and scholarships. No figures are in our sources")
    assert "Fees: <b>5,000 USD</b> a year." in text
    assert "verified_by: \"Anna (123)\"" in text and "verified_at: 2026-12-03" in text
    # The Russian answer, the phrasings and the other entry are untouched line for line.
    old_lines = before["tuition.yaml"].decode().splitlines()
    new_lines = text.splitlines()
    ru = next(i for i, line in enumerate(old_lines) if line.strip() == "ru: |"
              and i > old_lines.index("    answer:"))
    assert old_lines[ru:ru + 3] == new_lines[new_lines.index(old_lines[ru]):][:3]
    loaded, _ = load_knowledge(kb)
    fees = loaded.entries["tuition.fees"]
    assert fees.verified and fees.verified_by == "Anna (123)"
    assert fees.answer["en"] == "Fees: <b>5,000 USD</b> a year."


def test_phrasings_added_and_removed(kb: Path) -> None:
    store = KbStore(kb)
    store.apply([EntryEdit.add_phrasings("about.location", "en",
                                         ["which street is bsmu on", "where is BSMU located"])],
                author="a", summary="phrasing")
    qs = load_knowledge(kb)[0].entries["about.location"].questions["en"]
    assert "which street is bsmu on" in qs
    assert "where is BSMU located" not in qs  # the entry has "Where is BSMU located?"
    store.apply([EntryEdit.remove_phrasings("about.location", "en", ["WHICH street is BSMU on"])],
                author="a", summary="phrasing removed")
    assert "which street is bsmu on" not in load_knowledge(kb)[0].entries[
        "about.location"].questions["en"]


def test_add_and_remove_entry(kb: Path) -> None:
    store = KbStore(kb)
    entry = {"id": "about.mascot", "category": "about",
             "title": {"en": "Mascot", "ru": "Талисман"},
             "questions": {"en": ["what is the mascot", "bsmu mascot", "university mascot"],
                           "ru": ["какой талисман", "талисман бгму", "талисман вуза"]},
             "answer": {"en": "A <b>bear</b>.\nA friendly one.", "ru": "Медведь."}}
    store.apply([EntryEdit.add_entry(entry, file="about.yaml")], author="a", summary="add")
    assert load_knowledge(kb)[0].entries["about.mascot"].answer["en"] == \
        "A <b>bear</b>.\nA friendly one."
    store.apply([EntryEdit.remove_entry("about.mascot")], author="a", summary="remove")
    assert "about.mascot" not in load_knowledge(kb)[0].entries


def test_invalid_change_leaves_files_byte_identical(kb: Path) -> None:
    store = KbStore(kb)
    before = _snapshot(kb)
    version = store.version()
    with pytest.raises(KbInvalid) as exc:
        store.apply([EntryEdit.set("tuition.fees", answer={"ru": "<b>не закрыт"})],
                    author="a", summary="bad")
    assert "tuition.fees" in str(exc.value) and "never closed" in str(exc.value)
    assert str(kb / "tuition.yaml") in str(exc.value)  # the real file, not the scratch copy
    with pytest.raises(KbInvalid):  # a phrasing that belongs to another entry
        store.apply([EntryEdit.add_phrasings("about.location", "en",
                                             ["How much is the tuition fee?"])],
                    author="a", summary="dup")
    with pytest.raises(KbInvalid):
        store.apply([EntryEdit.set("no.such_entry", verified=True)], author="a", summary="x")
    assert _snapshot(kb) == before and store.version() == version
    assert store.history() == []


def test_stale_version_refused(kb: Path) -> None:
    store = KbStore(kb)
    seen = store.version()
    store.apply([EntryEdit.set("tuition.fees", source="office, Dec 2026")], author="first",
                summary="first", base=seen)
    before = _snapshot(kb)
    with pytest.raises(StaleVersion):
        store.apply([EntryEdit.set("tuition.fees", source="someone else")], author="second",
                    summary="second", base=seen)
    assert _snapshot(kb) == before


def test_undo_restores_byte_identical_files_and_history(kb: Path) -> None:
    store = KbStore(kb)
    original = _snapshot(kb)
    v0 = store.version()
    v1 = store.apply([EntryEdit.set("tuition.fees", verified=True),
                      EntryEdit.add_phrasings("about.location", "ru", ["на какой улице бгму"])],
                     author="anna", summary="one", base=v0)
    middle = _snapshot(kb)
    v2 = store.apply([EntryEdit.set("visa.process", source="embassy")], author="boris",
                     summary="two", base=v1)
    items = store.history()
    assert [(h.author, h.summary, h.before, h.after) for h in items] == [
        ("boris", "two", v1, v2), ("anna", "one", v0, v1)]
    assert items[1].files == ("about.yaml", "tuition.yaml")
    with pytest.raises(StaleVersion):
        store.undo(author="anna", base=v1)  # shown before "two": refused
    assert store.undo(author="anna", base=v2) == v1
    assert _snapshot(kb) == middle
    assert store.undo(author="anna") == v0
    assert _snapshot(kb) == original
    assert store.history()[0].summary == "undo: one"
    with pytest.raises(LookupError):
        store.undo(author="anna")


def test_undo_refused_after_an_edit_outside_the_store(kb: Path) -> None:
    store = KbStore(kb)
    store.apply([EntryEdit.set("tuition.fees", verified=True)], author="a", summary="one")
    (kb / "visa.yaml").write_text((kb / "visa.yaml").read_text() + "# hand edit\n")
    with pytest.raises(StaleVersion):
        store.undo(author="a")


def test_history_is_bounded(tmp_path: Path) -> None:
    root = write_small_kb(tmp_path / "kb")
    store = KbStore(root, history_dir=tmp_path / "hist")
    for i in range(KEEP_HISTORY + 5):
        store.apply([EntryEdit.set("about.overview", source=f"rev {i}")], author="a",
                    summary=f"rev {i}")
    assert len(list((tmp_path / "hist").iterdir())) == KEEP_HISTORY
    assert store.history(3)[0].summary == f"rev {KEEP_HISTORY + 4}"
    assert not (root / ".history").exists()


def test_concurrent_writers_in_threads_all_land(tmp_path: Path) -> None:
    root = write_small_kb(tmp_path / "kb")
    store = KbStore(root)
    phrasings = [f"dorm question number {i}" for i in range(12)]

    def add(text: str) -> None:
        KbStore(root).apply([EntryEdit.add_phrasings("housing.dormitory", "en", [text])],
                            author=text, summary=text)

    threads = [threading.Thread(target=add, args=(p,)) for p in phrasings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    qs = load_knowledge(root)[0].entries["housing.dormitory"].questions["en"]
    assert set(phrasings) <= set(qs)
    assert len(store.history(50)) == len(phrasings)


def _prepared_apply(root: str, base: str, author: str, barrier, out) -> None:
    from bot.knowledge.store import KbVersion

    store = KbStore(Path(root))
    barrier.wait()
    try:
        store.apply([EntryEdit.set("about.overview", source=author)], author=author,
                    summary=author, base=KbVersion(base))
        out.put(("ok", author))
    except StaleVersion:
        out.put(("stale", author))


def test_two_processes_prepared_against_one_version_one_wins(tmp_path: Path) -> None:
    root = write_small_kb(tmp_path / "kb")
    base = KbStore(root).version().id
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_prepared_apply, args=(str(root), base, who, barrier, out))
             for who in ("anna", "boris")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    results = sorted(out.get(timeout=5) for _ in procs)
    assert [r[0] for r in results] == ["ok", "stale"]
    winner = results[0][1]
    assert load_knowledge(root)[0].entries["about.overview"].source == winner


def test_out_of_scope_example_appended_in_the_files_style(kb: Path) -> None:
    before = (kb / "out_of_scope.yaml").read_text()
    KbStore(kb).apply([EntryEdit.add_out_of_scope("en", ["what is the weather in  Minsk",
                                                         "How do I apply to Harvard?"])],
                      author="a", summary="oos")
    after = (kb / "out_of_scope.yaml").read_text()
    assert after.startswith(before)  # comments and every old line kept, one line added
    assert after[len(before):] == '  - {lang: en, text: "what is the weather in Minsk"}\n'
    examples = load_knowledge(kb)[0].out_of_scope
    assert examples[-1].text == "what is the weather in Minsk"


def test_out_of_scope_file_created_when_missing(tmp_path: Path) -> None:
    root = write_small_kb(tmp_path / "kb")
    KbStore(root).apply([EntryEdit.add_out_of_scope("ru", ["погода в Минске"])],
                        author="a", summary="oos")
    assert (root / "out_of_scope.yaml").read_text() == \
        'out_of_scope:\n  - {lang: ru, text: "погода в Минске"}\n'
