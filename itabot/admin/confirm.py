"""A destructive command offered as a button asks first: one tap never deletes.

The buttons `/agency remove` suggests ("หมายถึงหน่วยงานเหล่านี้หรือไม่", a name in several
provinces) are postbacks that only ask: pressed, the bot answers with the agency, what removing
it undoes, and "ยืนยัน" / "ยกเลิก". Only "ยืนยัน" acts, by running the typed command
(`/agency remove <province> <name>`), so rights, audit and wording are the command's.

Both postbacks are signed like "✓ ทำแล้ว" (docs/decisions.md, "Done"), with a key of their own:
`ask:v1:agency-remove:<id>:<mac>` and `yes:v1:agency-remove:<id>:<expires>:<mac>`. The MAC
also covers the agency's name key, which is not in the data: an id reused by a new agency after
a removal (SQLite reuses the highest id) makes an old button invalid, not a way to delete the
new one. "ยืนยัน" expires CONFIRM_MINUTES after it was asked for; "ยกเลิก" needs no signature.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itabot.admin.core import ADMIN_NEEDED, Command, _agency_label, audit
from itabot.admin.signing import mac_matches, postback_mac
from itabot.conversation.answer import Answer
from itabot.storage.models import Agency, Chat

log = logging.getLogger(__name__)

CONFIRM_MINUTES = 10
CONFIRM_LABEL = "ยืนยันลบ"
CANCEL_LABEL = "ยกเลิก"
CANCEL_DATA = "no:v1"
CONFIRM = b"itabot confirm v1"  # the purpose of the confirmation buttons' key
_DATA_RE = re.compile(r"^(ask|yes):v1:(agency-remove):(\d{1,12})(?::(\d{1,12}))?:([\w-]{16})$")

FORGED = "ปุ่มยืนยันนี้ไม่ถูกต้องหรือหมดอายุแล้ว จึงไม่มีการเปลี่ยนแปลง\nพิมพ์คำสั่งอีกครั้ง เช่น /agency remove <ชื่อหน่วยงาน>"
CANCELLED = "ยกเลิกแล้ว ไม่มีการเปลี่ยนแปลง"


def is_confirm_postback(data: str | None) -> bool:
    return bool(data) and (data or "").startswith(("ask:v1:", "yes:v1:", CANCEL_DATA))


def _mac(secret: str, body: str, name_key: str) -> str:
    """Over the agency's name too: an old button cannot remove a new agency given its id."""
    return postback_mac(secret, CONFIRM, f"{body}\n{name_key}")


def ask_data(secret: str, agency: Agency) -> str | None:
    """The suggestion button's data; None without a secret (then no button is offered)."""
    if not secret:
        return None
    body = f"ask:v1:agency-remove:{agency.id}"
    return f"{body}:{_mac(secret, body, agency.name_key)}"


def yes_data(secret: str, agency: Agency, now: datetime) -> str:
    expires = int((now + timedelta(minutes=CONFIRM_MINUTES)).timestamp())
    body = f"yes:v1:agency-remove:{agency.id}:{expires}"
    return f"{body}:{_mac(secret, body, agency.name_key)}"


def _verified(session: Session, secret: str, data: str, now: datetime) -> tuple[str, Agency] | None:
    """(step, agency) for a genuine, unexpired postback; None for anything else."""
    match = _DATA_RE.match(data) if secret and len(data) <= 300 else None
    if match is None:
        return None
    step, _action, agency_id, expires, mac = match.groups()
    if (step == "yes") != (expires is not None):
        return None
    agency = session.get(Agency, int(agency_id))
    if agency is None:
        return None
    if not mac_matches(secret, CONFIRM, f"{data[: -len(mac) - 1]}\n{agency.name_key}", mac):
        return None
    if expires is not None and now.timestamp() > int(expires):
        return None
    return step, agency


def press(cmd: Command, data: str) -> Answer:
    """An "ask", "ยืนยัน" or "ยกเลิก" button pressed (by `cmd.user_id` in `cmd.chat`), in the
    caller's transaction."""
    session = cmd.session
    if data == CANCEL_DATA:
        return Answer(intent="command", text=CANCELLED, extra={"outcome": "ok"})
    secret = cmd.settings.line_channel_secret
    found = _verified(session, secret, data, cmd.now)
    if found is None:
        log.warning("confirmation refused: forged or expired data in chat %s", cmd.chat_id)
        audit(
            session,
            user_id=cmd.user_id,
            chat_id=cmd.chat_id,
            command=f"postback {data[:60]}",
            outcome="invalid",
            detail="forged or expired confirmation",
        )
        return Answer(intent="command", text=FORGED, extra={"outcome": "invalid"})
    step, agency = found
    command = f"/agency remove {agency.province} {agency.name}"
    if step == "yes":
        from itabot.admin.commands import execute  # the table imports this module's users

        return execute(
            session,
            cmd.settings,
            command,
            now=cmd.now,
            user_id=cmd.user_id,
            chat=cmd.chat,
            chat_id=cmd.chat_id,
            calendars=cmd.calendars,
        )
    if not cmd.is_admin:
        return Answer(
            intent="command",
            text=ADMIN_NEEDED.format(command="/agency remove"),
            extra={"outcome": "refused"},
        )
    bound = session.scalar(
        select(func.count()).select_from(Chat).where(Chat.agency_id == agency.id)
    )
    undone = f"\nแชทที่ผูกไว้ {bound} แชทจะถูกยกเลิกการผูก และหยุดการเตือน" if bound else ""
    text = (
        f"ลบหน่วยงาน {_agency_label(agency)} หรือไม่{undone}\n"
        f"กด {CONFIRM_LABEL} ภายใน {CONFIRM_MINUTES} นาที"
    )
    buttons = ((CONFIRM_LABEL, yes_data(secret, agency, cmd.now)), (CANCEL_LABEL, CANCEL_DATA))
    return Answer(intent="command", text=text, confirm=buttons, extra={"outcome": "ok"})
