"""One Thai wording of a closing and a countdown, shared by answers and reminders.

Staff compare what the bot answers in a chat with the reminder it pushed the day before: the
same closing must read the same way in both, so the words live here once.
"""

from __future__ import annotations

from datetime import date, datetime

from itabot.calendars.model import Phase, days_until
from itabot.calendars.thai_dates import (
    BANGKOK,
    format_closing,
    format_date_long,
    format_date_short,
    thai_month_name,
)

# A tool's short name: a card's header, a notification line, a quick-reply chip.
TOOL_LABELS: dict[str, str] = {
    "registration": "ลงทะเบียน ITAS",
    "IIT": "IIT",
    "EIT": "EIT",
    "OIT": "OIT",
    "OIT-appeal": "OIT ชี้แจงเพิ่มเติม",
    "OIT-check": "OIT ตรวจให้คะแนน",
    "screening": "กลั่นกรอง IIT/EIT",
    "processing": "ประมวลผล",
    "results": "ประกาศผล",
}


def tool_label(phase: Phase) -> str:
    return TOOL_LABELS.get(phase.tool or "", phase.tool or "ITA")


def owner_label(phase: Phase) -> str:
    """Whose deadline it is: NACC's system, the province's, or the agency's own plan."""
    if phase.scope == "national":
        return "สำนักงาน ป.ป.ช. (ระบบ ITAS)"
    if phase.scope == "province":
        return f"จังหวัด{phase.owner}" if phase.owner else "จังหวัด"
    return phase.owner or "หน่วยงาน"


def closing_time_text(phase: Phase) -> str | None:
    """ "17.00 น." when the source states a time; None when the phase just ends with its day
    (an invented 23.59 would be a time nobody announced)."""
    if not phase.time_stated or phase.closing is None:
        return None
    return f"{phase.closing.astimezone(BANGKOK):%H.%M} น."


def closing_text(phase: Phase) -> str | None:
    """`วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น.`, or the day alone when no time is stated."""
    if phase.closes_at is not None:
        return format_closing(phase.closes_at)
    closing = phase.closing
    return format_date_long(closing.astimezone(BANGKOK).date()) if closing else None


def closing_short(phase: Phase) -> str:
    """ "ปิด 30 มิ.ย. 2569 เวลา 17.00 น." or "ปิด 10 มิ.ย. 2569 (วันสุดท้าย)": a notification
    line, where the weekday and the full month name do not fit."""
    if phase.closing is None:
        raise ValueError(f"{phase.key} has no closing")
    when = format_date_short(phase.closing.astimezone(BANGKOK).date())
    clock = closing_time_text(phase)
    return f"ปิด {when} เวลา {clock}" if clock else f"ปิด {when} (วันสุดท้าย)"


def countdown_days(days: int) -> str:
    """ "อีก 10 วัน", "วันนี้", "อีก 1 วัน (พรุ่งนี้)" — whole calendar days in Bangkok."""
    if days == 0:
        return "วันนี้"
    if days == 1:
        return "อีก 1 วัน (พรุ่งนี้)"
    if days < 0:
        return f"ปิดไปแล้วเมื่อ {-days} วันก่อน"
    return f"อีก {days} วัน"


def countdown(now: datetime, when: datetime) -> str:
    """The countdown from `now` to a closing, or how long ago it closed."""
    if when < now:
        days = days_until(now, when)
        return "ปิดไปแล้ว" if days == 0 else countdown_days(days)
    return countdown_days(days_until(now, when))


def period_text(start: date, end: date) -> str:
    """`1 - 31 ตุลาคม 2569`, or `22 สิงหาคม 2569 - 30 กันยายน 2569` across months."""
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} - {end.day} {thai_month_name(end.month)} {end.year + 543}"
    return f"{_day_month_year(start)} - {_day_month_year(end)}"


def _day_month_year(d: date) -> str:
    return f"{d.day} {thai_month_name(d.month)} {d.year + 543}"
