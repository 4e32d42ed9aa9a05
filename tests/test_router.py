"""One path for every text: commands go to the admin table, questions to the conversation in
the context of the chat's binding (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from itabot import router
from itabot.config import Settings
from itabot.conversation.answer import Answer
from itabot.router import Services, handle_message, resolve_context
from itabot.storage import db
from itabot.storage.models import Chat
from tests.conftest import bkk

ADMIN = "Uad000000000000000000000000000001"
STAFF = "U" + "1" * 32
GROUP = "C" + "a" * 32
NOW = bkk(2026, 6, 20, 9, 0)


def say(services, text, *, user=STAFF, group=GROUP, **kw):
    return handle_message(
        text,
        services=services,
        now=NOW,
        user_id=user,
        chat_id=group or user,
        chat_type="group" if group else "user",
        **kw,
    )


@pytest.fixture
def heard(monkeypatch):
    """The contexts the conversation engine was asked in."""
    contexts = []

    def fake_answer(text, ctx, calendars):
        contexts.append(ctx)
        return Answer(intent="fake", text=f"ok {ctx.province}")

    monkeypatch.setattr(router, "answer_question", fake_answer)
    return contexts


def bind_group_to_surin(services):
    say(services, "/agency add สุรินทร์ อบต.คลองพา", user=ADMIN)
    reply = say(services, "/bind อบต.คลองพา", user=ADMIN)
    assert "แล้ว" in reply.text


def test_bound_group_question_gets_the_agency_province(services, heard):
    bind_group_to_surin(services)
    say(services, "ใครรับผิดชอบ OIT")
    [ctx] = heard
    assert ctx.province == "สุรินทร์"
    assert ctx.agency == "องค์การบริหารส่วนตำบลคลองพา"
    assert (ctx.chat_id, ctx.chat_type, ctx.user_id, ctx.is_admin) == (GROUP, "group", STAFF, False)
    assert ctx.now == NOW


def test_bound_group_hears_its_province_units(services):
    """End to end with the real conversation engine and the real calendars."""
    bind_group_to_surin(services)
    reply = say(services, "ใครรับผิดชอบ OIT")
    assert reply.intent != "command"
    assert "สุรินทร์" in reply.text


def test_unbound_group_is_asked_without_province(services, heard):
    say(services, "OIT ปิดวันไหน")
    [ctx] = heard
    assert ctx.province is None and ctx.agency is None


def test_console_province_overrides_the_binding(services, heard):
    bind_group_to_surin(services)
    say(services, "OIT ปิดวันไหน", province="สระบุรี")
    say(services, "OIT ปิดวันไหน", agency="เทศบาลตำบลคึกคัก")
    assert (heard[0].province, heard[0].agency) == ("สระบุรี", None)
    assert (heard[1].province, heard[1].agency) == (None, "เทศบาลตำบลคึกคัก")


def test_every_message_records_its_chat(services, heard):
    say(services, "สวัสดีครับ")
    say(services, "OIT ปิดวันไหน", group=None)
    with db.session_scope(services.settings.database_url) as session:
        assert session.get(Chat, GROUP).type == "group"
        assert session.get(Chat, STAFF).type == "user"


def test_admin_flag_reaches_the_conversation(services, heard):
    say(services, "กำหนดการถัดไป", user=ADMIN)
    assert heard[0].is_admin is True


def test_commands_never_reach_the_conversation(services, heard):
    reply = say(services, "/whoami")
    assert reply.intent == "command" and heard == []


def test_a_question_without_any_id_needs_no_database(calendars, heard, tmp_path):
    broken = Services(
        settings=Settings(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db"),
        calendars=calendars,
    )
    reply = handle_message("OIT ปิดวันไหน", services=broken, now=NOW, province="สุรินทร์")
    assert reply.text == "ok สุรินทร์"


def test_database_down_still_answers_questions_and_apologises_for_commands(
    calendars, heard, tmp_path
):
    broken = Services(
        settings=Settings(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db"),
        calendars=calendars,
    )
    reply = say(broken, "OIT ปิดวันไหน")
    assert reply.text == "ok None"
    command = say(broken, "/agency add สุรินทร์ อบต.คลองพา", user=ADMIN)
    assert command.intent == "command" and "ฐานข้อมูลขัดข้อง" in command.text


def test_command_on_an_unmigrated_database_says_to_run_db_upgrade(calendars, tmp_path):
    fresh = Services(
        settings=Settings(database_url=f"sqlite:///{tmp_path}/empty.db"), calendars=calendars
    )
    reply = say(fresh, "/whoami")
    assert "db upgrade" in reply.text
    db.engine_for(fresh.settings.database_url).dispose()


def test_a_bug_in_a_command_is_apologised_for_and_audited(services, monkeypatch):
    from itabot.admin import commands as admin
    from itabot.admin.core import Spec
    from itabot.storage.models import AuditLog

    def boom(cmd, args):
        raise RuntimeError("kaboom")

    monkeypatch.setitem(admin.COMMANDS, "bind", Spec(boom))
    reply = say(services, "/bind อบต.คลองพา", user=ADMIN)
    assert "ขออภัย" in reply.text
    with db.session_scope(services.settings.database_url) as session:
        row = session.scalars(select(AuditLog)).one()
        assert row.outcome == "error" and "kaboom" in row.detail


def test_resolving_context_for_a_bound_chat_is_one_session(services):
    bind_group_to_surin(services)
    with db.session_scope(services.settings.database_url) as session:
        ctx = resolve_context(
            session, services.settings, now=NOW, user_id=STAFF, chat_id=GROUP, chat_type="group"
        )
    assert (ctx.province, ctx.agency) == ("สุรินทร์", "องค์การบริหารส่วนตำบลคลองพา")


def test_odd_ids_from_the_console_do_not_break_answers(services, heard):
    reply = handle_message(
        "OIT ปิดวันไหน", services=services, now=NOW, user_id="U x", chat_id="C" * 80
    )
    assert reply.text.startswith("ok")
    with db.session_scope(services.settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Chat)) == 0


def test_a_question_in_a_chat_the_bot_left_reactivates_it_with_its_binding(services, heard):
    bind_group_to_surin(services)
    with db.session_scope(services.settings.database_url) as session:
        session.get(Chat, GROUP).active = False
    say(services, "OIT ปิดวันไหน")
    assert heard[-1].province == "สุรินทร์"
    with db.session_scope(services.settings.database_url) as session:
        assert session.get(Chat, GROUP).active is True


def test_a_bound_question_is_answered_in_one_session_with_its_done_buttons(services, monkeypatch):
    """The binding, the agency and its confirmations are read in one transaction per question;
    when the confirmations cannot be read the answer still goes out, bound, without buttons."""
    bind_group_to_surin(services)
    opened = []
    real_scope = router.session_scope

    def counted(url):
        opened.append(url)
        return real_scope(url)

    monkeypatch.setattr(router, "session_scope", counted)
    answer = say(services, "OIT ปิดวันไหน")
    assert len(opened) == 1
    assert answer.done  # the agency must act on OIT: its cards carry "✓ ทำแล้ว"
    assert "สุรินทร์" in answer.text

    def unreadable(session, agency_id):
        raise OperationalError("SELECT", {}, Exception("no such table: confirmation"))

    monkeypatch.setattr(router.done, "confirmations_of", unreadable)
    answer = say(services, "OIT ปิดวันไหน")
    assert answer.done == () and "สุรินทร์" in answer.text
