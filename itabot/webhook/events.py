"""The `webhook_event` table: the dedupe of LINE's events, who is answering each, its status,
the sweep and the purge.

Each event is recorded under its `webhookEventId` (the primary key) *before* LINE gets its 200,
owned by the recording process and with the job as JSON. A copy that reached another worker
hits the key and is dropped — the database is the dedupe, not a worker's memory.

An event is replied to at most once because only one process can move its row from `received`
to `replying`, and only the row's current `owner` may (`claim_reply`, a compare-and-set right
before the reply). Nothing said to LINE is ever undone or repeated, so everything before that
step may be redone by someone else:

- a *redelivery* (`isRedelivery`: LINE did not get our 200, so the recording worker may have
  died) of a row still `received` takes ownership at once; if the first owner is alive after
  all, its own claim then fails and it drops its answer;
- the *sweep* (every few seconds in each worker, and at a worker's start) takes over rows left
  `received` by an owner silent for `LEASE`, while their reply token is still usable, and marks
  `expired` those whose token is too old;
- a row left `replying` for `REPLYING_STALE` (longer than any live reply call: its owner died
  during the call) is taken over the same ways while its token is usable, and replied to with
  the *same* reply token: LINE accepts a token once, so if the first call did reach LINE the
  second is refused and nobody hears the answer twice. Past the token's life it is `failed`.

Every status is written to the database when it happens; nothing is held in memory.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.sql.dml import Insert

from itabot.storage import db
from itabot.storage.models import WebhookEvent
from itabot.webhook.jobs import Job, needs_handling

log = logging.getLogger(__name__)

# LINE: a reply token is valid about a minute after the event. A reply is started only while the
# event is younger than this, leaving the reply call (and its one retry) inside the minute.
REPLY_WITHIN = timedelta(seconds=50)
LEASE = timedelta(seconds=10)  # a `received` row whose owner is silent this long is taken over
# A live reply call ends within 10 s + 0.5 s + 10 s (timeout, backoff, one retry): a `replying`
# claim older than this belongs to a process that died during the call.
REPLYING_STALE = timedelta(seconds=21)
PURGE_BATCH = 5000

_EVENTS = WebhookEvent.__table__


def process_owner() -> str:
    """This process as an event's owner: host, pid and a nonce (a pid is reused after a kill)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


PLAUSIBLE_SKEW = timedelta(days=1)  # LINE redelivers within hours; beyond, a wrong clock


def sent_time(job: Job, received_at: datetime) -> datetime:
    """The reply token's birth: when LINE says the event happened — a redelivery carries the
    original time — unless that is no time LINE could have sent (missing, or a day away from
    ours: a wrong clock, a replayed test body); then when we first recorded it."""
    if job.sent_at is None:
        return received_at
    sent = datetime.fromtimestamp(job.sent_at, UTC)
    return sent if abs(received_at - sent) <= PLAUSIBLE_SKEW else received_at


def token_usable(job: Job, now: datetime) -> bool:
    """Whether a reply may still be started (jobs leave `record_events` with `sent_at` set)."""
    return job.sent_at is None or now.timestamp() - job.sent_at <= REPLY_WITHIN.total_seconds()


@lru_cache(maxsize=2)
def _insert_new(dialect: str) -> Insert:
    """`INSERT … ON CONFLICT (id) DO NOTHING RETURNING id` (PostgreSQL; SQLite ≥ 3.35): a
    duplicate returns no row — no error, no aborted transaction. RETURNING rather than the row
    count: psycopg 3 under SQLAlchemy 2.1 reports −1."""
    insert = db.insert_for(dialect)
    return insert(_EVENTS).on_conflict_do_nothing(index_elements=["id"]).returning(_EVENTS.c.id)


# Built once (bind names must differ from the columns'): these run for every event.
_TAKE_OVER = (
    update(_EVENTS)
    .where(
        _EVENTS.c.id == bindparam("b_id"),
        or_(
            _EVENTS.c.status == "received",
            and_(_EVENTS.c.status == "replying", _EVENTS.c.claimed_at < bindparam("b_stale")),
        ),
    )
    .values(
        status="received",
        owner=bindparam("b_owner"),
        claimed_at=bindparam("b_at"),
        job=bindparam("b_job"),
    )
    .returning(_EVENTS.c.id)
)
_CLAIM_REPLY = (
    update(_EVENTS)
    .where(
        _EVENTS.c.id == bindparam("b_id"),
        _EVENTS.c.status == "received",
        _EVENTS.c.owner == bindparam("b_owner"),
    )
    .values(status="replying", claimed_at=bindparam("b_at"))
    .returning(_EVENTS.c.id)
)
_MARK = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        handled_at=bindparam("b_at"),
        error=bindparam("b_error"),
        job=None,
    )
)
_MARK_OWNED = _MARK.where(_EVENTS.c.owner == bindparam("b_owner"))


def record_events(database_url: str, jobs: list[Job], owner: str = "") -> list[Job]:
    """`_record_events` in one transaction, tried once more on a new connection if the pool
    dropped a stale one (a restarted server, a file writable again): no 503 for that."""
    return db.once_more_if_invalidated(lambda: _record_events(database_url, jobs, owner))


def _record_events(database_url: str, jobs: list[Job], owner: str) -> list[Job]:
    """Store every job's event in one transaction, owned by `owner`; return the jobs this
    process must answer: those seen for the first time, and redeliveries of events still
    `received` (taken over: their owner may have died before LINE got its 200). Events we do
    not act on are stored as `done` straight away (a trail, and no sweep)."""
    now = datetime.now(UTC)
    fresh = []
    with db.engine_for(database_url).begin() as conn:
        insert = _insert_new(conn.dialect.name)
        for job in jobs:
            handled_later = needs_handling(job)
            job = replace(job, sent_at=sent_time(job, now).timestamp())
            row = {
                "id": job.event_id,
                "event_type": job.event_type,
                "chat_id": job.chat_id,
                "status": "received" if handled_later else "done",
                "received_at": now,
                "handled_at": None if handled_later else now,
                "owner": owner,
                "claimed_at": now,
                "sent_at": datetime.fromtimestamp(job.sent_at, UTC),
                "job": job.to_json() if handled_later else None,
            }
            if conn.execute(insert, row).first() is not None:
                fresh.append(job)
                continue
            if job.redelivery and handled_later:
                taken = conn.execute(
                    _TAKE_OVER,
                    {
                        "b_id": job.event_id,
                        "b_owner": owner,
                        "b_at": now,
                        "b_job": job.to_json(),
                        "b_stale": now - REPLYING_STALE,
                    },
                ).first()
                if taken is not None:
                    log.warning("event %s redelivered while unanswered: taken over", job.event_id)
                    fresh.append(job)
                    continue
            log.info(
                "event %s already recorded (redelivery=%s): skipped", job.event_id, job.redelivery
            )
    return fresh


def claim_reply(database_url: str, event_id: str, owner: str) -> bool:
    """Move the event from `received` to `replying` if `owner` still owns it: the one step that
    makes a reply at most once. False: another process took it over."""
    with db.engine_for(database_url).begin() as conn:
        row = conn.execute(
            _CLAIM_REPLY, {"b_id": event_id, "b_owner": owner, "b_at": datetime.now(UTC)}
        ).first()
    return row is not None


def mark_event(
    database_url: str,
    event_id: str,
    status: str,
    error: str | None = None,
    owner: str | None = None,
) -> None:
    """Set an event's final status (`done`, `failed` or `expired`) in a transaction of its own
    and drop its job; with `owner`, only if that process still owns it."""
    params = {"b_id": event_id, "b_status": status, "b_at": datetime.now(UTC), "b_error": error}
    with db.engine_for(database_url).begin() as conn:
        if owner is None:
            conn.execute(_MARK, params)
        else:
            conn.execute(_MARK_OWNED, {**params, "b_owner": owner})


@dataclass
class Sweep:
    taken: list[Job] = field(default_factory=list)  # to answer now, owned by the sweeper
    expired: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)  # died while replying


def sweep_stale_events(
    database_url: str, *, now: datetime | None = None, owner: str | None = None
) -> Sweep:
    """Events a silent owner left unfinished: taken over by `owner` while their reply token is
    usable (without `owner`, as in the `--preload` master, they are left for the workers);
    once it is not, `expired` — or `failed` for a stale `replying` row, which may have been
    answered."""
    now = now or datetime.now(UTC)
    result = Sweep()
    silent = func.coalesce(WebhookEvent.claimed_at, WebhookEvent.received_at) < now - LEASE
    sent = func.coalesce(WebhookEvent.sent_at, WebhookEvent.received_at)
    with db.session_scope(database_url) as session:
        result.expired = list(
            session.scalars(
                update(WebhookEvent)
                .where(WebhookEvent.status == "received", silent, sent < now - REPLY_WITHIN)
                .values(
                    status="expired",
                    handled_at=now,
                    error="unanswered while its reply token was usable",
                    job=None,
                )
                .returning(WebhookEvent.id)
            )
        )
        result.abandoned = list(
            session.scalars(
                update(WebhookEvent)
                .where(
                    WebhookEvent.status == "replying",
                    WebhookEvent.claimed_at < now - REPLYING_STALE,
                    sent < now - REPLY_WITHIN,
                )
                .values(
                    status="failed",
                    handled_at=now,
                    error="worker stopped during the reply: it may have reached LINE",
                    job=None,
                )
                .returning(WebhookEvent.id)
            )
        )
    if owner is not None:
        result.taken = _take_over_silent(database_url, now, owner)
    if result.expired or result.abandoned:
        log.warning(
            "webhook events left by a stopped worker: %d expired, %d stopped during the reply: %s",
            len(result.expired),
            len(result.abandoned),
            ", ".join((result.expired + result.abandoned)[:20]),
        )
    if result.taken:
        log.warning("%d unanswered webhook event(s) taken over", len(result.taken))
    return result


def _take_over_silent(database_url: str, now: datetime, owner: str) -> list[Job]:
    """Each silent `received` row and stale `replying` row, compare-and-set back to `received`
    under `owner` one by one (two sweepers, or a late owner, may race for it: the loser's
    UPDATE matches no row)."""
    claimed = func.coalesce(WebhookEvent.claimed_at, WebhookEvent.received_at)
    silent = and_(
        or_(
            and_(WebhookEvent.status == "received", claimed < now - LEASE),
            and_(WebhookEvent.status == "replying", claimed < now - REPLYING_STALE),
        ),
        WebhookEvent.job.is_not(None),
    )
    with db.session_scope(database_url) as session:
        candidates = session.execute(
            select(WebhookEvent.id, WebhookEvent.status, WebhookEvent.owner, WebhookEvent.job)
            .where(silent)
            .order_by(WebhookEvent.received_at)
            .limit(500)
        ).all()
    taken = []
    for event_id, state, was, job_json in candidates:
        with db.engine_for(database_url).begin() as conn:
            won = conn.execute(
                update(_EVENTS)
                .where(
                    _EVENTS.c.id == event_id,
                    _EVENTS.c.status == state,
                    _EVENTS.c.owner.is_(None) if was is None else _EVENTS.c.owner == was,
                )
                .values(status="received", owner=owner, claimed_at=now)
                .returning(_EVENTS.c.id)
            ).first()
        if won is not None:
            try:
                taken.append(Job.from_json(job_json))
            except (ValueError, TypeError):  # not ours to read: leave it for the expiry
                log.error("event %s: stored job unreadable", event_id)
    return taken


def purge_events(database_url: str, older_than: timedelta, *, now: datetime | None = None) -> int:
    """Delete events recorded more than `older_than` ago, in batches of `PURGE_BATCH` (short
    transactions: the webhook keeps recording meanwhile). The dedupe only needs the last days:
    LINE redelivers for a limited time."""
    cutoff = (now or datetime.now(UTC)) - older_than
    total = 0
    while True:
        with db.session_scope(database_url) as session:
            ids = select(WebhookEvent.id).where(WebhookEvent.received_at < cutoff)
            batch = session.scalars(ids.limit(PURGE_BATCH)).all()
            if batch:
                session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(batch)))
        total += len(batch)
        if len(batch) < PURGE_BATCH:
            break
    if total:
        log.info("purged %d webhook events recorded before %s", total, cutoff.isoformat())
    return total
