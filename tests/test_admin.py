"""The provincial coordinator runs the bot from LINE with chat commands: agencies, bindings,
admins, reminder settings. Bad input gets a clear Thai answer, changes nothing, and every admin
action — done, refused or invalid — is in the audit log. (SQLite and PostgreSQL.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from itabot.admin.agency import MAX_NAME_CHARS, check_name
from itabot.admin.commands import parse_command
from itabot.router import handle_message
from itabot.storage import db
from itabot.storage.models import Admin, Agency, AuditLog, Chat
from tests.conftest import bkk

ADMIN = "Uad000000000000000000000000000001"  # ITABOT_ADMIN_IDS in the `settings` fixture
STAFF = "U" + "1" * 32
OTHER = "U" + "2" * 32
GROUP = "C" + "a" * 32
ROOM = "R" + "b" * 32
NOW = bkk(2026, 6, 20, 9, 0)


def say(services, text, *, user=ADMIN, group=None, room=None):
    chat_id = group or room or user
    chat_type = "group" if group else "room" if room else "user"
    return handle_message(
        text, services=services, now=NOW, user_id=user, chat_id=chat_id, chat_type=chat_type
    )


def agencies(services) -> list[tuple[str, str, str | None]]:
    with db.session_scope(services.settings.database_url) as session:
        rows = session.execute(
            select(Agency.province, Agency.name, Agency.kind).order_by(Agency.id)
        ).all()
        return [tuple(r) for r in rows]


def audit_rows(services) -> list[AuditLog]:
    with db.session_scope(services.settings.database_url) as session:
        return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def chat(services, chat_id) -> Chat | None:
    with db.session_scope(services.settings.database_url) as session:
        row = session.get(Chat, chat_id)
        if row is not None:
            _ = row.agency
        return row


# --- /agency add -------------------------------------------------------------------------------


def test_admin_adds_an_agency_with_its_name_spelt_out(services):
    reply = say(services, "/agency add สุรินทร์ อบต.คลองพา")
    assert reply.intent == "command"
    assert 'เพิ่มหน่วยงาน "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in reply.text
    assert agencies(services) == [("สุรินทร์", "องค์การบริหารส่วนตำบลคลองพา", "อบต")]
    [row] = audit_rows(services)
    assert (row.user_id, row.chat_id, row.outcome) == (ADMIN, ADMIN, "ok")
    assert row.command == "/agency add สุรินทร์ อบต.คลองพา"


@pytest.mark.parametrize(
    "written", ["จ.สุรินทร์", "จังหวัดสุรินทร์", "จ. สุรินทร์", "จังหวัด สุรินทร์", "สร", "Surin"]
)
def test_province_may_be_written_with_prefix_or_abbreviation(services, written):
    reply = say(services, f"/agency add {written} เทศบาลตำบลคึกคัก")
    assert "จังหวัดสุรินทร์ แล้ว" in reply.text
    assert agencies(services) == [("สุรินทร์", "เทศบาลตำบลคึกคัก", "ทต")]


def test_province_glued_to_the_name_is_still_read(services):
    reply = say(services, "/agency add สุรินทร์อบต.คลองพา")
    assert 'เพิ่มหน่วยงาน "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in reply.text


def test_name_may_contain_spaces_everything_after_province_is_the_name(services):
    say(services, "/agency add สระบุรี สำนักงานสาธารณสุข จังหวัดสระบุรี")
    assert agencies(services) == [("สระบุรี", "สำนักงานสาธารณสุข จังหวัดสระบุรี", None)]


def test_typo_province_suggests_surin(services):
    reply = say(services, "/agency add สุรินทท์ อบต.ตัวอย่าง")
    assert "ไม่พบจังหวัด" in reply.text and "สุรินทท์" in reply.text
    assert "สุรินทร์" in reply.text
    assert agencies(services) == []
    [row] = audit_rows(services)
    assert row.outcome == "invalid" and "สุรินทร์" in row.detail


@pytest.mark.parametrize(
    "again",
    [
        "/agency add สุรินทร์ องค์การบริหารส่วนตำบลคลองพา",
        "/agency add จ.สุรินทร์ อบต. คลองพา",
        "/agency add สุรินทร์ อบต คลอง พา",
        "/agency add สุรินทร์ อบต.คลองพา",
    ],
)
def test_duplicate_agency_says_it_already_exists(services, again):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    reply = say(services, again)
    assert 'มีหน่วยงาน "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ อยู่แล้ว' in reply.text
    assert len(agencies(services)) == 1
    assert [r.outcome for r in audit_rows(services)] == ["ok", "invalid"]


def test_thai_digits_in_a_name_are_the_same_agency(services):
    say(services, "/agency add สุรินทร์ เทศบาลตำบลหมู่ ๑")
    reply = say(services, "/agency add สุรินทร์ ทต.หมู่ 1")
    assert "อยู่แล้ว" in reply.text
    assert len(agencies(services)) == 1


def test_same_name_in_another_province_is_another_agency(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    reply = say(services, "/agency add สระบุรี อบต.คลองพา")
    assert "จังหวัดสระบุรี แล้ว" in reply.text
    assert [a[0] for a in agencies(services)] == ["สุรินทร์", "สระบุรี"]


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("/agency add", "/agency add <จังหวัด> <ชื่อหน่วยงาน>"),
        ("/agency add สุรินทร์", "/agency add <จังหวัด> <ชื่อหน่วยงาน>"),
        ("/agency", "/agency add สุรินทร์ อบต.คลองพา"),
        ("/agency remove", "/agency remove <ชื่อหน่วยงาน>"),
        ("/bind", "/bind <ชื่อหน่วยงาน>"),
        ("/admin add", "/admin add <user id>"),
        ("/remind days", "/remind days 7,3,1,0"),
        ("/remind time", "/remind time 08:30"),
    ],
)
def test_missing_argument_gets_usage_with_an_example(services, text, usage):
    reply = say(services, text, group=GROUP)
    assert "วิธีใช้" in reply.text and usage in reply.text
    assert agencies(services) == []
    assert audit_rows(services)[-1].outcome == "invalid"


def test_over_long_name_is_refused(services):
    reply = say(services, "/agency add สุรินทร์ " + "ก" * (MAX_NAME_CHARS + 1))
    assert f"ยาวเกิน {MAX_NAME_CHARS} ตัวอักษร" in reply.text
    assert agencies(services) == []


@pytest.mark.parametrize(
    "name",
    [
        "x'); DROP TABLE agency;--",
        "<script>alert(1)</script>",
        'อบต."ตัวอย่าง"',
        "อบต.ตัวอย่าง\x00",
        "อบต.\u202eตัวอย่าง",
        "อบต.ตัวอย่าง\x1b[31m",
    ],
)
def test_injection_attempts_are_refused_and_tables_intact(services, name):
    reply = say(services, f"/agency add สุรินทร์ {name}")
    assert reply.intent == "command"
    assert "ใช้ไม่ได้" in reply.text or "อักขระควบคุม" in reply.text
    assert agencies(services) == []
    [row] = audit_rows(services)
    assert row.outcome == "invalid"
    assert "\x00" not in row.command and "\u202e" not in row.command  # shown as escapes
    say(services, "/agency add สุรินทร์ อบต.ตัวอย่างหลังโจมตี")
    assert agencies(services) == [("สุรินทร์", "องค์การบริหารส่วนตำบลตัวอย่างหลังโจมตี", "อบต")]


def test_a_pasted_list_adds_one_agency_per_line(services):
    say(services, "/agency add สุรินทร์ ทต.คึกคัก")
    reply = say(
        services,
        "/agency add จ.สุรินทร์\nอบต.คลองพา\nอบต.หนองพลับ\nเทศบาลตำบลคึกคัก\nอบต.<ผิด>\nอบต. คลองพา",
    )
    assert "เพิ่มหน่วยงานจังหวัดสุรินทร์ 2 แห่งแล้ว" in reply.text
    assert "• องค์การบริหารส่วนตำบลหนองพลับ" in reply.text
    assert "มีอยู่แล้ว 2 แห่ง" in reply.text and "เทศบาลตำบลคึกคัก" in reply.text
    assert "ไม่ได้เพิ่ม 1 รายการ" in reply.text and "อบต.<ผิด>" in reply.text
    assert [a[1] for a in agencies(services)] == [
        "เทศบาลตำบลคึกคัก",
        "องค์การบริหารส่วนตำบลคลองพา",
        "องค์การบริหารส่วนตำบลหนองพลับ",
    ]
    assert audit_rows(services)[-1].outcome == "ok"


def test_zero_width_spaces_from_copied_text_are_dropped(services):
    say(services, "/agency add สุรินทร์ อบต.\u200bคลอง\u200bพา")
    assert agencies(services) == [("สุรินทร์", "องค์การบริหารส่วนตำบลคลองพา", "อบต")]


@given(name=st.text(max_size=150))
@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_name_is_refused_or_stored_as_clean_plain_text(services, name):
    reply = say(services, f"/agency add สุรินทร์ {name}")
    assert reply.intent == "command" and reply.text
    for _province, stored, _kind in agencies(services):
        assert check_name(stored)[0] == stored  # what is stored passes its own check unchanged


@given(raw=st.text(max_size=200))
def test_check_name_never_lets_control_or_markup_through(raw):
    name, problem = check_name(raw)
    if name is None:
        return
    assert problem is None
    assert len(name) <= MAX_NAME_CHARS + 25  # an abbreviation spelt out is a little longer
    assert not any(ch in name for ch in "<>'\";`\x00\u202e\n\t")


# --- non-admins --------------------------------------------------------------------------------


def test_non_admin_cannot_add_agency(services):
    reply = say(services, "/agency add สุรินทร์ อบต.คลองพา", user=STAFF, group=GROUP)
    assert "เฉพาะผู้ดูแล" in reply.text and "/whoami" in reply.text
    assert agencies(services) == []
    [row] = audit_rows(services)
    assert (row.user_id, row.chat_id, row.outcome) == (STAFF, GROUP, "refused")
    assert row.command == "/agency add สุรินทร์ อบต.คลองพา"


@pytest.mark.parametrize(
    "text",
    [
        "/unbind",
        "/bind อบต.คลองพา",
        f"/admin add {OTHER}",
        "/admin list",
        "/agency list",
        "/agency remove อบต.คลองพา",
        "/remind off",
        "/remind days 1",
        "/remind time 07:00",
    ],
)
def test_non_admin_is_refused_and_nothing_changes(services, text):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/bind อบต.คลองพา", group=GROUP)
    reply = say(services, text, user=STAFF, group=GROUP)
    assert "ใช้ได้เฉพาะผู้ดูแลระบบ" in reply.text
    group = chat(services, GROUP)
    assert group.agency.name == "องค์การบริหารส่วนตำบลคลองพา"
    assert group.remind_enabled is True and group.remind_days is None and group.remind_time is None
    assert len(agencies(services)) == 1
    with db.session_scope(services.settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Admin)) == 0
    assert audit_rows(services)[-1].outcome == "refused"


def test_sender_without_user_id_cannot_run_admin_commands(services):
    reply = handle_message(
        "/agency add สุรินทร์ อบต.คลองพา", services=services, now=NOW, chat_id=GROUP, chat_type="group"
    )
    assert "user id" in reply.text
    assert agencies(services) == []
    assert audit_rows(services)[-1].outcome == "refused"


# --- /whoami, /help, unknown -------------------------------------------------------------------


def test_whoami_shows_ids_role_and_binding(services):
    reply = say(services, "/whoami", user=STAFF, group=GROUP)
    assert STAFF in reply.text and GROUP in reply.text
    assert "กลุ่ม" in reply.text and "ผู้ใช้ทั่วไป" in reply.text
    assert "ยังไม่ได้ผูก" in reply.text
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/bind อบต.คลองพา", group=GROUP)
    reply = say(services, "/whoami", group=GROUP)
    assert "ผู้ดูแล" in reply.text and "ITABOT_ADMIN_IDS" in reply.text
    assert 'ผูกกับ: "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์' in reply.text
    assert audit_rows(services)[-1].command == "/bind อบต.คลองพา"  # /whoami is not audited


def test_whoami_is_case_insensitive_and_works_in_a_room(services):
    reply = say(services, "/WhoAmI", user=STAFF, room=ROOM)
    assert "ห้องแชท (room)" in reply.text and ROOM in reply.text


def test_help_by_role(services):
    staff = say(services, "/help", user=STAFF)
    admin = say(services, "/help")
    for reply in (staff, admin):
        assert "OIT ปิดวันไหน" in reply.text and "/whoami" in reply.text
    assert "/agency add" not in staff.text and "/help admin" not in staff.text
    assert "/help admin" in admin.text and "/help admin" in admin.quick_replies
    admin_commands = say(services, "/help admin").text
    assert "/agency add สุรินทร์ อบต.คลองพา" in admin_commands
    assert "/remind days 7,3,1,0" in admin_commands
    assert "/agency add" not in say(services, "/help admin", user=STAFF).text


def test_unknown_command_gets_a_hint_listing_the_commands(services):
    reply = say(services, "/agnecy list", user=STAFF)
    assert reply.intent == "command"
    assert "ไม่รู้จักคำสั่ง /agnecy" in reply.text and "หมายถึง /agency" in reply.text
    for name in ("/help", "/whoami", "/bind", "/remind"):
        assert name in reply.text


def test_full_width_slash_and_zero_width_space_are_still_commands(services):
    assert "user id ของคุณ" in say(services, "／whoami").text
    assert "user id ของคุณ" in say(services, "\u200b/whoami").text


def test_command_after_mentioning_the_bot_in_a_group(services):
    reply = say(services, "@ITA Bot /whoami", user=STAFF, group=GROUP)
    assert reply.intent == "command" and STAFF in reply.text
    assert say(services, "@ITA Bot OIT ปิดวันไหน", user=STAFF, group=GROUP).intent != "command"


def test_parse_command_splits_name_and_arguments():
    assert parse_command("/Agency  add  สุรินทร์ อบต.x") == ("agency", "add  สุรินทร์ อบต.x")
    assert parse_command("/bind\nอบต.คลองพา") == ("bind", "อบต.คลองพา")
    assert parse_command("/") == ("", "")


# --- /agency list, remove ----------------------------------------------------------------------


def test_agency_list_by_province_with_bound_chats(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/agency add สุรินทร์ ทต.คึกคัก")
    say(services, "/agency add สระบุรี อบต.หนองพลับ")
    say(services, "/bind อบต.คลองพา", group=GROUP)
    everything = say(services, "/agency list")
    assert "3 แห่ง" in everything.text and "จังหวัดสระบุรี" in everything.text
    surin = say(services, "/agency list จ.สุรินทร์")
    assert "2 แห่ง (จังหวัดสุรินทร์)" in surin.text
    assert "• องค์การบริหารส่วนตำบลคลองพา — ผูก 1 แชท" in surin.text
    assert "หนองพลับ" not in surin.text
    typo = say(services, "/agency list สุรินทท์")
    assert "สุรินทร์" in typo.text and "ไม่พบจังหวัด" in typo.text


def test_agency_list_pages_long_lists(services):
    with db.session_scope(services.settings.database_url) as session:
        for i in range(70):
            session.add(
                Agency(province="สุรินทร์", name=f"อบต.ทดสอบ{i:03d}", name_key=f"อบตทดสอบ{i:03d}")
            )
    first = say(services, "/agency list สุรินทร์")
    assert "70 แห่ง" in first.text and "/agency list สุรินทร์ 2" in first.text
    second = say(services, "/agency list สุรินทร์ 2")
    assert "อบต.ทดสอบ069" in second.text and "อบต.ทดสอบ000" not in second.text


def test_removing_an_agency_unbinds_its_groups_and_says_so(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/bind อบต.คลองพา", group=GROUP)
    reply = say(services, "/agency remove อบต. คลองพา")
    assert 'ลบหน่วยงาน "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in reply.text
    assert "ยกเลิกการผูก 1 แชท" in reply.text
    assert agencies(services) == []
    assert chat(services, GROUP).agency_id is None
    assert GROUP in audit_rows(services)[-1].detail  # which chats lost their binding


# --- /bind, /unbind ----------------------------------------------------------------------------


def test_admin_binds_a_group(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    reply = say(services, "/bind อบต.คลองพา", group=GROUP)
    assert 'ผูกกลุ่มนี้กับ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in reply.text
    group = chat(services, GROUP)
    assert group.agency.name == "องค์การบริหารส่วนตำบลคลองพา" and group.bound_by == ADMIN
    assert audit_rows(services)[-1].chat_id == GROUP


def test_admin_binds_their_own_one_to_one_chat(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    reply = say(services, "/bind องค์การบริหารส่วนตำบลคลองพา")
    assert "ผูกแชทนี้กับ" in reply.text
    assert chat(services, ADMIN).agency.province == "สุรินทร์"


def test_rebinding_names_the_previous_agency(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/agency add สุรินทร์ ทต.คึกคัก")
    say(services, "/bind อบต.คลองพา", group=GROUP)
    reply = say(services, "/bind ทต.คึกคัก", group=GROUP)
    assert 'เดิมผูกกับ "องค์การบริหารส่วนตำบลคลองพา"' in reply.text
    assert chat(services, GROUP).agency.name == "เทศบาลตำบลคึกคัก"


def test_binding_to_a_missing_agency_suggests_close_names(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    reply = say(services, "/bind อบต.คลองพ", group=GROUP)
    assert "ไม่พบหน่วยงาน" in reply.text
    assert "องค์การบริหารส่วนตำบลคลองพา (จังหวัดสุรินทร์)" in reply.text
    assert any(q.startswith("/bind") for q in reply.quick_replies)
    assert chat(services, GROUP).agency_id is None
    assert audit_rows(services)[-1].outcome == "invalid"


def test_same_name_in_two_provinces_asks_which_then_accepts_either_order(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/agency add สระบุรี อบต.คลองพา")
    reply = say(services, "/bind อบต.คลองพา", group=GROUP)
    assert "หลายจังหวัด" in reply.text and "สุรินทร์" in reply.text and "สระบุรี" in reply.text
    assert chat(services, GROUP).agency_id is None
    say(services, "/bind สระบุรี อบต.คลองพา", group=GROUP)
    assert chat(services, GROUP).agency.province == "สระบุรี"
    say(services, "/bind อบต.คลองพา จ.สุรินทร์", group=GROUP)
    assert chat(services, GROUP).agency.province == "สุรินทร์"


def test_unbind(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา")
    say(services, "/bind อบต.คลองพา", group=GROUP)
    reply = say(services, "/unbind", group=GROUP)
    assert 'ยกเลิกการผูกกลุ่มนี้กับ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in reply.text
    assert chat(services, GROUP).agency_id is None
    again = say(services, "/unbind", group=GROUP)
    assert "ยังไม่ได้ผูก" in again.text


# --- /admin ------------------------------------------------------------------------------------


def test_admin_grants_admin_who_can_then_add_agencies(services):
    reply = say(services, f"/admin add {STAFF}")
    assert f"เพิ่ม {STAFF} เป็นผู้ดูแลแล้ว" in reply.text
    added = say(services, "/agency add สุรินทร์ อบต.คลองพา", user=STAFF)
    assert "เพิ่มหน่วยงาน" in added.text
    listing = say(services, "/admin list", user=STAFF)
    assert ADMIN in listing.text and f"{STAFF} (เพิ่มโดย {ADMIN}" in listing.text
    with db.session_scope(services.settings.database_url) as session:
        assert session.get(Admin, STAFF).granted_by == ADMIN


@pytest.mark.parametrize(
    "bad", ["U123", "Uxyz" + "0" * 29, "C" + "0" * 32, "hello", "U" + "0" * 33]
)
def test_invalid_line_user_id_is_refused_in_thai(services, bad):
    reply = say(services, f"/admin add {bad}")
    assert "ไม่ถูกต้อง" in reply.text and "32" in reply.text and "/whoami" in reply.text
    with db.session_scope(services.settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Admin)) == 0
    assert audit_rows(services)[-1].outcome == "invalid"


def test_upper_case_hex_user_id_is_stored_as_line_writes_it(services):
    say(services, "/admin add U" + "ABCDEF" + "0" * 26)
    with db.session_scope(services.settings.database_url) as session:
        assert session.get(Admin, "U" + "abcdef" + "0" * 26) is not None


def test_initial_admins_cannot_be_removed_by_chat(services):
    reply = say(services, f"/admin remove {ADMIN}")
    assert "ITABOT_ADMIN_IDS" in reply.text and "ไม่ได้" in reply.text
    assert audit_rows(services)[-1].outcome == "refused"
    assert "ผู้ดูแล" in say(services, "/whoami").text


def test_granted_admin_can_be_removed_and_loses_the_right(services):
    say(services, f"/admin add {STAFF}")
    reply = say(services, f"/admin remove {STAFF}")
    assert f"ลบ {STAFF} ออกจากผู้ดูแลแล้ว" in reply.text
    refused = say(services, "/agency add สุรินทร์ อบต.คลองพา", user=STAFF)
    assert "เฉพาะผู้ดูแล" in refused.text
    assert "ไม่ได้เป็นผู้ดูแล" in say(services, f"/admin remove {STAFF}").text


def test_adding_an_existing_admin_says_so(services):
    say(services, f"/admin add {STAFF}")
    assert "เป็นผู้ดูแลอยู่แล้ว" in say(services, f"/admin add {STAFF}").text


# --- /remind -----------------------------------------------------------------------------------


def test_remind_shows_defaults_then_admin_changes_them(services):
    shown = say(services, "/remind", user=STAFF, group=GROUP)
    assert "การเตือนของกลุ่มนี้: เปิด" in shown.text
    assert "7, 3, 1 วันก่อนปิด และวันที่ปิด (ค่าเริ่มต้น)" in shown.text
    assert "08:30 น. (ค่าเริ่มต้น)" in shown.text

    assert (
        "ตั้งวันเตือนของกลุ่มนี้เป็น 5, 1 วันก่อนปิด แล้ว"
        in say(services, "/remind days 5, 1", group=GROUP).text
    )
    assert (
        "ตั้งเวลาเตือนของกลุ่มนี้เป็น 07:15 น. แล้ว" in say(services, "/remind time 7.15", group=GROUP).text
    )
    assert "ปิดการเตือนในกลุ่มนี้แล้ว" in say(services, "/remind off", group=GROUP).text
    group = chat(services, GROUP)
    assert (group.remind_enabled, group.remind_days, group.remind_time) == (False, "5,1", "07:15")

    assert "เปิดการเตือนในกลุ่มนี้แล้ว" in say(services, "/remind on", group=GROUP).text
    assert chat(services, GROUP).remind_enabled is True
    assert "ค่าเริ่มต้น" in say(services, "/remind days ค่าเริ่มต้น", group=GROUP).text
    assert chat(services, GROUP).remind_days is None
    assert [r.outcome for r in audit_rows(services)] == ["ok"] * 5


def test_remind_days_accept_thai_digits_and_spaces(services):
    say(services, "/remind days ๗ ๓ ๐", group=GROUP)
    assert chat(services, GROUP).remind_days == "7,3,0"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/remind days 99", "0 ถึง 60"),
        ("/remind days x,y", "0 ถึง 60"),
        ("/remind days -1", "0 ถึง 60"),
        ("/remind days 1,2,3,4,5,6,7,8,9,10,11", "ไม่เกิน 10"),
        ("/remind time 25:00", "ชม:นาที"),
        ("/remind time เช้า", "ชม:นาที"),
        ("/remind sometimes", "ไม่รู้จักคำสั่งย่อย"),
    ],
)
def test_bad_remind_settings_are_refused_and_change_nothing(services, text, problem):
    reply = say(services, text, group=GROUP)
    assert problem in reply.text and "วิธีใช้" in reply.text
    group = chat(services, GROUP)
    assert (group.remind_days, group.remind_time) == (None, None)
    assert audit_rows(services)[-1].outcome == "invalid"


def test_every_admin_action_is_audited_with_who_what_where(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา", group=GROUP)
    say(services, "/agency add สุรินทร์ อบต.คลองพา", user=STAFF, group=GROUP)
    say(services, "/agency add สุรินทท์ อบต.x", group=GROUP)
    say(services, "/whoami", group=GROUP)
    rows = audit_rows(services)
    assert [(r.user_id, r.chat_id, r.outcome) for r in rows] == [
        (ADMIN, GROUP, "ok"),
        (STAFF, GROUP, "refused"),
        (ADMIN, GROUP, "invalid"),
    ]
    assert all(r.at is not None and r.command.startswith("/agency add") for r in rows)


def test_audit_keeps_a_long_command_truncated(services):
    reply = say(services, "/agency add สุรินทร์ " + "ก" * 1500)
    assert "ยาวเกิน" in reply.text
    row = audit_rows(services)[-1]
    assert len(row.command) == 500 and row.command.endswith("…")
