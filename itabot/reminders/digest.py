"""The coordinator's weekly digest: every Monday from 08.30 (Bangkok), each chat bound as a
province's coordinator chat (`/bind coordinator สุรินทร์`) gets the closings of the next 14 days
with how many agencies have confirmed each and which have not — once a week.

Once, through the reminder ledger: the week's digest is a ledger row of the chat (calendar
`coordinator-digest`, phase = the ISO week, offset 0), claimed with its push in one transaction
like a reminder, so a second dispatcher, a restart or the next minute's dispatch finds the row
taken; the push is leased, retried, expired and counted against the quota by the same sender.
A week with no closing ahead in 14 days sends nothing (a push to a group costs one message per
member), and a Monday the clock missed entirely is not made up on Tuesday: the next digest is
next week's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from linebot.v3.messaging import TextMessage
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from itabot.admin.status import closings_ahead, confirmed_in, province_agencies, status_pages
from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK, fiscal_year_of, format_date_short
from itabot.line.client import messages_to_json
from itabot.reminders.ledger import ledger_row, pending_push, store_payload
from itabot.reminders.report import DispatchReport
from itabot.reminders.tables import PUSH, REMINDER, _utc
from itabot.storage.models import Chat

log = logging.getLogger(__name__)

DIGEST_CALENDAR = "coordinator-digest"
DIGEST_DAY = 0  # Monday
DIGEST_TIME = time(8, 30)
WINDOW_DAYS = 14
MAX_MESSAGES = 5  # LINE's limit of messages in one push


@dataclass(frozen=True)
class _Digest:
    chat_id: str
    province: str
    week: str  # ISO week, e.g. 2026-W50: the ledger's phase id
    monday: datetime  # 08.30 Bangkok, the ledger's due time
    messages: list[TextMessage]


def week_of(now: datetime) -> tuple[str, datetime] | None:
    """(ISO week, its Monday 08.30) when a digest is due at `now`: a Monday from 08.30."""
    local = now.astimezone(BANGKOK)
    if local.weekday() != DIGEST_DAY or local.time() < DIGEST_TIME:
        return None
    year, week, _day = local.isocalendar()
    return f"{year}-W{week:02d}", datetime.combine(local.date(), DIGEST_TIME, BANGKOK)


def digest_messages(
    session: Session, calendars: Calendars, province: str, now: datetime
) -> list[TextMessage]:
    """The province's closings of the next 14 days, as `/status` shows them (none: [])."""
    agencies = province_agencies(session, province)
    last = now.astimezone(BANGKOK).date() + timedelta(days=WINDOW_DAYS)
    closings = [
        c
        for c in closings_ahead(calendars, agencies, now).values()
        if c.phase.closing.astimezone(BANGKOK).date() <= last
    ]
    if not closings:
        return []
    pages = status_pages(closings, confirmed_in(session, province), now)
    today = now.astimezone(BANGKOK).date()
    head = (
        f"📋 สรุปประจำสัปดาห์ จังหวัด{province} ({len(agencies)} หน่วยงาน)\n"
        f"กำหนดปิด {format_date_short(today)} – {format_date_short(last)}"
    )
    texts = [f"{head}\n\n{pages[0]}", *pages[1:]]
    if len(texts) > MAX_MESSAGES:
        texts = texts[:MAX_MESSAGES]
        texts[-1] += "\n\n… ดูทั้งหมดด้วย /status " + province
    return [TextMessage(text=t) for t in texts]


def _due(sessions: sessionmaker[Session], calendars: Calendars, now: datetime) -> list[_Digest]:
    """The coordinator chats whose digest of this week is not in the ledger yet."""
    week = week_of(now)
    if week is None:
        return []
    week_id, monday = week
    with sessions() as session:
        rows = session.execute(
            select(Chat.id, Chat.coordinator_of)
            .where(Chat.active.is_(True), Chat.coordinator_of.is_not(None))
            .order_by(Chat.id)
        ).all()
        if not rows:
            return []
        taken = set(
            session.scalars(
                select(REMINDER.c.chat_id).where(
                    REMINDER.c.calendar == DIGEST_CALENDAR,
                    REMINDER.c.phase_id == week_id,
                    REMINDER.c.chat_id.in_([r.id for r in rows]),
                )
            )
        )
        by_province: dict[str, list[TextMessage]] = {}
        out = []
        for chat_id, province in rows:
            if chat_id in taken:
                continue
            if province not in by_province:
                by_province[province] = digest_messages(session, calendars, province, now)
            if by_province[province]:
                out.append(_Digest(chat_id, province, week_id, monday, by_province[province]))
    return out


def claim_digests(
    sessions: sessionmaker[Session], calendars: Calendars, now: datetime, report: DispatchReport
) -> int:
    """Claim this week's digests (push + ledger row, one transaction each); the sender then
    sends them with the reminders. Returns how many were claimed."""
    claimed = 0
    for digest in _due(sessions, calendars, now):
        payload_id = store_payload(sessions, messages_to_json(digest.messages))
        now_utc = _utc(now)
        try:
            with sessions.begin() as session:
                expires = digest.monday + timedelta(days=1)
                push = pending_push(digest.chat_id, payload_id, expires, now_utc, kind="digest")
                push_id = session.execute(insert(PUSH).returning(PUSH.c.id), push).scalar_one()
                key = (
                    digest.chat_id,
                    DIGEST_CALENDAR,
                    digest.week,
                    0,
                    fiscal_year_of(digest.monday.date()),
                )
                closes = digest.monday + timedelta(days=WINDOW_DAYS)
                row = ledger_row(key, closes, digest.monday, push_id, "pending", now_utc)
                session.execute(insert(REMINDER), row)
        except IntegrityError:  # another dispatcher claimed it meanwhile
            report.count("already_claimed", 1)
            continue
        claimed += 1
    if claimed:
        report.count("pushes_created", claimed)
        log.info("coordinator digest of %s claimed for %d chat(s)", week_of(now), claimed)
    return claimed
