"""Helpers shared by the reminder tests (no tests here): small calendars for the pure planner,
bound chats in a real database, an in-memory LINE gateway, and readers of the ledger."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select

from itabot.calendars.model import Calendar, Calendars, Phase
from itabot.calendars.names import agency_key
from itabot.calendars.thai_dates import BANGKOK
from itabot.line.client import PushOutcome, PushResult
from itabot.storage import db
from itabot.storage.models import Agency, Chat, Confirmation, Push, Reminder

SURIN_LOCAL = "องค์การบริหารส่วนตำบลตาเมียง"  # an อบต. in Surin
SURIN_OFFICE = "สำนักงานจังหวัดสุรินทร์"  # สนจ.สร.
OIT_CLOSING = datetime(2026, 6, 30, 17, 0, tzinfo=BANGKOK)


# --- small calendars for the pure planner ------------------------------------------------


def make_phase(
    phase_id: str,
    *,
    ends_on: date | None = None,
    closes_at: datetime | None = None,
    tool: str | None = "OIT",
    title: str | None = None,
    responsible: tuple[str, ...] = (),
    units: tuple[tuple[str, str], ...] = (),
    calendar: str = "national-2569",
    scope: str = "national",
    owner: str | None = None,
    province: str | None = None,
    fiscal_year: int = 2569,
) -> Phase:
    if ends_on is None and closes_at is not None:
        ends_on = closes_at.astimezone(BANGKOK).date()
    return Phase(
        calendar=calendar,
        id=phase_id,
        title=title or f"ขั้นตอน {phase_id}",
        tool=tool,
        indicators=(),
        period="-",
        starts_on=None,
        ends_on=ends_on,
        closes=None,
        closes_at=closes_at,
        responsible=responsible,
        detail=None,
        notes=None,
        source={"file": "test", "row": "1"},
        scope=scope,
        owner=owner,
        province=province,
        fiscal_year=fiscal_year,
        units=units,
    )


def make_calendars(*phases: Phase) -> Calendars:
    """One Calendar per distinct (calendar id) among the phases, in order."""
    by_id: dict[str, list[Phase]] = {}
    for p in phases:
        by_id.setdefault(p.calendar, []).append(p)
    cals = []
    for cal_id, ps in by_id.items():
        first = ps[0]
        cals.append(
            Calendar(
                id=cal_id,
                title=cal_id,
                fiscal_year=first.fiscal_year,
                scope=first.scope,
                owner=first.owner,
                province=first.province,
                agency_kind=None,
                source={},
                units=dict(first.units),
                phases=tuple(ps),
            )
        )
    return Calendars(tuple(cals))


# --- a database with bound chats ---------------------------------------------------------


def bind_chat(
    url: str,
    chat_id: str,
    *,
    province: str = "สุรินทร์",
    agency: str | None = SURIN_LOCAL,
    chat_type: str = "group",
    **chat_fields,
) -> str:
    """A chat (group by default) bound to an agency (created when new); agency=None: unbound."""
    with db.session_scope(url) as session:
        agency_id = None
        if agency is not None:
            key = agency_key(agency)
            row = session.scalar(
                select(Agency).where(Agency.province == province, Agency.name_key == key)
            )
            if row is None:
                row = Agency(province=province, name=agency, name_key=key)
                session.add(row)
                session.flush()
            agency_id = row.id
        session.add(Chat(id=chat_id, type=chat_type, agency_id=agency_id, **chat_fields))
    return chat_id


@dataclass(frozen=True)
class LedgerRow:
    chat_id: str
    phase: str  # calendar/phase id
    offset_days: int
    status: str
    push_id: int | None


def confirm_done(url: str, chat_id: str, phase_key: str, fiscal_year: int = 2569) -> None:
    """The agency bound to `chat_id` has pressed "✓ ทำแล้ว" for `calendar/phase` (20 June)."""
    calendar, phase_id = phase_key.split("/")
    with db.session_scope(url) as session:
        session.add(
            Confirmation(
                agency_id=session.get(Chat, chat_id).agency_id,
                calendar=calendar,
                phase_id=phase_id,
                fiscal_year=fiscal_year,
                confirmed_by="U" + "a" * 32,
                confirmed_at=datetime(2026, 6, 20, 2, 0, tzinfo=UTC),
            )
        )


def ledger(url: str) -> list[LedgerRow]:
    with db.session_scope(url) as session:
        rows = session.scalars(select(Reminder).order_by(Reminder.id)).all()
        return [
            LedgerRow(r.chat_id, f"{r.calendar}/{r.phase_id}", r.offset_days, r.status, r.push_id)
            for r in rows
        ]


def pushes(url: str) -> list[Push]:
    with db.session_scope(url) as session:
        return list(session.scalars(select(Push).order_by(Push.id)).all())


# --- an in-memory LINE ---------------------------------------------------------------------


@dataclass
class FakeGateway:
    """The `LineGateway` protocol in memory, behaving like LINE with retry keys: a key it has
    accepted answers ALREADY_ACCEPTED (409). `script` forces the next outcomes in order."""

    quota: int | None = None
    members: dict[str, int] = field(default_factory=dict)
    script: list[PushOutcome] = field(default_factory=list)
    calls: list[tuple[str, str, list]] = field(default_factory=list)  # (to, retry key, messages)
    accepted: dict[str, str] = field(default_factory=dict)  # retry key → to
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        with self.lock:
            self.calls.append((to, retry_key, list(messages)))
            if self.script:
                outcome = self.script.pop(0)
                status = {PushOutcome.REJECTED: 400, PushOutcome.RETRY_LATER: 500}.get(outcome, 200)
                if outcome is PushOutcome.SENT:
                    self.accepted[retry_key] = to
                error = None if status == 200 else f"scripted {status}"
                return PushResult(outcome, status, 1, error)
            if retry_key in self.accepted:
                return PushResult(PushOutcome.ALREADY_ACCEPTED, 409, 1)
            self.accepted[retry_key] = to
            return PushResult(PushOutcome.SENT, 200, 1)

    def quota_remaining(self) -> int | None:
        return self.quota

    def member_count(self, chat_id: str, chat_type: str) -> int:
        return self.members.get(chat_id, 1) if chat_type != "user" else 1

    def delivered_to(self, to: str) -> list[str]:
        """Retry keys LINE accepted for this chat: one per delivery."""
        return [key for key, dest in self.accepted.items() if dest == to]

    def alt_texts(self, to: str) -> list[str]:
        return [m.alt_text for dest, _key, ms in self.calls if dest == to for m in ms]


class CrashAfterDelivery:
    """A gateway that delivers, then dies before the dispatcher can record it (kill -9
    between the push and the UPDATE)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def push(self, to: str, messages: list, *, retry_key: str) -> PushResult:
        self.inner.push(to, messages, retry_key=retry_key)
        raise SystemExit("killed after delivering")

    def quota_remaining(self) -> int | None:
        return self.inner.quota_remaining()

    def member_count(self, chat_id: str, chat_type: str) -> int:
        return self.inner.member_count(chat_id, chat_type)


def most_within_one_second(times: list[float]) -> int:
    """The most arrivals in any window [t, t + 1) (times in order): what LINE's 2,000 req/s
    limit counts (the rate limiter's tests and the LINE stand-in of the benchmarks)."""
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best
