"""`/remind`: show a chat's reminder settings; admins turn them on or off and set days and time."""

from __future__ import annotations

import re

from itabot.admin.core import (
    Command,
    Reply,
    _chat_word,
    _needs_chat,
    _unknown_sub,
    _usage,
)
from itabot.config import parse_remind_days, parse_remind_time
from itabot.storage.chats import format_days, format_time, reminder_settings

MAX_REMIND_OFFSETS = 10  # each offset is a push per bound group: the LINE quota is small


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
            f"{_chat_word(cmd)}ยังไม่ได้ผูกกับหน่วยงาน จึงยังไม่มีการเตือน (พิมพ์ /bind <รหัส> ที่ขอจากผู้ดูแล)"
        )
    return "\n".join(lines)


def cmd_remind_show(cmd: Command, args: str) -> Reply:
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    return Reply(_remind_state(cmd), quick_replies=("/remind on", "/remind off"))


def cmd_remind_usage(cmd: Command, args: str) -> Reply:
    return _usage("remind", _unknown_sub(args))


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
