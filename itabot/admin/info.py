"""Open commands for everyone: `/whoami` and `/help`."""

from __future__ import annotations

import re

from itabot.admin.core import Command, Reply, _agency_label

# /help's lines: (command, what follows it, what it does). The Thai names beside each command
# come from the alias table (admin.commands), so a new alias shows up here by itself. Short
# enough for one phone screen, admin lines included; the example questions are quick replies.
EVERYONE = (
    ("done", (), "OIT", 'ยืนยันว่าทำแล้ว หยุดเตือน (หรือพิมพ์ "ส่ง OIT แล้ว")'),
    ("undone", (), "OIT", "ยกเลิกการยืนยัน"),
    ("remind", (), "", "ดูการตั้งค่าการเตือน"),
    ("whoami", (), "", "รหัสของคุณ แชทนี้ผูกกับใคร"),
)
ADMINS = (
    ("agency", ("add",), "add สุรินทร์ อบต.คลองพา", "ลงทะเบียน"),
    ("agency", ("list", "remove"), "list|remove", ""),
    ("bind", (), "<หน่วยงาน>", ""),
    ("unbind", (), "", ""),
    ("remind", ("on", "off"), "on|off", ""),
    ("remind", ("days", "time"), "days 7,3,1,0 | time 08:30", ""),
    ("admin", ("add", "remove", "list"), "add|remove|list", ""),
    ("status", (), "[OIT] [จังหวัด]", "ใครยังไม่ยืนยัน"),
)
_THAI_RE = re.compile(r"[\u0e00-\u0e7f]")


def _thai_names(word: str, aliases: dict[str, str]) -> list[str]:
    return [alias for alias, target in aliases.items() if target == word and _THAI_RE.search(alias)]


def help_line(command: str, subs: tuple[str, ...], args: str, what: str) -> str:
    """ "/agency list|remove (/หน่วยงาน รายชื่อ|ลบ)": the command, then what may be typed
    instead in Thai, from the alias tables."""
    from itabot.admin.commands import ALIASES, SUB_ALIASES  # the table imports this module

    thai = ", ".join(f"/{alias}" for alias in _thai_names(command, ALIASES))
    thai_subs = [(_thai_names(sub, SUB_ALIASES) or [sub])[0] for sub in subs]
    if thai and thai_subs:
        thai += " " + "|".join(thai_subs)
    line = f"/{command} {args}".rstrip() + (f" ({thai})" if thai else "")
    return f"{line} — {what}" if what else line


def help_text(is_admin: bool) -> str:
    lines = [
        "ถามเป็นภาษาไทยได้เลย เช่น OIT ปิดวันไหน (ปุ่มด้านล่าง)",
        *(help_line(*row) for row in EVERYONE),
    ]
    if is_admin:
        lines += ["", "ผู้ดูแล:", *(help_line(*row) for row in ADMINS)]
    return "\n".join(lines)


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
    from itabot.conversation.replies import EXAMPLE_QUESTIONS

    return Reply(help_text(cmd.is_admin), quick_replies=(*EXAMPLE_QUESTIONS[:4], "/whoami"))
