"""The coordinator binds 200 agencies' groups without joining them: `/agency code` gives an
agency a one-time code, anyone in the agency's group types `/bind <code>`. A wrong, used or
expired code changes nothing and says why in Thai; guesses are limited per chat, in the
database, on the message's clock. (SQLite and PostgreSQL.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from itabot.admin.bind_codes import ALPHABET, as_code
from itabot.router import handle_message
from itabot.storage import db
from itabot.storage.models import AuditLog, BindCode, Chat
from tests.conftest import bkk

ADMIN = "Uad000000000000000000000000000001"  # ITABOT_ADMIN_IDS in the `settings` fixture
STAFF = "U" + "1" * 32
GROUP = "C" + "a" * 32
OTHER_GROUP = "C" + "c" * 32
ROOM = "R" + "b" * 32
NOW = bkk(2026, 6, 20, 9, 0)
_CODE_IN_REPLY = re.compile(r"/bind ([A-Z0-9]{4}-[A-Z0-9]{4})")
pytest_plugins = ["tests.fakeline"]  # the fake LINE and `line_settings`


def say(services, text, *, user=STAFF, group=None, room=None, now=NOW):
    chat_id = group or room or user
    chat_type = "group" if group else "room" if room else "user"
    return handle_message(
        text, services=services, now=now, user_id=user, chat_id=chat_id, chat_type=chat_type
    )


@pytest.fixture
def khlongpha(services) -> None:
    assert "แล้ว" in say(services, "/agency add สุรินทร์ อบต.คลองพา", user=ADMIN).text


def code_for(services, agency="อบต.คลองพา", *, now=NOW) -> str:
    reply = say(services, f"/agency code {agency}", user=ADMIN, now=now)
    match = _CODE_IN_REPLY.search(reply.text)
    assert match is not None, reply.text
    return match.group(1)


def bound_to(services_or_settings, chat_id) -> str | None:
    settings = getattr(services_or_settings, "settings", services_or_settings)
    with db.session_scope(settings.database_url) as session:
        chat = session.get(Chat, chat_id)
        return chat.agency.name if chat is not None and chat.agency is not None else None


def test_admin_gets_a_code_that_a_member_binds_the_group_with(services, khlongpha):
    reply = say(services, "/agency code อบต.คลองพา", user=ADMIN)
    assert 'รหัสผูกกลุ่มของ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์' in reply.text
    assert "ใช้ได้ครั้งเดียว ถึง 27 มิ.ย. 2569 เวลา 09.00 น." in reply.text
    code = _CODE_IN_REPLY.search(reply.text).group(1)
    assert set(code.replace("-", "")) <= set(ALPHABET)

    bound = say(services, f"/bind {code}", group=GROUP)  # STAFF: no admin in this group
    assert 'ผูกกลุ่มนี้กับ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ แล้ว' in bound.text
    assert bound_to(services, GROUP) == "องค์การบริหารส่วนตำบลคลองพา"
    asked = say(services, "กำหนดการถัดไป", group=GROUP)
    assert "สุรินทร์" in asked.text  # the group now hears its province's deadlines


def test_only_a_keyed_hash_of_the_code_is_stored_and_no_log_holds_it(services, khlongpha):
    code = code_for(services)
    say(services, f"/bind {code}", user=STAFF)  # refused in a 1:1 chat: the code is still live
    with db.session_scope(services.settings.database_url) as session:
        [row] = session.scalars(select(BindCode)).all()
        assert len(row.code_hash) == 64 and code.replace("-", "") not in row.code_hash
        audit = [(a.command, a.detail or "") for a in session.scalars(select(AuditLog))]
    assert not [a for a in audit if code in a[0] or code in a[1] or code[:4] in a[0]]
    assert ("/bind <รหัส>", "bind code in a 1:1 chat: not looked at") in audit


def test_a_code_binds_once(services, khlongpha):
    code = code_for(services)
    say(services, f"/bind {code}", group=GROUP)
    again = say(services, f"/bind {code}", group=OTHER_GROUP)
    assert f"รหัส {code} ถูกใช้ผูกกลุ่มอื่นไปแล้ว (รหัสใช้ได้ครั้งเดียว)" in again.text
    assert "ไม่มีการเปลี่ยนแปลง" in again.text
    assert bound_to(services, OTHER_GROUP) is None
    assert bound_to(services, GROUP) == "องค์การบริหารส่วนตำบลคลองพา"
    same = say(services, f"/bind {code}", group=GROUP)  # typed twice in the group it bound
    assert 'กลุ่มนี้ผูกกับ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ อยู่แล้ว' in same.text


def test_a_wrong_code_changes_nothing(services, khlongpha):
    code_for(services)
    reply = say(services, "/bind ABCD-EFGH", group=GROUP)
    assert reply.text.startswith("รหัส ABCD-EFGH ไม่ถูกต้อง\nไม่มีการเปลี่ยนแปลง")
    assert "ลองได้อีก 4 ครั้งในชั่วโมงนี้" in reply.text
    assert bound_to(services, GROUP) is None


def test_a_code_expires_after_seven_days(services, khlongpha):
    code = code_for(services)
    late = say(services, f"/bind {code}", group=GROUP, now=NOW + timedelta(days=7, minutes=1))
    assert f"รหัส {code} หมดอายุแล้ว (รหัสใช้ได้ 7 วัน)" in late.text
    assert bound_to(services, GROUP) is None
    in_time = say(services, f"/bind {code}", room=ROOM, now=NOW + timedelta(days=6, hours=23))
    assert "ผูกห้องนี้กับ" in in_time.text  # a room is bound like a group


def test_a_new_code_replaces_the_old_one(services, khlongpha):
    old = code_for(services)
    reply = say(services, "/agency code อบต.คลองพา", user=ADMIN)
    assert "รหัสเดิมของหน่วยงานนี้ใช้ไม่ได้แล้ว" in reply.text
    new = _CODE_IN_REPLY.search(reply.text).group(1)
    assert "ไม่ถูกต้อง" in say(services, f"/bind {old}", group=GROUP).text
    assert "แล้ว" in say(services, f"/bind {new}", group=GROUP).text
    assert bound_to(services, GROUP) == "องค์การบริหารส่วนตำบลคลองพา"


def test_removing_the_agency_voids_its_code(services, khlongpha):
    code = code_for(services)
    assert "ลบหน่วยงาน" in say(services, "/agency remove อบต.คลองพา", user=ADMIN).text
    assert "ไม่ถูกต้อง" in say(services, f"/bind {code}", group=GROUP).text
    assert bound_to(services, GROUP) is None


def test_a_code_in_a_one_to_one_chat_is_refused_and_stays_usable(services, khlongpha):
    code = code_for(services)
    private = say(services, f"/bind {code}", user=STAFF)
    assert "รหัสผูกกลุ่มใช้ในกลุ่มหรือห้อง LINE ของหน่วยงานเท่านั้น" in private.text
    assert "(รหัสนี้ยังไม่ถูกใช้)" in private.text
    assert bound_to(services, STAFF) is None
    assert "ผูกกลุ่มนี้กับ" in say(services, f"/bind {code}", group=GROUP).text


def test_wrong_guesses_are_limited_per_chat_for_an_hour(services, khlongpha):
    code = code_for(services)
    for i in range(5):
        reply = say(services, f"/bind ZZZZ-ZZZ{i + 2}", group=GROUP, now=NOW + timedelta(minutes=i))
        assert "ไม่ถูกต้อง" in reply.text
    assert "ลองครบแล้ว" in reply.text
    blocked = say(services, f"/bind {code}", group=GROUP, now=NOW + timedelta(minutes=10))
    assert "ลองรหัสไม่สำเร็จครบ 5 ครั้งในหนึ่งชั่วโมงแล้ว กรุณารออีก 50 นาที" in blocked.text
    assert bound_to(services, GROUP) is None  # even the right code waits
    # Another chat is not held back by this one's guesses.
    assert "ไม่ถูกต้อง" in say(services, "/bind ZZZZ-ZZZZ", group=OTHER_GROUP).text
    after = say(services, f"/bind {code}", group=GROUP, now=NOW + timedelta(minutes=61))
    assert "ผูกกลุ่มนี้กับ" in after.text


def test_binding_by_name_stays_for_admins_and_tells_others_about_codes(services, khlongpha):
    refused = say(services, "/bind อบต.คลองพา", group=GROUP)
    assert "คำสั่ง /bind ใช้ได้เฉพาะผู้ดูแลระบบ" in refused.text
    assert "/bind <รหัส>" in refused.text
    assert bound_to(services, GROUP) is None
    assert "ผูกกลุ่มนี้กับ" in say(services, "/bind อบต.คลองพา", user=ADMIN, group=GROUP).text


def test_agency_code_is_for_admins(services, khlongpha):
    reply = say(services, "/agency code อบต.คลองพา", group=GROUP)
    assert "ใช้ได้เฉพาะผู้ดูแลระบบ" in reply.text
    with db.session_scope(services.settings.database_url) as session:
        assert session.scalars(select(BindCode)).all() == []


def test_agency_code_for_an_unknown_agency_suggests_names(services, khlongpha):
    reply = say(services, "/agency code อบต.คลองพ", user=ADMIN)
    assert "ไม่พบหน่วยงาน" in reply.text
    assert "/agency code สุรินทร์ องค์การบริหารส่วนตำบลคลองพา" in reply.quick_replies


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("K7QM-3XPA", "K7QM3XPA"),
        ("k7qm-3xpa", "K7QM3XPA"),
        ("K7QM 3XPA", "K7QM3XPA"),
        ("K7QM3XPA", "K7QM3XPA"),
        ("รหัส K7QM-3XPA", "K7QM3XPA"),
        ("code k7qm3xpa", "K7QM3XPA"),
        ("Ｋ７ＱＭ－３ＸＰＡ", "K7QM3XPA"),  # full-width, as some Thai keyboards type
        ("อบต.คลองพา", None),
        ("สุรินทร์ อบต.คลองพา", None),
        ("K7QM-3XP", None),
        ("K7QM-3XPAB", None),
        ("", None),
    ],
)
def test_a_code_is_told_from_an_agency_name(typed, code):
    assert as_code(typed) == code


def test_through_the_webhook_a_code_binds_a_group_no_admin_is_in_once(line_settings, fake_line):
    from itabot.app import create_app
    from itabot.webhook.routes import EXTENSION
    from tests.fakeline import SECRET, callback_body, post_signed, source, text_event

    app = create_app(line_settings)
    rt = app.extensions[EXTENSION]
    rt.clock = lambda: NOW
    client = app.test_client()

    def send(text, src):
        assert (
            post_signed(client, callback_body(text_event(text, src=src)), SECRET).status_code == 200
        )
        assert rt.wait_idle(10)
        return str(fake_line.replies[-1].json["messages"])

    send("/agency add สุรินทร์ อบต.คลองพา", source("user", user_id=ADMIN))
    code = _CODE_IN_REPLY.search(send("/agency code อบต.คลองพา", source("user", user_id=ADMIN)))
    assert code is not None
    in_group = send(f"/bind {code.group(1)}", source("group", user_id=STAFF, chat_id=GROUP))
    assert "ผูกกลุ่มนี้กับ" in in_group
    again = send(f"/bind {code.group(1)}", source("group", user_id=STAFF, chat_id=OTHER_GROUP))
    assert "ถูกใช้ผูกกลุ่มอื่นไปแล้ว" in again
    assert bound_to(line_settings, GROUP) == "องค์การบริหารส่วนตำบลคลองพา"
    assert bound_to(line_settings, OTHER_GROUP) is None
