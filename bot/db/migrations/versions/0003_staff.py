"""Staff tools: audit trail, hand-off conversations and their messages, hand-off bans.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_audit",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    op.create_index(op.f("ix_staff_audit_user_id"), "staff_audit", ["user_id"])
    op.create_index(op.f("ix_staff_audit_created_at"), "staff_audit", ["created_at"])
    op.create_table(
        "handoffs",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.BigInteger(), nullable=True),
        sa.Column("question_id", BIG_PK, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_handoffs_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_handoffs_user_id_users")),
        sa.ForeignKeyConstraint(["question_id"], ["questions.id"], ondelete="SET NULL",
                                name=op.f("fk_handoffs_question_id_questions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    op.create_index(op.f("ix_handoffs_user_id"), "handoffs", ["user_id"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("handoff_id", BIG_PK, nullable=False),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE",
                                name=op.f("fk_handoff_messages_handoff_id_handoffs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_messages")),
        sa.UniqueConstraint("staff_chat_id", "staff_message_id",
                            name=op.f("uq_handoff_messages_staff_chat_id_staff_message_id")),
    )
    op.create_index(op.f("ix_handoff_messages_handoff_id"), "handoff_messages",
                    ["handoff_id"])
    op.create_table(
        "handoff_bans",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("banned_by", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_handoff_bans")),
    )


def downgrade() -> None:
    op.drop_table("handoff_bans")
    op.drop_index(op.f("ix_handoff_messages_handoff_id"), table_name="handoff_messages")
    op.drop_table("handoff_messages")
    op.drop_index(op.f("ix_handoffs_user_id"), table_name="handoffs")
    op.drop_table("handoffs")
    op.drop_index(op.f("ix_staff_audit_created_at"), table_name="staff_audit")
    op.drop_index(op.f("ix_staff_audit_user_id"), table_name="staff_audit")
    op.drop_table("staff_audit")
