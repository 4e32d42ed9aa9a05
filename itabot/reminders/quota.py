"""Telling the admins, once a month, that reminder pushes wait for LINE quota."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from itabot.calendars.thai_dates import BANGKOK
from itabot.config import Settings
from itabot.line.client import LineGateway, PushOutcome
from itabot.reminders.report import DispatchReport
from itabot.reminders.sender import QuotaBudget
from itabot.reminders.tables import _utc
from itabot.storage.models import Admin, QuotaNotice

log = logging.getLogger(__name__)


def admin_ids(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    """ITABOT_ADMIN_IDS and granted admins: who hears about the quota."""
    with sessions() as session:
        granted = set(session.scalars(select(Admin.user_id)))
    return sorted(set(settings.admin_ids) | granted)


def month_of(now: datetime) -> str:
    return now.astimezone(BANGKOK).strftime("%Y-%m")


def _notice_sent(sessions: sessionmaker[Session], month: str) -> bool:
    with sessions() as session:
        return session.get(QuotaNotice, month) is not None


def quota_notice_text(remaining: int, shortfall: int, waiting: int) -> str:
    """The Thai notice to admins: what happened, what it means, what to do."""
    return (
        "⚠️ โควตาข้อความ LINE ของบัญชีนี้ใกล้หมด\n"
        f"เหลือ {remaining} ข้อความ แต่การแจ้งเตือนกำหนดปิด ITA ที่ถึงเวลาส่งต้องใช้อีก "
        f"{shortfall} ข้อความ (ส่งไม่ได้ {waiting} รายการ)\n"
        "การแจ้งเตือนที่ค้างจะส่งเมื่อมีโควตาเพิ่มภายในวันเดียวกัน "
        "กรุณาเพิ่มแพ็กเกจข้อความใน LINE Official Account Manager\n"
        "(แจ้งเดือนละครั้ง)"
    )


def notify_admins_of_quota(
    sessions: sessionmaker[Session],
    gateway: LineGateway,
    settings: Settings,
    now: datetime,
    budget: QuotaBudget,
    report: DispatchReport,
) -> None:
    """Tell the admins once a month that reminders are waiting for quota.

    The `quota_notice` row (primary key: the month) is the claim, inserted before anything is
    sent, so two dispatchers cannot both tell them; the notice is at most once by design (a
    crash right after the claim loses it: the log line below still says it). Each admin push
    has a retry key derived from the month and the admin, so a retry can only 409."""
    month = month_of(now)
    admins = admin_ids(sessions, settings)
    remaining = budget.remaining or 0
    affordable = bool(admins) and remaining >= len(admins)
    detail = (
        f"remaining={remaining} shortfall={budget.shortfall} waiting={report.over_quota} "
        f"admins={','.join(admins) or '-'} notified={'yes' if affordable else 'no'}"
    )
    try:
        with sessions.begin() as session:
            session.add(QuotaNotice(month=month, sent_at=_utc(now), detail=detail))
    except IntegrityError:
        return
    report.quota_notice = True
    log.error("LINE quota would run out: %d reminder push(es) wait; %s", report.over_quota, detail)
    if not affordable:
        return
    from linebot.v3.messaging import TextMessage

    text = quota_notice_text(remaining, budget.shortfall, report.over_quota)
    for admin in admins:
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"itabot:quota-notice:{month}:{admin}"))
        result = gateway.push(admin, [TextMessage(text=text)], retry_key=key)
        if result.outcome not in (PushOutcome.SENT, PushOutcome.ALREADY_ACCEPTED):
            log.error("quota notice to admin %s not delivered: %s", admin, result)
