"""`/dashboard` (admins) and `/calendar` (a bound chat): hand out, and revoke, private links.

The link is the key, so it is only ever written in a reply to whoever asked, never logged or
audited. A province's page asked for in a group or room is given there too (the coordinator's
own group is a natural place for it; the admin chose to ask there), with a line saying that
every member can open it and how to end it. A calendar link belongs to the chat's agency, so it is given in the chat itself, group
or not. A new link replaces the previous one of the same province or chat.
"""

from __future__ import annotations

from sqlalchemy import select

from itabot.admin.agency import unknown_province
from itabot.admin.core import Command, Reply, _chat_word, _needs_chat
from itabot.calendars.names import resolve_province
from itabot.storage.models import Agency
from itabot.web.links import CALENDAR, DASHBOARD, calendar_url, dashboard_url, issue, revoke

ASK_PROVINCE = "ไม่ทราบจังหวัดของคุณ (แชทนี้ไม่ได้ผูกกับหน่วยงาน)\nระบุจังหวัดท้ายคำสั่ง เช่น /dashboard สุรินทร์"
SEEN_BY_THE_GROUP = "ทุกคนใน{where}เปิดลิงก์นี้ได้ (ขอในแชทส่วนตัวกับบอตหากไม่ต้องการให้กลุ่มเห็น)\n"
NOT_BOUND = (
    "{where}ยังไม่ได้ผูกกับหน่วยงาน จึงยังไม่มีปฏิทินให้\n"
    "ผูก{where}กับหน่วยงานก่อน (พิมพ์ /bind <รหัส> ที่ขอจากผู้ดูแล) แล้วพิมพ์ /calendar อีกครั้ง"
)
HOW_TO_SUBSCRIBE = (
    "เพิ่มในปฏิทินของโทรศัพท์ (สมัครรับจาก URL):\n"
    "• iPhone: การตั้งค่า › ปฏิทิน › บัญชี › เพิ่มบัญชี › อื่นๆ › เพิ่มปฏิทินที่สมัครรับ\n"
    "• Google Calendar (บนคอมพิวเตอร์): ปฏิทินอื่นๆ › + › จาก URL"
)


def _province(cmd: Command, args: str, example: str) -> tuple[str | None, Reply | None]:
    """The province named in `args`, else the one of the chat's agency, else the only province
    with agencies registered; or the reply that asks for one."""
    if args:
        province = resolve_province(args)
        return (province, None) if province else (None, unknown_province(args, example))
    if cmd.chat is not None and cmd.chat.coordinator_of:  # `/bind coordinator สุรินทร์`
        return cmd.chat.coordinator_of, None
    agency = cmd.chat.agency if cmd.chat is not None and cmd.chat.active else None
    if agency is not None:
        return agency.province, None
    provinces = cmd.session.scalars(select(Agency.province).distinct().limit(2)).all()
    if len(provinces) == 1:  # a deployment for one province: the admins' province is that one
        return provinces[0], None
    return None, Reply(ASK_PROVINCE, "invalid", "no province")


def cmd_dashboard(cmd: Command, args: str) -> Reply:
    province, problem = _province(cmd, args, "/dashboard {province}")
    if problem is not None:
        return problem
    assert province is not None
    token = issue(cmd.session, DASHBOARD, province, cmd.user_id)
    in_group = cmd.chat is not None and cmd.chat.type != "user"
    return Reply(
        f"หน้าสรุป ITA จังหวัด{province} (ลิงก์ส่วนตัว อย่าส่งต่อ):\n"
        f"{dashboard_url(cmd.settings, token)}\n\n"
        + (SEEN_BY_THE_GROUP.format(where=_chat_word(cmd)) if in_group else "")
        + "ลิงก์เดิมของจังหวัดนี้ (ถ้ามี) ใช้ไม่ได้แล้ว\n"
        f"ยกเลิกลิงก์นี้: /dashboard revoke {province}",
        "ok",
        f"dashboard link issued for {province}",
    )


def cmd_dashboard_revoke(cmd: Command, args: str) -> Reply:
    province, problem = _province(cmd, args, "/dashboard revoke {province}")
    if problem is not None:
        return problem
    assert province is not None
    if not revoke(cmd.session, DASHBOARD, province):
        return Reply(f"ไม่มีลิงก์หน้าสรุปของจังหวัด{province}ที่ใช้งานอยู่", "ok", "no dashboard link")
    return Reply(
        f"ยกเลิกลิงก์หน้าสรุปของจังหวัด{province}แล้ว ลิงก์เดิมเปิดไม่ได้อีก\nขอลิงก์ใหม่ได้ด้วย /dashboard {province}",
        "ok",
        f"dashboard link revoked for {province}",
    )


def _bound(cmd: Command) -> Reply | None:
    cmd.audited = True  # open to everyone in the chat, but who handed out a feed is kept
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    if cmd.chat.agency is None or not cmd.chat.active:
        return Reply(NOT_BOUND.format(where=_chat_word(cmd)), "invalid", "not bound")
    return None


def cmd_calendar(cmd: Command, args: str) -> Reply:
    if (problem := _bound(cmd)) is not None:
        return problem
    assert cmd.chat is not None and cmd.chat.agency is not None
    token = issue(cmd.session, CALENDAR, cmd.chat.id, cmd.user_id)
    where = _chat_word(cmd)
    return Reply(
        f"ปฏิทินกำหนดปิด ITA ของ {cmd.chat.agency.name} พร้อมการเตือนตามการตั้งค่าของ{where} "
        f"(ลิงก์สำหรับสมาชิก{where}เท่านั้น):\n{calendar_url(cmd.settings, token)}\n\n"
        f"{HOW_TO_SUBSCRIBE}\n\nลิงก์เดิมของ{where} (ถ้ามี) ใช้ไม่ได้แล้ว · ยกเลิกลิงก์: /calendar revoke",
        "ok",
        f"calendar link issued for chat {cmd.chat.id}",
    )


def cmd_calendar_revoke(cmd: Command, args: str) -> Reply:
    """Works in a chat unbound since the link was given: the link must still be ended."""
    cmd.audited = True
    if (problem := _needs_chat(cmd)) is not None:
        return problem
    assert cmd.chat is not None
    where = _chat_word(cmd)
    if not revoke(cmd.session, CALENDAR, cmd.chat.id):
        return Reply(f"{where}ไม่มีลิงก์ปฏิทินที่ใช้งานอยู่", "ok", "no calendar link")
    return Reply(
        f"ยกเลิกลิงก์ปฏิทินของ{where}แล้ว ปฏิทินที่สมัครรับไว้จะไม่อัปเดตอีก\nขอลิงก์ใหม่ได้ด้วย /calendar",
        "ok",
        f"calendar link revoked for chat {cmd.chat.id}",
    )


def cmd_calendar_usage(cmd: Command, args: str) -> Reply:
    cmd.audited = True
    return Reply(
        "วิธีใช้: /calendar — ลิงก์ปฏิทิน (.ics) ของหน่วยงาน\n/calendar revoke — ยกเลิกลิงก์",
        "invalid",
        "usage",
    )
