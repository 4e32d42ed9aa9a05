"""The `webhook_event` table: the dedupe of LINE's events, their statuses and the sweep.

Each event is recorded under its `webhookEventId` (the primary key) *before* LINE gets its 200:
a redelivery, or a copy that reached another gunicorn worker, hits the key and is dropped — the
database is the dedupe, not a worker's memory. The reply pool then writes each event's status
in a short transaction of its own, once the reply is out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, update
from sqlalchemy.sql.dml import Insert

from itabot.storage import db
from itabot.storage.models import WebhookEvent
from itabot.webhook.jobs import Job, needs_handling

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)

_EVENTS = WebhookEvent.__table__


@lru_cache(maxsize=2)
def _insert_new(dialect: str) -> Insert:
    """`INSERT … ON CONFLICT (id) DO NOTHING RETURNING id` (PostgreSQL; SQLite ≥ 3.35): a
    duplicate returns no row — no error, no aborted transaction. RETURNING rather than the row
    count: psycopg 3 under SQLAlchemy 2.1 reports −1."""
    insert = db.insert_for(dialect)
    return insert(_EVENTS).on_conflict_do_nothing(index_elements=["id"]).returning(_EVENTS.c.id)


# Built once (bind names must differ from the columns'): this runs after every reply.
_MARK = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), handled_at=bindparam("b_at"), error=bindparam("b_error"))
)


def record_events(database_url: str, jobs: list[Job]) -> list[Job]:
    """Store every job's event in one transaction; return the jobs seen for the first time.
    Events we do not act on are stored as `done` straight away (a trail, and no sweep)."""
    now = datetime.now(UTC)
    fresh = []
    with db.engine_for(database_url).begin() as conn:
        insert = _insert_new(conn.dialect.name)
        for job in jobs:
            handled_later = needs_handling(job)
            row = {
                "id": job.event_id,
                "event_type": job.event_type,
                "chat_id": job.chat_id,
                "status": "received" if handled_later else "done",
                "received_at": now,
                "handled_at": None if handled_later else now,
            }
            if conn.execute(insert, row).first() is None:
                log.info(
                    "event %s already recorded (redelivery=%s): skipped",
                    job.event_id,
                    job.redelivery,
                )
                continue
            fresh.append(job)
    return fresh


def mark_event(database_url: str, event_id: str, status: str, error: str | None = None) -> None:
    """Set an event's status (`done` or `failed`) in a transaction of its own."""
    with db.engine_for(database_url).begin() as conn:
        conn.execute(
            _MARK,
            {"b_id": event_id, "b_status": status, "b_at": datetime.now(UTC), "b_error": error},
        )


def sweep_stale_events(
    database_url: str, *, now: datetime | None = None, older_than: timedelta = STALE_AFTER
) -> int:
    """Mark events still `received` long after arrival as failed: their worker died (killed,
    OOM, deploy) between recording and replying. Not retried and not pushed instead — the reply
    token has expired, a push costs quota per group member, and the reply may in fact have gone
    out just before the crash (a push would then say it twice). See docs/decisions.md."""
    now = now or datetime.now(UTC)
    with db.session_scope(database_url) as session:
        stale = session.scalars(
            update(WebhookEvent)
            .where(WebhookEvent.status == "received", WebhookEvent.received_at < now - older_than)
            .values(
                status="failed", handled_at=now, error="abandoned: worker stopped before replying"
            )
            .returning(WebhookEvent.id)
        ).all()
    if stale:
        log.warning(
            "%d webhook event(s) abandoned by a stopped worker: %s",
            len(stale),
            ", ".join(stale[:20]),
        )
    return len(stale)
