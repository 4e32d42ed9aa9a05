"""Chat commands: the command model, parsing, who may run them, dispatch and the audit log.

Commands are small named handlers in a table (`itabot.admin.table`). A handler gets the parsed
arguments and a `Command` (session, settings, sender, chat) and returns a `Reply`; the
dispatcher checks the sender's right first, writes the audit row and turns the reply into an
`Answer`. Every admin command is audited, whatever its outcome: `ok`, `refused` (not an admin)
or `invalid` (bad input; nothing changed). Open commands (`/whoami`, `/help`, `/remind` alone)
are not.

User text is only ever a bound parameter. The audit log keeps what was typed, with invisible
characters written as `\\uXXXX` escapes.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itabot.answers import Answer
from itabot.chats import CHAT_WORDS
from itabot.config import Settings
from itabot.models import Admin, Agency, AuditLog, Chat
from itabot.names import clean_text

MAX_COMMAND_CHARS = 2000  # longer texts are cut before parsing (LINE allows 5,000)
MAX_AUDIT_COMMAND = 500  # AuditLog.command

# Invisible characters that change how text reads (NUL, C0/C1 controls, bidi overrides and
# isolates): refused in names. Tabs and newlines are just spaces; zero-width spaces (common in
# Thai copied from Word) are dropped.
_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_MENTIONED_COMMAND_RE = re.compile(r"\s(/(\S+))")
_HEAD_RE = re.compile(r"\s*(\S*)\s*(.*)", re.DOTALL)
_VISIBLE_ESCAPE_RE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)

ADMIN_NEEDED = (
    "คำสั่ง {command} ใช้ได้เฉพาะผู้ดูแลระบบ (ผู้ประสานงาน ITA ของจังหวัด)\n"
    "พิมพ์ /whoami เพื่อดู user id ของคุณ แล้วขอให้ผู้ดูแลเพิ่มสิทธิ์ด้วย /admin add <user id>"
)
NO_SENDER = (
    "คำสั่ง {command} ใช้ได้เฉพาะผู้ดูแลระบบ แต่ LINE ไม่ได้ส่ง user id ของผู้ส่งมา "
    "จึงตรวจสิทธิ์ไม่ได้ ลองพิมพ์คำสั่งนี้ในแชทส่วนตัวกับบอต"
)
DATABASE_NOT_MIGRATED = (
    "ขออภัย ฐานข้อมูลยังไม่พร้อม คำสั่งยังไม่ถูกบันทึก (ผู้ติดตั้งระบบ: สั่ง python -m itabot db upgrade ก่อน)"
)
DATABASE_DOWN = "ขออภัย ระบบฐานข้อมูลขัดข้องชั่วคราว คำสั่งยังไม่ถูกบันทึก กรุณาลองใหม่อีกครั้ง"
FAILED = "ขออภัย เกิดข้อผิดพลาดในการทำคำสั่งนี้ ไม่มีการเปลี่ยนแปลงใด ๆ กรุณาลองใหม่อีกครั้ง"

USAGE = {
    "agency add": (
        "/agency add <จังหวัด> <ชื่อหน่วยงาน>\nเช่น /agency add สุรินทร์ อบต.คลองพา\n"
        "(หลายแห่งพร้อมกัน: ขึ้นบรรทัดใหม่ บรรทัดละหนึ่งชื่อ)"
    ),
    "agency list": "/agency list [จังหวัด] [หน้า]\nเช่น /agency list สุรินทร์",
    "agency remove": "/agency remove <ชื่อหน่วยงาน> [จังหวัด]\nเช่น /agency remove อบต.คลองพา",
    "bind": "/bind <ชื่อหน่วยงาน>\nเช่น /bind อบต.คลองพา (ชื่อซ้ำหลายจังหวัด: /bind สุรินทร์ อบต.คลองพา)",
    "unbind": "/unbind",
    "admin add": "/admin add <user id>\nเช่น /admin add U0123456789abcdef0123456789abcdef",
    "admin remove": "/admin remove <user id>",
    "admin list": "/admin list",
    "remind": "/remind on | /remind off | /remind days 7,3,1,0 | /remind time 08:30",
}
COMMAND_QUICK = ("/help", "/whoami")


# --- the command model -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What a handler decided: the text, and the audit outcome and detail."""

    text: str
    outcome: str = "ok"  # ok | refused | invalid
    detail: str | None = None
    quick_replies: tuple[str, ...] = ()


@dataclass
class Command:
    """One command being run: where, by whom, and the open transaction."""

    session: Session
    settings: Settings
    now: datetime
    text: str
    user_id: str | None
    chat: Chat | None
    chat_id: str | None
    is_admin: bool
    name: str = ""
    audited: bool = field(default=False)


Handler = Callable[[Command, str], Reply]


@dataclass(frozen=True)
class Spec:
    handler: Handler
    admin: bool = True  # only admins may run it (and it is audited)


# The command table: filled in by `itabot.admin.table` (it imports the handlers, which import
# this module), so that a handler module never imports the table.
COMMANDS: dict[str, Spec | dict[str, Spec]] = {}
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


def split_sub(args: str) -> tuple[str, str]:
    match = _HEAD_RE.match(args)
    assert match is not None
    return match.group(1).lower(), match.group(2).strip()


def is_admin(session: Session, settings: Settings, user_id: str | None) -> bool:
    """ITABOT_ADMIN_IDS, or a row granted by chat."""
    if not user_id:
        return False
    return user_id in settings.admin_ids or session.get(Admin, user_id) is not None


def visible(text: str | None, limit: int) -> str | None:
    """Text safe for a log row: control and bidi characters shown as escapes, cut to the column.

    PostgreSQL refuses NUL in text, and a raw RTL override would make the audit lie.
    """
    if text is None:
        return None
    shown = _VISIBLE_ESCAPE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def audit(
    session: Session,
    *,
    user_id: str | None,
    chat_id: str | None,
    command: str,
    outcome: str,
    detail: str | None,
) -> None:
    """One audit row, stamped with the real clock (not the console's `--at`)."""
    session.add(
        AuditLog(
            user_id=visible(user_id, 64),
            chat_id=visible(chat_id, 64),
            command=visible(command, MAX_AUDIT_COMMAND) or "",
            outcome=outcome,
            detail=visible(detail, 2000),
        )
    )


# --- dispatch --------------------------------------------------------------------------------


def execute(
    session: Session,
    settings: Settings,
    text: str,
    *,
    now: datetime,
    user_id: str | None,
    chat: Chat | None,
    chat_id: str | None = None,
) -> Answer:
    """Run one `/command` in the caller's transaction; the caller commits."""
    name, args = parse_command(text)
    cmd = Command(
        session=session,
        settings=settings,
        now=now,
        text=_normalise(text),
        user_id=user_id,
        chat=chat,
        chat_id=chat.id if chat is not None else chat_id,
        is_admin=is_admin(session, settings, user_id),
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
    if spec.admin:
        cmd.audited = True
        if not cmd.is_admin:
            template = NO_SENDER if not user_id else ADMIN_NEEDED
            reply = Reply(
                template.format(command=cmd.name), "refused", "not an admin", COMMAND_QUICK[1:]
            )
            return _finish(cmd, reply)
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


def _usage(key: str, problem: str | None = None) -> Reply:
    head = f"{problem}\n" if problem else ""
    return Reply(f"{head}วิธีใช้: {USAGE[key]}", "invalid", problem or "usage")


def _unknown_sub(args: str) -> str | None:
    """The refusal of a subcommand we do not have (its first word, cleaned and cut short), or
    None when no subcommand was typed."""
    if not args:
        return None
    return f"ไม่รู้จักคำสั่งย่อย {_quoted(visible(clean_text(args.split()[0]), 20) or '')}"


def _group_usage(args: str, keys: tuple[str, ...]) -> Reply:
    """`/admin`, `/agency` with no or an unknown subcommand: each subcommand's usage."""
    problem = _unknown_sub(args)
    text = "\n".join(USAGE[k] for k in keys)
    return Reply(
        f"{problem + chr(10) if problem else ''}วิธีใช้:\n{text}", "invalid", problem or "usage"
    )


# --- parsing helpers -------------------------------------------------------------------------


def _chat_word(cmd: Command) -> str:
    return CHAT_WORDS.get(cmd.chat.type if cmd.chat else "", "แชทนี้")


def _quoted(text: str) -> str:
    return f'"{text}"'


def _agency_label(agency: Agency) -> str:
    return f"{_quoted(agency.name)} จังหวัด{agency.province}"


def _needs_chat(cmd: Command) -> Reply | None:
    if cmd.chat is None:
        return Reply(
            f"คำสั่ง {cmd.name} ใช้ในแชทหรือกลุ่มที่ต้องการตั้งค่าเท่านั้น (ไม่ทราบว่าเป็นแชทใด)",
            "invalid",
            "no chat",
        )
    return None
