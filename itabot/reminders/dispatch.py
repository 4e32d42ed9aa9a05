"""The reminder dispatcher: plan, claim in the ledger, send, mark — safe to crash or run twice.

The healthchecks `sendalerts` pattern: the database is the truth, every state change is a row
written *before* the side effect, and any number of dispatchers may run at once.

1. Plan (pure, `reminder_planner.plan`).
2. Claim (`reminder_claim`): each due reminder becomes a `reminder` ledger row (unique: chat,
   calendar, phase, offset, fiscal year), inserted with its chat's `push` outbox row (a fresh
   UUID4 retry key, the merged messages stored once in `push_payload`, status pending) in one
   transaction. A unique-key conflict means another dispatcher or an earlier run already has
   it: it is not claimed again.
3. Send (`reminder_send`): pending pushes are leased with a conditional UPDATE (`… WHERE
   status='pending' AND (claimed_until IS NULL OR claimed_until < now)`; PostgreSQL adds
   `FOR UPDATE SKIP LOCKED`), pushed with their *stored* retry key and payload, then marked. A
   push whose mark was lost (a crash after LINE accepted it) is leased again later and re-sent
   with the same key: LINE answers 409, which is recorded as sent — one delivery, whatever
   crashed.

Stale is worse than late: a pending push not accepted by the end of its day (or after its last
closing) is `expired`, never sent: its countdown is no longer true.

When the LINE quota runs out the admins are told once a month (`reminder_quota`);
`reminder_report` holds what a dispatch did and `reminder_store` the shared tables and helpers.
This module orchestrates them (`send_pending`, `dispatch`) and re-exports their public names.
A large dispatch overlaps steps 2 and 3: helper processes (`reminder_helpers`) send each claim
batch as soon as it commits.
"""

from __future__ import annotations

import logging
import os
import socket
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import Settings
from itabot.line.client import LineGateway
from itabot.reminders.helpers import HELPER_MIN_PUSHES, SendingHelpers, SharedQuotaBudget
from itabot.reminders.ledger import (
    claim_due,
    plan_from_db,
    unclaimed,
)
from itabot.reminders.planner import DueReminder
from itabot.reminders.quota import (
    _notice_sent,
    admin_ids,
    month_of,
    notify_admins_of_quota,
)
from itabot.reminders.report import DispatchReport
from itabot.reminders.sender import (
    MAX_WORKERS,
    RATE_BURST,
    RATE_PER_SECOND,
    QuotaBudget,
    RateLimiter,
    Sender,
    expire_stale,
    has_work,
    release_pushes,
)
from itabot.storage import db as dbmod

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """`host:pid` — who holds a lease, for the logs and for an operator reading `push`."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _sessions(database: str | sessionmaker[Session]) -> sessionmaker[Session]:
    return dbmod.session_factory(database) if isinstance(database, str) else database


@dataclass
class _Sending:
    """One dispatch's terms for its senders: the quota budget and each sender's rate share."""

    budget: QuotaBudget | SharedQuotaBudget
    month_told: bool
    rate: float
    burst: int


def _sending_terms(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    now: datetime,
    helpers: SendingHelpers | None,
) -> _Sending:
    """Ask LINE for the month's quota once; split the rate cap between the senders."""
    month_told = _notice_sent(sessions, month_of(now))
    reserve = 0 if month_told else len(admin_ids(sessions, settings))
    remaining = gateway.quota_remaining()
    senders = 1 + (helpers.count if helpers else 0)
    budget: QuotaBudget | SharedQuotaBudget
    if helpers is None:
        budget = QuotaBudget(remaining, reserve)
    else:
        budget = helpers.budget
        budget.reset(remaining, reserve)
    return _Sending(budget, month_told, RATE_PER_SECOND / senders, max(1, RATE_BURST // senders))


def send_and_settle(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    now: datetime,
    worker_id: str,
    report: DispatchReport,
    terms: _Sending,
    sharing: list[Future],
    *,
    max_workers: int,
    limiter: RateLimiter | None,
) -> None:
    """This process's share of step 3, then the helpers' counts (`sharing`), the leases held
    over quota given back, and the admins told once if the quota ran out."""
    sender = Sender(
        sessions,
        gateway,
        now,
        worker_id,
        report,
        terms.budget,
        limiter or RateLimiter(terms.rate, terms.burst),
        max_workers,
    )
    try:
        sender.run()
    finally:
        held = SendingHelpers.collect(sharing, report)
        release_pushes(sessions, [*sender.held, *held])  # over quota: for a later dispatch
    if report.over_quota:
        if not terms.month_told:
            notify_admins_of_quota(sessions, gateway, settings, now, terms.budget, report)
        log.warning("%d reminder push(es) left pending: LINE quota", report.over_quota)


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
    """Step 3 by this process alone: expire the stale, then lease, send and mark every
    pending push."""
    expire_stale(sessions, now, report)
    if not has_work(sessions, now):
        return  # the every-minute clock does not ask LINE for the quota when idle
    terms = _sending_terms(sessions, gateway, settings, now, None)
    send_and_settle(
        sessions,
        gateway,
        settings,
        now,
        worker_id,
        report,
        terms,
        [],
        max_workers=max_workers,
        limiter=limiter,
    )


def _claim_and_send_with_helpers(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    due: list[DueReminder],
    taken: set | None,
    now: datetime,
    report: DispatchReport,
    helpers: SendingHelpers,
    *,
    max_workers: int,
    limiter: RateLimiter | None,
) -> None:
    """Steps 2 and 3 of a large dispatch, overlapped: the helpers start sending while this
    process claims (each claim batch is leasable once committed), and this process joins them
    when the claim is done. On two cores that hides most of the claim's ~1.5 s."""
    expire_stale(sessions, now, report)
    terms = _sending_terms(sessions, gateway, settings, now, helpers)
    sharing = helpers.send(now, report.worker_id, terms.rate, terms.burst, max_workers)
    try:
        claim_due(sessions, due, now, report, taken)
    except BaseException:
        helpers.claiming_done()
        release_pushes(sessions, SendingHelpers.collect(sharing, report))
        raise
    helpers.claiming_done()
    send_and_settle(
        sessions,
        gateway,
        settings,
        now,
        report.worker_id,
        report,
        terms,
        sharing,
        max_workers=max_workers,
        limiter=limiter,
    )


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
    processes: int = 1,
) -> DispatchReport:
    """One dispatch at `now`: plan, claim, send. Safe to run in several processes at once.

    With `processes` > 1 and a large plan, helper processes share the sending; they build their
    LINE client from `settings`, so pass it only with `gateway = make_line_gateway(settings)`
    (the CLI and the clock do)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    sessions = _sessions(database)
    report = DispatchReport(at=now.astimezone(BANGKOK), worker_id=worker_id or default_worker_id())
    due = plan_from_db(sessions, calendars, settings, now)
    report.due = len(due)
    helpers, taken = None, None
    if processes > 1 and len(due) >= HELPER_MIN_PUSHES:
        # Helpers for what is left to claim, not for the plan: after 08:30 the plan still
        # lists the morning's reminders every minute, all of them already in the ledger.
        fresh, taken = unclaimed(sessions, due)
        if fresh >= HELPER_MIN_PUSHES:
            helpers = SendingHelpers(settings, processes - 1)
    try:
        if helpers is None:
            claim_due(sessions, due, now, report, taken)
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
        else:
            _claim_and_send_with_helpers(
                sessions,
                gateway,
                settings,
                due,
                taken,
                now,
                report,
                helpers,
                max_workers=max_workers,
                limiter=limiter,
            )
    finally:
        if helpers is not None:
            helpers.close()
    if report.changed:
        log.info("reminder dispatch at %s: %s", report.at.isoformat(), report.summary())
    return report
