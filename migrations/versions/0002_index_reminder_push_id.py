"""index reminder.push_id

Marking a flush of pushes sent updates their reminders `WHERE push_id IN (…)`: without an index
that scanned the whole ledger once per flush (20,000 rows × 160 flushes for 10,000 chats), and
on PostgreSQL a push deleted would scan it for the `ON DELETE SET NULL` as well.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reminder_push_id", "reminder", ["push_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reminder_push_id", table_name="reminder")
