"""`/status [tool or phase] [province] [page]` (issue 13, item 4): the coordinator sees, for each
closing ahead, how many of the province's agencies confirmed it and exactly which have not,
within LINE's limits; bad input answers in Thai and changes nothing; non-admins are refused and
audited. SQLite, and PostgreSQL when TEST_DATABASE_URL is set; the clock injected."""

from __future__ import annotations

from sqlalchemy import func, select

from itabot.admin.status import HOW_TO_NAME
from itabot.line.answer_messages import MAX_MESSAGES, MAX_TEXT, answer_to_messages
from itabot.router import handle_message
from itabot.storage import db
from itabot.storage.models import Agency, AuditLog, Confirmation
from tests.conftest import bkk
from tests.test_reminder_support import bind_chat

ADMIN = "Uad000000000000000000000000000001"  # ITABOT_ADMIN_IDS in the `settings` fixture
STAFF = "U" + "1" * 32
GROUP = "C" + "a" * 32
NOW = bkk(2026, 6, 20, 9, 0)
NAMES = [f"องค์การบริหารส่วนตำบลทดสอบ{i:03d}" for i in range(5)]


def say(services, text, *, user=ADMIN, group=None, now=NOW):
    chat_id = group or user
    chat_type = "group" if group else "user"
    return handle_message(
        text, services=services, now=now, user_id=user, chat_id=chat_id, chat_type=chat_type
    )


def add_agencies(services, names, province="สุรินทร์") -> None:
    for i, name in enumerate(names):
        bind_chat(services.settings.database_url, f"C{i:032d}", province=province, agency=name)


def confirmations(services) -> int:
    with db.session_scope(services.settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(Confirmation)) or 0


def section(text: str, marker: str) -> str:
    """The part of a /status answer about the closing whose heading contains `marker`."""
    start = text.index(marker)
    end = text.find("\n📌", start)
    return text[start : end if end >= 0 else len(text)]


def test_lists_exactly_the_agencies_that_have_not_confirmed(services):
    add_agencies(services, NAMES)
    bind_chat(services.settings.database_url, "C" + "9" * 32, province="สระบุรี", agency="อบต.อื่น")
    for i in (0, 2):
        say(services, "/done OIT", user=STAFF, group=f"C{i:032d}")  # the nearest OIT: 30 June
    assert confirmations(services) == 2
    reply = say(services, "/status สุรินทร์")
    assert "จังหวัดสุรินทร์ (5 หน่วยงาน)" in reply.text
    oit = section(reply.text, "OIT: ตอบและอนุมัติ")
    assert "ยืนยันแล้ว 2/5 แห่ง — ยังไม่ยืนยัน 3 แห่ง" in oit
    assert "ปิด 30 มิ.ย. 2569 เวลา 17.00 น." in oit and "อีก 10 วัน" in oit
    listed = [line[2:] for line in oit.splitlines() if line.startswith("• ")]
    assert listed == [NAMES[1], NAMES[3], NAMES[4]]
    iit = section(reply.text, "IIT:")
    assert "ยืนยันแล้ว 0/5 แห่ง" in iit and all(n in iit for n in NAMES)
    assert "อบต.อื่น" not in reply.text and "องค์การบริหารส่วนตำบลอื่น" not in reply.text
    for i in (1, 3, 4):
        say(services, "/done OIT", user=STAFF, group=f"C{i:032d}")
    done = section(say(services, "/status OIT สุรินทร์").text, "OIT: ตอบและอนุมัติ")
    assert "ยืนยันแล้ว 5/5 แห่ง ✓ ครบทุกแห่ง" in done and "• " not in done


def test_a_named_tool_narrows_it_and_the_bound_chat_gives_the_province(services):
    add_agencies(services, NAMES[:2])
    bind_chat(services.settings.database_url, GROUP, agency=NAMES[0])
    reply = say(services, "/status IIT", group=GROUP)
    assert "จังหวัดสุรินทร์" in reply.text and "IIT:" in reply.text
    assert "OIT" not in reply.text and "EIT" not in reply.text
    thai = say(services, "/สถานะ EIT จ.สุรินทร์")
    assert "EIT:" in thai.text and "IIT" not in thai.text and "ปิด 30 ก.ย. 2569" in thai.text
    after_iit = say(services, "/status IIT สุรินทร์", now=bkk(2026, 7, 1, 9, 0))
    assert "ไม่พบกำหนดปิด" in after_iit.text  # IIT closed on 30 June: nothing ahead to chase


def test_unknown_province_or_tool_answers_in_thai_and_changes_nothing(services):
    add_agencies(services, NAMES[:2])
    before = confirmations(services)
    typo = say(services, "/status OIT สุรินทท์")
    assert "ไม่พบจังหวัด" in typo.text and "สุรินทร์" in typo.text and HOW_TO_NAME in typo.text
    alone = say(services, "/status สุรินทท์")
    assert "ไม่พบจังหวัด" in alone.text and HOW_TO_NAME in alone.text
    unbound = say(services, "/status OIT")  # a 1:1 chat bound to nothing, no province named
    assert "ไม่ทราบจังหวัด" in unbound.text and HOW_TO_NAME in unbound.text
    tool = say(services, "/status XYZ สุรินทร์")
    assert 'ไม่พบกำหนดปิดที่ตรงกับ "XYZ"' in tool.text and "OIT, IIT, EIT" in tool.text
    empty = say(services, "/status สระบุรี")
    assert "ยังไม่มีหน่วยงานที่ลงทะเบียนไว้ในจังหวัดสระบุรี" in empty.text
    assert confirmations(services) == before
    with db.session_scope(services.settings.database_url) as session:
        outcomes = list(session.scalars(select(AuditLog.outcome).order_by(AuditLog.id)))
    assert outcomes == ["invalid", "invalid", "invalid", "invalid", "ok"]


def test_two_hundred_agencies_are_paged_within_line_limits(services):
    names = [f"องค์การบริหารส่วนตำบลหนองบัวทดสอบยาวมาก{i:03d}" for i in range(200)]
    with db.session_scope(services.settings.database_url) as session:
        session.add_all(Agency(province="สุรินทร์", name=n, name_key=n) for n in names)
    seen: list[str] = []
    page, pages = 1, None
    while True:
        reply = say(services, f"/status OIT สุรินทร์ {page}")
        messages = answer_to_messages(reply)
        assert len(messages) <= MAX_MESSAGES and len(reply.text) <= MAX_TEXT
        assert all(len(m.text) <= MAX_TEXT for m in messages)
        seen += [line[2:] for line in reply.text.splitlines() if line.startswith("• ")]
        if "ยังมีอีก" not in reply.text:
            break
        pages = pages or int(reply.text.split("หน้า 1/")[1].split()[0]) if page == 1 else pages
        assert f"ยังมีอีก {pages - page} หน้า พิมพ์ /status OIT สุรินทร์ {page + 1}" in reply.text
        page += 1
    assert pages is not None and page == pages > 1
    assert sorted(seen) == sorted(names * 2)  # two OIT closings ahead, each lists all 200
    beyond = say(services, f"/status OIT สุรินทร์ {page + 1}")
    assert f"มีเพียง {pages} หน้า" in beyond.text


def test_non_admin_is_refused_and_audited(services):
    add_agencies(services, NAMES[:1])
    reply = say(services, "/status สุรินทร์", user=STAFF)
    assert "ใช้ได้เฉพาะผู้ดูแลระบบ" in reply.text and "/status" in reply.text
    assert "•" not in reply.text
    with db.session_scope(services.settings.database_url) as session:
        row = session.scalars(select(AuditLog)).one()
        assert (row.user_id, row.outcome) == (STAFF, "refused")


def test_help_lists_status_for_admins_only(services):
    assert "/status" in say(services, "/help admin").text
    assert "/status" not in say(services, "/help admin", user=STAFF).text
