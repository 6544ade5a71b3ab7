"""Small knowledge bases for tests: YAML snippets with known answers, and helpers that
write them (or a copy of the shipped KB) to a directory.

``CATEGORIES`` + ``ENTRIES`` is the small KB (two categories, two entries in English and
Russian; the ``small_kb_dir`` fixture of tests/support/fixtures.py writes it). Tests derive
broken or changed variants from it with ``str.replace``; a test that needs entries of its
own keeps them in its module.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"  # the shipped KB
BIG_ID = 9_223_372_036_854_775_807  # BIGINT's maximum: the largest question id

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

# One entry to add to the shipped KB (category ``about``): a reload reports it as added.
MASCOT = """
entries:
  - id: about.mascot
    category: about
    questions:
      en: ["what is the university mascot", "bsmu mascot", "mascot of the university"]
      ru: ["какой талисман у университета", "талисман БГМУ", "талисман вуза"]
    answer: {en: "The mascot is a placeholder.", ru: "Талисман — заглушка."}
"""

# A KB file with a YAML syntax error on line 3.
BROKEN = "entries:\n  - id: x.y\n    category: [unclosed\n"


def write_kb(directory: Path, files: dict[str, str]) -> Path:
    """Write ``{file name: YAML}`` (dedented) into ``directory``; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return directory


def write_small_kb(directory: Path) -> Path:
    """The small KB (``CATEGORIES`` and ``ENTRIES``) in ``directory``."""
    return write_kb(directory, {"categories.yaml": CATEGORIES, "entries.yaml": ENTRIES})


def copy_knowledge(directory: Path, extra: dict[str, str] | None = None) -> Path:
    """A copy of the shipped knowledge base in ``directory``, plus ``extra`` YAML files."""
    shutil.copytree(KNOWLEDGE, directory)
    for name, text in (extra or {}).items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory
