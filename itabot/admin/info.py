"""Open commands for everyone: `/whoami` and `/help`."""

from __future__ import annotations

from itabot.admin.core import Command, Reply, _agency_label

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
    "/remind — ดูการตั้งค่าการเตือน\n"
    "/status [OIT] [จังหวัด] — หน่วยงานที่ยังไม่ยืนยันว่าทำแล้ว ในแต่ละกำหนดปิด\n"
    "/nudge OIT [จังหวัด] — เตือนเพิ่มเฉพาะหน่วยงานที่ยังไม่ยืนยัน (แสดงค่าใช้จ่ายก่อนส่ง)\n"
    "/bind coordinator สุรินทร์ — แชทนี้รับสรุปประจำสัปดาห์ของจังหวัด (วันจันทร์ 08.30 น.)\n"
    "/quota — โควตาข้อความ LINE เดือนนี้: แผนส่งตามวัน และการเตือนที่งดส่ง"
)


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

    examples = "\n".join(f"• {q}" for q in EXAMPLE_QUESTIONS)
    parts = [
        f"ถามกำหนดการประเมิน ITA ได้เลย เช่น\n{examples}",
        "คำสั่งสำหรับทุกคน:\n/whoami — ดู user id ของคุณและหน่วยงานที่แชทนี้ผูกอยู่\n"
        "/remind — ดูการตั้งค่าการเตือนของแชทนี้\n"
        '/done OIT หรือ "ส่ง OIT แล้ว" — ยืนยันว่าหน่วยงานทำขั้นตอนนี้แล้ว (หยุดเตือน)\n'
        "/done — ขั้นตอนที่ยืนยันได้ตอนนี้  /undone OIT — ยกเลิกการยืนยัน\n/help — วิธีใช้",
    ]
    if cmd.is_admin:
        parts.append(ADMIN_HELP)
    return Reply("\n\n".join(parts), quick_replies=(*EXAMPLE_QUESTIONS[:4], "/whoami"))


def cmd_quota(cmd: Command, _args: str) -> Reply:
    """The month as the dispatcher last planned it (a snapshot, not a call to LINE: a reply
    must not wait on LINE's quota endpoints, and the plan is only remade when a push is due)."""
    from itabot.reminders.budget import plan_text, read_snapshot

    snap = read_snapshot(cmd.session, cmd.now)
    if snap is None:
        return Reply(
            "เดือนนี้ยังไม่มีแผนการแจ้งเตือนตามโควตา (ยังไม่มีการเตือนที่ถึงกำหนด "
            "หรือบัญชี LINE ไม่จำกัดจำนวนข้อความ)",
            detail="no plan this month",
        )
    return Reply(plan_text(snap), detail=f"remaining={snap['remaining']}")
