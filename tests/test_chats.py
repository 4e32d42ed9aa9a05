"""Chats are remembered the moment anyone writes, and nothing about them is lost when the bot
leaves a group and comes back (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from itabot.config import DEFAULT_REMIND_DAYS, DEFAULT_REMIND_TIME
from itabot.storage import db
from itabot.storage.chats import (
    bind_chat,
    binding_of,
    chat_type_of,
    deactivate_chat,
    reminder_settings,
    touch_chat,
)
from itabot.storage.models import Agency, Chat

GROUP = "C" + "0" * 31 + "1"
USER = "U" + "a" * 32


def _agency(session, province="สุรินทร์", name="องค์การบริหารส่วนตำบลคลองพา", key="อบตคลองพา"):
    agency = Agency(province=province, name=name, name_key=key, kind="อบต")
    session.add(agency)
    session.flush()
    return agency


def test_first_message_in_a_group_creates_the_chat(database_url):
    with db.session_scope(database_url) as session:
        chat = touch_chat(session, GROUP, "group")
        assert (chat.id, chat.type, chat.active) == (GROUP, "group", True)
    with db.session_scope(database_url) as session:
        stored = session.get(Chat, GROUP)
        assert stored is not None and stored.remind_enabled is True and stored.agency_id is None


def test_touching_a_known_chat_changes_nothing(database_url):
    with db.session_scope(database_url) as session:
        touch_chat(session, GROUP, "group")
    with db.session_scope(database_url) as session:
        before = session.get(Chat, GROUP).updated_at
    with db.session_scope(database_url) as session:
        touch_chat(session, GROUP, "group")
        assert not session.dirty and not session.new
    with db.session_scope(database_url) as session:
        assert session.get(Chat, GROUP).updated_at == before
        assert session.scalar(select(func.count()).select_from(Chat)) == 1


def test_bot_removed_then_reinvited_keeps_binding_and_settings(database_url):
    with db.session_scope(database_url) as session:
        chat = touch_chat(session, GROUP, "group")
        bind_chat(session, chat, _agency(session), "U" + "b" * 32)
        chat.remind_days = "5,1"
    with db.session_scope(database_url) as session:
        deactivate_chat(session, GROUP)
    with db.session_scope(database_url) as session:
        left = session.get(Chat, GROUP)
        assert left.active is False and left.agency_id is not None and left.remind_days == "5,1"
    with db.session_scope(database_url) as session:
        back = touch_chat(session, GROUP, "group")
        assert back.active is True
        assert back.agency.name == "องค์การบริหารส่วนตำบลคลองพา"
        assert back.remind_days == "5,1"


def test_deactivating_an_unknown_chat_is_harmless(database_url):
    with db.session_scope(database_url) as session:
        deactivate_chat(session, "C" + "9" * 32)
        assert session.scalar(select(func.count()).select_from(Chat)) == 0


def test_binding_lookup_gives_province_and_agency(database_url):
    with db.session_scope(database_url) as session:
        chat = touch_chat(session, GROUP, "group")
        bind_chat(session, chat, _agency(session), None)
        touch_chat(session, USER, "user")
    with db.session_scope(database_url) as session:
        bound = binding_of(session, GROUP)
        assert (bound.province, bound.agency, bound.chat_type) == (
            "สุรินทร์",
            "องค์การบริหารส่วนตำบลคลองพา",
            "group",
        )
        unbound = binding_of(session, USER)
        assert unbound.agency is None and unbound.province is None
        assert binding_of(session, "C" + "7" * 32) is None


def test_removing_an_agency_leaves_its_chats_unbound_not_deleted(database_url):
    with db.session_scope(database_url) as session:
        chat = touch_chat(session, GROUP, "group")
        agency = _agency(session)
        bind_chat(session, chat, agency, None)
    with db.session_scope(database_url) as session:
        session.delete(session.get(Agency, agency.id))
    with db.session_scope(database_url) as session:
        chat = session.get(Chat, GROUP)
        assert chat is not None and chat.agency_id is None


@pytest.mark.parametrize("bad", ["", "C with space", "x" * 65, "C\x00abc", None])
def test_ids_that_cannot_be_a_chat_are_refused(database_url, bad):
    with db.session_scope(database_url) as session, pytest.raises(ValueError):
        touch_chat(session, bad, "group")


def test_unknown_chat_type_is_refused(database_url):
    with db.session_scope(database_url) as session, pytest.raises(ValueError):
        touch_chat(session, GROUP, "channel")


def test_chat_type_from_line_id_prefix():
    assert chat_type_of("C123") == "group"
    assert chat_type_of("R123") == "room"
    assert chat_type_of("U123") == "user"


def test_the_events_own_chat_type_wins_when_line_has_it():
    assert chat_type_of("C123", "room") == "room"
    assert chat_type_of("C123", "channel") == "group"  # not a LINE type: the prefix decides
    assert chat_type_of("U123", None) == "user"


def test_reminder_settings_fall_back_to_deployment_defaults():
    chat = Chat(id=GROUP, type="group", remind_enabled=True)
    settings = reminder_settings(chat, DEFAULT_REMIND_DAYS, DEFAULT_REMIND_TIME)
    assert settings.days == (7, 3, 1, 0) and settings.days_default
    assert settings.time == DEFAULT_REMIND_TIME and settings.time_default
    chat.remind_days, chat.remind_time = "5,2", "07:15"
    own = reminder_settings(chat, DEFAULT_REMIND_DAYS, DEFAULT_REMIND_TIME)
    assert own.days == (5, 2) and own.time.strftime("%H:%M") == "07:15"
    assert not own.days_default and not own.time_default


def test_many_workers_seeing_a_new_group_at_once_leave_one_row(database_url):
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker():
        try:
            start.wait()
            with db.session_scope(database_url) as session:
                touch_chat(session, GROUP, "group")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session_scope(database_url) as session:
        assert session.scalar(select(func.count()).select_from(Chat)) == 1
