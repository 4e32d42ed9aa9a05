"""confirmation: an agency's "✓ ทำแล้ว" for a phase, once per (agency, calendar, phase, fiscal year)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "confirmation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "agency_id",
            sa.Integer(),
            sa.ForeignKey("agency.id", ondelete="CASCADE", name="fk_confirmation_agency_id"),
            nullable=False,
        ),
        sa.Column("calendar", sa.String(100), nullable=False),
        sa.Column("phase_id", sa.String(100), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("confirmed_by", sa.String(64), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "agency_id", "calendar", "phase_id", "fiscal_year", name="uq_confirmation_once"
        ),
    )


def downgrade() -> None:
    op.drop_table("confirmation")
