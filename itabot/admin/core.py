"""Chat commands: the command model, parsing, who may run them, dispatch and the audit log.

Commands are small named handlers in a table (`itabot.admin.commands`). A handler gets the parsed
arguments and a `Command` (session, settings, sender, chat) and returns a `Reply`; the
dispatcher checks the sender's right first, writes the audit row and turns the reply into an
`Answer`. Every admin command is audited, whatever its outcome: `ok`, `refused` (not an admin)
or `invalid` (bad input; nothing changed). Open commands (`/whoami`, `/help`, `/remind` alone)
are not.

User text is only ever a bound parameter. The audit log keeps what was typed, with invisible
characters written as `\\uXXXX` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from itabot.calendars.model import Calendars
from itabot.calendars.names import clean_text
from itabot.config import Settings
from itabot.storage.chats import CHAT_WORDS
from itabot.storage.models import Admin, Agency, AuditLog, Chat

if TYPE_CHECKING:  # the SDK's messaging models take 0.6 s to import: not for the console
    from itabot.line.client import LineGateway

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
    "agency code": "/agency code <ชื่อหน่วยงาน>\nเช่น /agency code อบต.คลองพา (ได้รหัสผูกกลุ่ม ใช้ได้ครั้งเดียวภายใน 7 วัน)",
    "bind": (
        "/bind <รหัสผูกกลุ่ม> (ทุกคน ในกลุ่มของหน่วยงาน) เช่น /bind K7QM-3XPA\n"
        "/bind <ชื่อหน่วยงาน> (ผู้ดูแล) เช่น /bind อบต.คลองพา (ชื่อซ้ำหลายจังหวัด: /bind สุรินทร์ อบต.คลองพา)"
    ),
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
    postbacks: tuple[tuple[str, str], ...] = ()  # (label, data): quick-reply postback buttons


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
    calendars: Calendars | None = None  # the process's, for commands about phases (/done)
    line: LineGateway | None = None  # the process's LINE, for what a command asks of it (/nudge)


Handler = Callable[[Command, str], Reply]


@dataclass(frozen=True)
class Spec:
    handler: Handler
    admin: bool = True  # only admins may run it (and it is audited)


def refuse_unless_admin(cmd: Command, hint: str = "") -> Reply | None:
    """The refusal of an admin command to anyone else, or None for an admin; either way the
    command is audited (every admin action and every refused attempt is)."""
    cmd.audited = True
    if cmd.is_admin:
        return None
    template = NO_SENDER if not cmd.user_id else ADMIN_NEEDED
    text = template.format(command=cmd.name) + hint
    return Reply(text, "refused", "not an admin", COMMAND_QUICK[1:])


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


def bound_reply(cmd: Command, agency: Agency, previous: Agency | None, how: str = "") -> Reply:
    """What `/bind` says once the chat is bound (by name or by code: the same words)."""
    assert cmd.chat is not None
    where = _chat_word(cmd)
    was = f" (เดิมผูกกับ {_agency_label(previous)})" if previous else ""
    return Reply(
        f"ผูก{where}กับ {_agency_label(agency)} แล้ว{was}\n"
        f"คำถามและการเตือนใน{where}จะใช้กำหนดการของจังหวัด{agency.province}และของหน่วยงานนี้",
        "ok",
        f"chat {cmd.chat.id} bound to agency {agency.id}{how}"
        + (f" (was {previous.id})" if previous else ""),
        ("กำหนดการถัดไป", "/remind"),
    )


def _needs_chat(cmd: Command) -> Reply | None:
    if cmd.chat is None:
        return Reply(
            f"คำสั่ง {cmd.name} ใช้ในแชทหรือกลุ่มที่ต้องการตั้งค่าเท่านั้น (ไม่ทราบว่าเป็นแชทใด)",
            "invalid",
            "no chat",
        )
    return None
