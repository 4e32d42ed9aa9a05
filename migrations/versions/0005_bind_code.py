"""bind codes: an agency's one-time code (`/agency code`, `/bind <code>`) and the chats' guesses

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bind_code",
        sa.Column(
            "agency_id",
            sa.Integer(),
            sa.ForeignKey("agency.id", ondelete="CASCADE", name="fk_bind_code_agency_id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(64), nullable=True),
        sa.Column("used_in", sa.String(64), nullable=True),
    )
    op.create_table(
        "bind_guess",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bind_guess_chat_at", "bind_guess", ["chat_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_bind_guess_chat_at", table_name="bind_guess")
    op.drop_table("bind_guess")
    op.drop_table("bind_code")
