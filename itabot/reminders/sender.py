"""Step 3 of the reminder dispatcher: lease pending pushes, send them, mark the outcomes.

Pending pushes are leased with a conditional UPDATE (`… WHERE status='pending' AND
(claimed_until IS NULL OR claimed_until < now)`; PostgreSQL adds `FOR UPDATE SKIP LOCKED`),
pushed with their *stored* retry key and payload (`push_payload`), then marked. A push whose
mark was lost (a crash after LINE accepted it) is leased again later and re-sent with the same
key: LINE answers 409, which is recorded as sent — one delivery, whatever crashed.

Stale is worse than late: a pending push not accepted by the end of its day (or after its last
closing) is `expired`, never sent: its countdown is no longer true.
"""

from __future__ import annotations

import logging
import queue
import threading
import time as systime
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from itabot.line.client import LineGateway, PushOutcome, PushResult, messages_from_json
from itabot.reminders.report import DispatchReport
from itabot.reminders.tables import PAYLOAD, PUSH, REMINDER, _chunks, _utc
from itabot.storage.models import Chat

# The dispatcher's logger, as before the split: operators' filters and the tests' caplog
# keep working whichever module logs.
log = logging.getLogger("itabot.reminders.dispatch")

LEASE = timedelta(minutes=5)  # longer than line.py's worst case for one push (4 tries, 10 s each)
CLAIM_BATCH = 64  # pushes leased per UPDATE
CLAIM_POLL = 0.05  # s: a helper sending during the claim looks for new claim batches this often
MAX_WORKERS = 16
RATE_PER_SECOND = 1950.0  # LINE allows 2,000 push requests a second …
RATE_BURST = 50  # … and burst + rate stays within it over any one second


# --- step 3: send -------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """A pending push this dispatcher holds until `claimed_until`."""

    id: int
    chat_id: str
    chat_type: str
    retry_key: str
    payload: str
    attempts: int
    kind: str


def _claimable(now_utc: datetime):
    return and_(
        PUSH.c.status == "pending",
        or_(PUSH.c.claimed_until.is_(None), PUSH.c.claimed_until < now_utc),
    )


def lease_pushes(
    sessions: sessionmaker[Session], now: datetime, worker_id: str, after_id: int, limit: int
) -> list[Lease]:
    """Lease up to `limit` pending pushes with id > `after_id` (the cursor keeps one dispatch
    from leasing a push twice). The conditional UPDATE is the claim: of two dispatchers only
    one sees the row still claimable; PostgreSQL's SKIP LOCKED makes the other move on at once
    instead of waiting, SQLite serialises writers, and the WHERE is re-checked either way."""
    now_utc = _utc(now)
    # A materialised CTE, not `IN (subquery)`: PostgreSQL may re-run a LIMIT … SKIP LOCKED
    # subquery for each row it updates, each run skipping the rows the last one locked, and so
    # lease every pending push at once — leaving nothing for a second sending process.
    ids = (
        select(PUSH.c.id)
        .where(_claimable(now_utc), PUSH.c.id > after_id)
        .order_by(PUSH.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("lease_ids")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    stmt = (
        update(PUSH)
        .where(PUSH.c.id.in_(select(ids.c.id)), _claimable(now_utc))
        .values(claimed_by=worker_id, claimed_until=_utc(now + LEASE))
        .returning(
            PUSH.c.id,
            PUSH.c.chat_id,
            PUSH.c.retry_key,
            PUSH.c.payload_id,
            PUSH.c.attempts,
            PUSH.c.kind,
        )
    )
    with sessions.begin() as session:
        rows = session.execute(stmt).all()
        chat_ids = sorted({r.chat_id for r in rows})
        types = {}
        for chunk in _chunks(chat_ids):
            types.update(
                session.execute(select(Chat.id, Chat.type).where(Chat.id.in_(chunk))).all()
            )
        payload_ids = sorted({r.payload_id for r in rows})
        bodies = dict(
            session.execute(
                select(PAYLOAD.c.id, PAYLOAD.c.body).where(PAYLOAD.c.id.in_(payload_ids))
            ).all()
            if payload_ids
            else ()
        )
    leases = [
        Lease(
            r.id,
            r.chat_id,
            types.get(r.chat_id, "user"),
            r.retry_key,
            bodies[r.payload_id],
            r.attempts,
            r.kind,
        )
        for r in rows
    ]
    return sorted(leases, key=lambda lease: lease.id)


def expire_stale(sessions: sessionmaker[Session], now: datetime, report: DispatchReport) -> None:
    """Pending pushes past `expires_at` (and not leased) become `expired`, their reminders too."""
    now_utc = _utc(now)
    with sessions.begin() as session:
        ids = list(
            session.scalars(
                select(PUSH.c.id).where(_claimable(now_utc), PUSH.c.expires_at <= now_utc)
            )
        )
        for chunk in _chunks(ids):
            session.execute(
                update(PUSH)
                .where(PUSH.c.id.in_(chunk), PUSH.c.status == "pending")
                .values(status="expired", claimed_by=None, claimed_until=None)
            )
            session.execute(
                update(REMINDER).where(REMINDER.c.push_id.in_(chunk)).values(status="expired")
            )
    if ids:
        log.warning("%d reminder push(es) expired unsent (stale: their day is over)", len(ids))
        report.count("expired", len(ids))


class RateLimiter:
    """A token bucket shared by the sending threads: at most `burst + rate` pushes in any one
    second, below LINE's 2,000 req/s. The first `burst` pushes never wait."""

    def __init__(
        self,
        rate: float = RATE_PER_SECOND,
        burst: int = RATE_BURST,
        *,
        clock: Callable[[], float] = systime.monotonic,
        sleep: Callable[[float], None] = systime.sleep,
    ) -> None:
        self._rate, self._burst = rate, float(burst)
        self._tokens, self._last = float(burst), clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            self._tokens -= 1.0
            wait_for = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait_for > 0:
            self._sleep(wait_for)


class QuotaBudget:
    """The month's remaining LINE messages, spent by the sending threads.

    A push to a group costs one message per member. While the admins have not been told this
    month, enough is kept back to tell each of them (one message each)."""

    def __init__(self, remaining: int | None, reserve: int = 0) -> None:
        self.remaining = remaining
        self.reserve = reserve
        self.shortfall = 0
        self._lock = threading.Lock()

    @property
    def limited(self) -> bool:
        return self.remaining is not None

    def take(self, cost: int) -> bool:
        with self._lock:
            if self.remaining is None:
                return True
            if cost <= self.remaining - self.reserve:
                self.remaining -= cost
                return True
            self.shortfall += cost
            return False

    def refund(self, cost: int) -> None:
        with self._lock:
            if self.remaining is not None:
                self.remaining += cost


OVER_QUOTA = "over_quota"


@lru_cache(maxsize=256)
def _messages(payload: str) -> list:
    """Stored JSON → SDK models, once per distinct payload (models are not mutated)."""
    return messages_from_json(payload)


def _send_one(
    gateway: LineGateway, lease: Lease, budget: QuotaBudget, limiter: RateLimiter
) -> PushResult | str:
    """Runs in a sending thread: pay for the push, then push it with its stored key."""
    cost = gateway.member_count(lease.chat_id, lease.chat_type) if budget.limited else 1
    if not budget.take(cost):
        return OVER_QUOTA
    limiter.acquire()
    result = gateway.push(lease.chat_id, _messages(lease.payload), retry_key=lease.retry_key)
    if result.outcome is PushOutcome.REJECTED:
        budget.refund(cost)
    return result


def _retry_delay(attempts: int) -> timedelta | None:
    """After a RETRY_LATER: try again at the next dispatch twice, then back off 1, 2, 4 … 30
    minutes, so a LINE outage does not turn every minute into thousands of doomed calls."""
    if attempts < 3:
        return None
    return timedelta(minutes=min(2 ** (attempts - 3), 30))


@dataclass
class _Outcomes:
    """A flush's results sorted by what happens to their rows (executemany parameters)."""

    sent: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    later: list[dict] = field(default_factory=list)
    released: list[dict] = field(default_factory=list)


def _sort_outcomes(
    results: Sequence[tuple[Lease, PushResult | str]], now: datetime, report: DispatchReport
) -> _Outcomes:
    out = _Outcomes()
    for lease, result in results:
        if not isinstance(result, PushResult):  # OVER_QUOTA: never sent, lease given back
            out.released.append({"pid": lease.id})
        elif result.outcome in (PushOutcome.SENT, PushOutcome.ALREADY_ACCEPTED):
            duplicate = result.outcome is PushOutcome.ALREADY_ACCEPTED
            note = "409: LINE had already accepted this retry key" if duplicate else None
            out.sent.append({"pid": lease.id, "err": note})
            report.count("duplicates" if duplicate else "sent")
        elif result.outcome is PushOutcome.REJECTED:
            log.error(
                "push %s to %s rejected by LINE (status %s), not retried: %s",
                lease.id,
                lease.chat_id,
                result.status,
                result.error,
            )
            error = f"{result.status}: {result.error}"[:1000]
            out.failed.append({"pid": lease.id, "err": error})
            report.count("failed")
        else:
            delay = _retry_delay(lease.attempts + 1)
            until = _utc(now + delay) if delay else None
            error = f"{result.status}: {result.error}"[:1000]
            out.later.append({"pid": lease.id, "err": error, "until": until})
            report.count("retry_later")
    report.count("over_quota", len(out.released))
    return out


def _mark(
    sessions: sessionmaker[Session],
    results: Sequence[tuple[Lease, PushResult | str]],
    now: datetime,
    report: DispatchReport,
    held: list[int],
) -> None:
    """Record outcomes (one transaction per flush). SENT and 409 both mean LINE has the
    message: sent. REJECTED: failed, logged, never retried. RETRY_LATER: still pending, same
    key. Over quota: untouched, its lease kept (added to `held`) until every sender of this
    dispatch is done — released earlier, another sending process would lease it, find no
    quota either and count it twice — then given back for a later dispatch."""
    if not results:
        return
    out = _sort_outcomes(results, now, report)
    held.extend(row["pid"] for row in out.released)
    tried = PUSH.c.attempts + 1
    with sessions.begin() as session:
        _apply(session, out.sent, status="sent", sent_at=_utc(now), attempts=tried)
        _apply(session, out.failed, status="failed", attempts=tried)
        _apply(session, out.later, attempts=tried, claimed_until=bindparam("until"))
        for status, rows in (("sent", out.sent), ("failed", out.failed)):
            for chunk in _chunks([r["pid"] for r in rows]):
                session.execute(
                    update(REMINDER).where(REMINDER.c.push_id.in_(chunk)).values(status=status)
                )


def _apply(session: Session, rows: list[dict], **values: Any) -> None:
    """One executemany UPDATE of pushes still pending (a push already marked by another
    dispatcher whose lease had run out is left as it is)."""
    if not rows:
        return
    values.setdefault("claimed_until", None)
    if "err" in rows[0]:
        values["last_error"] = bindparam("err")
    stmt = (
        update(PUSH)
        .where(PUSH.c.id == bindparam("pid"), PUSH.c.status == "pending")
        .values(claimed_by=None, **values)
    )
    session.connection().execute(stmt, rows)


def release_pushes(sessions: sessionmaker[Session], ids: Iterable[int]) -> None:
    """Give back leases: pushes held over quota, or whose outcome is unknown (the dispatcher
    is failing) — the next dispatch re-sends those with the same retry key and LINE's 409
    says if they went out."""
    ids = list(ids)
    if not ids:
        return
    with sessions.begin() as session:
        for chunk in _chunks(ids):
            session.execute(
                update(PUSH)
                .where(PUSH.c.id.in_(chunk), PUSH.c.status == "pending")
                .values(claimed_by=None, claimed_until=None)
            )


class Sender:
    """Step 3's loop: lease in small batches, send through a bounded thread pool, mark as the
    answers come back (in batches). Only this thread touches the database; the pool only talks
    to LINE, and each answer comes back through a queue. Helper processes run one each
    (reminder_helpers): the leases keep them from sending the same push."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: LineGateway,
        now: datetime,
        worker_id: str,
        report: DispatchReport,
        budget: QuotaBudget,
        limiter: RateLimiter,
        max_workers: int,
        still_claiming: Callable[[bool], bool] | None = None,
    ) -> None:
        self.sessions, self.gateway, self.now = sessions, gateway, now
        self.worker_id, self.report, self.budget = worker_id, report, budget
        self.limiter, self.max_workers = limiter, max(1, max_workers)
        # A helper started while the dispatcher is still claiming: nothing to lease yet is not
        # the end. `still_claiming(wait)` says whether claims may still come (waiting a moment
        # first when this sender has nothing in flight); meanwhile an empty lease is retried
        # after CLAIM_POLL, not after every answer.
        self.still_claiming = still_claiming
        self._lease_again_at = 0.0
        self.in_flight: dict[int, Lease] = {}
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self.results: list[tuple[Lease, PushResult | str]] = []
        self.cursor = 0
        self.exhausted = False
        self.held: list[int] = []  # over quota: leases given back when the dispatch is done

    def run(self) -> None:
        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="reminder-push")
        try:
            self._loop(pool)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            self._salvage()
            raise
        pool.shutdown(wait=True)
        self._flush()

    def _task(self, lease: Lease) -> None:
        """In a sending thread. Even a crash is handed back, to be raised in the loop."""
        try:
            answer = (lease, _send_one(self.gateway, lease, self.budget, self.limiter), None)
        except BaseException as exc:  # SystemExit/KeyboardInterrupt too: the loop re-raises
            answer = (lease, None, exc)
        self.answers.put(answer)

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        window = self.max_workers * 4
        while True:
            # Lease in batches when half the window has drained, not one push per answer.
            if self._may_lease(window):
                self._lease_more(pool, window - len(self.in_flight))
            if not self.in_flight:
                if self.exhausted:
                    return
                continue
            lease, result, crash = self.answers.get()
            del self.in_flight[lease.id]
            if crash is not None:
                self.in_flight[lease.id] = lease  # outcome unknown: released by _salvage
                raise crash
            self.results.append((lease, result))
            if len(self.results) >= CLAIM_BATCH or (self.exhausted and not self.in_flight):
                self._flush()

    def _may_lease(self, window: int) -> bool:
        if self.exhausted or len(self.in_flight) > window // 2:
            return False
        return not self.in_flight or systime.monotonic() >= self._lease_again_at

    def _lease_more(self, pool: ThreadPoolExecutor, room: int) -> None:
        leases = lease_pushes(
            self.sessions, self.now, self.worker_id, self.cursor, min(room, CLAIM_BATCH)
        )
        if not leases:
            if self.still_claiming is not None and self.still_claiming(not self.in_flight):
                self._lease_again_at = systime.monotonic() + CLAIM_POLL
            else:
                self.exhausted = True
            return
        self.cursor = leases[-1].id
        for lease in leases:
            self.in_flight[lease.id] = lease
            pool.submit(self._task, lease)

    def _flush(self) -> None:
        results, self.results = self.results, []
        _mark(self.sessions, results, self.now, self.report, self.held)

    def _salvage(self) -> None:
        """After a crash: record the answers LINE gave, give back every other lease (the next
        dispatch re-sends those with the same key; LINE's 409 tells if they went out)."""
        while True:
            try:
                lease, result, crash = self.answers.get_nowait()
            except queue.Empty:
                break
            if crash is None and lease.id in self.in_flight:
                del self.in_flight[lease.id]
                self.results.append((lease, result))
        try:
            self._flush()
        finally:
            release_pushes(self.sessions, [*self.in_flight, *self.held])


def has_work(sessions: sessionmaker[Session], now: datetime) -> bool:
    with sessions() as session:
        return session.scalar(select(PUSH.c.id).where(_claimable(_utc(now))).limit(1)) is not None
