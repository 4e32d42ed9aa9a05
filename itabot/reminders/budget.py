"""The month plan in the dispatcher: LINE's quota and member counts asked, the plan's drops
recorded in the ledger, the admins told when the forecast changes, `/quota`'s snapshot kept.

No table of its own (no migration): a dropped reminder is a ledger row with status `dropped`
(its key taken: never claimed, never sent); the forecast notices and the snapshot `/quota`
reads are `quota_notice` rows whose 7-character keys cannot meet a month's `YYYY-MM`
(`nXXXXXX`: a notice, by a digest of the month and the forecast; `sYYYYMM`: the snapshot).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK, format_date_short
from itabot.config import Settings
from itabot.line.client import LineGateway, PushOutcome
from itabot.reminders.ledger import confirmed_phases, ledger_keys, load_chats, record_unsent
from itabot.reminders.month import MonthPlan, candidates, fit
from itabot.reminders.planner import ChatPlanInput, DueReminder, ReminderDefaults
from itabot.reminders.report import DispatchReport
from itabot.reminders.sender import MAX_IN_FLIGHT, MemberCounts, RateLimiter, line_for_sending
from itabot.reminders.tables import _utc
from itabot.storage.models import QuotaNotice

log = logging.getLogger(__name__)

NOTICES_PER_ADMIN = 3  # kept back each month: the over-quota notice and two forecasts
COUNTS_IN_FLIGHT = MAX_IN_FLIGHT  # as the sender: LINE at 100 ms needs hundreds in flight


async def ask_quota_and_counts(
    gateway: LineGateway, chats: Sequence, counts: MemberCounts, *, always: bool = False
) -> int | None:
    """The month's remaining quota (None: unlimited or unknown), and the member counts
    `counts` does not know yet — only when the quota is limited (an unlimited month needs no
    plan), unless `always` (`/nudge` shows what it will cost either way)."""
    async with line_for_sending(gateway, COUNTS_IN_FLIGHT) as line:
        remaining = await line.quota_remaining()
        if remaining is None and not always:
            return None
        rate = RateLimiter()

        async def ask(chat_id: str, chat_type: str) -> None:
            await rate.acquire()
            count = await line.member_count(chat_id, chat_type)
            if count is not None:
                counts.put(chat_id, count)

        unknown = {
            (c.chat_id, c.chat_type)
            for c in chats
            if c.chat_type in ("group", "room") and counts.get(c.chat_id) is None
        }
        await asyncio.gather(*(ask(*c) for c in sorted(unknown)))
        return remaining


def month_plan_from_db(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    calendars: Calendars,
    settings: Settings,
    now: datetime,
    counts: MemberCounts,
    reserve: int,
    chats: Sequence[ChatPlanInput] | None = None,
) -> tuple[MonthPlan, int] | None:
    """The rest of the month's plan and LINE's remaining quota; None when LINE sets no limit
    (or cannot say: the sender's own budget still guards each push)."""
    chats = load_chats(sessions) if chats is None else chats
    counts.load(sessions, now)
    remaining = asyncio.run(ask_quota_and_counts(gateway, chats, counts))
    if remaining is None:
        return None
    defaults = ReminderDefaults.from_settings(settings)
    cands = candidates(calendars, chats, now, defaults)
    with sessions() as session:
        taken = ledger_keys(session, cands)
        confirmed = confirmed_phases(session, [c.chat_id for c in chats])
    known = [c for c in (counts.get(ch.chat_id) for ch in chats) if c is not None]
    unknown_cost = max(known, default=1)  # LINE could not say: assume the largest group
    cost = {
        ch.chat_id: (
            1
            if ch.chat_type not in ("group", "room")
            else (counts.get(ch.chat_id) or unknown_cost)
        )
        for ch in chats
    }
    month = now.astimezone(BANGKOK).strftime("%Y-%m")
    fresh = [
        p
        for p in cands
        if p.key not in taken and (p.chat_id, *p.key[1:3], p.phase.fiscal_year) not in confirmed
    ]
    return fit(fresh, cost, max(0, remaining - reserve), month), remaining


def record_dropped(
    sessions: sessionmaker[Session],
    dropped: Sequence[DueReminder],
    now: datetime,
    report: DispatchReport,
) -> None:
    """Dropped by the plan: a ledger row `dropped`, so it is never claimed (another
    dispatcher recording the same drop is a no-op)."""
    written = record_unsent(sessions, dropped, "dropped", now)
    report.count("dropped", written)
    if written:
        log.warning("%d reminder(s) dropped by the month plan (LINE quota)", written)


# --- what the admins see ------------------------------------------------------------------


def _snapshot_key(month: str) -> str:
    return "s" + month.replace("-", "")


def save_snapshot(
    sessions: sessionmaker[Session], plan: MonthPlan, remaining: int, now: datetime
) -> dict:
    """The latest forecast of the month, for `/quota` (replaced at each plan)."""
    key = _snapshot_key(plan.month)
    with sessions() as session:
        old = session.get(QuotaNotice, key)
        before = json.loads(old.detail) if old is not None and old.detail else {}
    snap = {
        "at": now.astimezone(BANGKOK).isoformat(),
        "remaining": remaining,
        "first_remaining": before.get("first_remaining", remaining),
        "budget": plan.budget,
        "cost": plan.cost,
        "full_cost": plan.full_cost,
        "by_day": {d.isoformat(): n for d, n in plan.by_day.items()},
        "dropped": len(plan.dropped),
        "dropped_so_far": before.get("dropped_so_far", 0),
        "unheard": _unheard_lines(plan),
    }
    with sessions.begin() as session:
        session.execute(delete(QuotaNotice).where(QuotaNotice.month == key))
        session.add(QuotaNotice(month=key, sent_at=_utc(now), detail=json.dumps(snap)))
    return snap


def count_dropped_so_far(sessions: sessionmaker[Session], month: str, n: int) -> None:
    if not n:
        return
    with sessions.begin() as session:
        row = session.get(QuotaNotice, _snapshot_key(month))
        if row is not None and row.detail:
            snap = json.loads(row.detail)
            snap["dropped_so_far"] = snap.get("dropped_so_far", 0) + n
            row.detail = json.dumps(snap)


def read_snapshot(session: Session, now: datetime) -> dict | None:
    row = session.get(QuotaNotice, _snapshot_key(now.astimezone(BANGKOK).strftime("%Y-%m")))
    return json.loads(row.detail) if row is not None and row.detail else None


def _unheard_lines(plan: MonthPlan) -> list[str]:
    """Closings some chats will not hear this month, with how many chats."""
    by_phase: dict[str, tuple[object, int]] = {}
    for _chat, phase in plan.unheard():
        label = f"{phase.title or phase.tool} ปิด {format_date_short(phase.closing.astimezone(BANGKOK).date())}"
        _p, n = by_phase.get(label, (phase, 0))
        by_phase[label] = (phase, n + 1)
    return [f"{label} ({n} แชท)" for label, (_p, n) in by_phase.items()]


def plan_text(snap: dict, *, notice: bool = False) -> str:
    """The month in Thai: quota, used, planned by day, dropped (≤ 5,000 characters)."""
    head = (
        "📊 แผนการแจ้งเตือนเดือนนี้ (โควตาข้อความ LINE)"
        if not notice
        else ("📊 แผนการแจ้งเตือนเดือนนี้เปลี่ยนไป (โควตาข้อความ LINE)")
    )
    used = snap["first_remaining"] - snap["remaining"]
    lines = [
        head,
        f"เหลือ {snap['remaining']:,} ข้อความ (ใช้ไปตั้งแต่ต้นแผนเดือนนี้ {used:,})",
        f"แผนส่ง {snap['cost']:,} ข้อความ; ส่งครบทุกการเตือนต้องใช้ {snap['full_cost']:,}",
    ]
    by_day = snap["by_day"]
    if by_day:
        lines.append("ส่งตามวัน:")
        for day, n in list(by_day.items())[:31]:
            lines.append(f"• {format_date_short(date.fromisoformat(day))}: {n:,}")
    dropped = snap["dropped"] + snap.get("dropped_so_far", 0)
    if dropped:
        lines.append(f"งดส่ง {dropped:,} การเตือน (ค่าน้อยก่อน: ล่วงหน้าหลายวันก่อน)")
    if snap["unheard"]:
        lines.append("กำหนดปิดที่บางแชทจะไม่ได้รับการเตือน:")
        lines.extend(f"• {u}" for u in snap["unheard"][:20])
    if dropped:
        lines.append("เพิ่มแพ็กเกจข้อความได้ที่ LINE Official Account Manager")
    return "\n".join(lines)[:4900]


def _forecast_signature(plan: MonthPlan) -> str:
    """What is material: which closings go unheard, and whether anything is dropped."""
    return json.dumps([plan.month, bool(plan.dropped), _unheard_lines(plan)], ensure_ascii=False)


def notify_admins_of_plan(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    admins: Sequence[str],
    plan: MonthPlan,
    snap: dict,
    now: datetime,
) -> bool:
    """Once per month and forecast, when the plan drops anything: the `quota_notice` row is
    the claim (two dispatchers cannot both tell), each admin's push has a retry key derived
    from it (a retry can only 409)."""
    if not plan.dropped or not admins:
        return False
    affordable = snap["remaining"] >= len(admins)
    sig = _forecast_signature(plan)
    key = "n" + hashlib.sha256(sig.encode()).hexdigest()[:6]
    try:
        with sessions.begin() as session:
            session.add(QuotaNotice(month=key, sent_at=_utc(now), detail=sig))
    except IntegrityError:
        return False
    log.error(
        "month plan drops %d reminder(s); everything would cost %d, the month has %d; admins %s",
        len(plan.dropped),
        plan.full_cost,
        snap["remaining"],
        "told" if affordable else "not told (no quota left)",
    )
    if not affordable:
        return True
    from linebot.v3.messaging import TextMessage

    text = plan_text(snap, notice=True)
    for admin in admins:
        retry = str(uuid.uuid5(uuid.NAMESPACE_URL, f"itabot:quota-plan:{key}:{admin}"))
        result = gateway.push(admin, [TextMessage(text=text)], retry_key=retry)
        if result.outcome not in (PushOutcome.SENT, PushOutcome.ALREADY_ACCEPTED):
            log.error("forecast notice to admin %s not delivered: %s", admin, result)
    return True
