"""News items, subscriptions and the persisted digest delivery queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
STATUSES = "'pending', 'sending', 'sent', 'failed', 'blocked', 'uncertain'"


def upgrade() -> None:
    op.create_table(
        "news_items",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("published", TIMESTAMP, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_items")),
        sa.UniqueConstraint("key", name=op.f("uq_news_items_key")),
    )
    op.create_index(op.f("ix_news_items_published"), "news_items", ["published"])
    op.create_table(
        "subscriptions",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("unsubscribed_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("frequency IN ('instant', 'daily', 'weekly')",
                           name=op.f("ck_subscriptions_frequency")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_subscriptions_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_active"), "subscriptions", ["active"])
    op.create_table(
        "digest_runs",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("planned_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('instant', 'daily', 'weekly', 'broadcast')",
                           name=op.f("ck_digest_runs_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_runs")),
        sa.UniqueConstraint("kind", "slot", name=op.f("uq_digest_runs_kind_slot")),
    )
    op.create_table(
        "digest_payloads",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("run_id", BIG_PK, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["digest_runs.id"], ondelete="CASCADE",
                                name=op.f("fk_digest_payloads_run_id_digest_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_payloads")),
        sa.UniqueConstraint("run_id", "digest", name=op.f("uq_digest_payloads_run_id_digest")),
    )
    op.create_index(op.f("ix_digest_payloads_run_id"), "digest_payloads", ["run_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("run_id", BIG_PK, nullable=False),
        sa.Column("payload_id", BIG_PK, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parts_sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("lease_until", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_deliveries_status")),
        sa.ForeignKeyConstraint(["run_id"], ["digest_runs.id"], ondelete="CASCADE",
                                name=op.f("fk_deliveries_run_id_digest_runs")),
        sa.ForeignKeyConstraint(["payload_id"], ["digest_payloads.id"], ondelete="CASCADE",
                                name=op.f("fk_deliveries_payload_id_digest_payloads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("run_id", "user_id", name=op.f("uq_deliveries_run_id_user_id")),
    )
    op.create_index("ix_deliveries_run_id_status", "deliveries", ["run_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_run_id_status", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_digest_payloads_run_id"), table_name="digest_payloads")
    op.drop_table("digest_payloads")
    op.drop_table("digest_runs")
    op.drop_index(op.f("ix_subscriptions_active"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_news_items_published"), table_name="news_items")
    op.drop_table("news_items")
