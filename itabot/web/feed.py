"""A chat's calendar feed (.ics): every closing its agency must act on, with phone alarms at
the chat's reminder offsets and time, in Asia/Bangkok.

A closing whose time is stated (ITAS shuts at 17.00) is an event at that moment; one that just
ends with its day is an all-day event on that day (an invented 23.59 would be a time nobody
announced). An alarm at offset d rings at the chat's remind time d days before the closing day,
as the LINE reminder would be pushed; alarms that would ring at or after the closing are left
out, and a chat whose reminders are off gets the events without alarms.

UIDs are `<calendar>/<phase>/<fiscal year>@itabot`: the phase's identity in the schedules,
not a database row or a load order, so a phone that reloads the feed after the calendars were
reloaded (or the server restarted) updates its events instead of duplicating them.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event, vDuration

from itabot.admin.done import NACC_OWN, agency_phases
from itabot.calendars.model import Calendars, Phase
from itabot.calendars.thai_dates import BANGKOK
from itabot.calendars.wording import closing_text, owner_label, tool_label
from itabot.config import Settings
from itabot.reminders.planner import due_at
from itabot.storage.chats import reminder_settings
from itabot.storage.models import Agency, Chat

ITAS_URL = "https://itas.nacc.go.th"
PRODID = "-//itabot//ITA deadlines//TH"
REFRESH = timedelta(hours=12)


def phase_uid(phase: Phase) -> str:
    return f"{phase.calendar}/{phase.id}/{phase.fiscal_year}@itabot"


def _event(phase: Phase, offsets: tuple[int, ...], remind_time: time, stamp: datetime) -> Event:
    closing = phase.closing.astimezone(BANGKOK)
    event = Event()
    event.add("uid", phase_uid(phase))
    event.add("dtstamp", stamp)
    event.add("summary", f"ปิด {tool_label(phase)}: {phase.title}")
    lines = [
        f"กำหนดของ: {owner_label(phase)}",
        f"ปิด: {closing_text(phase)}",
        f"ช่วงเวลา: {phase.period}",
    ]
    if phase.responsible:
        lines.append("ผู้รับผิดชอบ: " + ", ".join(phase.responsible_expanded()))
    if phase.scope == "national":
        lines.append(f"ระบบ ITAS: {ITAS_URL}")
    event.add("description", "\n".join(lines))
    if phase.time_stated:
        start = closing
        event.add("dtstart", closing)
        event.add("dtend", closing)
    else:
        start = datetime.combine(closing.date(), time(0, 0), tzinfo=BANGKOK)
        event.add("dtstart", closing.date())
        event.add("dtend", closing.date() + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    ordinal = closing.date().toordinal()
    for days in offsets:
        rings = due_at(ordinal, days, remind_time)
        if rings >= phase.closing:
            continue
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        when = "วันนี้" if days == 0 else f"อีก {days} วัน"
        alarm.add("description", f"{when}: ปิด {tool_label(phase)} — {closing_text(phase)}")
        alarm.add("trigger", rings - start)  # relative to DTSTART: negative, before it
        event.add_component(alarm)
    return event


def feed_phases(calendars: Calendars, agency: Agency) -> list[Phase]:
    """The closings the agency acts on, by the planner's rule (NACC's own steps left out)."""
    return [p for p in agency_phases(calendars, agency) if p.tool not in NACC_OWN]


def chat_feed(calendars: Calendars, settings: Settings, chat: Chat, now: datetime) -> bytes:
    """The .ics of a bound chat."""
    agency = chat.agency
    assert agency is not None
    s = reminder_settings(chat, settings.remind_days, settings.remind_time)
    offsets = s.days if s.enabled else ()
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"ITA {agency.name}")
    cal.add("x-wr-timezone", "Asia/Bangkok")
    # how often a subscribed phone should fetch again (RFC 7986, and Outlook's older name)
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    stamp = now.astimezone(UTC)
    for phase in feed_phases(calendars, agency):
        cal.add_component(_event(phase, offsets, s.time, stamp))
    cal.add_missing_timezones()
    return cal.to_ical()
