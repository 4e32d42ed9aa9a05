"""`/nudge OIT [province]` (admins): one extra reminder, now, to the agencies that have not
confirmed a phase — after the coordinator has seen what it costs and pressed "ยืนยันส่ง".

A push to a group costs one message per member, so the command first answers with the
chats and messages it would take and the month's remaining quota, and a postback button
signed like the "✓ ทำแล้ว" buttons (`nudge:v1:<calendar>/<phase>:<fy>:<day>:<province>:<mac>`),
valid on the day it was shown. Pressed, it goes through the reminder ledger: each chat's
nudge is the ledger row (chat, phase, offset = days left), so a phase is nudged at most once
per chat and day — a second `/nudge` the same day, or the morning's scheduled reminder at
the same offset, finds the row taken — and the push is leased, retried and counted against
the quota exactly as a scheduled reminder is. The card is the reminder card itself (with
its "✓ ทำแล้ว" button), so a nudged agency can answer it in one tap.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from itabot.admin.core import Command, Reply
from itabot.admin.done import MAX_POSTBACK_DATA, POSTBACK, Outcome, confirmation_key, phase_name
from itabot.admin.signing import mac_matches, postback_mac
from itabot.admin.status import (
    closings_ahead,
    named_closings,
    province_agencies,
    split_args,
)
from itabot.calendars.model import Calendars, Phase
from itabot.calendars.names import resolve_province
from itabot.calendars.thai_dates import BANGKOK
from itabot.calendars.wording import closing_short, countdown
from itabot.config import Settings
from itabot.reminders.planner import DueReminder
from itabot.storage.models import Agency, Chat, Confirmation

if TYPE_CHECKING:  # the SDK's messaging models: imported when a nudge is sent, not before
    from itabot.line.client import LineGateway

log = logging.getLogger(__name__)

SEND_LABEL = "ยืนยันส่ง"
HOW_TO = "เช่น /nudge OIT หรือ /nudge OIT สุรินทร์ (ทุกหน่วยงานที่ยังไม่ยืนยันขั้นตอนนั้น)"
FORGED = "ปุ่มนี้ไม่ถูกต้องหรือหมดอายุ (ใช้ได้ภายในวันที่แสดง) จึงไม่มีการส่ง\nพิมพ์ /nudge OIT อีกครั้ง"
_DATA_RE = re.compile(
    r"^nudge:v1:([a-z0-9-]{1,100})/([a-z0-9-]{1,100}):(\d{4}):(\d{8}):([^:]{1,60}):([\w-]{16})$"
)


@dataclass
class Targets:
    """Who a nudge of `phase` in `province` reaches today, and who it leaves out."""

    province: str
    phase: Phase
    waiting: list[Agency]  # the agencies that have not confirmed the phase
    due: list[DueReminder] = field(default_factory=list)  # one per chat not yet nudged today
    already: int = 0  # chats that heard this phase today (a nudge or the scheduled reminder)
    muted: int = 0  # bound chats with reminders off: a nudge respects that
    no_chat: list[Agency] = field(default_factory=list)  # waiting, with no chat to push to


def is_nudge_postback(data: str | None) -> bool:
    return bool(data) and data.startswith("nudge:")  # type: ignore[union-attr]


def _data(secret: str, phase: Phase, province: str, now: datetime) -> str | None:
    day = now.astimezone(BANGKOK).strftime("%Y%m%d")
    body = f"nudge:v1:{phase.calendar}/{phase.id}:{phase.fiscal_year}:{day}:{province}"
    data = f"{body}:{postback_mac(secret, POSTBACK, body)}"
    return data if secret and len(data) <= MAX_POSTBACK_DATA else None


def _parse(secret: str, data: str | None, now: datetime) -> tuple[tuple, str] | None:
    """((calendar, phase, fiscal year), province) of a genuine button shown today, else None."""
    if not secret or not data or len(data) > MAX_POSTBACK_DATA:
        return None
    match = _DATA_RE.match(data)
    if match is None:
        return None
    calendar, phase_id, year, day, province, mac = match.groups()
    if not mac_matches(secret, POSTBACK, data[: -len(mac) - 1], mac):
        return None
    if day != now.astimezone(BANGKOK).strftime("%Y%m%d"):
        return None  # the cost shown was that day's: show it again
    return (calendar, phase_id, int(year)), province


def targets(
    session: Session, calendars: Calendars, province: str, phase: Phase, now: datetime
) -> Targets:
    """The waiting agencies' active bound chats, each as a reminder due now at the offset of
    today (days left to the closing), minus the chats whose ledger already has that row."""
    from itabot.reminders.ledger import ledger_keys

    agencies = province_agencies(session, province)
    closing = closings_ahead(calendars, agencies, now).get(confirmation_key(phase))
    concerned = closing.agencies if closing is not None else []
    confirmed = set(
        session.scalars(
            select(Confirmation.agency_id).where(
                Confirmation.calendar == phase.calendar,
                Confirmation.phase_id == phase.id,
                Confirmation.fiscal_year == phase.fiscal_year,
            )
        )
    )
    out = Targets(province, phase, [a for a in concerned if a.id not in confirmed])
    ids = [a.id for a in out.waiting]
    chats = list(
        session.scalars(
            select(Chat).where(Chat.agency_id.in_(ids), Chat.active.is_(True)).order_by(Chat.id)
        )
    )
    offset = (phase.closing.astimezone(BANGKOK).date() - now.astimezone(BANGKOK).date()).days
    with_chat = {c.agency_id for c in chats}
    out.no_chat = [a for a in out.waiting if a.id not in with_chat]
    candidates = []
    for chat in chats:
        if not chat.remind_enabled:
            out.muted += 1
            continue
        candidates.append(DueReminder(chat.id, chat.type, phase, offset, now, phase.closing))
    taken = ledger_keys(session, candidates)
    out.due = [r for r in candidates if r.key not in taken]
    out.already = len(candidates) - len(out.due)
    return out


def _cost(
    settings: Settings, due: list[DueReminder], line: LineGateway | None
) -> tuple[int, int | None]:
    """(messages the pushes cost, the month's remaining quota or None when unlimited)."""
    from itabot.line.client import make_line_gateway
    from itabot.reminders.budget import ask_quota_and_counts
    from itabot.reminders.sender import MemberCounts

    counts = MemberCounts()
    gateway = line or make_line_gateway(settings)
    remaining = asyncio.run(ask_quota_and_counts(gateway, due, counts, always=True))
    cost = sum((counts.get(r.chat_id) or 1) if r.chat_type in ("group", "room") else 1 for r in due)
    return cost, remaining


def _summary(t: Targets, now: datetime) -> list[str]:
    phase = t.phase
    lines = [
        f"📣 เตือน {phase_name(phase)}",
        f"{closing_short(phase)} ({countdown(now, phase.closing)})",
        f"จังหวัด{t.province}: ยังไม่ยืนยัน {len(t.waiting)} หน่วยงาน",
    ]
    if t.already:
        lines.append(f"ได้รับการเตือนขั้นตอนนี้แล้ววันนี้ {t.already} แชท (ไม่ส่งซ้ำ)")
    if t.muted:
        lines.append(f"ปิดการเตือนไว้ {t.muted} แชท (ไม่ส่ง)")
    if t.no_chat:
        names = ", ".join(a.name for a in t.no_chat[:10])
        more = f" และอีก {len(t.no_chat) - 10} แห่ง" if len(t.no_chat) > 10 else ""
        lines.append(f"ไม่มีแชทที่ผูกไว้ {len(t.no_chat)} แห่ง: {names}{more}")
    return lines


def cmd_nudge(cmd: Command, args: str) -> Reply:
    words, province, _page = split_args(args)
    if province is None:
        agency = cmd.chat.agency if cmd.chat is not None and cmd.chat.active else None
        province = agency.province if agency is not None else None
    if not words:
        return Reply(f"ระบุขั้นตอนที่จะเตือน {HOW_TO}", "invalid", "no phase")
    if province is None:
        return Reply(f"ไม่ทราบจังหวัด: ระบุจังหวัดท้ายคำสั่ง {HOW_TO}", "invalid", "no province")
    from itabot.admin.done import command_calendars

    calendars = command_calendars(cmd)
    agencies = province_agencies(cmd.session, province)
    named = named_closings(list(closings_ahead(calendars, agencies, cmd.now).values()), words)
    if not named:
        return Reply(
            f'ไม่พบกำหนดปิดข้างหน้าของจังหวัด{province} ที่ตรงกับ "{words[:40]}" (ไม่มีการส่ง)\n{HOW_TO}',
            "invalid",
            "unknown phase",
        )
    t = targets(cmd.session, calendars, province, named[0].phase, cmd.now)
    lines = _summary(t, cmd.now)
    if not t.due:
        lines.append("ไม่มีแชทที่จะส่งเพิ่มวันนี้ (ไม่มีการส่ง)")
        return Reply("\n".join(lines), "ok", "nudge: nothing to send")
    cost, remaining = _cost(cmd.settings, t.due, cmd.line)
    quota = f"โควตาเดือนนี้เหลือ {remaining:,} ข้อความ" if remaining is not None else "ไม่จำกัดโควตา"
    lines.append(f"จะส่งถึง {len(t.due)} แชท ใช้ {cost:,} ข้อความ ({quota})")
    if remaining is not None and cost > remaining:
        lines.append("โควตาไม่พอ จึงไม่มีปุ่มส่ง (ไม่มีการส่ง)")
        return Reply("\n".join(lines), "invalid", "nudge: over quota")
    data = _data(cmd.settings.line_channel_secret, t.phase, province, cmd.now)
    if data is None:
        return Reply("\n".join(lines), "invalid", "nudge: no channel secret")
    lines.append(f'กด "{SEND_LABEL}" เพื่อส่ง (ปุ่มใช้ได้ถึงสิ้นวันนี้)')
    return Reply(
        "\n".join(lines), "ok", f"nudge preview {t.phase.key}", postbacks=((SEND_LABEL, data),)
    )


@dataclass
class Prepared:
    """A pressed "ยืนยันส่ง" that checked out: what to claim and send, outside the session."""

    targets: Targets


def prepare(
    session: Session,
    calendars: Calendars,
    secret: str,
    *,
    data: str | None,
    sender_is_admin: bool,
    now: datetime,
) -> Prepared | Outcome:
    """The press checked: a genuine button of today, pressed by an admin, naming a phase of
    the province still open."""
    parsed = _parse(secret, data, now)
    if parsed is None:
        return Outcome(FORGED, "invalid")
    if not sender_is_admin:
        return Outcome("เฉพาะผู้ดูแลระบบเท่านั้นที่สั่งส่งการเตือนได้ (ไม่มีการส่ง)", "refused")
    key, written = parsed
    province = resolve_province(written)
    agencies = province_agencies(session, province)
    closing = closings_ahead(calendars, agencies, now).get(key) if province else None
    if closing is None:
        return Outcome("ขั้นตอนนี้ปิดไปแล้วหรือไม่มีในปฏิทินของจังหวัด (ไม่มีการส่ง)", "invalid")
    return Prepared(targets(session, calendars, province, closing.phase, now))


def send(
    prepared: Prepared, settings: Settings, now: datetime, line: LineGateway | None
) -> Outcome:
    """Claim each chat's nudge in the ledger and push it now, as a dispatch does."""
    from itabot.reminders.dispatch import default_worker_id, send_pending
    from itabot.reminders.ledger import claim_batches
    from itabot.reminders.report import DispatchReport
    from itabot.storage import db

    t = prepared.targets
    lines = _summary(t, now)
    if not t.due:
        lines.append("ไม่มีแชทที่จะส่งเพิ่มวันนี้ (ไม่มีการส่งซ้ำ)")
        return Outcome("\n".join(lines), "ok")
    sessions = db.session_factory(settings.database_url)
    report = DispatchReport(at=now.astimezone(BANGKOK), worker_id=default_worker_id())
    claims = claim_batches(sessions, t.due, now, report, settings.line_channel_secret)
    from itabot.line.client import make_line_gateway

    gateway = line or make_line_gateway(settings)
    send_pending(sessions, gateway, settings, now, report.worker_id, report, claims=claims)
    log.info("nudge %s in %s: %s", t.phase.key, t.province, report.summary())
    lines.append(f"ส่งแล้ว {report.sent + report.duplicates} แชท")
    if report.already_claimed:
        lines.append(f"ได้รับไปแล้ววันนี้ {report.already_claimed} แชท (ไม่ส่งซ้ำ)")
    if report.over_quota or report.retry_later or report.failed:
        lines.append(
            f"ยังส่งไม่ได้ {report.over_quota + report.retry_later + report.failed} แชท "
            "(ระบบจะลองส่งอีกครั้งในรอบการเตือนถัดไป)"
        )
    return Outcome("\n".join(lines), "ok")
