"""The deployment lets staff write the knowledge base: a writable volume shared by the
instances (compose), a state directory outside the code (systemd), history beside the files."""

from __future__ import annotations

import yaml

from bot.config import Config
from bot.knowledge.store import HISTORY_DIR, store_for
from tests.support.kb import ROOT

DEPLOY = ROOT / "deploy"


def test_compose_shares_one_writable_knowledge_volume() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = {name: compose["services"][name]["volumes"] for name in ("bot1", "bot2")}
    assert mounts["bot1"] == mounts["bot2"] == ["knowledge:/app/knowledge"]  # no :ro
    assert "knowledge" in compose["volumes"]  # named: seeded from the image, kept on upgrade
    assert "COPY knowledge knowledge.shipped" in (DEPLOY / "Dockerfile").read_text()


def test_systemd_keeps_the_knowledge_base_in_a_writable_state_directory() -> None:
    unit = (DEPLOY / "bsmu-bot@.service").read_text(encoding="utf-8")
    assert "StateDirectory=bsmu-bot" in unit
    assert "ReadWritePaths=/opt/bsmu-bot/data /var/lib/bsmu-bot" in unit
    assert "cp -a /opt/bsmu-bot/knowledge /var/lib/bsmu-bot/knowledge" in unit


def test_history_path_defaults_beside_the_files(tmp_path) -> None:
    config = Config.model_validate({"knowledge": {"path": str(tmp_path / "kb")}})
    assert store_for(config.knowledge).history_dir == tmp_path / "kb" / HISTORY_DIR
    config = Config.model_validate({"knowledge": {"path": str(tmp_path / "kb"),
                                                  "history_path": str(tmp_path / "h")}})
    assert store_for(config.knowledge).history_dir == tmp_path / "h"
