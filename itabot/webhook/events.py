"""The `webhook_event` table: the dedupe of LINE's events, their statuses and the sweep.

Each event is recorded under its `webhookEventId` (the primary key) *before* LINE gets its 200:
a redelivery, or a copy that reached another gunicorn worker, hits the key and is dropped — the
database is the dedupe, not a worker's memory. Recording runs on every request, so it is one
short transaction of precompiled statements on the driver's cursor (`db.DriverStatement`):
the insert, the chat's binding for the answer, and the statuses of events handled since.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from itabot.storage import db
from itabot.storage.chats import BINDING_QUERY, binding_from_row
from itabot.storage.models import WebhookEvent
from itabot.webhook.jobs import Job, needs_handling

log = logging.getLogger(__name__)

STATUS_LINGER = 0.2  # seconds a handled event's status may wait for a transaction to ride on
STALE_AFTER = timedelta(minutes=5)

_EVENTS = WebhookEvent.__table__
_MARK = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(status=bindparam("b_status"), handled_at=bindparam("b_at"), error=bindparam("b_error"))
)
# `INSERT … ON CONFLICT (id) DO NOTHING RETURNING id` (PostgreSQL; SQLite ≥ 3.35): a duplicate
# returns no row — no error, no aborted transaction. RETURNING rather than the row count:
# psycopg 3 under SQLAlchemy 2.1 reports −1.
_INSERT_NEW = {
    name: insert(_EVENTS).on_conflict_do_nothing(index_elements=["id"]).returning(_EVENTS.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


@dataclass(frozen=True)
class _Statements:
    insert_new: db.DriverStatement
    binding: db.DriverStatement
    mark: db.DriverStatement


@cache
def _statements(database_url: str) -> _Statements:
    dialect = db.engine_for(database_url).dialect
    insert = _INSERT_NEW.get(dialect.name)
    if insert is None:
        raise NotImplementedError(f"webhook events need PostgreSQL or SQLite, not {dialect.name}")
    return _Statements(
        insert_new=db.DriverStatement.compile(insert, dialect),
        binding=db.DriverStatement.compile(BINDING_QUERY, dialect),
        mark=db.DriverStatement.compile(_MARK, dialect),
    )


def record_events(
    database_url: str, jobs: list[Job], statuses: StatusWriter | None = None
) -> list[Job]:
    """Store every job's event in one transaction; return the jobs seen for the first time.
    Events we do not act on are stored as `done` straight away (a trail, and no sweep).

    The same transaction reads each fresh question's chat binding (so answering needs no
    database round trip of its own) and writes the statuses of events handled since the last
    one (`statuses`): one connection and one commit per message, not three."""
    sql = _statements(database_url)
    now = datetime.now(UTC)
    handled = statuses.take() if statuses is not None else []
    try:
        with db.driver_transaction(database_url) as cursor:
            if handled:
                cursor.executemany(
                    sql.mark.sql, [sql.mark.params(p) for p in _mark_params(handled, now)]
                )
            return _insert_new_events(cursor, sql, jobs, now)
    except BaseException:
        if statuses is not None:
            statuses.put_back(handled)
        raise


def _insert_new_events(cursor: Any, sql: _Statements, jobs: list[Job], now: datetime) -> list[Job]:
    """Insert each job's event row; the jobs not seen before, their bindings read."""
    fresh = []
    for job in jobs:
        handled_later = needs_handling(job)
        row = {
            "id": job.event_id,
            "event_type": job.event_type,
            "chat_id": job.chat_id,
            "status": "received" if handled_later else "done",
            "received_at": now,
            "handled_at": None if handled_later else now,
            "error": None,
        }
        cursor.execute(sql.insert_new.sql, sql.insert_new.params(row))
        if cursor.fetchone() is None:
            log.info(
                "event %s already recorded (redelivery=%s): skipped",
                job.event_id,
                job.redelivery,
            )
            continue
        if job.text is not None and job.chat_id:
            cursor.execute(
                sql.binding.sql, sql.binding.params({"chat_id": job.chat_id, "sender": job.user_id})
            )
            job = replace(job, binding=binding_from_row(cursor.fetchone()))
        fresh.append(job)
    return fresh


def _mark_params(marks: list[tuple[str, str, str | None]], now: datetime) -> list[dict]:
    return [{"b_id": i, "b_status": s, "b_at": now, "b_error": e} for i, s, e in marks]


def mark_events(database_url: str, marks: list[tuple[str, str, str | None]]) -> None:
    """Set (event id, status, error) for several events in one transaction."""
    with db.engine_for(database_url).begin() as conn:
        conn.execute(_MARK, _mark_params(marks, datetime.now(UTC)))


def mark_event(database_url: str, event_id: str, status: str, error: str | None = None) -> None:
    mark_events(database_url, [(event_id, status, error)])


class StatusWriter:
    """Handled events' statuses, written a few at a time rather than one commit each.

    A status is worth recording but not worth a commit of its own: it waits (at most `linger`
    seconds) and rides on the next transaction that records new events in this process
    (`take`, inside `record_events`), so under load one commit serves a new event and the
    statuses of those just answered, and the reply thread does no database work at all. When
    no event comes, a timer writes what is waiting; `flush` writes it at once (tests, shutdown).
    A status lost with a killed process leaves its row `received`: the sweep reports it.
    """

    def __init__(self, database_url: str, *, linger: float = STATUS_LINGER) -> None:
        self.database_url = database_url
        self.linger = linger
        self._pending: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def add(self, event_id: str, status: str, error: str | None = None) -> None:
        with self._lock:
            self._pending.append((event_id, status, error))
            self._arm()

    def take(self) -> list[tuple[str, str, str | None]]:
        """What is waiting, handed to a caller that writes it in its own transaction."""
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def put_back(self, batch: list[tuple[str, str, str | None]]) -> None:
        """A batch `take`n by a transaction that rolled back: the timer writes it later."""
        if batch:
            with self._lock:
                self._pending[:0] = batch
                self._arm()

    def _arm(self) -> None:
        """Start the timer if none is running (the caller holds the lock)."""
        if self._timer is None:
            self._timer = threading.Timer(self.linger, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if not batch:
            return
        try:
            mark_events(self.database_url, batch)
        except SQLAlchemyError as exc:  # rows stay `received`; the sweep reports them
            log.error(
                "status of %d event(s) not recorded (%s): %s",
                len(batch),
                type(exc).__name__,
                ", ".join(i for i, _, _ in batch[:20]),
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
