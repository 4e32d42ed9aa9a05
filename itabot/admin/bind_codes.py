"""Bind codes: the coordinator hands an agency a code, anyone in its LINE group binds the group.

`/agency code <agency>` (admins) makes a code such as `K7QM-3XPA`: 8 characters from an
alphabet without look-alikes (no 0/O, 1/I), typed on a phone in seconds, 40 bits — with
5 wrong guesses an hour per chat, guessing one of a province's live codes is out of reach
(docs/decisions.md, "Bind codes"). Only an HMAC of the code is stored, keyed from the channel
secret, so a copy of the database binds nothing. A code lives 7 days, binds one group or room
once, and a new code for the agency replaces the old one.

`/bind <code>` needs no admin: the code is the coordinator's consent. It is refused in a 1:1
chat without being looked at (reminders go to the agency's group; a code spent on someone's
private chat would leave the group without one). A wrong, used or expired code changes nothing
but counts against the chat's guesses (`BindGuess` rows, so the limit holds across workers).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from itabot.admin.agency import _ambiguous, _not_found, find_agency
from itabot.admin.core import (
    Command,
    Reply,
    _agency_label,
    _chat_word,
    _needs_chat,
    _usage,
    bound_reply,
)
from itabot.admin.signing import derived_key
from itabot.calendars.thai_dates import BANGKOK, format_date_short
from itabot.storage.chats import bind_chat
from itabot.storage.models import Agency, BindCode, BindGuess

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 5 bits each, no 0/O or 1/I
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(days=7)
MAX_WRONG_GUESSES = 5
GUESS_WINDOW = timedelta(hours=1)
MASKED_COMMAND = "/bind <รหัส>"  # what the audit log keeps instead of a code typed

# 8 Latin letters or digits, optionally split in the middle by one `-` or space, after an
# optional "รหัส"/"code": agency names are Thai, so nothing else a coordinator types looks so.
_CODE_RE = re.compile(r"^(?:รหัส|CODE)?\s*([A-Z0-9]{4})[\s-]?([A-Z0-9]{4})$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """`K7QM3XPA` → `K7QM-3XPA`: two groups of four read out over the phone without a slip."""
    return f"{code[:4]}-{code[4:]}"


def as_code(args: str) -> str | None:
    """The code in `/bind …`'s arguments (upper-cased, full-width letters folded), or None when
    they are not code-shaped (then they name an agency)."""
    text = unicodedata.normalize("NFKC", args).strip()
    match = _CODE_RE.match(text.upper())
    return None if match is None else match.group(1) + match.group(2)


def code_hash(secret: str, code: str) -> str:
    """HMAC-SHA256 with a key derived from the channel secret (as the done buttons' MAC is),
    so codes and postbacks never share a key. Without a secret (a local try-out) the key is
    still fixed per deployment: codes work, and a copy of the database is as guessable as
    the codes themselves."""
    key = derived_key(secret, b"itabot bind code v1")
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _utc(dt: datetime) -> datetime:
    """SQLite hands timestamps back naive (they are stored in UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# --- /agency code ----------------------------------------------------------------------------


def cmd_agency_code(cmd: Command, args: str) -> Reply:
    if not args:
        return _usage("agency code", "ต้องระบุชื่อหน่วยงาน")
    lookup = find_agency(cmd.session, args)
    if lookup.ambiguous:
        return _ambiguous(lookup, "agency code")
    if lookup.agency is None:
        return _not_found(lookup, "agency code")
    agency = lookup.agency
    code = new_code()
    now = _utc(cmd.now)
    expires = now + CODE_LIFETIME
    replaced = cmd.session.execute(delete(BindCode).where(BindCode.agency_id == agency.id))
    cmd.session.add(
        BindCode(
            agency_id=agency.id,
            code_hash=code_hash(cmd.settings.line_channel_secret, code),
            created_by=cmd.user_id,
            created_at=now,
            expires_at=expires,
        )
    )
    cmd.session.flush()
    until = expires.astimezone(BANGKOK)
    old = "\nรหัสเดิมของหน่วยงานนี้ใช้ไม่ได้แล้ว" if replaced.rowcount else ""
    return Reply(
        f"รหัสผูกกลุ่มของ {_agency_label(agency)}\n{shown(code)}\n"
        f"ใช้ได้ครั้งเดียว ถึง {format_date_short(until.date())} เวลา {until:%H.%M} น.{old}\n"
        "ส่งรหัสนี้ให้หน่วยงาน แล้วให้สมาชิกคนใดก็ได้พิมพ์ในกลุ่ม LINE ของหน่วยงานที่มีบอตอยู่:\n"
        f"/bind {shown(code)}",
        "ok",
        f"bind code for agency {agency.id}, expires {expires.isoformat()}"
        + (" (replaced the previous code)" if replaced.rowcount else ""),
    )


# --- /bind <code> ----------------------------------------------------------------------------


def bind_with_code(cmd: Command, code: str) -> Reply:
    """Bind the chat with a code: anyone may, in a group or room, within the guess limit."""
    cmd.audited = True
    cmd.text = MASKED_COMMAND  # a code refused in a 1:1 chat is still live: never log one
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    if cmd.chat.type == "user":
        return Reply(
            "รหัสผูกกลุ่มใช้ในกลุ่มหรือห้อง LINE ของหน่วยงานเท่านั้น เพราะการเตือนส่งเข้ากลุ่ม\n"
            f"เชิญบอตเข้ากลุ่มของหน่วยงาน แล้วพิมพ์ /bind {shown(code)} ในกลุ่มนั้น "
            "(รหัสนี้ยังไม่ถูกใช้)",
            "invalid",
            "bind code in a 1:1 chat: not looked at",
        )
    now = _utc(cmd.now)
    guesses, held = _guesses(cmd.session, cmd.chat.id, now)
    if held is not None:
        return held
    secret = cmd.settings.line_channel_secret
    row = cmd.session.scalar(select(BindCode).where(BindCode.code_hash == code_hash(secret, code)))
    if row is not None and cmd.chat.agency_id == row.agency_id:
        left = "" if row.used_at else " (รหัสยังไม่ถูกใช้ ใช้ผูกกลุ่มอื่นของหน่วยงานได้)"
        return Reply(
            f"{_chat_word(cmd)}ผูกกับ {_agency_label(cmd.chat.agency)} อยู่แล้ว{left}",
            "ok",
            f"bind code: already bound to agency {row.agency_id}",
        )
    used = f"รหัส {shown(code)} ถูกใช้ผูกกลุ่มอื่นไปแล้ว (รหัสใช้ได้ครั้งเดียว)", "used"
    if row is None:
        problem, detail = f"รหัส {shown(code)} ไม่ถูกต้อง", "wrong"
    elif row.used_at is not None:
        problem, detail = used
    elif _utc(row.expires_at) <= now:
        problem, detail = f"รหัส {shown(code)} หมดอายุแล้ว (รหัสใช้ได้ 7 วัน)", "expired"
    elif _spend(cmd, row.agency_id, now):
        agency = cmd.session.get(Agency, row.agency_id)
        assert agency is not None
        previous = bind_chat(cmd.session, cmd.chat, agency, cmd.user_id)
        return bound_reply(cmd, agency, previous, " by code")
    else:  # another group spent it a moment ago
        problem, detail = used
    return _wrong_guess(cmd, now, problem, detail, MAX_WRONG_GUESSES - guesses - 1)


def _guesses(session: Session, chat_id: str, now: datetime) -> tuple[int, Reply | None]:
    """The chat's failed guesses in the last hour, and the refusal when they are used up."""
    count, oldest = session.execute(
        select(func.count(), func.min(BindGuess.at)).where(
            BindGuess.chat_id == chat_id, BindGuess.at > now - GUESS_WINDOW
        )
    ).one()
    if count < MAX_WRONG_GUESSES:
        return count, None
    wait = _utc(oldest) + GUESS_WINDOW - now
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return count, Reply(
        f"ลองรหัสไม่สำเร็จครบ {MAX_WRONG_GUESSES} ครั้งในหนึ่งชั่วโมงแล้ว "
        f"กรุณารออีก {minutes} นาทีแล้วลองใหม่ และตรวจรหัสกับผู้ดูแลอีกครั้ง\nไม่มีการเปลี่ยนแปลง",
        "refused",
        "bind code: too many wrong guesses",
    )


def _spend(cmd: Command, agency_id: int, now: datetime) -> bool:
    """Mark the code used by this chat; False when another chat got there first (the
    conditional UPDATE lets exactly one of two simultaneous uses through)."""
    assert cmd.chat is not None
    spent = cmd.session.execute(
        update(BindCode)
        .where(BindCode.agency_id == agency_id, BindCode.used_at.is_(None))
        .values(used_at=now, used_by=cmd.user_id, used_in=cmd.chat.id)
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1


def _wrong_guess(cmd: Command, now: datetime, problem: str, detail: str, tries_left: int) -> Reply:
    """Count the guess (and forget this chat's guesses older than the window)."""
    assert cmd.chat is not None
    cmd.session.execute(
        delete(BindGuess).where(
            BindGuess.chat_id == cmd.chat.id, BindGuess.at <= now - GUESS_WINDOW
        )
    )
    cmd.session.add(BindGuess(chat_id=cmd.chat.id, at=now))
    cmd.session.flush()
    left = (
        f"ลองได้อีก {tries_left} ครั้งในชั่วโมงนี้" if tries_left > 0 else "ลองครบแล้ว ลองใหม่ได้ในอีกหนึ่งชั่วโมง"
    )
    return Reply(
        f"{problem}\nไม่มีการเปลี่ยนแปลง ขอรหัสใหม่หรือตรวจรหัสกับผู้ดูแลระบบ ({left})",
        "invalid",
        f"bind code: {detail}",
    )
