"""The reminder dispatcher: plan, claim in the ledger, send, mark — safe to crash or run twice.

The healthchecks `sendalerts` pattern: the database is the truth, every state change is a row
written *before* the side effect, and any number of dispatchers may run at once.

1. Plan (pure, `reminder_planner.plan`).
2. Claim: each due reminder becomes a `reminder` ledger row (unique: chat, calendar, phase,
   offset, fiscal year), inserted with its chat's `push` outbox row (a fresh UUID4 retry key,
   the merged messages as JSON, status pending) in one transaction. A unique-key conflict means
   another dispatcher or an earlier run already has it: it is not claimed again.
3. Send: pending pushes are leased with a conditional UPDATE (`… WHERE status='pending' AND
   (claimed_until IS NULL OR claimed_until < now)`; PostgreSQL adds `FOR UPDATE SKIP LOCKED`),
   pushed with their *stored* retry key and payload, then marked. A push whose mark was lost (a
   crash after LINE accepted it) is leased again later and re-sent with the same key: LINE
   answers 409, which is recorded as sent — one delivery, whatever crashed.

Stale is worse than late: a pending push not accepted by the end of its day (or after its last
closing) is `expired`, never sent: its countdown is no longer true.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time as systime
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from itabot import db as dbmod
from itabot.calendar import Calendars
from itabot.config import Settings, parse_remind_days, parse_remind_time
from itabot.line import LineGateway, PushOutcome, PushResult, messages_from_json, messages_to_json
from itabot.models import Admin, Agency, Chat, Push, QuotaNotice, Reminder
from itabot.reminder_messages import reminder_messages
from itabot.reminder_planner import (
    ChatPlanInput,
    DueReminder,
    ReminderDefaults,
    by_chat,
    end_of_day,
    plan,
)
from itabot.thaidate import BANGKOK

log = logging.getLogger(__name__)

PUSH = Push.__table__
REMINDER = Reminder.__table__

LEASE = timedelta(minutes=5)  # longer than line.py's worst case for one push (4 tries, 10 s each)
CLAIM_BATCH = 64  # pushes leased per UPDATE
CHATS_PER_TRANSACTION = 500  # ledger claims per transaction (a conflict redoes them one by one)
MAX_WORKERS = 16
RATE_PER_SECOND = 1950.0  # LINE allows 2,000 push requests a second …
RATE_BURST = 50  # … and burst + rate stays within it over any one second
_ID_CHUNK = 500


@lru_cache(maxsize=1024)
def _utc(moment: datetime) -> datetime:
    """Timestamps are stored in UTC: SQLite keeps no offset, so everything is written in one.
    (Memoised: 10,000 chats share a handful of closings and due times.)"""
    return moment.astimezone(UTC)


def default_worker_id() -> str:
    """`host:pid` — who holds a lease, for the logs and for an operator reading `push`."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _sessions(database: str | sessionmaker[Session]) -> sessionmaker[Session]:
    return dbmod.session_factory(database) if isinstance(database, str) else database


def _chunks(items: Sequence[Any], size: int = _ID_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the report ----------------------------------------------------------------------------


@dataclass
class DispatchReport:
    """What one dispatch did, for the CLI, the clock's log and the tests."""

    at: datetime
    worker_id: str
    due: int = 0  # reminders the planner found due now
    claimed: int = 0  # … newly claimed in the ledger by this dispatch
    already_claimed: int = 0  # … already in the ledger (sent earlier, or another dispatcher)
    skipped: int = 0  # larger offsets recorded as skipped (their day went by unsent)
    pushes_created: int = 0
    sent: int = 0  # LINE accepted (200)
    duplicates: int = 0  # LINE had already accepted this retry key (409): sent, not re-delivered
    failed: int = 0  # LINE refused (4xx other than 409/429): not retried
    retry_later: int = 0  # still failing after line.py's retries: pending for the next dispatch
    expired: int = 0  # pending pushes that went stale (never sent)
    over_quota: int = 0  # pushes left pending because the monthly quota cannot pay for them
    quota_notice: bool = False  # admins were told (or it was logged) this dispatch
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}
        data["at"] = self.at.isoformat()
        return data

    @property
    def changed(self) -> bool:
        """Anything written or sent (the clock logs only these, not every idle minute)."""
        return any(
            (
                self.pushes_created,
                self.skipped,
                self.sent,
                self.duplicates,
                self.failed,
                self.retry_later,
                self.expired,
                self.over_quota,
            )
        )

    def summary(self) -> str:
        return (
            f"reminders due={self.due} new={self.claimed} already={self.already_claimed} "
            f"skipped={self.skipped} | pushes created={self.pushes_created} sent={self.sent} "
            f"duplicates={self.duplicates} failed={self.failed} retry_later={self.retry_later} "
            f"expired={self.expired} over_quota={self.over_quota}"
        )


# --- chats in ------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _chat_days(raw: str | None) -> tuple[int, ...] | None:
    if raw is None or not raw.strip():
        return None
    try:
        return parse_remind_days(raw)
    except ValueError:
        log.warning("chat remind_days %r unreadable: using the deployment default", raw)
        return None


@lru_cache(maxsize=256)
def _chat_time(raw: str | None) -> time | None:
    if raw is None or not raw.strip():
        return None
    try:
        return parse_remind_time(raw)
    except ValueError:
        log.warning("chat remind_time %r unreadable: using the deployment default", raw)
        return None


def load_chats(sessions: sessionmaker[Session]) -> list[ChatPlanInput]:
    """Active, unmuted chats bound to an agency — the only ones that can be due."""
    stmt = (
        select(
            Chat.id,
            Chat.type,
            Chat.active,
            Chat.remind_enabled,
            Chat.remind_days,
            Chat.remind_time,
            Agency.province,
            Agency.name,
            Agency.kind,
        )
        .join(Agency, Chat.agency_id == Agency.id)
        .where(Chat.active.is_(True), Chat.remind_enabled.is_(True))
        .order_by(Chat.id)
    )
    with sessions() as session:
        rows = session.execute(stmt).all()
    return [
        ChatPlanInput(
            chat_id=r.id,
            chat_type=r.type,
            province=r.province,
            agency_name=r.name,
            agency_kind=r.kind,
            active=r.active,
            remind_enabled=r.remind_enabled,
            remind_days=_chat_days(r.remind_days),
            remind_time=_chat_time(r.remind_time),
        )
        for r in rows
    ]


def plan_from_db(
    sessions: sessionmaker[Session], calendars: Calendars, settings: Settings, now: datetime
) -> list[DueReminder]:
    return plan(calendars, load_chats(sessions), now, ReminderDefaults.from_settings(settings))


# --- step 2: claim in the ledger ------------------------------------------------------------

LedgerKey = tuple[str, str, str, int, int]


def ledger_keys(session: Session, due: Sequence[DueReminder], chat_id: str | None = None) -> set:
    """Ledger keys already taken for the phases in `due` (any status: sent, pending, skipped)."""
    if not due:
        return set()
    phases = sorted({(r.phase.calendar, r.phase.id) for r in due})
    stmt = select(
        REMINDER.c.chat_id,
        REMINDER.c.calendar,
        REMINDER.c.phase_id,
        REMINDER.c.offset_days,
        REMINDER.c.fiscal_year,
    ).where(or_(*(and_(REMINDER.c.calendar == c, REMINDER.c.phase_id == p) for c, p in phases)))
    if chat_id is not None:
        stmt = stmt.where(REMINDER.c.chat_id == chat_id)
    return {tuple(row) for row in session.execute(stmt)}


@dataclass(frozen=True)
class _ChatClaim:
    """One chat's new ledger rows and the push that will carry them."""

    chat_id: str
    reminders: tuple[DueReminder, ...]
    skips: tuple[tuple[DueReminder, int, datetime], ...]
    payload: str
    expires_at: datetime


class _Payloads:
    """Messages JSON per distinct set of (phase, offset): 10,000 chats share a handful."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str] = {}

    def __call__(self, reminders: Sequence[DueReminder]) -> str:
        key = tuple((r.phase.key, r.phase.fiscal_year, r.offset_days) for r in reminders)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = messages_to_json(reminder_messages(reminders))
        return hit


def _chat_claim(
    chat_id: str, items: Sequence[DueReminder], taken: set, payloads: _Payloads, now: datetime
) -> _ChatClaim | None:
    """What is left to claim for a chat once the ledger's keys are taken out (None: nothing)."""
    fresh = tuple(r for r in items if r.key not in taken)
    if not fresh:
        return None
    skips, seen = [], set()
    for r in fresh:
        for offset, when in r.skipped:
            key = r.ledger_key(offset)
            if key not in taken and key not in seen:
                seen.add(key)
                skips.append((r, offset, when))
    expires = min(max(r.closes_at for r in fresh), end_of_day(now))
    return _ChatClaim(chat_id, fresh, tuple(skips), payloads(fresh), expires)


def _insert_claims(session: Session, claims: Sequence[_ChatClaim], now: datetime) -> None:
    """Push rows first (their ids), then the ledger rows pointing at them; one transaction."""
    now_utc = _utc(now)
    push_rows = [
        {
            "chat_id": c.chat_id,
            "retry_key": str(uuid.uuid4()),
            "kind": "reminder",
            "payload": c.payload,
            "status": "pending",
            "attempts": 0,
            "created_at": now_utc,
            "expires_at": _utc(c.expires_at),
        }
        for c in claims
    ]
    # Ids come back mapped by retry key: asking for them in parameter order would make SQLite
    # insert row by row.
    ids = dict(
        session.execute(insert(PUSH).returning(PUSH.c.retry_key, PUSH.c.id), push_rows).all()
    )
    ledger = []
    for claim, row in zip(claims, push_rows, strict=True):
        push_id = ids[row["retry_key"]]
        for r in claim.reminders:
            ledger.append(_ledger_row(r, r.offset_days, r.due_at, push_id, "pending", now_utc))
        for r, offset, when in claim.skips:
            ledger.append(_ledger_row(r, offset, when, None, "skipped", now_utc))
    session.execute(insert(REMINDER), ledger)


def _ledger_row(
    r: DueReminder, offset: int, due_at: datetime, push_id: int | None, status: str, now_utc
) -> dict[str, Any]:
    return {
        "chat_id": r.chat_id,
        "calendar": r.phase.calendar,
        "phase_id": r.phase.id,
        "offset_days": offset,
        "fiscal_year": r.phase.fiscal_year,
        "closes_at": _utc(r.closes_at),
        "due_at": _utc(due_at),
        "push_id": push_id,
        "status": status,
        "created_at": now_utc,
    }


def _count_claims(report: DispatchReport, claims: Sequence[_ChatClaim]) -> None:
    report.count("pushes_created", len(claims))
    report.count("claimed", sum(len(c.reminders) for c in claims))
    report.count("skipped", sum(len(c.skips) for c in claims))


def _claim_one_chat(
    sessions: sessionmaker[Session],
    chat_id: str,
    items: Sequence[DueReminder],
    payloads: _Payloads,
    now: datetime,
    report: DispatchReport,
) -> None:
    """The careful path after a conflict: re-read this chat's ledger, claim what is left."""
    try:
        with sessions.begin() as session:
            taken = ledger_keys(session, items, chat_id)
            claim = _chat_claim(chat_id, items, taken, payloads, now)
            if claim is not None:
                _insert_claims(session, [claim], now)
    except IntegrityError:
        log.info("reminders for %s claimed by another dispatcher meanwhile", chat_id)
        report.count("already_claimed", len(items))
        return
    fresh = len(claim.reminders) if claim else 0
    report.count("already_claimed", len(items) - fresh)
    if claim is not None:
        _count_claims(report, [claim])


def _claim_batch(
    sessions: sessionmaker[Session],
    batch: Sequence[tuple[str, list[DueReminder]]],
    taken: set,
    payloads: _Payloads,
    now: datetime,
    report: DispatchReport,
) -> None:
    """One transaction for a batch of chats; on a conflict, chat by chat."""
    claims = {}
    for chat_id, items in batch:
        claim = _chat_claim(chat_id, items, taken, payloads, now)
        if claim is not None:
            claims[chat_id] = claim
    report.count("already_claimed", sum(len(i) for c, i in batch if c not in claims))
    if not claims:
        return
    try:
        with sessions.begin() as session:
            _insert_claims(session, list(claims.values()), now)
    except IntegrityError:
        log.info("ledger conflict in a batch: another dispatcher is running; chat by chat")
        for chat_id, items in batch:
            if chat_id in claims:
                _claim_one_chat(sessions, chat_id, items, payloads, now, report)
        return
    planned = sum(len(i) for c, i in batch if c in claims)
    report.count("already_claimed", planned - sum(len(c.reminders) for c in claims.values()))
    _count_claims(report, list(claims.values()))


def claim_due(
    sessions: sessionmaker[Session],
    due: Sequence[DueReminder],
    now: datetime,
    report: DispatchReport,
) -> None:
    """Step 2. Chats are claimed in batches (one transaction each: 10,000 chats, 20 commits);
    the ledger's unique key is the arbiter, so a batch that meets a key claimed meanwhile by
    another dispatcher is rolled back and redone chat by chat."""
    groups = list(by_chat(due).items())
    if not groups:
        return
    payloads = _Payloads()
    with sessions() as session:
        taken = ledger_keys(session, due)
    for batch in _chunks(groups, CHATS_PER_TRANSACTION):
        _claim_batch(sessions, batch, taken, payloads, now, report)


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
    ids = (
        select(PUSH.c.id)
        .where(_claimable(now_utc), PUSH.c.id > after_id)
        .order_by(PUSH.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(PUSH)
        .where(PUSH.c.id.in_(ids), _claimable(now_utc))
        .values(claimed_by=worker_id, claimed_until=_utc(now + LEASE))
        .returning(
            PUSH.c.id,
            PUSH.c.chat_id,
            PUSH.c.retry_key,
            PUSH.c.payload,
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
    leases = [
        Lease(
            r.id,
            r.chat_id,
            types.get(r.chat_id, "user"),
            r.retry_key,
            r.payload,
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
) -> None:
    """Record outcomes (one transaction per flush). SENT and 409 both mean LINE has the
    message: sent. REJECTED: failed, logged, never retried. RETRY_LATER: still pending, same
    key. Over quota: lease released, untouched, for a later dispatch."""
    if not results:
        return
    out = _sort_outcomes(results, now, report)
    tried = PUSH.c.attempts + 1
    with sessions.begin() as session:
        _apply(session, out.sent, status="sent", sent_at=_utc(now), attempts=tried)
        _apply(session, out.failed, status="failed", attempts=tried)
        _apply(session, out.later, attempts=tried, claimed_until=bindparam("until"))
        _apply(session, out.released)
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


def _release(sessions: sessionmaker[Session], leases: Iterable[Lease]) -> None:
    """Give back leases whose outcome is unknown (the dispatcher is failing): the next
    dispatch re-sends them with the same retry key and LINE's 409 says if they went out."""
    ids = [lease.id for lease in leases]
    if not ids:
        return
    with sessions.begin() as session:
        for chunk in _chunks(ids):
            session.execute(
                update(PUSH)
                .where(PUSH.c.id.in_(chunk), PUSH.c.status == "pending")
                .values(claimed_by=None, claimed_until=None)
            )


class _Sender:
    """Step 3's loop: lease in small batches, send through a bounded thread pool, mark as the
    answers come back (in batches). Only this thread touches the database; the pool only talks
    to LINE, and each answer comes back through a queue."""

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
    ) -> None:
        self.sessions, self.gateway, self.now = sessions, gateway, now
        self.worker_id, self.report, self.budget = worker_id, report, budget
        self.limiter, self.max_workers = limiter, max(1, max_workers)
        self.in_flight: dict[int, Lease] = {}
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self.results: list[tuple[Lease, PushResult | str]] = []
        self.cursor = 0
        self.exhausted = False

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
            if not self.exhausted and len(self.in_flight) <= window // 2:
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

    def _lease_more(self, pool: ThreadPoolExecutor, room: int) -> None:
        leases = lease_pushes(
            self.sessions, self.now, self.worker_id, self.cursor, min(room, CLAIM_BATCH)
        )
        if not leases:
            self.exhausted = True
            return
        self.cursor = leases[-1].id
        for lease in leases:
            self.in_flight[lease.id] = lease
            pool.submit(self._task, lease)

    def _flush(self) -> None:
        results, self.results = self.results, []
        _mark(self.sessions, results, self.now, self.report)

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
            _release(self.sessions, self.in_flight.values())


def _has_work(sessions: sessionmaker[Session], now: datetime) -> bool:
    with sessions() as session:
        return session.scalar(select(PUSH.c.id).where(_claimable(_utc(now))).limit(1)) is not None


def admin_ids(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    """ITABOT_ADMIN_IDS and granted admins: who hears about the quota."""
    with sessions() as session:
        granted = set(session.scalars(select(Admin.user_id)))
    return sorted(set(settings.admin_ids) | granted)


def month_of(now: datetime) -> str:
    return now.astimezone(BANGKOK).strftime("%Y-%m")


def _notice_sent(sessions: sessionmaker[Session], month: str) -> bool:
    with sessions() as session:
        return session.get(QuotaNotice, month) is not None


def quota_notice_text(remaining: int, shortfall: int, waiting: int) -> str:
    """The Thai notice to admins: what happened, what it means, what to do."""
    return (
        "⚠️ โควตาข้อความ LINE ของบัญชีนี้ใกล้หมด\n"
        f"เหลือ {remaining} ข้อความ แต่การแจ้งเตือนกำหนดปิด ITA ที่ถึงเวลาส่งต้องใช้อีก "
        f"{shortfall} ข้อความ (ส่งไม่ได้ {waiting} รายการ)\n"
        "การแจ้งเตือนที่ค้างจะส่งเมื่อมีโควตาเพิ่มภายในวันเดียวกัน "
        "กรุณาเพิ่มแพ็กเกจข้อความใน LINE Official Account Manager\n"
        "(แจ้งเดือนละครั้ง)"
    )


def notify_admins_of_quota(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    now: datetime,
    budget: QuotaBudget,
    report: DispatchReport,
) -> None:
    """Tell the admins once a month that reminders are waiting for quota.

    The `quota_notice` row (primary key: the month) is the claim, inserted before anything is
    sent, so two dispatchers cannot both tell them; the notice is at most once by design (a
    crash right after the claim loses it: the log line below still says it). Each admin push
    has a retry key derived from the month and the admin, so a retry can only 409."""
    month = month_of(now)
    admins = admin_ids(sessions, settings)
    remaining = budget.remaining or 0
    affordable = bool(admins) and remaining >= len(admins)
    detail = (
        f"remaining={remaining} shortfall={budget.shortfall} waiting={report.over_quota} "
        f"admins={','.join(admins) or '-'} notified={'yes' if affordable else 'no'}"
    )
    try:
        with sessions.begin() as session:
            session.add(QuotaNotice(month=month, sent_at=_utc(now), detail=detail))
    except IntegrityError:
        return
    report.quota_notice = True
    log.error("LINE quota would run out: %d reminder push(es) wait; %s", report.over_quota, detail)
    if not affordable:
        return
    from linebot.v3.messaging import TextMessage

    text = quota_notice_text(remaining, budget.shortfall, report.over_quota)
    for admin in admins:
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"itabot:quota-notice:{month}:{admin}"))
        result = gateway.push(admin, [TextMessage(text=text)], retry_key=key)
        if result.outcome not in (PushOutcome.SENT, PushOutcome.ALREADY_ACCEPTED):
            log.error("quota notice to admin %s not delivered: %s", admin, result)


def send_pending(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    now: datetime,
    worker_id: str,
    report: DispatchReport,
    *,
    max_workers: int = MAX_WORKERS,
    limiter: RateLimiter | None = None,
) -> None:
    """Step 3: expire the stale, then lease, send and mark every pending push."""
    expire_stale(sessions, now, report)
    if not _has_work(sessions, now):
        return  # the every-minute clock does not ask LINE for the quota when idle
    month_told = _notice_sent(sessions, month_of(now))
    reserve = 0 if month_told else len(admin_ids(sessions, settings))
    budget = QuotaBudget(gateway.quota_remaining(), reserve)
    sender = _Sender(
        sessions, gateway, now, worker_id, report, budget, limiter or RateLimiter(), max_workers
    )
    sender.run()
    if report.over_quota:
        if not month_told:
            notify_admins_of_quota(sessions, gateway, settings, now, budget, report)
        log.warning("%d reminder push(es) left pending: LINE quota", report.over_quota)


# --- the whole dispatch ------------------------------------------------------------------


def dispatch(
    database: str | sessionmaker[Session],
    gateway: LineGateway,
    calendars: Calendars,
    settings: Settings,
    now: datetime,
    worker_id: str | None = None,
    *,
    max_workers: int = MAX_WORKERS,
    limiter: RateLimiter | None = None,
) -> DispatchReport:
    """One dispatch at `now`: plan, claim, send. Safe to run in several processes at once."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    sessions = _sessions(database)
    report = DispatchReport(at=now.astimezone(BANGKOK), worker_id=worker_id or default_worker_id())
    due = plan_from_db(sessions, calendars, settings, now)
    report.due = len(due)
    claim_due(sessions, due, now, report)
    send_pending(
        sessions,
        gateway,
        settings,
        now,
        report.worker_id,
        report,
        max_workers=max_workers,
        limiter=limiter,
    )
    if report.changed:
        log.info("reminder dispatch at %s: %s", report.at.isoformat(), report.summary())
    return report
