"""Deployment files stay true to the code: the config reference is generated, the example
production config validates, the compose file describes two instances behind a proxy."""

from __future__ import annotations

import yaml

from bot.app.config_reference import reference
from bot.config import load_config
from tests.support.kb import ROOT

DEPLOY = ROOT / "deploy"


def test_config_reference_is_up_to_date() -> None:
    committed = (DEPLOY / "CONFIG.md").read_text(encoding="utf-8")
    assert committed == reference(), "run: python -m bot config reference > deploy/CONFIG.md"


def test_every_config_key_is_documented() -> None:
    text = reference()
    for key in ("telegram.webhook.secret_env", "database.url", "redis.url",
                "digest.rate", "monitoring.port", "matching.answer_threshold"):
        assert f"| `{key}` |" in text


def test_production_example_validates() -> None:
    config = load_config(DEPLOY / "config.production.yaml", env={"BOT_TOKEN": "1:x"})
    assert config.telegram.mode == "webhook"
    assert config.database.url.startswith("postgresql+asyncpg://")
    assert config.redis.url and config.monitoring.port


def test_compose_runs_two_instances_behind_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "bot1", "bot2", "nginx"} <= set(services)
    assert services["bot1"]["build"] == services["bot2"]["build"]
    upstream = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "server bot1:8080" in upstream and "server bot2:8080" in upstream


def test_staff_ids_come_from_the_environment_not_the_image() -> None:
    production = DEPLOY / "config.production.yaml"
    assert "staff" not in yaml.safe_load(production.read_text(encoding="utf-8"))
    env = {"BOT_TOKEN": "1:x", "BOT_STAFF_ADMINS": "111,222", "BOT_STAFF_CHAT_ID": "-1001"}
    config = load_config(production, env=env)
    assert (config.staff.admins, config.staff.chat_id) == ([111, 222], -1001)
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    for name in ("bot1", "bot2"):
        environment = compose["services"][name]["environment"]
        assert {"BOT_STAFF_ADMINS", "BOT_STAFF_CHAT_ID"} <= set(environment)
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    assert "BOT_STAFF_ADMINS=" in example and "BOT_STAFF_CHAT_ID=" in example
