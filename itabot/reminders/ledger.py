"""Step 2 of the reminder dispatcher: chats in, due reminders claimed in the ledger.

Each due reminder becomes a `reminder` ledger row (unique: chat, calendar, phase, offset, fiscal
year), inserted with its chat's `push` outbox row (a fresh UUID4 retry key, status pending, and
the merged messages, stored once per distinct content in `push_payload`) in one transaction. A
unique-key conflict means another dispatcher or an earlier run already has it: it is not
claimed again."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from itabot.calendars.model import Calendars
from itabot.config import Settings, parse_remind_days, parse_remind_time
from itabot.line.client import messages_to_json
from itabot.reminders.messages import reminder_messages
from itabot.reminders.planner import (
    ChatPlanInput,
    DueReminder,
    ReminderDefaults,
    by_chat,
    end_of_day,
    plan,
)
from itabot.reminders.report import DispatchReport
from itabot.reminders.tables import PAYLOAD, PUSH, REMINDER, _chunks, _utc
from itabot.storage import db
from itabot.storage.models import Agency, Chat, Confirmation

log = logging.getLogger(__name__)

CHATS_PER_TRANSACTION = 500  # ledger claims per transaction (a conflict redoes them one by one)


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
    sessions: sessionmaker[Session],
    calendars: Calendars,
    settings: Settings,
    now: datetime,
    chats: Sequence[ChatPlanInput] | None = None,
) -> list[DueReminder]:
    """Step 1 with the chats read from the database (or the `chats` already read)."""
    chats = load_chats(sessions) if chats is None else chats
    return plan(calendars, chats, now, ReminderDefaults.from_settings(settings))


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
    payload_id: int
    expires_at: datetime


class _Payloads:
    """The `push_payload` id of the messages for a set of (phase, offset): 10,000 chats share a
    handful, each stored once (content-addressed) and looked up once per dispatch."""

    def __init__(self, sessions: sessionmaker[Session], secret: str = "") -> None:
        self._sessions = sessions
        self._secret = secret
        self._ids: dict[tuple, int] = {}

    def __call__(self, reminders: Sequence[DueReminder]) -> int:
        key = tuple((r.phase.key, r.phase.fiscal_year, r.offset_days) for r in reminders)
        hit = self._ids.get(key)
        if hit is None:
            body = messages_to_json(reminder_messages(reminders, self._secret))
            hit = self._ids[key] = store_payload(self._sessions, body)
        return hit


def store_payload(sessions: sessionmaker[Session], body: str) -> int:
    """The id of `body` in push_payload, inserted if new. Its own committed transaction: a
    claim batch rolled back on a ledger conflict must not take with it a payload id this
    dispatch has cached, and a concurrent dispatcher inserting the same body is a no-op."""
    digest = hashlib.sha256(body.encode()).hexdigest()
    values = {"digest": digest, "body": body, "created_at": datetime.now(UTC)}
    with sessions.begin() as session:
        stmt = db.insert_for(session.get_bind().dialect.name)(PAYLOAD).values(values)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["digest"]))
        return session.execute(select(PAYLOAD.c.id).where(PAYLOAD.c.digest == digest)).scalar_one()


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
    push_rows = [pending_push(c.chat_id, c.payload_id, c.expires_at, now_utc) for c in claims]
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


def pending_push(
    chat_id: str, payload_id: int, expires_at: datetime, now_utc: datetime, kind: str = "reminder"
) -> dict[str, Any]:
    """A `push` row waiting for the sender, with its own retry key (LINE's 409 on a resend)."""
    return {
        "chat_id": chat_id,
        "retry_key": str(uuid.uuid4()),
        "kind": kind,
        "payload_id": payload_id,
        "status": "pending",
        "attempts": 0,
        "created_at": now_utc,
        "expires_at": _utc(expires_at),
    }


def ledger_row(
    key: tuple[str, str, str, int, int],
    closes_at: datetime,
    due_at: datetime,
    push_id: int | None,
    status: str,
    now_utc: datetime,
) -> dict[str, Any]:
    """A `reminder` row under its unique key (chat, calendar, phase, offset, fiscal year)."""
    chat_id, calendar, phase_id, offset, fiscal_year = key
    return {
        "chat_id": chat_id,
        "calendar": calendar,
        "phase_id": phase_id,
        "offset_days": offset,
        "fiscal_year": fiscal_year,
        "closes_at": _utc(closes_at),
        "due_at": _utc(due_at),
        "push_id": push_id,
        "status": status,
        "created_at": now_utc,
    }


def _ledger_row(
    r: DueReminder, offset: int, due_at: datetime, push_id: int | None, status: str, now_utc
) -> dict[str, Any]:
    return ledger_row(r.ledger_key(offset), r.closes_at, due_at, push_id, status, now_utc)


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


def claim_batches(
    sessions: sessionmaker[Session],
    due: Sequence[DueReminder],
    now: datetime,
    report: DispatchReport,
    secret: str = "",
) -> list[Callable[[], None]]:
    """Step 2, one call per batch of chats that still have something to claim (one
    transaction each: 10,000 chats, 20 commits), so the sender can push a batch while the
    next is claimed. Nothing to call: every due reminder is in the ledger already — after
    08:30 the plan lists the morning's reminders every minute (late is better than never).
    The ledger's unique key is the arbiter: a batch that meets a key claimed meanwhile by
    another dispatcher is rolled back and redone chat by chat."""
    with sessions() as session:
        taken = ledger_keys(session, due)
    fresh = []
    for chat_id, items in by_chat(due).items():
        if all(r.key in taken for r in items):
            report.count("already_claimed", len(items))
        else:
            fresh.append((chat_id, items))
    payloads = _Payloads(sessions, secret)
    return [
        partial(_claim_batch, sessions, batch, taken, payloads, now, report)
        for batch in _chunks(fresh, CHATS_PER_TRANSACTION)
    ]


def claim_due(
    sessions: sessionmaker[Session],
    due: Sequence[DueReminder],
    now: datetime,
    report: DispatchReport,
    secret: str = "",
) -> None:
    """Step 2 all at once."""
    for claim in claim_batches(sessions, due, now, report, secret):
        claim()


def confirmed_phases(session: Session, chat_ids: Sequence[str]) -> set[tuple[str, str, str, int]]:
    """(chat, calendar, phase, fiscal year) that the chat's agency confirmed done: no chat of
    the agency hears that phase again, and the month plan does not pay for it."""
    confirmed: set[tuple[str, str, str, int]] = set()
    for ids in _chunks(sorted(set(chat_ids))):
        stmt = (
            select(Chat.id, Confirmation.calendar, Confirmation.phase_id, Confirmation.fiscal_year)
            .join(Confirmation, Confirmation.agency_id == Chat.agency_id)
            .where(Chat.id.in_(ids))
        )
        confirmed.update(tuple(row) for row in session.execute(stmt))
    return confirmed


def record_unsent(
    sessions: sessionmaker[Session], reminders: Sequence[Any], status: str, now: datetime
) -> int:
    """Reminders that will never be pushed (`suppressed`, `dropped`) as ledger rows: their
    key is taken, so no dispatcher claims them later; one already in the ledger is left as it
    is. Returns how many rows were written."""
    if not reminders:
        return 0
    now_utc = _utc(now)
    rows = [_ledger_row(r, r.offset_days, r.due_at, None, status, now_utc) for r in reminders]
    with sessions.begin() as session:
        stmt = db.insert_for(session.get_bind().dialect.name)(REMINDER)
        stmt = stmt.on_conflict_do_nothing().returning(REMINDER.c.id)
        return len(session.execute(stmt, rows).all())


def suppress_confirmed(
    sessions: sessionmaker[Session],
    due: Sequence[DueReminder],
    now: datetime,
    report: DispatchReport,
) -> list[DueReminder]:
    """Step 1½: a phase the chat's agency confirmed done is not pushed to any of its chats.
    Its reminder is recorded `suppressed` (no push), so the ledger still says what happened
    and a later dispatch does not look at it again; the rest is returned to be claimed."""
    if not due:
        return []
    with sessions() as session:
        confirmed = confirmed_phases(session, [r.chat_id for r in due])
    if not confirmed:
        return list(due)
    keep, hush = [], []
    for r in due:
        key = (r.chat_id, r.phase.calendar, r.phase.id, r.phase.fiscal_year)
        (hush if key in confirmed else keep).append(r)
    report.count("suppressed", record_unsent(sessions, hush, "suppressed", now))
    return keep
