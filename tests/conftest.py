from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"

CATEGORIES = """
categories:
  - id: about
    order: 1
    title: {en: About, ru: О нас}
  - id: housing
    order: 2
    title: {en: Housing, ru: Жильё}
"""

ENTRIES = """
entries:
  - id: about.overview
    category: about
    questions:
      en: ["What is BSMU?", "tell me about the university", "about bsmu"]
      ru: ["Что такое БГМУ?", "расскажите об университете", "о БГМУ"]
    answer:
      en: "<b>BSMU</b> is a medical university in Minsk."
      ru: "<b>БГМУ</b> — медицинский университет в Минске."
    related: [housing.dormitory]
    source: seed
  - id: housing.dormitory
    category: housing
    questions:
      en: ["Is there a dormitory?", "hostel for students", "where will I live"]
      ru: ["Есть ли общежитие?", "общага для студентов", "где я буду жить"]
    answer:
      en: "Ask the admissions office about places in the dormitory."
      ru: "О местах в общежитии спросите приёмную комиссию."
    keywords: {en: [dorm], ru: [общага]}
    verified: false
"""


def write_kb(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return directory


@pytest.fixture
def small_kb_dir(tmp_path: Path) -> Path:
    return write_kb(tmp_path / "kb", {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES})


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_test_databases():
    """With BOT_TEST_DB=postgres, the databases running_bot created go at the end."""
    yield
    import asyncio

    from tests.support.harness import PG_DATABASES, drop_test_databases

    if PG_DATABASES:
        asyncio.run(drop_test_databases())
