"""Staff decisions about unanswered questions (teaching from /unanswered).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "unanswered_decisions",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("text_hash", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_decisions")),
        sa.UniqueConstraint("lang", "text_hash",
                            name=op.f("uq_unanswered_decisions_lang_text_hash")),
    )
    op.create_index(op.f("ix_unanswered_decisions_created_at"), "unanswered_decisions",
                    ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_unanswered_decisions_created_at"),
                  table_name="unanswered_decisions")
    op.drop_table("unanswered_decisions")
