"""Reports for the staff chat built from core results (a KB reload), shared by the /reload
handler and the composition root's automatic-reload notice."""

from __future__ import annotations

from html import escape

from bot.i18n import Translate
from bot.knowledge.diff import ReloadResult

MAX_LISTED = 30


def reload_report(result: ReloadResult, t: Translate) -> str:
    if result.ok:
        changes = result.changes.lines(detail=False) if result.changes is not None else []
        return t("staff-reload-ok", changes=escape("\n".join(changes)))
    errors = [escape(str(p)) for p in result.errors[:MAX_LISTED]]
    if len(result.errors) > MAX_LISTED:
        errors.append(f"… +{len(result.errors) - MAX_LISTED}")
    return t("staff-reload-failed", count=len(result.errors), errors="\n".join(errors))
