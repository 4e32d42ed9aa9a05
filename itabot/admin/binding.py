"""`/bind` and `/unbind`: tie a chat or group to a registered agency (by its name, or by the
agency's bind code: itabot.admin.bind_codes), or untie it."""

from __future__ import annotations

from itabot.admin.agency import _ambiguous, _not_found, find_agency
from itabot.admin.bind_codes import as_code, bind_with_code
from itabot.admin.core import (
    _FORBIDDEN_RE,
    Command,
    Reply,
    _agency_label,
    _chat_word,
    _needs_chat,
    _usage,
    bound_reply,
    refuse_unless_admin,
)
from itabot.storage.chats import bind_chat, unbind_chat

# --- /bind, /unbind --------------------------------------------------------------------------


CODE_HINT = "\nหรือขอรหัสผูกกลุ่มจากผู้ดูแล (/agency code) แล้วพิมพ์ /bind <รหัส> ในกลุ่มของหน่วยงาน"


def cmd_bind(cmd: Command, args: str) -> Reply:
    """`/bind K7QM-3XPA` (anyone, with a code) or `/bind <agency>` (admins)."""
    code = as_code(args)
    if code is not None:
        return bind_with_code(cmd, code)
    if (refusal := refuse_unless_admin(cmd, CODE_HINT)) is not None:
        return refusal
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
    return bound_reply(cmd, agency, bind_chat(cmd.session, cmd.chat, agency, cmd.user_id))


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
