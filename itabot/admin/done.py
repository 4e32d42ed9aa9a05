""" "✓ ทำแล้ว": an agency confirms a phase done, once, so its reminders stop.

The button is a LINE postback whose data names the phase and carries an HMAC, so a user can
press it but nobody can make one up for another phase (docs/decisions.md, "Done"):
`done:v1:<calendar>/<phase>:<fiscal year>:<mac>` (and `undo:…` for "ยกเลิก"). The same by text:
`/done OIT`, "ส่ง OIT แล้ว", `/done` alone (what can be confirmed now), `/undone OIT`.

Everything here answers in the chat that asked (a reply: free); nothing is ever pushed.
A confirmation belongs to the agency, not to the chat: any of its chats sees it, and the
dispatcher records the agency's later reminders of that phase as `suppressed`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from itabot.admin.core import Command, Reply, is_admin, visible
from itabot.admin.signing import mac_matches, postback_mac
from itabot.calendars.model import Calendars, Phase
from itabot.calendars.names import clean_text
from itabot.calendars.thai_dates import BANGKOK, format_date_short
from itabot.calendars.wording import closing_short, tool_label
from itabot.reminders.planner import ChatPlanInput, phase_index
from itabot.storage import db
from itabot.storage.models import Agency, Chat, Confirmation

if TYPE_CHECKING:  # the SDK's messaging models take 0.6 s to import: not for the console
    from itabot.line.client import LineGateway

log = logging.getLogger(__name__)

DONE_LABEL = "✓ ทำแล้ว"
UNDO_LABEL = "ยกเลิก"
MAX_POSTBACK_DATA = 300  # LINE's limit on a postback action's data
MAX_CHOICES = 13  # LINE's limit on quick-reply buttons
NACC_OWN = frozenset({"OIT-check", "screening", "processing", "results"})  # no "done" for these
_DATA_RE = re.compile(r"^(done|undo):v1:([a-z0-9-]{1,100})/([a-z0-9-]{1,100}):(\d{4}):([\w-]{16})$")
_TEXT_DONE_RE = re.compile(
    r"^\s*(?:ส่ง|ทำ)\s*(\S.{0,40}?)\s*(?:เสร็จ)?แล้ว\s*(?:ครับ|ค่ะ|คะ|จ้า|นะ)?\s*$"
)

NOT_BOUND = (
    "แชทนี้ยังไม่ได้ผูกกับหน่วยงาน จึงบันทึกว่าทำแล้วไม่ได้ (ไม่มีการบันทึก)\nผูกแชทนี้ก่อนด้วย /bind <รหัส> ที่ขอจากผู้ดูแล"
)
FORGED = "ปุ่มนี้ไม่ถูกต้องหรือหมดอายุ จึงไม่มีการบันทึก\nพิมพ์ /done เพื่อดูขั้นตอนที่ยืนยันได้ตอนนี้"
UNKNOWN_PHASE = "ไม่พบขั้นตอนนี้ในปฏิทินของหน่วยงาน จึงไม่มีการบันทึก\nพิมพ์ /done เพื่อดูขั้นตอนที่ยืนยันได้ตอนนี้"


# --- postback data ----------------------------------------------------------------------------


POSTBACK = b"itabot postback v1"  # the purpose of the done, undo and nudge buttons' key


def postback_data(secret: str, action: str, phase: Phase) -> str | None:
    """The button's data, or None without a secret (the webhook refuses everything then)."""
    if not secret:
        return None
    body = f"{action}:v1:{phase.calendar}/{phase.id}:{phase.fiscal_year}"
    data = f"{body}:{postback_mac(secret, POSTBACK, body)}"
    return data if len(data) <= MAX_POSTBACK_DATA else None


@dataclass(frozen=True)
class Pressed:
    action: str  # done | undo
    calendar: str
    phase_id: str
    fiscal_year: int


def parse_postback(secret: str, data: str | None) -> Pressed | None:
    """The button pressed, or None when the data is malformed or its MAC is wrong."""
    if not secret or not data or len(data) > MAX_POSTBACK_DATA:
        return None
    match = _DATA_RE.match(data)
    if match is None:
        return None
    action, calendar, phase_id, year, mac = match.groups()
    body = data[: -len(mac) - 1]
    if not mac_matches(secret, POSTBACK, body, mac):
        return None
    return Pressed(action, calendar, phase_id, int(year))


def is_done_postback(data: str | None) -> bool:
    return bool(data) and (data.startswith("done:") or data.startswith("undo:"))  # type: ignore[union-attr]


def done_text(text: str, calendars: Calendars) -> str | None:
    """ "ส่ง OIT แล้ว" → "OIT": what a `/done` would be given, or None for other texts. Only
    when the words name a tool (or a good part of a phase's title): "ส่งเอกสารแล้ว" in a group
    is chatter, and the bot does not answer chatter."""
    match = _TEXT_DONE_RE.match(text or "")
    if match is None:
        return None
    words = match.group(1).strip()
    if any(_names(p, words) for p in calendars.all_phases() if p.tool not in NACC_OWN):
        return words
    return None


def _names(phase: Phase, words: str) -> bool:
    needle = words.casefold().replace(" ", "")
    if needle in {(phase.tool or "").casefold(), tool_label(phase).casefold().replace(" ", "")}:
        return True
    return len(needle) >= 6 and needle in phase.title.casefold().replace(" ", "")


# --- the agency's phases -------------------------------------------------------------------


def agency_closings(calendars: Calendars, agency: Agency) -> list[tuple[Phase, datetime]]:
    """(phase, its closing) the agency must act on, by the planner's rule, soonest closing
    first. Asked on every answer in a bound chat and 200 times by `/status`: the planner's
    index (memoised per agency, closings computed once) is kept for the process's calendars."""
    plan_input = ChatPlanInput(
        chat_id="-", province=agency.province, agency_name=agency.name, agency_kind=agency.kind
    )
    return [(p, closing) for p, closing, _day in phase_index(calendars).phases_for(plan_input)]


def agency_phases(calendars: Calendars, agency: Agency) -> list[Phase]:
    return [p for p, _closing in agency_closings(calendars, agency)]


def open_phases(calendars: Calendars, agency: Agency, now: datetime) -> list[Phase]:
    return [p for p, closing in agency_closings(calendars, agency) if closing > now]


def confirmations_of(session: Session, agency_id: int) -> dict[tuple[str, str, int], Confirmation]:
    rows = session.scalars(select(Confirmation).where(Confirmation.agency_id == agency_id))
    return {(c.calendar, c.phase_id, c.fiscal_year): c for c in rows}


def confirmation_key(phase: Phase) -> tuple[str, str, int]:
    return (phase.calendar, phase.id, phase.fiscal_year)


def who(user_id: str | None, name: str | None = None) -> str:
    """The LINE name when LINE gave it, else a shortened user id (never the whole id: a
    group's members need not see it)."""
    if name:
        return f"คุณ{name}"
    return f"ผู้ใช้ {user_id[:5]}…{user_id[-4:]}" if user_id else "ไม่ทราบผู้ใช้"


def _clean_name(name: str | None) -> str | None:
    """A display name as shown in a reply: printable, one line, at most 40 characters."""
    if not name:
        return None
    shown = visible(clean_text(name), 40)
    return shown or None


def when(moment: datetime) -> str:
    local = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(BANGKOK)
    return f"{format_date_short(local.date())} เวลา {local:%H.%M} น."


def confirmed_note(c: Confirmation) -> str:
    """ "✓ ยืนยันแล้ว โดย … เมื่อ …": what cards and answers show for a confirmed phase."""
    return f"✓ ยืนยันแล้ว โดย {who(c.confirmed_by, c.confirmed_by_name)} เมื่อ {when(c.confirmed_at)}"


def phase_name(phase: Phase) -> str:
    return f"{tool_label(phase)}: {phase.title}"


def choice_label(phase: Phase) -> str:
    day = phase.closing.astimezone(BANGKOK).date() if phase.closing else None
    label = f"✓ {tool_label(phase)} {format_date_short(day).rsplit(' ', 1)[0] if day else ''}"
    return label.strip()[:20]


# --- doing it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a press or a command did, as the reply says it."""

    text: str
    outcome: str  # ok | invalid | refused
    buttons: tuple[tuple[str, str], ...] = ()  # (label, postback data)


def confirm(
    session: Session,
    secret: str,
    agency: Agency,
    phase: Phase,
    user_id: str | None,
    now: datetime,
    name: str | None = None,
) -> Outcome:
    """Record once for the agency. A second press (another member, a redelivery, a double tap)
    finds the row: the unique key decides who was first, in either database."""
    values = {
        "agency_id": agency.id,
        "calendar": phase.calendar,
        "phase_id": phase.id,
        "fiscal_year": phase.fiscal_year,
        "confirmed_by": user_id,
        "confirmed_by_name": _clean_name(name),
        "confirmed_at": now.astimezone(UTC),
    }
    insert = db.insert_for(session.get_bind().dialect.name)(Confirmation.__table__).values(values)
    returning = insert.on_conflict_do_nothing().returning(Confirmation.__table__.c.id)
    fresh = session.execute(returning).first() is not None  # rowcount is unreliable here
    row = _confirmation_of(session, agency, phase)
    assert row is not None  # inserted just now, or by the press before
    undo = postback_data(secret, "undo", phase)
    buttons = ((UNDO_LABEL, undo),) if undo else ()
    if fresh:
        text = (
            f"บันทึกแล้ว ✓ {phase_name(phase)} ({closing_short(phase)})\n"
            f"หน่วยงาน: {agency.name}\nโดย {who(user_id, row.confirmed_by_name)} เมื่อ {when(now)}\n"
            "จะไม่มีการแจ้งเตือนขั้นตอนนี้อีกในทุกแชทของหน่วยงาน (กด ยกเลิก หากกดผิด)"
        )
        log.info("agency %s confirmed %s/%s", agency.id, phase.calendar, phase.id)
        return Outcome(text, "ok", buttons)
    text = (
        f"ขั้นตอนนี้ยืนยันไว้แล้ว: {phase_name(phase)}\n"
        f"โดย {who(row.confirmed_by, row.confirmed_by_name)} เมื่อ {when(row.confirmed_at)}\n"
        "(ผู้ที่ยืนยันหรือผู้ดูแลกด ยกเลิก ได้)"
    )
    return Outcome(text, "ok", buttons)


def _confirmation_of(session: Session, agency: Agency, phase: Phase) -> Confirmation | None:
    return session.scalars(
        select(Confirmation).where(
            Confirmation.agency_id == agency.id,
            Confirmation.calendar == phase.calendar,
            Confirmation.phase_id == phase.id,
            Confirmation.fiscal_year == phase.fiscal_year,
        )
    ).one_or_none()


def undo(
    session: Session,
    settings_admin: bool,
    agency: Agency,
    phase: Phase,
    user_id: str | None,
) -> Outcome:
    row = _confirmation_of(session, agency, phase)
    if row is None:
        return Outcome(f"ขั้นตอนนี้ยังไม่ได้ยืนยัน: {phase_name(phase)} (ไม่มีอะไรต้องยกเลิก)", "invalid")
    if not settings_admin and (not user_id or row.confirmed_by != user_id):
        return Outcome(
            f"ยกเลิกได้เฉพาะผู้ที่ยืนยัน ({who(row.confirmed_by, row.confirmed_by_name)}) หรือผู้ดูแลระบบ ไม่มีการเปลี่ยนแปลง",
            "refused",
        )
    session.execute(delete(Confirmation).where(Confirmation.id == row.id))
    log.info("agency %s undid %s/%s", agency.id, phase.calendar, phase.id)
    return Outcome(f"ยกเลิกการยืนยันแล้ว: {phase_name(phase)}\nการแจ้งเตือนขั้นตอนนี้จะกลับมาตามกำหนด", "ok")


def _phase_for(
    calendars: Calendars, agency: Agency, pressed: Pressed, now: datetime
) -> Phase | str:
    """The agency's open phase the button names, or why not (Thai)."""
    for phase in agency_phases(calendars, agency):
        if confirmation_key(phase) == (pressed.calendar, pressed.phase_id, pressed.fiscal_year):
            if phase.closing is None or phase.closing <= now:
                return f"ขั้นตอนนี้ปิดไปแล้ว: {phase_name(phase)} ({closing_short(phase)}) จึงไม่มีการบันทึก"
            return phase
    return UNKNOWN_PHASE


def press(
    session: Session,
    calendars: Calendars,
    secret: str,
    *,
    data: str | None,
    chat: Chat | None,
    user_id: str | None,
    sender_is_admin: bool,
    now: datetime,
    name_of: Callable[[], str | None] | None = None,
) -> Outcome:
    """A "✓ ทำแล้ว" or "ยกเลิก" pressed in `chat`. `name_of` asks LINE the presser's name
    (only for a genuine "✓ ทำแล้ว" of an open phase: a forged press costs LINE nothing)."""
    pressed = parse_postback(secret, data)
    if pressed is None:
        log.warning(
            "postback refused: malformed or forged data in chat %s", chat.id if chat else None
        )
        return Outcome(FORGED, "invalid")
    agency = chat.agency if chat is not None and chat.active else None
    if agency is None:
        return Outcome(NOT_BOUND, "invalid")
    phase = _phase_for(calendars, agency, pressed, now)
    if isinstance(phase, str):
        return Outcome(phase, "invalid")
    if pressed.action == "undo":
        return undo(session, sender_is_admin, agency, phase, user_id)
    first = name_of is not None and _confirmation_of(session, agency, phase) is None
    return confirm(session, secret, agency, phase, user_id, now, name_of() if first else None)


def name_in_chat(
    line: LineGateway | None, user_id: str | None, chat_id: str | None, chat_type: str | None
) -> Callable[[], str | None] | None:
    """How to ask LINE who pressed, when there is a LINE to ask."""
    if line is None or not user_id:
        return None
    return lambda: line.display_name(user_id, chat_id, chat_type)


# --- by text: /done, /undone ------------------------------------------------------------------


def phase_matches(phase: Phase, words: str) -> bool:
    needle = words.casefold().replace(" ", "")
    hay = (phase.tool or "", tool_label(phase), phase.title, phase.key)
    return any(needle == h.casefold().replace(" ", "") for h in hay[:2]) or any(
        needle in h.casefold().replace(" ", "") for h in hay[2:]
    )


def _choose(phases: Sequence[Phase], words: str) -> Phase | None:
    """The nearest phase of that tool or title: an exact tool first, then a title containing it."""
    exact = [p for p in phases if (p.tool or "").casefold() == words.casefold().replace(" ", "")]
    found = exact or [p for p in phases if phase_matches(p, words)]
    return found[0] if found else None


def command_calendars(cmd: Command) -> Calendars:
    """The process's calendars (the router hands them over); loaded here only for a caller
    that has none, e.g. a test calling `execute` directly."""
    return cmd.calendars or Calendars.load(cmd.settings.schedules_dir)


def cmd_done(cmd: Command, args: str) -> Reply:
    agency = cmd.chat.agency if cmd.chat is not None and cmd.chat.active else None
    if agency is None:
        return Reply(NOT_BOUND, "invalid", "not bound")
    calendars = command_calendars(cmd)
    secret = cmd.settings.line_channel_secret
    phases = open_phases(calendars, agency, cmd.now)
    confirmed = confirmations_of(cmd.session, agency.id)
    if not args:
        todo = [p for p in phases if confirmation_key(p) not in confirmed]
        if not todo:
            return Reply(f"{agency.name}: ไม่มีขั้นตอนที่รอยืนยันตอนนี้", "ok")
        lines = [f"ขั้นตอนที่ {agency.name} ยืนยันว่าทำแล้วได้ตอนนี้ (กดปุ่มด้านล่าง หรือพิมพ์ /done OIT):"]
        lines += [f"• {phase_name(p)} — {closing_short(p)}" for p in todo]
        buttons = tuple(
            (choice_label(p), d)
            for p in todo[:MAX_CHOICES]
            if (d := postback_data(secret, "done", p)) is not None
        )
        return Reply("\n".join(lines), "ok", postbacks=buttons)
    phase = _choose(phases, args)
    if phase is None:
        return Reply(
            f'ไม่พบขั้นตอนที่ยังเปิดอยู่ของ {agency.name} ที่ตรงกับ "{args[:40]}" ไม่มีการบันทึก\n'
            "พิมพ์ /done เพื่อดูขั้นตอนที่ยืนยันได้ตอนนี้",
            "invalid",
            "no phase",
        )
    ask = name_in_chat(cmd.line, cmd.user_id, cmd.chat_id, cmd.chat.type if cmd.chat else None)
    out = confirm(cmd.session, secret, agency, phase, cmd.user_id, cmd.now, ask() if ask else None)
    return Reply(out.text, out.outcome, postbacks=out.buttons)


def cmd_undone(cmd: Command, args: str) -> Reply:
    agency = cmd.chat.agency if cmd.chat is not None and cmd.chat.active else None
    if agency is None:
        return Reply(NOT_BOUND, "invalid", "not bound")
    confirmed = confirmations_of(cmd.session, agency.id)
    phases = [
        p
        for p in open_phases(command_calendars(cmd), agency, cmd.now)
        if confirmation_key(p) in confirmed
    ]
    if not phases:
        return Reply(f"{agency.name}: ไม่มีขั้นตอนที่ยืนยันไว้และยังไม่ปิด", "invalid", "nothing")
    phase = _choose(phases, args) if args else (phases[0] if len(phases) == 1 else None)
    if phase is None:
        listing = "\n".join(f"• /undone {p.tool or p.key} — {phase_name(p)}" for p in phases)
        return Reply(f"ระบุขั้นตอนที่จะยกเลิก เช่น\n{listing}", "invalid", "which phase")
    admin = is_admin(cmd.session, cmd.settings, cmd.user_id)
    out = undo(cmd.session, admin, agency, phase, cmd.user_id)
    return Reply(out.text, out.outcome)
