"""``kb apply``: merge a reviewed phrasing patch into the KB's YAML files, keeping their
comments and layout (new lines are inserted as text), and only if the result validates."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge.loader import load_knowledge
from bot.knowledge.store import KbStore
from bot.knowledge.yamlsource import Problem
from bot.text.normalize import normalize


@dataclass
class ApplyResult:
    added: int
    skipped: list[str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not any(p.level == "error" for p in self.problems)


class PatchError(Exception):
    pass


def _read_patch(path: Path) -> list[dict]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PatchError(f"{path}: not valid YAML: {exc}") from exc
    items = data.get("patch") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise PatchError(f"{path}: expected a top-level 'patch' list")
    for i, item in enumerate(items):
        if not (isinstance(item, dict) and isinstance(item.get("entry"), str)
                and item.get("lang") in ("en", "ru")
                and isinstance(item.get("add_questions"), list)):
            raise PatchError(f"{path}: item {i + 1} needs entry, lang (en/ru) and "
                             "add_questions (a list)")
    return items


def _insert(text: str, entry_id: str, lang: str, phrasings: list[str]) -> str:
    """Insert phrasings after the last item of the entry's questions.<lang> sequence."""
    root = yaml.compose(text)
    entries = next((v for k, v in root.value if k.value == "entries"), None)
    for node in entries.value if entries else []:
        fields = {k.value: v for k, v in node.value}
        if getattr(fields.get("id"), "value", None) != entry_id:
            continue
        seq = next((v for k, v in fields["questions"].value if k.value == lang), None)
        if seq is None or not seq.value:
            raise PatchError(f"{entry_id}: has no '{lang}' questions to extend")
        quoted = [json.dumps(p, ensure_ascii=False) for p in phrasings]
        last = seq.value[-1]
        if seq.flow_style:
            # Right after the last item, not before the bracket: a trailing comma
            # ("[a, b,]") would otherwise become "b,, new".
            end = last.end_mark.index
            return text[:end] + "".join(f", {q}" for q in quoted) + text[end:]
        line_start = text.rfind("\n", 0, last.start_mark.index) + 1
        indent = text[line_start:last.start_mark.index]  # e.g. "        - "
        # The end of the item's last line (a block scalar's end mark is on the next line).
        pos = text.find("\n", len(text[:last.end_mark.index].rstrip()))
        pos = len(text) if pos == -1 else pos
        block = "".join(f"\n{indent}{q}" for q in quoted)
        return text[:pos] + block + text[pos:]
    raise PatchError(f"entry {entry_id} not found")


def apply_patch(kb_dir: Path, patch_file: Path, *, write: bool = True,
                author: str = "command line", history_dir: Path | None = None
                ) -> ApplyResult:
    """Written through KbStore: validated, atomic, and kept in the history (``kb undo``)."""
    items = _read_patch(patch_file)
    kb, _ = load_knowledge(kb_dir)
    existing = {normalize(q) for e in kb.entries.values() for qs in e.questions.values()
                for q in qs}
    skipped: list[str] = []
    plan: dict[Path, str] = {}
    added = 0
    for item in items:
        entry = kb.entries.get(item["entry"])
        if entry is None:
            raise PatchError(f"unknown entry id {item['entry']!r}")
        fresh = []
        for q in item["add_questions"]:
            key = normalize(str(q))
            if not key or key in existing:
                skipped.append(str(q))
                continue
            existing.add(key)
            fresh.append(" ".join(str(q).split()))
        if not fresh:
            continue
        path = Path(entry.file)
        text = plan.get(path) or path.read_text(encoding="utf-8")
        plan[path] = _insert(text, entry.id, item["lang"], fresh)
        added += len(fresh)
    with tempfile.TemporaryDirectory() as tmp:
        trial = Path(tmp) / "kb"
        shutil.copytree(kb_dir, trial)
        for path, text in plan.items():
            (trial / path.relative_to(kb_dir)).write_text(text, encoding="utf-8")
        _, problems = load_knowledge(trial, strict=False)
    result = ApplyResult(added, skipped, problems)
    if write and result.ok and plan:
        KbStore(kb_dir, history_dir).replace_files(
            {path.relative_to(kb_dir).as_posix(): text.encode("utf-8")
             for path, text in plan.items()},
            author=author, summary=f"kb apply {patch_file.name}: {added} phrasing(s)")
    return result
