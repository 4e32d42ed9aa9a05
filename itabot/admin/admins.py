"""`/admin add|remove|list`: admins granted by chat, next to the initial ITABOT_ADMIN_IDS."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from itabot.admin.core import Command, Reply, _group_usage, _quoted, _usage, visible
from itabot.calendars.names import clean_text
from itabot.storage.chats import LINE_USER_ID_RE
from itabot.storage.models import Admin

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
    return _group_usage(args, ("admin add", "admin remove", "admin list"))


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
    from itabot.calendars.thai_dates import BANGKOK, format_date_short

    rows = list(cmd.session.scalars(select(Admin).order_by(Admin.granted_at)))
    lines = [f"ผู้ดูแล {len(cmd.settings.admin_ids) + len(rows)} คน"]
    lines += [f"• {uid} (ตั้งต้นจาก ITABOT_ADMIN_IDS)" for uid in sorted(cmd.settings.admin_ids)]
    for row in rows:
        when = row.granted_at if row.granted_at.tzinfo else row.granted_at.replace(tzinfo=UTC)
        day = format_date_short(when.astimezone(BANGKOK).date())
        lines.append(f"• {row.user_id} (เพิ่มโดย {row.granted_by or '-'} เมื่อ {day})")
    return Reply("\n".join(lines), "ok", "list")
