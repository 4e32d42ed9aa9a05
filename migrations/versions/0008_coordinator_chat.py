"""chat.coordinator_of: a province's coordinator chat (the weekly digest); chat.member_count(_at):
the count LINE last gave, for the month plan;
confirmation.confirmed_by_name: the LINE name of who pressed "✓ ทำแล้ว"

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat") as batch:
        batch.add_column(sa.Column("coordinator_of", sa.String(64), nullable=True))
        batch.add_column(sa.Column("member_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("member_count_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("confirmation") as batch:
        batch.add_column(sa.Column("confirmed_by_name", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("confirmation") as batch:
        batch.drop_column("confirmed_by_name")
    with op.batch_alter_table("chat") as batch:
        batch.drop_column("member_count_at")
        batch.drop_column("member_count")
        batch.drop_column("coordinator_of")
