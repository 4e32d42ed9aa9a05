"""store push payloads once (push_payload), not one copy per push

A dispatch sends the same few merged reminders to thousands of chats. Each push row carried its
own copy of the JSON (2.3 KB for one closing's reminder, more for a merged carousel: hundreds
of MB a year for 10,000 chats), and SQLite rewrote it whenever the push was leased or marked. Payloads now live in `push_payload`, keyed by the
SHA-256 of their JSON; a push points at one. Existing pushes keep their exact messages (and so
their retry keys stay valid): the upgrade moves each distinct payload across, the downgrade
copies them back.

On SQLite the second step rebuilds `push` (batch mode); migrations/env.py turns foreign keys off
for it, so dropping the old table does not null every `reminder.push_id`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:40:00
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500

push = sa.table(
    "push",
    sa.column("id", sa.Integer),
    sa.column("payload", sa.Text),
    sa.column("payload_id", sa.Integer),
)
push_payload = sa.table(
    "push_payload",
    sa.column("id", sa.Integer),
    sa.column("digest", sa.String),
    sa.column("body", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "push_payload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("push") as batch_op:
        batch_op.add_column(sa.Column("payload_id", sa.Integer(), nullable=True))
    _move_payloads_out()
    with op.batch_alter_table("push") as batch_op:
        batch_op.alter_column("payload_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key("fk_push_payload_id", "push_payload", ["payload_id"], ["id"])
        batch_op.drop_column("payload")


def _move_payloads_out() -> None:
    """Each distinct payload once into push_payload; each push pointed at its own."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    last = 0
    while True:
        rows = bind.execute(
            sa.select(push.c.id, push.c.payload)
            .where(push.c.id > last)
            .order_by(push.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        updates = []
        for push_id, body in rows:
            digest = hashlib.sha256(body.encode()).hexdigest()
            if digest not in ids:
                ids[digest] = bind.execute(
                    sa.insert(push_payload)
                    .values(digest=digest, body=body, created_at=now)
                    .returning(push_payload.c.id)
                ).scalar_one()
            updates.append({"pid": push_id, "payload_id": ids[digest]})
        bind.execute(
            sa.update(push)
            .where(push.c.id == sa.bindparam("pid"))
            .values(payload_id=sa.bindparam("payload_id")),
            updates,
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("push") as batch_op:
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
    body = (
        sa.select(push_payload.c.body)
        .where(push_payload.c.id == push.c.payload_id)
        .scalar_subquery()
    )
    op.get_bind().execute(sa.update(push).values(payload=body))
    with op.batch_alter_table("push") as batch_op:
        batch_op.drop_constraint("fk_push_payload_id", type_="foreignkey")
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("payload_id")
    op.drop_table("push_payload")
