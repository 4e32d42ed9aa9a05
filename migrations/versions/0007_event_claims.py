"""webhook_event claims (owner, claimed_at, sent_at, job) and the one-row health_probe

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch:
        batch.add_column(sa.Column("owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("job", sa.Text(), nullable=True))
    op.create_index("ix_webhook_event_status", "webhook_event", ["status"])
    op.create_index("ix_webhook_event_received_at", "webhook_event", ["received_at"])
    op.create_table(
        "health_probe",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("probed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("health_probe")
    op.drop_index("ix_webhook_event_received_at", table_name="webhook_event")
    op.drop_index("ix_webhook_event_status", table_name="webhook_event")
    with op.batch_alter_table("webhook_event") as batch:
        batch.drop_column("job")
        batch.drop_column("sent_at")
        batch.drop_column("claimed_at")
        batch.drop_column("owner")
