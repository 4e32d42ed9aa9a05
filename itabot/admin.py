"""Chat commands (`/whoami`, `/agency add …`, `/bind …`): who may run them, and the audit log.

Commands are small named handlers in a table. A handler gets the parsed arguments and a
`Command` (session, settings, sender, chat) and returns a `Reply`; the dispatcher checks the
sender's right first, writes the audit row and turns the reply into an `Answer`. Every admin
command is audited, whatever its outcome: `ok`, `refused` (not an admin) or `invalid` (bad
input; nothing changed). Open commands (`/whoami`, `/help`, `/remind` alone) are not.

User text is only ever a bound parameter. Agency names are cleaned (`names.clean_text`) and
checked against a small alphabet (Thai, Latin, digits, `. , - ( ) / &`): quotes, `;`, `<…>`
and control or bidi characters are refused, never stored as a name. The audit log keeps what
was typed, with invisible characters written as `\\uXXXX` escapes.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itabot.answers import Answer
from itabot.chats import (
    CHAT_WORDS,
    LINE_USER_ID_RE,
    bind_chat,
    format_days,
    format_time,
    reminder_settings,
    unbind_chat,
)
from itabot.config import Settings, parse_remind_days, parse_remind_time
from itabot.models import Admin, Agency, AuditLog, Chat
from itabot.names import (
    agency_key,
    agency_kind,
    clean_text,
    expand_agency_name,
    province_key,
    province_names,
    resolve_province,
    suggest_names,
    suggest_province,
)

MAX_NAME_CHARS = 120
MAX_COMMAND_CHARS = 2000  # longer texts are cut before parsing (LINE allows 5,000)
MAX_AUDIT_COMMAND = 500  # AuditLog.command
MAX_REMIND_OFFSETS = 10  # each offset is a push per bound group: the LINE quota is small
LIST_PAGE = 60

# Invisible characters that change how text reads (NUL, C0/C1 controls, bidi overrides and
# isolates): refused in names. Tabs and newlines are just spaces; zero-width spaces (common in
# Thai copied from Word) are dropped.
_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_NAME_ALLOWED_RE = re.compile(r"[\u0e01-\u0e5b A-Za-z0-9.,()/&\-–]")
_HAS_LETTER_RE = re.compile(r"[\u0e01-\u0e2eA-Za-z]")
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
ADMIN_HELP = (
    "คำสั่งผู้ดูแล:\n"
    "/agency add สุรินทร์ อบต.คลองพา — ลงทะเบียนหน่วยงาน (จังหวัด แล้วตามด้วยชื่อ; "
    "หลายแห่ง: บรรทัดละหนึ่งชื่อ)\n"
    "/agency list [จังหวัด] — รายชื่อหน่วยงาน\n"
    "/agency remove อบต.คลองพา — ลบหน่วยงาน\n"
    "/bind อบต.คลองพา — ผูกแชท/กลุ่มนี้กับหน่วยงาน (ชื่อซ้ำ: /bind สุรินทร์ อบต.คลองพา)\n"
    "/unbind — ยกเลิกการผูก\n"
    "/admin add U… | /admin remove U… | /admin list — ผู้ดูแล\n"
    "/remind on | off — เปิด/ปิดการเตือนในแชทนี้\n"
    "/remind days 7,3,1,0 — วันที่เตือนก่อนปิด\n"
    "/remind time 08:30 — เวลาเตือน\n"
    "/remind — ดูการตั้งค่าการเตือน"
)
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


# --- parsing helpers -------------------------------------------------------------------------


def _chat_word(cmd: Command) -> str:
    return CHAT_WORDS.get(cmd.chat.type if cmd.chat else "", "แชทนี้")


def _quoted(text: str) -> str:
    return f'"{text}"'


def _agency_label(agency: Agency) -> str:
    return f"{_quoted(agency.name)} จังหวัด{agency.province}"


def check_name(raw: str) -> tuple[str | None, str | None]:
    """(display name, None) or (None, the Thai reason it is refused)."""
    if _FORBIDDEN_RE.search(raw):
        return None, "ชื่อหน่วยงานมีอักขระควบคุมที่มองไม่เห็น (เช่น \\x00 หรืออักขระกลับทิศ) กรุณาพิมพ์ชื่อใหม่"
    text = clean_text(_ZERO_WIDTH_RE.sub("", raw))
    if not text:
        return None, None
    if len(text) > MAX_NAME_CHARS:
        return None, f"ชื่อหน่วยงานยาวเกิน {MAX_NAME_CHARS} ตัวอักษร ({len(text)} ตัวอักษร)"
    bad = sorted({ch for ch in text if not _NAME_ALLOWED_RE.match(ch)})
    if bad:
        shown = " ".join(bad[:10])
        return None, (
            f"ชื่อหน่วยงานมีอักขระที่ใช้ไม่ได้: {shown}\n"
            "ใช้ได้เฉพาะตัวอักษรไทยหรืออังกฤษ ตัวเลข ช่องว่าง และ . , - ( ) / &"
        )
    if not _HAS_LETTER_RE.search(text):
        return None, "ชื่อหน่วยงานต้องมีตัวอักษร ไม่ใช่ตัวเลขหรือเครื่องหมายอย่างเดียว"
    name = expand_agency_name(text)
    if not agency_key(name):
        return None, "ชื่อหน่วยงานว่าง"
    return name, None


def name_key(text: str) -> str:
    """The duplicate key of a name as typed (abbreviations expanded first: อบจ.สร ≡ อบจ.สุรินทร์)."""
    return agency_key(expand_agency_name(clean_text(_ZERO_WIDTH_RE.sub("", text))))


def _after_tokens(text: str, k: int) -> str:
    """The text after its first `k` words, line breaks kept (one agency per line)."""
    return re.sub(rf"^\s*(?:\S+\s+){{{k}}}", "", text + " ", count=1).strip()


def split_province_first(args: str, *, glued: bool = False) -> tuple[str | None, str]:
    """`จ. สุรินทร์ อบต.คลองพา` → ("สุรินทร์", "อบต.คลองพา"); (None, args) if no province leads.

    `glued` also reads `สุรินทร์อบต.คลองพา` — only where a province must come first (`/agency
    add`): elsewhere a name such as `ตากฟ้า` would be read as the province ตาก."""
    tokens = args.split()
    for k in (1, 2, 3):
        if len(tokens) >= k:
            province = resolve_province(" ".join(tokens[:k]))
            if province:
                return province, _after_tokens(args, k)
    if tokens and glued:
        first = province_key(tokens[0])
        for name in sorted(province_names(), key=len, reverse=True):
            at = tokens[0].find(name)
            if first.startswith(name) and len(first) > len(name) and at >= 0:
                return name, (tokens[0][at + len(name) :] + " " + _after_tokens(args, 1)).strip()
    return None, args


def split_province_last(args: str) -> tuple[str | None, str]:
    """`อบต.คลองพา จ.สุรินทร์` → ("สุรินทร์", "อบต.คลองพา")."""
    tokens = args.split()
    for k in (1, 2, 3):
        if len(tokens) > k:
            province = resolve_province(" ".join(tokens[-k:]))
            if province:
                return province, " ".join(tokens[:-k])
    return None, args


def _province_token(args: str) -> str:
    tokens = args.split()
    if len(tokens) >= 2 and province_key(tokens[0]) == "":  # `จังหวัด สุรินทท์`
        return f"{tokens[0]}{tokens[1]}"
    return tokens[0] if tokens else ""


def _unknown_province(written: str, example: str) -> Reply:
    shown = visible(clean_text(written), 40)
    close = suggest_province(written)
    if close:
        best = close[0]
        text = f"ไม่พบจังหวัด {_quoted(shown or '')} หมายถึงจังหวัด{best} หรือไม่\nเช่น {example.format(province=best)}"
        return Reply(text, "invalid", f"unknown province; suggested {best}")
    return Reply(
        f"ไม่พบจังหวัด {_quoted(shown or '')} กรุณาพิมพ์ชื่อจังหวัดให้ถูกต้อง (เช่น สุรินทร์ หรือ จ.สุรินทร์)\n"
        f"เช่น {example.format(province='สุรินทร์')}",
        "invalid",
        "unknown province",
    )


@dataclass(frozen=True)
class Lookup:
    """The result of finding an agency by what an admin typed."""

    agency: Agency | None = None
    ambiguous: tuple[Agency, ...] = ()
    suggestions: tuple[Agency, ...] = ()
    name: str = ""


def find_agency(session: Session, args: str) -> Lookup:
    """By name in any province; `<province> <name>` and `<name> <province>` narrow it down."""

    def by_key(key: str, province: str | None = None) -> list[Agency]:
        query = select(Agency).where(Agency.name_key == key)
        if province:
            query = query.where(Agency.province == province)
        return list(session.scalars(query.order_by(Agency.province)))

    whole = by_key(name_key(args)) if name_key(args) else []
    if len(whole) == 1:
        return Lookup(agency=whole[0])
    narrowed_province: str | None = None
    name_part = args
    for split in (split_province_first, split_province_last):
        province, rest = split(args)
        if province and rest and name_key(rest):
            hits = by_key(name_key(rest), province)
            if len(hits) == 1:
                return Lookup(agency=hits[0])
            narrowed_province, name_part = province, rest
            break
    if whole:
        return Lookup(ambiguous=tuple(whole), name=whole[0].name)
    pool_query = select(Agency)
    if narrowed_province:
        pool_query = pool_query.where(Agency.province == narrowed_province)
    pool = list(session.scalars(pool_query))
    names = suggest_names(name_part, [a.name for a in pool])
    by_name: dict[str, list[Agency]] = {}
    for agency in pool:
        by_name.setdefault(agency.name, []).append(agency)
    suggestions = tuple(a for n in names for a in by_name.get(n, []))[:5]
    return Lookup(suggestions=suggestions, name=clean_text(name_part))


def _not_found(lookup: Lookup, verb: str) -> Reply:
    shown = visible(lookup.name, 60) or ""
    if lookup.suggestions:
        lines = "\n".join(f"• {a.name} (จังหวัด{a.province})" for a in lookup.suggestions)
        quick = tuple(f"/{verb} {a.province} {a.name}" for a in lookup.suggestions)
        return Reply(
            f"ไม่พบหน่วยงาน {_quoted(shown)} หมายถึงหน่วยงานเหล่านี้หรือไม่\n{lines}",
            "invalid",
            "agency not found; suggested " + ", ".join(a.name for a in lookup.suggestions),
            quick,
        )
    return Reply(
        f"ไม่พบหน่วยงาน {_quoted(shown)} ในรายชื่อ ดูรายชื่อด้วย /agency list "
        "หรือเพิ่มด้วย /agency add <จังหวัด> <ชื่อ>",
        "invalid",
        "agency not found",
        ("/agency list",),
    )


def _ambiguous(lookup: Lookup, verb: str) -> Reply:
    provinces = ", ".join(a.province for a in lookup.ambiguous)
    first = lookup.ambiguous[0]
    return Reply(
        f"มีหน่วยงานชื่อ {_quoted(lookup.name)} ในหลายจังหวัด: {provinces}\n"
        f"กรุณาระบุจังหวัดด้วย เช่น /{verb} {first.province} {first.name}",
        "invalid",
        f"ambiguous: {provinces}",
        tuple(f"/{verb} {a.province} {a.name}" for a in lookup.ambiguous),
    )


def _needs_chat(cmd: Command) -> Reply | None:
    if cmd.chat is None:
        return Reply(
            f"คำสั่ง {cmd.name} ใช้ในแชทหรือกลุ่มที่ต้องการตั้งค่าเท่านั้น (ไม่ทราบว่าเป็นแชทใด)",
            "invalid",
            "no chat",
        )
    return None


# --- open commands ---------------------------------------------------------------------------


def cmd_whoami(cmd: Command, _args: str) -> Reply:
    lines = [
        f"user id ของคุณ: {cmd.user_id}" if cmd.user_id else "user id ของคุณ: ไม่ทราบ (LINE ไม่ได้ส่งมา)"
    ]
    if cmd.chat is not None:
        kind = {"user": "แชทส่วนตัว", "group": "กลุ่ม", "room": "ห้องแชท"}.get(
            cmd.chat.type, cmd.chat.type
        )
        lines.append(f"แชทนี้: {kind} ({cmd.chat.type}) {cmd.chat.id}")
    if not cmd.is_admin:
        lines.append("สิทธิ์: ผู้ใช้ทั่วไป")
    elif cmd.user_id in cmd.settings.admin_ids:
        lines.append("สิทธิ์: ผู้ดูแล (ตั้งต้นจาก ITABOT_ADMIN_IDS)")
    else:
        lines.append("สิทธิ์: ผู้ดูแล")
    if cmd.chat is not None:
        agency = cmd.chat.agency
        bound = _agency_label(agency) if agency else "ยังไม่ได้ผูกกับหน่วยงาน (ผู้ดูแลใช้ /bind <ชื่อหน่วยงาน>)"
        lines.append(f"ผูกกับ: {bound}")
    return Reply("\n".join(lines), quick_replies=("/help",))


def cmd_help(cmd: Command, _args: str) -> Reply:
    from itabot.conversation import EXAMPLE_QUESTIONS

    examples = "\n".join(f"• {q}" for q in EXAMPLE_QUESTIONS)
    parts = [
        f"ถามกำหนดการประเมิน ITA ได้เลย เช่น\n{examples}",
        "คำสั่งสำหรับทุกคน:\n/whoami — ดู user id ของคุณและหน่วยงานที่แชทนี้ผูกอยู่\n"
        "/remind — ดูการตั้งค่าการเตือนของแชทนี้\n/help — วิธีใช้",
    ]
    if cmd.is_admin:
        parts.append(ADMIN_HELP)
    return Reply("\n\n".join(parts), quick_replies=(*EXAMPLE_QUESTIONS[:4], "/whoami"))


# --- /agency ---------------------------------------------------------------------------------


def cmd_agency_usage(cmd: Command, args: str) -> Reply:
    problem = (
        f"ไม่รู้จักคำสั่งย่อย {_quoted(visible(clean_text(args.split()[0]), 20) or '')}" if args else None
    )
    text = "\n".join(USAGE[k] for k in ("agency add", "agency list", "agency remove"))
    return Reply(
        f"{problem + chr(10) if problem else ''}วิธีใช้:\n{text}", "invalid", problem or "usage"
    )


MAX_BULK_AGENCIES = 50


def cmd_agency_add(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("agency add", "ต้องระบุจังหวัดและชื่อหน่วยงาน")
    province, rest = split_province_first(args, glued=True)
    if province is None:
        return _unknown_province(_province_token(args), "/agency add {province} อบต.ตัวอย่าง")
    if not rest:
        return _usage("agency add", f"ต้องระบุชื่อหน่วยงานต่อจากจังหวัด{province}")
    lines = [line for line in re.split(r"[\r\n]+", rest) if line.strip()]
    if len(lines) > 1:
        return _add_many(cmd, province, lines)
    name, problem = check_name(rest)
    if name is None:
        return (
            _usage("agency add", problem) if problem is None else Reply(problem, "invalid", problem)
        )
    key = agency_key(name)
    existing = _existing(cmd.session, province, key)
    if existing is not None:
        return Reply(
            f"มีหน่วยงาน {_agency_label(existing)} อยู่แล้ว ไม่ได้เพิ่มซ้ำ",
            "invalid",
            f"duplicate of agency {existing.id}",
            (f"/bind {existing.province} {existing.name}",),
        )
    agency = Agency(
        province=province, name=name, name_key=key, kind=agency_kind(name), created_by=cmd.user_id
    )
    cmd.session.add(agency)
    try:
        cmd.session.flush()
    except IntegrityError:
        # Another admin added the same agency a moment ago: the unique key kept one row.
        cmd.session.rollback()
        existing = _existing(cmd.session, province, key)
        label = _agency_label(existing) if existing else _quoted(name)
        return Reply(f"มีหน่วยงาน {label} อยู่แล้ว ไม่ได้เพิ่มซ้ำ", "invalid", "duplicate (race)")
    return Reply(
        f"เพิ่มหน่วยงาน {_agency_label(agency)} แล้ว\nผูกกลุ่มกับหน่วยงานนี้ด้วย /bind {agency.name}",
        "ok",
        f"agency {agency.id} added: {province} / {name}",
        (f"/bind {agency.name}", "/agency list"),
    )


def _existing(session: Session, province: str, key: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.province == province, Agency.name_key == key))


def _add_many(cmd: Command, province: str, lines: list[str]) -> Reply:
    """A list pasted one agency per line (a province has ~170 อปท.): each line is checked like
    a single add; the valid new ones are added together, the rest are named with the reason."""
    if len(lines) > MAX_BULK_AGENCIES:
        return _usage(
            "agency add", f"เพิ่มได้ครั้งละไม่เกิน {MAX_BULK_AGENCIES} หน่วยงาน (บรรทัดละหนึ่งหน่วยงาน)"
        )
    added: list[Agency] = []
    duplicates: list[str] = []
    refused: list[str] = []
    seen: set[str] = set()
    for line in lines:
        name, problem = check_name(line)
        if name is None:
            shown = visible(clean_text(line), 40) or ""
            refused.append(f"{_quoted(shown)}: {(problem or 'ชื่อว่าง').splitlines()[0]}")
            continue
        key = agency_key(name)
        existing = _existing(cmd.session, province, key)
        if existing is not None or key in seen:
            duplicates.append(existing.name if existing else name)
            continue
        seen.add(key)
        added.append(
            Agency(
                province=province,
                name=name,
                name_key=key,
                kind=agency_kind(name),
                created_by=cmd.user_id,
            )
        )
    cmd.session.add_all(added)
    try:
        cmd.session.flush()
    except IntegrityError:
        cmd.session.rollback()
        return Reply(
            "มีผู้ดูแลอีกคนเพิ่มหน่วยงานชุดเดียวกันพร้อมกัน จึงยังไม่ได้เพิ่ม "
            "กรุณาส่งรายชื่อนี้อีกครั้ง (รายการที่มีอยู่แล้วจะถูกข้าม)",
            "invalid",
            "bulk add lost a race: nothing added",
        )
    parts = []
    if added:
        parts.append(f"เพิ่มหน่วยงานจังหวัด{province} {len(added)} แห่งแล้ว:")
        parts += [f"• {a.name}" for a in added]
    else:
        parts.append(f"ไม่ได้เพิ่มหน่วยงานใดในจังหวัด{province}")
    if duplicates:
        parts.append(f"มีอยู่แล้ว {len(duplicates)} แห่ง (ไม่ได้เพิ่มซ้ำ): " + ", ".join(duplicates))
    if refused:
        parts.append(f"ไม่ได้เพิ่ม {len(refused)} รายการ:")
        parts += [f"• {r}" for r in refused]
    detail = (
        f"bulk {province}: added {[a.id for a in added]}, "
        f"{len(duplicates)} duplicate(s), {len(refused)} refused"
    )
    return Reply("\n".join(parts), "ok" if added else "invalid", detail, ("/agency list",))


def cmd_agency_list(cmd: Command, args: str) -> Reply:
    tokens = args.split()
    page = 1
    if tokens and tokens[-1].isdigit():
        page = max(1, int(tokens.pop()))
    province = None
    if tokens:
        province = resolve_province(" ".join(tokens))
        if province is None:
            return _unknown_province(_province_token(" ".join(tokens)), "/agency list {province}")
    bound = (
        select(Chat.agency_id, func.count().label("n"))
        .where(Chat.agency_id.is_not(None))
        .group_by(Chat.agency_id)
        .subquery()
    )
    query = select(Agency, func.coalesce(bound.c.n, 0)).outerjoin(
        bound, bound.c.agency_id == Agency.id
    )
    count_query = select(func.count()).select_from(Agency)
    if province:
        query = query.where(Agency.province == province)
        count_query = count_query.where(Agency.province == province)
    total = cmd.session.scalar(count_query) or 0
    where = f"จังหวัด{province}" if province else "ทุกจังหวัด"
    if total == 0:
        return Reply(
            f"ยังไม่มีหน่วยงานที่ลงทะเบียนไว้ ({where})\nเพิ่มด้วย {USAGE['agency add']}",
            "ok",
            "list: empty",
        )
    rows = cmd.session.execute(
        query.order_by(Agency.province, Agency.name).offset((page - 1) * LIST_PAGE).limit(LIST_PAGE)
    ).all()
    lines = [f"หน่วยงานที่ลงทะเบียนไว้ {total} แห่ง ({where})"]
    current = None
    for agency, n in rows:
        if agency.province != current and not province:
            current = agency.province
            lines.append(f"จังหวัด{current}")
        lines.append(f"• {agency.name}" + (f" — ผูก {n} แชท" if n else ""))
    shown_to = (page - 1) * LIST_PAGE + len(rows)
    if shown_to < total:
        more = f"/agency list {province + ' ' if province else ''}{page + 1}"
        lines.append(f"… แสดง {shown_to} จาก {total} แห่ง หน้าถัดไป: {more}")
    elif not rows:
        lines.append(f"(หน้า {page} ไม่มีรายการ)")
    return Reply("\n".join(lines), "ok", f"list: {province or 'all'} page {page}")


def cmd_agency_remove(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("agency remove", "ต้องระบุชื่อหน่วยงานที่จะลบ")
    lookup = find_agency(cmd.session, args)
    if lookup.ambiguous:
        return _ambiguous(lookup, "agency remove")
    if lookup.agency is None:
        return _not_found(lookup, "agency remove")
    agency = lookup.agency
    chats = list(cmd.session.scalars(select(Chat).where(Chat.agency_id == agency.id)))
    for chat in chats:
        unbind_chat(cmd.session, chat)
    label = _agency_label(agency)
    detail = f"agency {agency.id} removed: {agency.province} / {agency.name}"
    if chats:
        detail += "; unbound chats " + ", ".join(c.id for c in chats)
    cmd.session.delete(agency)
    cmd.session.flush()
    extra = f"\nยกเลิกการผูก {len(chats)} แชทที่เคยผูกกับหน่วยงานนี้" if chats else ""
    return Reply(f"ลบหน่วยงาน {label} แล้ว{extra}", "ok", detail)


# --- /bind, /unbind --------------------------------------------------------------------------


def cmd_bind(cmd: Command, args: str) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    if not args:
        return _usage("bind", "ต้องระบุชื่อหน่วยงาน")
    if _FORBIDDEN_RE.search(args):
        return Reply("ชื่อหน่วยงานมีอักขระควบคุมที่มองไม่เห็น กรุณาพิมพ์ชื่อใหม่", "invalid", "control characters")
    lookup = find_agency(cmd.session, args)
    if lookup.ambiguous:
        return _ambiguous(lookup, "bind")
    if lookup.agency is None:
        return _not_found(lookup, "bind")
    assert cmd.chat is not None
    agency = lookup.agency
    where = _chat_word(cmd)
    if cmd.chat.agency_id == agency.id:
        return Reply(
            f"{where}ผูกกับ {_agency_label(agency)} อยู่แล้ว",
            "ok",
            f"already bound to agency {agency.id}",
        )
    previous = bind_chat(cmd.session, cmd.chat, agency, cmd.user_id)
    was = f" (เดิมผูกกับ {_agency_label(previous)})" if previous else ""
    return Reply(
        f"ผูก{where}กับ {_agency_label(agency)} แล้ว{was}\n"
        f"คำถามและการเตือนใน{where}จะใช้กำหนดการของจังหวัด{agency.province}และของหน่วยงานนี้",
        "ok",
        f"chat {cmd.chat.id} bound to agency {agency.id}"
        + (f" (was {previous.id})" if previous else ""),
        ("กำหนดการถัดไป", "/remind"),
    )


def cmd_unbind(cmd: Command, args: str) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    where = _chat_word(cmd)
    previous = unbind_chat(cmd.session, cmd.chat)
    if previous is None:
        return Reply(f"{where}ยังไม่ได้ผูกกับหน่วยงานใด", "invalid", "not bound")
    return Reply(
        f"ยกเลิกการผูก{where}กับ {_agency_label(previous)} แล้ว",
        "ok",
        f"chat {cmd.chat.id} unbound from agency {previous.id}",
    )


# --- /admin ----------------------------------------------------------------------------------


def _user_id_arg(args: str) -> tuple[str | None, Reply | None]:
    raw = args.split()[0] if args.split() else ""
    # LINE writes the hex in lower case; an id copied in upper case is the same user.
    if raw[:1] == "U" and LINE_USER_ID_RE.match("U" + raw[1:].lower()):
        return "U" + raw[1:].lower(), None
    shown = visible(clean_text(raw), 40) or ""
    return None, Reply(
        f"user id {_quoted(shown)} ไม่ถูกต้อง: LINE user id ขึ้นต้นด้วย U ตามด้วยเลขฐานสิบหก (0-9, a-f) 32 ตัว\n"
        "ให้ผู้นั้นพิมพ์ /whoami ในแชทกับบอตเพื่อดู user id ของตัวเอง",
        "invalid",
        "invalid user id",
    )


def cmd_admin_usage(cmd: Command, args: str) -> Reply:
    problem = (
        f"ไม่รู้จักคำสั่งย่อย {_quoted(visible(clean_text(args.split()[0]), 20) or '')}" if args else None
    )
    text = "\n".join(USAGE[k] for k in ("admin add", "admin remove", "admin list"))
    return Reply(
        f"{problem + chr(10) if problem else ''}วิธีใช้:\n{text}", "invalid", problem or "usage"
    )


def cmd_admin_add(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("admin add", "ต้องระบุ user id ของผู้ที่จะเป็นผู้ดูแล")
    user_id, problem = _user_id_arg(args)
    if problem is not None:
        return problem
    assert user_id is not None
    if user_id in cmd.settings.admin_ids:
        return Reply(
            f"{user_id} เป็นผู้ดูแลตั้งต้น (ITABOT_ADMIN_IDS) อยู่แล้ว", "invalid", "already an initial admin"
        )
    if cmd.session.get(Admin, user_id) is not None:
        return Reply(f"{user_id} เป็นผู้ดูแลอยู่แล้ว", "invalid", "already an admin")
    cmd.session.add(Admin(user_id=user_id, granted_by=cmd.user_id))
    try:
        cmd.session.flush()
    except IntegrityError:
        cmd.session.rollback()
        return Reply(f"{user_id} เป็นผู้ดูแลอยู่แล้ว", "invalid", "already an admin (race)")
    return Reply(f"เพิ่ม {user_id} เป็นผู้ดูแลแล้ว", "ok", f"admin {user_id} granted")


def cmd_admin_remove(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("admin remove", "ต้องระบุ user id ของผู้ดูแลที่จะลบ")
    raw = args.split()[0]
    if raw in cmd.settings.admin_ids:
        return Reply(
            f"{raw} เป็นผู้ดูแลตั้งต้นจาก ITABOT_ADMIN_IDS ลบผ่านแชทไม่ได้ (แก้ที่การตั้งค่าของระบบ)",
            "refused",
            "initial admin cannot be removed",
        )
    user_id, problem = _user_id_arg(args)
    if problem is not None:
        return problem
    assert user_id is not None
    if user_id in cmd.settings.admin_ids:
        return Reply(
            f"{user_id} เป็นผู้ดูแลตั้งต้นจาก ITABOT_ADMIN_IDS ลบผ่านแชทไม่ได้",
            "refused",
            "initial admin cannot be removed",
        )
    row = cmd.session.get(Admin, user_id)
    if row is None:
        return Reply(f"{user_id} ไม่ได้เป็นผู้ดูแล", "invalid", "not an admin")
    if (
        not cmd.settings.admin_ids
        and cmd.session.scalar(select(func.count()).select_from(Admin)) == 1
    ):
        return Reply(
            "ลบผู้ดูแลคนสุดท้ายไม่ได้ (จะไม่มีใครใช้คำสั่งผู้ดูแลได้อีก) เพิ่มผู้ดูแลคนอื่นก่อน",
            "refused",
            "last admin",
        )
    cmd.session.delete(row)
    cmd.session.flush()
    return Reply(f"ลบ {user_id} ออกจากผู้ดูแลแล้ว", "ok", f"admin {user_id} revoked")


def cmd_admin_list(cmd: Command, _args: str) -> Reply:
    from itabot.thaidate import BANGKOK, format_date_short

    rows = list(cmd.session.scalars(select(Admin).order_by(Admin.granted_at)))
    lines = [f"ผู้ดูแล {len(cmd.settings.admin_ids) + len(rows)} คน"]
    lines += [f"• {uid} (ตั้งต้นจาก ITABOT_ADMIN_IDS)" for uid in sorted(cmd.settings.admin_ids)]
    for row in rows:
        when = row.granted_at if row.granted_at.tzinfo else row.granted_at.replace(tzinfo=UTC)
        day = format_date_short(when.astimezone(BANGKOK).date())
        lines.append(f"• {row.user_id} (เพิ่มโดย {row.granted_by or '-'} เมื่อ {day})")
    return Reply("\n".join(lines), "ok", "list")


# --- /remind ---------------------------------------------------------------------------------


def _days_text(days: tuple[int, ...]) -> str:
    before = [d for d in days if d > 0]
    parts = []
    if before:
        parts.append(", ".join(str(d) for d in before) + " วันก่อนปิด")
    if 0 in days:
        parts.append("และวันที่ปิด" if before else "วันที่ปิด")
    return " ".join(parts)


def _remind_state(cmd: Command) -> str:
    assert cmd.chat is not None
    s = reminder_settings(cmd.chat, cmd.settings.remind_days, cmd.settings.remind_time)
    default = " (ค่าเริ่มต้น)"
    lines = [
        f"การเตือนของ{_chat_word(cmd)}: {'เปิด' if s.enabled else 'ปิด'}",
        f"เตือน: {_days_text(s.days)}{default if s.days_default else ''}",
        f"เวลา: {format_time(s.time)} น.{default if s.time_default else ''}",
    ]
    if cmd.chat.agency is None:
        lines.append(
            f"{_chat_word(cmd)}ยังไม่ได้ผูกกับหน่วยงาน จึงยังไม่มีการเตือน (ผู้ดูแลใช้ /bind <ชื่อหน่วยงาน>)"
        )
    return "\n".join(lines)


def cmd_remind_show(cmd: Command, args: str) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    return Reply(_remind_state(cmd), quick_replies=("/remind on", "/remind off"))


def cmd_remind_usage(cmd: Command, args: str) -> Reply:
    problem = (
        f"ไม่รู้จักคำสั่งย่อย {_quoted(visible(clean_text(args.split()[0]), 20) or '')}" if args else None
    )
    return _usage("remind", problem)


def _set_enabled(cmd: Command, enabled: bool) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    cmd.chat.remind_enabled = enabled
    cmd.session.flush()
    where = _chat_word(cmd)
    if enabled:
        s = reminder_settings(cmd.chat, cmd.settings.remind_days, cmd.settings.remind_time)
        text = f"เปิดการเตือนใน{where}แล้ว: {_days_text(s.days)} เวลา {format_time(s.time)} น."
    else:
        text = f"ปิดการเตือนใน{where}แล้ว เปิดอีกครั้งด้วย /remind on"
    return Reply(text, "ok", f"chat {cmd.chat.id} reminders {'on' if enabled else 'off'}")


def cmd_remind_on(cmd: Command, args: str) -> Reply:
    return _set_enabled(cmd, True)


def cmd_remind_off(cmd: Command, args: str) -> Reply:
    return _set_enabled(cmd, False)


_DEFAULT_WORDS = {"default", "ค่าเริ่มต้น", "reset"}


def cmd_remind_days(cmd: Command, args: str) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    if not args:
        return _usage("remind", "ต้องระบุจำนวนวันก่อนปิด เช่น /remind days 7,3,1,0")
    where = _chat_word(cmd)
    if args.strip().lower() in _DEFAULT_WORDS:
        cmd.chat.remind_days = None
        cmd.session.flush()
        return Reply(
            f"ใช้วันเตือนค่าเริ่มต้นใน{where}แล้ว: {_days_text(cmd.settings.remind_days)}",
            "ok",
            f"chat {cmd.chat.id} remind days default",
        )
    raw = ",".join(p for p in re.split(r"[,\s]+", args.strip()) if p)
    try:
        days = parse_remind_days(raw)
    except ValueError:
        return _usage("remind", "จำนวนวันต้องเป็นตัวเลข 0 ถึง 60 คั่นด้วยจุลภาค เช่น 7,3,1,0 (0 คือวันที่ปิด)")
    if len(days) > MAX_REMIND_OFFSETS:
        return _usage(
            "remind", f"ตั้งวันเตือนได้ไม่เกิน {MAX_REMIND_OFFSETS} วัน (ทุกครั้งที่เตือนใช้โควตาข้อความ LINE)"
        )
    cmd.chat.remind_days = format_days(days)
    cmd.session.flush()
    return Reply(
        f"ตั้งวันเตือนของ{where}เป็น {_days_text(days)} แล้ว",
        "ok",
        f"chat {cmd.chat.id} remind days {format_days(days)}",
    )


def cmd_remind_time(cmd: Command, args: str) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    if not args:
        return _usage("remind", "ต้องระบุเวลา เช่น /remind time 08:30")
    where = _chat_word(cmd)
    if args.strip().lower() in _DEFAULT_WORDS:
        cmd.chat.remind_time = None
        cmd.session.flush()
        return Reply(
            f"ใช้เวลาเตือนค่าเริ่มต้นใน{where}แล้ว: {format_time(cmd.settings.remind_time)} น.",
            "ok",
            f"chat {cmd.chat.id} remind time default",
        )
    raw = re.sub(r"\s*(น\.?|นาฬิกา)$", "", args.strip())
    try:
        at = parse_remind_time(raw)
    except ValueError:
        return _usage("remind", "เวลาต้องอยู่ในรูป ชม:นาที เช่น 08:30")
    cmd.chat.remind_time = format_time(at)
    cmd.session.flush()
    return Reply(
        f"ตั้งเวลาเตือนของ{where}เป็น {format_time(at)} น. แล้ว",
        "ok",
        f"chat {cmd.chat.id} remind time {format_time(at)}",
    )


# --- the table -------------------------------------------------------------------------------

COMMANDS: dict[str, Spec | dict[str, Spec]] = {
    "whoami": Spec(cmd_whoami, admin=False),
    "help": Spec(cmd_help, admin=False),
    "agency": {
        "add": Spec(cmd_agency_add),
        "list": Spec(cmd_agency_list),
        "remove": Spec(cmd_agency_remove),
        "*": Spec(cmd_agency_usage),
    },
    "bind": Spec(cmd_bind),
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
