"""The reminder dispatcher: plan, claim in the ledger, send, mark — safe to crash or run twice.

The healthchecks `sendalerts` pattern: the database is the truth, every state change is a row
written *before* the side effect, and any number of dispatchers may run at once.

1. Plan (pure, `reminder_planner.plan`).
2. Claim (`reminder_claim`): each due reminder becomes a `reminder` ledger row (unique: chat,
   calendar, phase, offset, fiscal year), inserted with its chat's `push` outbox row (a fresh
   UUID4 retry key, the merged messages as JSON, status pending) in one transaction. A
   unique-key conflict means another dispatcher or an earlier run already has it: it is not
   claimed again.
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
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from itabot import db as dbmod
from itabot.calendar import Calendars
from itabot.config import Settings
from itabot.line import LineGateway
from itabot.reminder_claim import (
    CHATS_PER_TRANSACTION,
    LedgerKey,
    claim_due,
    ledger_keys,
    load_chats,
    plan_from_db,
)
from itabot.reminder_helpers import HELPER_MIN_PUSHES, SendingHelpers, SharedQuotaBudget
from itabot.reminder_quota import (
    _notice_sent,
    admin_ids,
    month_of,
    notify_admins_of_quota,
    quota_notice_text,
)
from itabot.reminder_report import DispatchReport
from itabot.reminder_send import (
    CLAIM_BATCH,
    LEASE,
    MAX_WORKERS,
    OVER_QUOTA,
    RATE_BURST,
    RATE_PER_SECOND,
    Lease,
    QuotaBudget,
    RateLimiter,
    Sender,
    expire_stale,
    has_work,
    lease_pushes,
    release_pushes,
)
from itabot.reminder_store import PUSH, REMINDER
from itabot.thaidate import BANGKOK

__all__ = [
    "CHATS_PER_TRANSACTION",
    "CLAIM_BATCH",
    "LEASE",
    "MAX_WORKERS",
    "OVER_QUOTA",
    "PUSH",
    "RATE_BURST",
    "RATE_PER_SECOND",
    "REMINDER",
    "DispatchReport",
    "Lease",
    "LedgerKey",
    "QuotaBudget",
    "RateLimiter",
    "admin_ids",
    "claim_due",
    "default_worker_id",
    "dispatch",
    "expire_stale",
    "lease_pushes",
    "ledger_keys",
    "load_chats",
    "month_of",
    "notify_admins_of_quota",
    "plan_from_db",
    "quota_notice_text",
    "send_pending",
]

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """`host:pid` — who holds a lease, for the logs and for an operator reading `push`."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _sessions(database: str | sessionmaker[Session]) -> sessionmaker[Session]:
    return dbmod.session_factory(database) if isinstance(database, str) else database


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
    helpers: SendingHelpers | None = None,
) -> None:
    """Step 3: expire the stale, then lease, send and mark every pending push — with
    `helpers` sending beside this process, each at an equal share of the rate limit."""
    expire_stale(sessions, now, report)
    if not has_work(sessions, now):
        return  # the every-minute clock does not ask LINE for the quota when idle
    month_told = _notice_sent(sessions, month_of(now))
    reserve = 0 if month_told else len(admin_ids(sessions, settings))
    remaining = gateway.quota_remaining()
    senders = 1 + (helpers.count if helpers else 0)
    rate, burst = RATE_PER_SECOND / senders, max(1, RATE_BURST // senders)
    budget: QuotaBudget | SharedQuotaBudget
    if helpers is None:
        budget = QuotaBudget(remaining, reserve)
    else:
        budget = helpers.budget
        budget.reset(remaining, reserve)
    sharing = helpers.send(now, worker_id, rate, burst, max_workers) if helpers else []
    sender = Sender(
        sessions,
        gateway,
        now,
        worker_id,
        report,
        budget,
        limiter or RateLimiter(rate, burst),
        max_workers,
    )
    try:
        sender.run()
    finally:
        held = SendingHelpers.collect(sharing, report)
        release_pushes(sessions, [*sender.held, *held])  # over quota: for a later dispatch
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
    helpers = (
        SendingHelpers(settings, processes - 1)
        if processes > 1 and len(due) >= HELPER_MIN_PUSHES
        else None
    )
    try:
        claim_due(sessions, due, now, report)  # the helpers start up meanwhile
        send_pending(
            sessions,
            gateway,
            settings,
            now,
            report.worker_id,
            report,
            max_workers=max_workers,
            limiter=limiter,
            helpers=helpers,
        )
    finally:
        if helpers is not None:
            helpers.close()
    if report.changed:
        log.info("reminder dispatch at %s: %s", report.at.isoformat(), report.summary())
    return report
