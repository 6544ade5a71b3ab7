"""Start-up checks migrations without Alembic: the newest revision id read from the scripts'
text agrees with Alembic's, and a database at that revision is not migrated again (Alembic,
Mako and Pygments stay unimported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import create_engine, current, downgrade, head, revisions, upgrade
from bot.db.migrate import VERSIONS_DIR, script_revisions

ROOT = Path(__file__).resolve().parents[2]


def test_revisions_read_from_the_scripts_agree_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    from bot.db.migrate import alembic_config

    assert script_revisions() == revisions()
    assert head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_branch_or_an_unreadable_script_is_an_error(tmp_path: Path) -> None:
    for path in VERSIONS_DIR.glob("*.py"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert script_revisions(tmp_path) == script_revisions()
    (tmp_path / "9999_branch.py").write_text(
        'revision: str = "9999"\ndown_revision: str | None = "0001"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="branch"):
        script_revisions(tmp_path)
    (tmp_path / "9999_branch.py").write_text('revision = "9999"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"9999_branch\.py"):
        script_revisions(tmp_path)


async def test_upgrade_runs_only_what_is_pending(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        assert await current(engine) is None
        await upgrade(engine)
        assert await current(engine) == head()
        await upgrade(engine)  # nothing pending: a no-op
        assert await current(engine) == head()
        previous = revisions()[-2]
        await downgrade(engine, previous)
        assert await current(engine) == previous
        await upgrade(engine)  # one pending: migrated
        assert await current(engine) == head()
    finally:
        await engine.dispose()


PROBE = """
import asyncio, json, sys
from bot.app.factory import build_app
from tests.support.harness import make_config
from pathlib import Path

async def main():
    app = await build_app(make_config(Path(sys.argv[1])))
    await app.close()

asyncio.run(main())
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "mako", "pygments"})))
"""


def test_a_start_with_nothing_to_migrate_does_not_import_alembic(tmp_path: Path) -> None:
    def start() -> list[str]:
        proc = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert "alembic" in start()  # an empty database: every migration runs
    assert start() == []  # at the newest revision: none of them imported
