"""web_link: the private links of `/dashboard` (a province's page) and `/calendar` (a chat's .ics)

Only the SHA-256 of a link's token is stored: a copy of the database (a backup, a support
dump) does not hand out working links. One live link per (kind, scope): a province for the
dashboard, a chat for the calendar; a new link replaces the old, revoking deletes the row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_web_link_token_hash"),
        sa.UniqueConstraint("kind", "scope", name="uq_web_link_kind_scope"),
    )


def downgrade() -> None:
    op.drop_table("web_link")
