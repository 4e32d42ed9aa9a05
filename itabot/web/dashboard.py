"""What a province's page shows, read from the calendars and the database: pure data for the
template, nothing of another province.

The fiscal year shown is the current one when the province has a calendar for it, else the
latest year before it that has one (in December 2569 the 2570 calendar may not be out yet:
last year's closings beat an empty page), else the nearest later one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from itabot.admin.done import NACC_OWN, agency_phases, confirmation_key, phase_name
from itabot.admin.remind import _days_text
from itabot.calendars.model import Calendars, Phase, drop_echoes
from itabot.calendars.thai_dates import BANGKOK, fiscal_year_of, format_closing
from itabot.calendars.wording import closing_text, countdown, owner_label, tool_label
from itabot.config import Settings
from itabot.storage.chats import format_time, reminder_settings
from itabot.storage.models import Agency, Chat, Confirmation

CHAT_KINDS = {"user": "แชท 1:1", "group": "กลุ่ม", "room": "ห้อง"}


@dataclass(frozen=True)
class TimelineRow:
    phase: Phase
    name: str
    tool: str
    owner: str
    scope: str
    period: str
    closing: str
    countdown: str
    state: str  # open | ahead | closed


@dataclass(frozen=True)
class ChatRow:
    kind: str
    tail: str  # the chat id's last characters: tells two groups apart, gives nothing away
    active: bool
    reminders: str


@dataclass(frozen=True)
class AgencyRow:
    name: str
    chats: list[ChatRow]
    confirmed: int
    due: int


@dataclass(frozen=True)
class ClosingAhead:
    name: str
    closing: str
    countdown: str
    confirmed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProvincePage:
    province: str
    fiscal_year: int | None
    current_year: int
    generated: str
    open_now: list[TimelineRow]
    timeline: list[TimelineRow]
    agencies: list[AgencyRow]
    closings_ahead: list[ClosingAhead]


def shown_year(calendars: Calendars, province: str, now: datetime) -> int | None:
    current = fiscal_year_of(now.astimezone(BANGKOK).date())
    years = {c.fiscal_year for c in calendars.applicable(province=province) if c.scope != "agency"}
    if not years:
        return None
    if current in years:
        return current
    earlier = [y for y in years if y < current]
    return max(earlier) if earlier else min(years)


def _timeline(calendars: Calendars, province: str, year: int, now: datetime) -> list[TimelineRow]:
    phases = [
        p
        for c in calendars.applicable(province=province, fiscal_year=year)
        if c.scope != "agency"
        for p in c.phases
        if p.closing is not None
    ]
    rows = []
    for p in sorted(drop_echoes(phases), key=lambda p: (p.closing, p.scope != "national")):
        state = "open" if p.is_open(now) else "closed" if p.closing < now else "ahead"
        rows.append(
            TimelineRow(
                phase=p,
                name=p.title,
                tool=tool_label(p),
                owner=owner_label(p),
                scope=p.scope,
                period=p.period,
                closing=closing_text(p) or "",
                countdown=countdown(now, p.closing),
                state=state,
            )
        )
    return rows


def _chat_row(chat: Chat, settings: Settings) -> ChatRow:
    s = reminder_settings(chat, settings.remind_days, settings.remind_time)
    reminders = (
        f"เตือน {_days_text(s.days)} เวลา {format_time(s.time)} น." if s.enabled else "ปิดการเตือน"
    )
    return ChatRow(
        CHAT_KINDS.get(chat.type, chat.type),
        chat.id[-4:],
        chat.active,
        reminders,
    )


def province_page(
    session: Session, calendars: Calendars, settings: Settings, province: str, now: datetime
) -> ProvincePage:
    """The page of one province at `now`."""
    year = shown_year(calendars, province, now)
    agencies = list(
        session.scalars(
            select(Agency)
            .where(Agency.province == province)
            .options(selectinload(Agency.chats))
            .order_by(Agency.name)
        )
    )
    confirmed = {
        (c.agency_id, (c.calendar, c.phase_id, c.fiscal_year))
        for c in session.scalars(
            select(Confirmation)
            .join(Agency, Agency.id == Confirmation.agency_id)
            .where(Agency.province == province)
        )
    }
    ahead: dict[tuple[str, str, int], tuple[Phase, list[Agency]]] = {}
    rows = []
    for agency in agencies:
        due = [
            p
            for p in agency_phases(calendars, agency)
            if p.fiscal_year == year and p.tool not in NACC_OWN
        ]
        for p in due:
            if p.closing > now:
                ahead.setdefault(confirmation_key(p), (p, []))[1].append(agency)
        rows.append(
            AgencyRow(
                name=agency.name,
                chats=[_chat_row(c, settings) for c in sorted(agency.chats, key=lambda c: c.id)],
                confirmed=sum((agency.id, confirmation_key(p)) in confirmed for p in due),
                due=len(due),
            )
        )
    closings = []
    for key, (phase, members) in sorted(ahead.items(), key=lambda kv: kv[1][0].closing):
        closings.append(
            ClosingAhead(
                name=phase_name(phase),
                closing=closing_text(phase) or "",
                countdown=countdown(now, phase.closing),
                confirmed=[a.name for a in members if (a.id, key) in confirmed],
                waiting=[a.name for a in members if (a.id, key) not in confirmed],
            )
        )
    timeline = _timeline(calendars, province, year, now) if year else []
    return ProvincePage(
        province=province,
        fiscal_year=year,
        current_year=fiscal_year_of(now.astimezone(BANGKOK).date()),
        generated=format_closing(now),
        open_now=[r for r in timeline if r.state == "open"],
        timeline=timeline,
        agencies=rows,
        closings_ahead=closings,
    )
