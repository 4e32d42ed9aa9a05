"""The reminder dispatcher: plan, claim in the ledger, send, mark — safe to crash or run twice.

The healthchecks `sendalerts` pattern: the database is the truth, every state change is a row
written *before* the side effect, and any number of dispatchers may run at once.

1. Plan (pure, `planner.plan`); a phase the chat's agency confirmed done ("✓ ทำแล้ว") is
   recorded `suppressed` instead (`ledger.suppress_confirmed`).
2. Claim (`ledger.claim_batches`): each due reminder becomes a `reminder` ledger row,
   inserted with its chat's `push` outbox row (a fresh retry key, the merged messages stored
   once in `push_payload`, pending) in one transaction; a unique-key conflict means another
   dispatcher or an earlier run already has it.
3. Send (`sender.Sender`): pending pushes are leased, pushed with their *stored* retry key and
   payload, then marked; a push whose mark was lost is re-sent with the same key and LINE's
   409 records it as sent — one delivery, whatever crashed. Stale pushes expire unsent.

Steps 2 and 3 overlap: the sender claims the next batch of chats when it has nothing left to
lease, while the pushes of the last batch are still in flight.

When LINE limits the month's messages, step 1 is followed by the month plan (`month`,
`budget`): what the rest of the month cannot pay for is dropped, lowest value first, recorded
as `dropped` in the ledger and never sent; the admins hear the forecast once per change. When
the quota runs out anyway the admins are told once a month (`quota`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK
from itabot.config import Settings
from itabot.line.client import LineGateway
from itabot.reminders.budget import (
    NOTICES_PER_ADMIN,
    count_dropped_so_far,
    month_plan_from_db,
    notify_admins_of_plan,
    record_dropped,
    save_snapshot,
)
from itabot.reminders.digest import claim_digests
from itabot.reminders.ledger import (
    claim_batches,
    ledger_keys,
    load_chats,
    plan_from_db,
    suppress_confirmed,
)
from itabot.reminders.planner import ChatPlanInput, DueReminder
from itabot.reminders.quota import _notice_sent, admin_ids, month_of, notify_admins_of_quota
from itabot.reminders.report import DispatchReport
from itabot.reminders.sender import (
    MAX_IN_FLIGHT,
    MemberCounts,
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


def send_pending(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    now: datetime,
    worker_id: str,
    report: DispatchReport,
    *,
    max_workers: int = MAX_IN_FLIGHT,
    counts: MemberCounts | None = None,
    claims: list[Callable[[], None]] | None = None,
) -> None:
    """Step 3: expire the stale, then lease, send and mark every pending push (running the
    `claims` of step 2 as the sender runs short); the leases held over quota given back, and
    the admins told once if the quota ran out."""
    expire_stale(sessions, now, report)
    if not claims and not has_work(sessions, now):
        return  # the every-minute clock does not ask LINE for the quota when idle
    month_told = _notice_sent(sessions, month_of(now))
    reserve = 0 if month_told else len(admin_ids(sessions, settings))
    sender = Sender(
        sessions,
        gateway,
        now,
        worker_id,
        report,
        reserve=reserve,
        in_flight=max_workers,
        counts=counts,
        claims=claims,
    )
    sender.run()
    release_pushes(sessions, sender.held)  # over quota: for a later dispatch
    if report.over_quota:
        if not month_told:
            notify_admins_of_quota(sessions, gateway, settings, now, sender.budget, report)
        log.warning("%d reminder push(es) left pending: LINE quota", report.over_quota)


def within_the_month_plan(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    calendars: Calendars,
    settings: Settings,
    now: datetime,
    due: list[DueReminder],
    report: DispatchReport,
    counts: MemberCounts,
    chats: Sequence[ChatPlanInput] | None = None,
) -> list[DueReminder]:
    """The due reminders the month plan keeps; those it drops recorded as `dropped`. Planned
    only when something new is due (the every-minute clock asks LINE nothing when idle)."""
    with sessions() as session:
        taken = ledger_keys(session, due)
    fresh = [r for r in due if r.key not in taken]
    if not fresh:
        return due
    admins = admin_ids(sessions, settings)
    planned = month_plan_from_db(
        sessions, gateway, calendars, settings, now, counts, NOTICES_PER_ADMIN * len(admins), chats
    )
    if planned is None:
        return due
    month, remaining = planned
    snap = save_snapshot(sessions, month, remaining, now)
    dropped = [r for r in fresh if not month.keeps(r.key)]
    record_dropped(sessions, dropped, now, report)
    count_dropped_so_far(sessions, month.month, report.dropped)
    notify_admins_of_plan(sessions, gateway, admins, month, snap, now)
    return [r for r in due if r.key in taken or month.keeps(r.key)]


def dispatch(
    database: str | sessionmaker[Session],
    gateway: LineGateway,
    calendars: Calendars,
    settings: Settings,
    now: datetime,
    worker_id: str | None = None,
    *,
    max_workers: int = MAX_IN_FLIGHT,
    counts: MemberCounts | None = None,
) -> DispatchReport:
    """One dispatch at `now`: plan, claim, send. Safe to run in several processes at once.

    `max_workers`: pushes in flight at most. `counts`: member counts kept between dispatches
    (the clock keeps one); by default each group's count is asked once in this dispatch."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    sessions = dbmod.session_factory(database) if isinstance(database, str) else database
    report = DispatchReport(at=now.astimezone(BANGKOK), worker_id=worker_id or default_worker_id())
    chats = load_chats(sessions)
    due = plan_from_db(sessions, calendars, settings, now, chats)
    report.due = len(due)
    due = suppress_confirmed(sessions, due, now, report)
    counts = counts or MemberCounts()
    due = within_the_month_plan(
        sessions, gateway, calendars, settings, now, due, report, counts, chats
    )
    claims = claim_batches(sessions, due, now, report, settings.line_channel_secret)
    claim_digests(sessions, calendars, now, report)
    send_pending(
        sessions,
        gateway,
        settings,
        now,
        report.worker_id,
        report,
        max_workers=max_workers,
        counts=counts,
        claims=claims,
    )
    counts.save(sessions, now)  # the plan of the next days sizes itself with them
    if report.changed:
        log.info("reminder dispatch at %s: %s", report.at.isoformat(), report.summary())
    return report
