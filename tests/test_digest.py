"""The coordinator's weekly digest (issue 13, item 4): a chat bound with `/bind coordinator
สุรินทร์` hears, each Monday from 08.30 Bangkok, the closings of the next 14 days with confirmed
counts and the agencies not confirmed — once a week whatever the number of dispatches. SQLite,
and PostgreSQL when TEST_DATABASE_URL is set; every clock injected."""

from __future__ import annotations

from itabot.admin.commands import execute
from itabot.reminders.dispatch import dispatch
from itabot.storage import db
from itabot.storage.models import Chat
from tests.conftest import bkk
from tests.test_reminder_support import FakeGateway, bind_chat, confirm_done, ledger

ADMIN = "Uad000000000000000000000000000001"  # conftest's settings.admin_ids
COORDINATORS = "C" + "c" * 32
TAMIANG = "C" + "1" * 32
CHANIANG = "C" + "2" * 32
MONDAY = bkk(2026, 6, 22, 8, 31)  # 8 days before the ITAS closing of 30 June 17.00


def command(settings, text, chat_id=COORDINATORS, user=ADMIN, now=MONDAY):
    with db.session_scope(settings.database_url) as session:
        chat = session.get(Chat, chat_id)
        return execute(session, settings, text, now=now, user_id=user, chat=chat)


def coordinator_of(url, chat_id=COORDINATORS):
    with db.session_scope(url) as session:
        return session.get(Chat, chat_id).coordinator_of


def setup(settings) -> None:
    url = settings.database_url
    bind_chat(url, TAMIANG, remind_enabled=False)  # muted: only the digest is pushed here
    bind_chat(url, CHANIANG, agency="องค์การบริหารส่วนตำบลเฉนียง", remind_enabled=False)
    bind_chat(url, COORDINATORS, agency=None)
    confirm_done(url, TAMIANG, "national-2569/oit-answer")
    assert command(settings, "/bind coordinator จ.สุรินทร์").extra["outcome"] == "ok"


def digests(line: FakeGateway) -> list[str]:
    return [m.text for to, _k, ms in line.calls if to == COORDINATORS for m in ms]


def test_bind_coordinator_needs_an_admin_and_a_real_province(settings):
    url = settings.database_url
    bind_chat(url, COORDINATORS, agency=None)
    refused = command(settings, "/bind coordinator สุรินทร์", user="U" + "9" * 32)
    assert refused.extra["outcome"] == "refused" and coordinator_of(url) is None
    wrong = command(settings, "/bind coordinator สุรินทน์")
    assert "หมายถึงจังหวัดสุรินทร์" in wrong.text and coordinator_of(url) is None
    assert "ต้องระบุจังหวัด" in command(settings, "/bind coordinator").text
    ok = command(settings, "/bind ผู้ประสานงาน สุรินทร์")
    assert "ทุกวันจันทร์ 08.30 น." in ok.text and coordinator_of(url) == "สุรินทร์"
    assert "ไม่ได้เป็นแชทผู้ประสานงานจังหวัดสุรินทร์แล้ว" in command(settings, "/unbind coordinator").text
    assert coordinator_of(url) is None


def test_monday_digest_lists_the_next_14_days_and_who_has_not_confirmed(settings, calendars):
    setup(settings)
    line = FakeGateway()
    dispatch(settings.database_url, line, calendars, settings, MONDAY, "w")
    [text] = digests(line)
    assert "สรุปประจำสัปดาห์ จังหวัดสุรินทร์ (2 หน่วยงาน)" in text
    oit = text[text.index("OIT") :]
    assert "ยืนยันแล้ว 1/2 แห่ง" in oit and "องค์การบริหารส่วนตำบลเฉนียง" in oit
    assert "องค์การบริหารส่วนตำบลตาเมียง" not in oit.split("\n\n")[0]
    assert "15 ก.ค." not in text  # Surin's OIT publication closes 15 July: beyond 14 days


def test_once_a_week_whatever_the_dispatches_and_again_next_monday(settings, calendars):
    setup(settings)
    url = settings.database_url
    line = FakeGateway()
    for at in (MONDAY, bkk(2026, 6, 22, 8, 32), bkk(2026, 6, 22, 17, 0), bkk(2026, 6, 23, 8, 31)):
        dispatch(url, line, calendars, settings, at, "w1")
        dispatch(url, line, calendars, settings, at, "w2")  # a second clock process
    assert len(digests(line)) == 1
    dispatch(url, line, calendars, settings, bkk(2026, 6, 29, 8, 31), "w1")
    assert len(digests(line)) == 2
    weeks = {r.phase for r in ledger(url) if r.chat_id == COORDINATORS}
    assert weeks == {"coordinator-digest/2026-W26", "coordinator-digest/2026-W27"}


def test_not_before_monday_0830_and_not_made_up_on_tuesday(settings, calendars):
    setup(settings)
    line = FakeGateway()
    for at in (bkk(2026, 6, 21, 9), bkk(2026, 6, 22, 8, 29), bkk(2026, 6, 23, 8, 31)):
        dispatch(settings.database_url, line, calendars, settings, at, "w")
    assert digests(line) == []


def test_a_week_with_no_closing_ahead_sends_nothing(settings, calendars):
    setup(settings)
    line = FakeGateway()
    quiet_monday = bkk(2026, 11, 2, 8, 31)  # FY2570 has no calendar here: nothing ahead
    dispatch(settings.database_url, line, calendars, settings, quiet_monday, "w")
    assert digests(line) == []
