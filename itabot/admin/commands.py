"""The command table and its dispatcher: `/agency add …` → handler → audited `Answer`.

A handler gets the parsed arguments and a `Command` (session, settings, sender, chat) and
returns a `Reply`; `execute` checks the sender's right first, writes the audit row and turns the
reply into an `Answer`. The table is a literal built when this module is imported, so a handler
module (which imports `core`) never imports the table, and importing has no side effect.
"""

from __future__ import annotations

import difflib
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itabot.admin.admins import cmd_admin_add, cmd_admin_list, cmd_admin_remove, cmd_admin_usage
from itabot.admin.agency import cmd_agency_add, cmd_agency_list, cmd_agency_remove, cmd_agency_usage
from itabot.admin.bind_codes import cmd_agency_code
from itabot.admin.binding import cmd_bind, cmd_unbind
from itabot.admin.core import (
    _HEAD_RE,
    _MENTIONED_COMMAND_RE,
    _ZERO_WIDTH_RE,
    COMMAND_QUICK,
    MAX_COMMAND_CHARS,
    Command,
    Reply,
    Spec,
    audit,
    is_admin,
    refuse_unless_admin,
    split_sub,
    visible,
)
from itabot.admin.done import cmd_done, cmd_undone
from itabot.admin.info import cmd_help, cmd_quota, cmd_whoami
from itabot.admin.links import (
    cmd_calendar,
    cmd_calendar_revoke,
    cmd_calendar_usage,
    cmd_dashboard,
    cmd_dashboard_revoke,
)
from itabot.admin.nudge import cmd_nudge
from itabot.admin.remind import (
    cmd_remind_days,
    cmd_remind_off,
    cmd_remind_on,
    cmd_remind_show,
    cmd_remind_time,
    cmd_remind_usage,
)
from itabot.admin.status import cmd_status
from itabot.calendars.model import Calendars
from itabot.calendars.names import clean_text
from itabot.config import Settings
from itabot.conversation.answer import Answer
from itabot.storage.models import Chat

if TYPE_CHECKING:  # the SDK's messaging models take 0.6 s to import: not for the console
    from itabot.line.client import LineGateway

COMMANDS: dict[str, Spec | dict[str, Spec]] = {
    "whoami": Spec(cmd_whoami, admin=False),
    "help": Spec(cmd_help, admin=False),
    "agency": {
        "add": Spec(cmd_agency_add),
        "list": Spec(cmd_agency_list),
        "remove": Spec(cmd_agency_remove),
        "code": Spec(cmd_agency_code),
        "*": Spec(cmd_agency_usage),
    },
    "done": Spec(cmd_done, admin=False),
    "undone": Spec(cmd_undone, admin=False),
    "status": Spec(cmd_status),
    "nudge": Spec(cmd_nudge),
    "bind": Spec(cmd_bind, admin=False),  # a code binds without an admin; a name needs one
    "quota": Spec(cmd_quota),
    "unbind": Spec(cmd_unbind),
    "admin": {
        "add": Spec(cmd_admin_add),
        "remove": Spec(cmd_admin_remove),
        "list": Spec(cmd_admin_list),
        "*": Spec(cmd_admin_usage),
    },
    "remind": {
        "": Spec(cmd_remind_show, admin=False),
        "on": Spec(cmd_remind_on),
        "off": Spec(cmd_remind_off),
        "days": Spec(cmd_remind_days),
        "time": Spec(cmd_remind_time),
        "*": Spec(cmd_remind_usage),
    },
    "dashboard": {
        "": Spec(cmd_dashboard),
        "revoke": Spec(cmd_dashboard_revoke),
        "*": Spec(cmd_dashboard),
    },
    "calendar": {
        "": Spec(cmd_calendar, admin=False),
        "revoke": Spec(cmd_calendar_revoke, admin=False),
        "*": Spec(cmd_calendar_usage, admin=False),
    },
}
ALIASES = {
    "start": "help",
    "ช่วยเหลือ": "help",
    "วิธีใช้": "help",
    "ฉันคือใคร": "whoami",
    "id": "whoami",
    "agencies": "agency",
    "หน่วยงาน": "agency",
    "ผูก": "bind",
    "ยกเลิกผูก": "unbind",
    "admins": "admin",
    "ผู้ดูแล": "admin",
    "เตือน": "remind",
    "reminder": "remind",
    "ทำแล้ว": "done",
    "เสร็จแล้ว": "done",
    "ยกเลิกทำแล้ว": "undone",
    "สถานะ": "status",
    "ทวง": "nudge",
    "โควตา": "quota",
    "หน้าสรุป": "dashboard",
    "ปฏิทิน": "calendar",
    "ics": "calendar",
}
SUB_ALIASES = {
    "เพิ่ม": "add",
    "ls": "list",
    "รายชื่อ": "list",
    "ดู": "list",
    "rm": "remove",
    "del": "remove",
    "delete": "remove",
    "ลบ": "remove",
    "เปิด": "on",
    "ปิด": "off",
    "วัน": "days",
    "day": "days",
    "เวลา": "time",
    "ยกเลิก": "revoke",
    "รหัส": "code",
}


def is_command(text: str | None) -> bool:
    return bool(text) and _normalise(text).startswith("/")


def _normalise(text: str) -> str:
    """NFC, full-width slash, zero-width spaces dropped; in a group `@ITA Bot /whoami` (the
    bot mentioned first, its display name may have spaces) is the command `/whoami`."""
    text = unicodedata.normalize("NFC", text[:MAX_COMMAND_CHARS]).replace("／", "/")
    text = _ZERO_WIDTH_RE.sub("", text).strip()
    if text.startswith("@"):
        for match in _MENTIONED_COMMAND_RE.finditer(text[:80]):
            if ALIASES.get(match.group(2).lower(), match.group(2).lower()) in COMMANDS:
                return text[match.start(0) + 1 :].strip()
    return text


def parse_command(text: str) -> tuple[str, str]:
    """`/Agency  add สุรินทร์ x` → ("agency", "add สุรินทร์ x"); the rest keeps its characters."""
    match = _HEAD_RE.match(_normalise(text)[1:])
    assert match is not None  # the pattern matches any text
    return match.group(1).lower(), match.group(2).strip()


# --- dispatch --------------------------------------------------------------------------------


def command_in(
    session: Session,
    settings: Settings,
    text: str,
    *,
    now: datetime,
    user_id: str | None,
    chat: Chat | None,
    chat_id: str | None = None,
    calendars: Calendars | None = None,
    line: LineGateway | None = None,
) -> Command:
    """Who runs what, where, in the caller's transaction: a typed command, or a button pressed
    that acts as one (admin.confirm)."""
    return Command(
        session=session,
        settings=settings,
        now=now,
        text=text,
        user_id=user_id,
        chat=chat,
        chat_id=chat.id if chat is not None else chat_id,
        is_admin=is_admin(session, settings, user_id),
        calendars=calendars,
        line=line,
    )


def execute(
    session: Session,
    settings: Settings,
    text: str,
    *,
    now: datetime,
    user_id: str | None,
    chat: Chat | None,
    chat_id: str | None = None,
    calendars: Calendars | None = None,
    line: LineGateway | None = None,
) -> Answer:
    """Run one `/command` in the caller's transaction; the caller commits."""
    name, args = parse_command(text)
    cmd = command_in(
        session,
        settings,
        _normalise(text),
        now=now,
        user_id=user_id,
        chat=chat,
        chat_id=chat_id,
        calendars=calendars,
        line=line,
    )
    canonical = ALIASES.get(name, name)
    entry = COMMANDS.get(canonical)
    if entry is None:
        return _answer(_unknown_command(name, cmd))
    cmd.name = f"/{canonical}"
    if isinstance(entry, Spec):
        spec, rest = entry, args
    else:
        sub, rest = split_sub(args)
        sub = SUB_ALIASES.get(sub, sub)
        spec = entry.get(sub) or entry.get("*")
        if sub in entry:
            cmd.name = f"/{canonical} {sub}"
        elif spec is entry.get("*") and sub:
            rest = args  # the group's fallback reads the whole text
    assert spec is not None
    if spec.admin and (refusal := refuse_unless_admin(cmd)) is not None:
        return _finish(cmd, refusal)
    try:
        reply = spec.handler(cmd, rest)
    except IntegrityError:
        # Lost a race (two admins adding the same agency or admin at once): the other one's
        # row stands. Start over in a clean transaction and say so.
        session.rollback()
        reply = Reply(
            "มีรายการนี้อยู่แล้ว (เพิ่งมีผู้ดูแลอีกคนบันทึกไว้พร้อมกัน) ไม่มีการเปลี่ยนแปลง",
            "invalid",
            "duplicate (race)",
        )
    return _finish(cmd, reply)


def _finish(cmd: Command, reply: Reply) -> Answer:
    if cmd.audited:
        audit(
            cmd.session,
            user_id=cmd.user_id,
            chat_id=cmd.chat_id,
            command=cmd.text,
            outcome=reply.outcome,
            detail=reply.detail,
        )
    return _answer(reply)


def _answer(reply: Reply) -> Answer:
    return Answer(
        intent="command",
        text=reply.text,
        quick_replies=reply.quick_replies,
        postbacks=reply.postbacks,
        extra={"outcome": reply.outcome},
    )


def _unknown_command(name: str, cmd: Command) -> Reply:
    known = sorted(COMMANDS)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"หมายถึง /{close[0]} หรือไม่\n" if close else ""
    shown = visible(clean_text(name), 30) or ""
    listing = " ".join(f"/{c}" for c in known)
    text = (
        f"ไม่รู้จักคำสั่ง /{shown}\n{hint}คำสั่งที่ใช้ได้: {listing}\n"
        "พิมพ์ /help เพื่อดูวิธีใช้ หรือถามกำหนดการได้เลย เช่น OIT ปิดวันไหน"
    )
    return Reply(text, "invalid", "unknown command", COMMAND_QUICK)
