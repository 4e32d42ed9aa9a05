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

import asyncio
import gc
import logging
import time as systime
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from itabot.line.client import LineGateway, PushOutcome, PushResult, messages_from_json
from itabot.reminders.report import DispatchReport
from itabot.reminders.tables import PAYLOAD, PUSH, REMINDER, _chunks, _utc
from itabot.storage.models import Chat

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # longer than line/client.py's worst case for one push (4 tries, 10 s each)
LEASE_BATCH = 256  # pushes leased per UPDATE
MARK_BATCH = 256  # answers recorded per transaction
# Pushes under way at once (leased, not yet answered): LINE's rate × its latency is ~300 at
# 150 ms, as many again for the groups' member counts, and the rest waits its turn at the rate
# limiter, so that a slow lease or claim (a busy CPU) never leaves LINE idle.
MAX_IN_FLIGHT = 2048
MAX_THREADS = 256  # for a gateway with blocking calls only (`_InThreads`)
RATE_PER_SECOND = 1950.0  # LINE allows 2,000 requests a second per endpoint …
RATE_BURST = 25  # … and burst + rate stays within it over any one second, with room to spare
PACE = 0.005  # s: the shortest sleep of the rate limiter (≤ 10 tokens at 1,950/s, < burst)
MEMBER_COUNT_MAX_AGE = 6 * 3600.0  # s a group's member count is trusted (`MemberCounts`)
STORED_MAX_AGE = timedelta(days=7)  # a count on the chat row still trusted (`MemberCounts`)
OVER_QUOTA = "over_quota"


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
    """A token bucket: at most `burst + rate × T` calls go in any T seconds, below LINE's
    2,000 req/s. The bucket is read when a caller is let go, not when it queued: a loop that
    falls behind (a busy CPU, a lease in progress) catches up by at most `burst`, instead of
    releasing every slot it owed at once. Callers wait in turn (FIFO) behind one sleeper,
    who sleeps at least `PACE`: an event loop's timers fire to the millisecond at best, so a
    sleep per token would cap 1,950/s near 1,000; after a pause of `PACE` the next few callers
    find tokens waiting and go without sleeping."""

    def __init__(
        self,
        rate: float = RATE_PER_SECOND,
        burst: int = RATE_BURST,
        *,
        clock: Callable[[], float] = systime.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rate, self._burst = rate, float(burst)
        self._tokens, self._last = float(burst), clock()
        self._clock, self._sleep = clock, sleep
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._turn:
            self._refill()
            if self._tokens < 1.0:
                await self._sleep(max((1.0 - self._tokens) / self._rate, PACE))
                self._refill()  # at the time it goes, however late the sleep ended
            self._tokens -= 1.0  # a hair below zero at worst (rounding): the next one waits

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now


class QuotaBudget:
    """The month's remaining LINE messages, spent by the pushes of one dispatch.

    A push to a group costs one message per member. While the admins have not been told this
    month, enough is kept back to tell each of them (one message each)."""

    def __init__(self, remaining: int | None, reserve: int = 0) -> None:
        self.remaining = remaining
        self.reserve = reserve
        self.shortfall = 0

    @property
    def limited(self) -> bool:
        return self.remaining is not None

    def take(self, cost: int) -> bool:
        if self.remaining is None:
            return True
        if cost <= self.remaining - self.reserve:
            self.remaining -= cost
            return True
        self.shortfall += cost
        return False

    def refund(self, cost: int) -> None:
        if self.remaining is not None:
            self.remaining += cost


class MemberCounts:
    """How many people each group and room has: what a push there costs against the quota.

    Asked of LINE once and then kept: in memory for `max_age` seconds (the clock process
    lives for days; the minutes after a dispatch, when pushes waiting for quota are tried
    again, ask nothing), and on the chat rows (`chat.member_count`, written after each
    dispatch), where a count up to `STORED_MAX_AGE` old is trusted by the month plan and the
    sender alike. So the day's first dispatch plans at once instead of waiting ~5 s for 9,000
    counts at LINE's 2,000/s, and pushes without asking them again: a group's count is asked
    about once a week, never more than once a day. A count a member or two off only shifts
    the plan's margin — LINE itself refuses a push the month cannot pay for (429), which is
    retried. A count LINE could not give is not kept."""

    def __init__(
        self, max_age: float = MEMBER_COUNT_MAX_AGE, clock: Callable[[], float] = systime.monotonic
    ) -> None:
        self.max_age, self._clock = max_age, clock
        self._known: dict[str, tuple[int, float]] = {}
        self._stored: dict[str, int] = {}  # read from the chat rows by `load`
        self._asked: dict[str, int] = {}  # asked since the last `save`

    def get(self, chat_id: str) -> int | None:
        hit = self._known.get(chat_id)
        if hit is not None and self._clock() - hit[1] < self.max_age:
            return hit[0]
        return self._stored.get(chat_id)

    def put(self, chat_id: str, count: int) -> None:
        self._known[chat_id] = (count, self._clock())
        self._asked[chat_id] = count
        self._stored.pop(chat_id, None)

    def load(self, sessions: sessionmaker[Session], now: datetime) -> None:
        """The counts stored on the chat rows within `STORED_MAX_AGE` of `now`."""
        since = _utc(now) - STORED_MAX_AGE
        with sessions() as session:
            rows = session.execute(
                select(Chat.id, Chat.member_count).where(
                    Chat.member_count.is_not(None), Chat.member_count_at >= since
                )
            ).all()
        self._stored = {chat_id: count for chat_id, count in rows}

    def save(self, sessions: sessionmaker[Session], now: datetime) -> None:
        """Write the counts asked since the last save on their chat rows (one statement)."""
        if not self._asked:
            return
        rows = [{"b_id": c, "b_count": n} for c, n in self._asked.items()]
        stmt = (
            update(Chat.__table__)
            .where(Chat.__table__.c.id == bindparam("b_id"))
            .values(
                member_count=bindparam("b_count"),
                member_count_at=_utc(now),
                updated_at=Chat.__table__.c.updated_at,  # a figure of LINE's, not a setting
            )
        )
        with sessions.begin() as session:
            session.connection().execute(stmt, rows)
        self._stored.update(self._asked)
        self._asked = {}


class AsyncLine(Protocol):
    """What the sender needs of LINE (`SdkLineGateway.sending()`, or `_InThreads`)."""

    async def push(self, to: str, payload: str, retry_key: str) -> PushResult: ...

    async def member_count(self, chat_id: str, chat_type: str) -> int | None: ...

    async def quota_remaining(self) -> int | None: ...


@lru_cache(maxsize=256)
def _messages(payload: str) -> list:
    """Stored JSON → SDK models, once per distinct payload (models are not mutated)."""
    return messages_from_json(payload)


class _InThreads:
    """A gateway with blocking calls only (the tests' in-memory LINE, `LoggingGateway`) on the
    sender's loop: each call in a bounded thread pool."""

    def __init__(self, gateway: LineGateway, threads: int) -> None:
        self._gateway, self._threads = gateway, threads

    async def __aenter__(self) -> _InThreads:
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="reminder-push")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def _run(self, call: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def push(self, to: str, payload: str, retry_key: str) -> PushResult:
        return await self._run(
            lambda: self._gateway.push(to, _messages(payload), retry_key=retry_key)
        )

    async def member_count(self, chat_id: str, chat_type: str) -> int | None:
        return await self._run(lambda: self._gateway.member_count(chat_id, chat_type))

    async def quota_remaining(self) -> int | None:
        return await self._run(self._gateway.quota_remaining)


def line_for_sending(gateway: LineGateway, in_flight: int) -> Any:
    """The gateway's own asyncio client when it has one (`SdkLineGateway`), else its blocking
    calls in threads. An async context manager giving an `AsyncLine`."""
    sending = getattr(gateway, "sending", None)
    if sending is not None:
        return sending(in_flight)
    return _InThreads(gateway, min(in_flight, MAX_THREADS))


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


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a dispatch sends (reference counting still frees
    nearly everything). Thousands of tasks and requests alive at once set it off again and
    again, each time walking the whole heap (calendars, plan, SDK models): measured on
    10,000 pushes, a third of the dispatcher's CPU and event-loop stalls of 0.2–0.4 s, during
    which LINE's rate goes unused. Process-wide, and only for the few seconds of a send."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Sender:
    """Step 3 on one asyncio loop: lease in batches, keep up to `in_flight` pushes going under
    the rate limit (LINE answers a Thai server in 50–150 ms: ~300 in flight reach its
    2,000/s), mark the answers in batches. The database is worked by a thread of its own, one
    call at a time, so a lease or a mark never holds up the pushes in flight.

    With a limited quota each group's member count is asked of LINE once (or taken from
    `counts`), at its own rate limit, while the other pushes go on."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: LineGateway,
        now: datetime,
        worker_id: str,
        report: DispatchReport,
        *,
        reserve: int,
        in_flight: int = MAX_IN_FLIGHT,
        counts: MemberCounts | None = None,
        claims: list[Callable[[], None]] | None = None,
    ) -> None:
        self.sessions, self.gateway, self.now = sessions, gateway, now
        self.worker_id, self.report, self.reserve = worker_id, report, reserve
        self.window = max(1, in_flight)
        self.counts = counts or MemberCounts()
        self.claims = list(claims or ())
        self.budget = QuotaBudget(None)
        self.in_flight: dict[int, Lease] = {}
        self.results: list[tuple[Lease, PushResult | str]] = []
        self.cursor = 0  # the last push id leased: one dispatch never leases a push twice
        self.held: list[int] = []  # over quota: leases given back when the dispatch is done

    def run(self) -> None:
        crash: BaseException | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="reminder-db") as self._db:
            try:
                with _no_cycle_collection():
                    crash = asyncio.run(self._send_all())
            except BaseException as exc:  # a database error, an interrupt
                crash = exc
        if crash is not None:
            self._salvage()
            raise crash

    async def _in_db(self, call: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, call, *args)

    async def _send_all(self) -> BaseException | None:
        """Lease while there is room, until nothing is left; the answers are recorded by the
        database thread in the background. A crash in a push (even SystemExit) stops the
        leasing and is returned, to be raised once the answers LINE gave are recorded."""
        self.asking: dict[str, asyncio.Task] = {}
        self.push_rate, self.count_rate = RateLimiter(), RateLimiter()
        self.room = asyncio.Event()  # a push has ended: there may be room to lease more
        self.crash: BaseException | None = None
        self.marks: list[asyncio.Future] = []
        tasks: set[asyncio.Task] = set()
        batch = min(self.window, LEASE_BATCH)
        async with line_for_sending(self.gateway, self.window) as self.line:
            quota = asyncio.ensure_future(self.line.quota_remaining())
            leases = await self._in_db(self._lease, batch)
            self.budget = QuotaBudget(await quota, self.reserve)
            try:
                while leases and self.crash is None:
                    for lease in leases:
                        self.in_flight[lease.id] = lease
                        task = asyncio.create_task(self._push(lease))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    await self._room_for(self.window - batch)
                    for mark in self.marks:  # a failed mark stops the sending
                        if mark.done():
                            mark.result()
                    leases = await self._in_db(self._lease, batch)
                await self._room_for(0)
                if self.crash is None:
                    self._flush()
                    await asyncio.gather(*self.marks)
            finally:
                for task in (*tasks, *self.asking.values()):
                    task.cancel()
                await asyncio.gather(*tasks, *self.asking.values(), return_exceptions=True)
                await asyncio.gather(*self.marks, return_exceptions=True)
        return self.crash

    async def _room_for(self, most: int) -> None:
        """Until at most `most` pushes are under way (or one crashed)."""
        while len(self.in_flight) > most and self.crash is None:
            self.room.clear()
            await self.room.wait()

    def _lease(self, limit: int) -> list[Lease]:
        """Up to `limit` pending pushes; when none is left, the next claim batch first."""
        while True:
            leases = lease_pushes(self.sessions, self.now, self.worker_id, self.cursor, limit)
            if leases or not self.claims:
                break
            self.claims.pop(0)()
        if leases:
            self.cursor = leases[-1].id
        return leases

    def _flush(self) -> None:
        """Record the answers so far, in the database thread, without waiting for it."""
        if self.results:
            results, self.results = self.results, []
            args = (self.sessions, results, self.now, self.report, self.held)
            self.marks.append(asyncio.get_running_loop().run_in_executor(self._db, _mark, *args))

    async def _push(self, lease: Lease) -> None:
        """One push; its answer kept for the next mark. A crash is kept to be raised, its
        lease left in flight (outcome unknown: given back)."""
        try:
            result = await self._send_one(lease)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # SystemExit/KeyboardInterrupt too: run() re-raises
            self.crash = self.crash or exc
        else:
            del self.in_flight[lease.id]
            self.results.append((lease, result))
            if len(self.results) >= MARK_BATCH:
                self._flush()
        self.room.set()

    async def _send_one(self, lease: Lease) -> PushResult | str:
        """Pay for the push, then push its stored payload with its stored key."""
        cost = await self._cost(lease) if self.budget.limited else 1
        if not self.budget.take(cost):
            return OVER_QUOTA
        await self.push_rate.acquire()
        result = await self.line.push(lease.chat_id, lease.payload, lease.retry_key)
        if result.outcome is PushOutcome.REJECTED:
            self.budget.refund(cost)
        return result

    async def _cost(self, lease: Lease) -> int:
        """Members reached: a user chat is one; a group's count is asked once per dispatch
        (two pushes to one chat share the asking) unless `counts` still knows it."""
        if lease.chat_type not in ("group", "room"):
            return 1
        known = self.counts.get(lease.chat_id)
        if known is not None:
            return known
        asking = self.asking.get(lease.chat_id)
        if asking is None:
            asking = self.asking[lease.chat_id] = asyncio.create_task(self._ask_count(lease))
        return await asyncio.shield(asking)

    async def _ask_count(self, lease: Lease) -> int:
        await self.count_rate.acquire()
        count = await self.line.member_count(lease.chat_id, lease.chat_type)
        if count is None:
            return 1
        self.counts.put(lease.chat_id, count)
        return count

    def _salvage(self) -> None:
        """After a crash: record the answers LINE gave, give back every other lease (the next
        dispatch re-sends those with the same key; LINE's 409 tells if they went out)."""
        try:
            _mark(self.sessions, self.results, self.now, self.report, self.held)
        finally:
            release_pushes(self.sessions, [*self.in_flight, *self.held])
            self.in_flight.clear()
            self.held.clear()


def has_work(sessions: sessionmaker[Session], now: datetime) -> bool:
    with sessions() as session:
        return session.scalar(select(PUSH.c.id).where(_claimable(_utc(now))).limit(1)) is not None
