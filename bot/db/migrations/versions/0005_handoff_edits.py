"""Hand-off messages remember the student's side (message id, how the copy was made), so
edits are mirrored both ways.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_messages") as batch:
        batch.add_column(sa.Column("student_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("layout", sa.String(length=8), nullable=True))
        batch.create_index(op.f("ix_handoff_messages_student_message_id"),
                           ["student_message_id"])


def downgrade() -> None:
    with op.batch_alter_table("handoff_messages") as batch:
        batch.drop_index(op.f("ix_handoff_messages_student_message_id"))
        batch.drop_column("layout")
        batch.drop_column("student_message_id")
