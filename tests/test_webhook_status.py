"""One transaction per message: the event row, the chat's binding and the statuses of events
just answered are written and read together (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from itabot.config import Settings
from itabot.storage import db
from itabot.storage.models import WebhookEvent
from itabot.webhook import events as webhook_store
from itabot.webhook.events import StatusWriter, record_events
from itabot.webhook.jobs import Job
from itabot.webhook.routes import EXTENSION
from tests.conftest import bkk
from tests.fakeline import callback_body, new_event_id, post_signed, sign, source, text_event

pytest_plugins = ["tests.fakeline"]

SECRET = "test-channel-secret-SECRET"
ADMIN = "Uadmin0000000000000000000000000001"
STAFF = "U" + "1" * 32
GROUP = "C" + "a" * 32


def question(event_id: str, chat_id: str = GROUP) -> Job:
    return Job(
        event_id=event_id,
        event_type="message",
        chat_id=chat_id,
        chat_type="group",
        user_id=STAFF,
        reply_token="r" * 32,
        can_reply=True,
        text="OIT ปิดวันไหน",
    )


def status_of(url: str, event_id: str) -> str | None:
    with db.session_scope(url) as session:
        return session.scalar(select(WebhookEvent.status).where(WebhookEvent.id == event_id))


class ManualTimer:
    """Stands in for `threading.Timer`: armed by the writer, fired by the test."""

    armed: ClassVar[list[ManualTimer]] = []

    def __init__(self, interval, function):
        self.interval, self.function, self.daemon = interval, function, False
        ManualTimer.armed.append(self)

    def start(self):
        pass

    def cancel(self):
        pass

    def fire(self):
        self.function()


@pytest.fixture
def manual_timer(monkeypatch):
    ManualTimer.armed = []
    monkeypatch.setattr(webhook_store.threading, "Timer", ManualTimer)
    return ManualTimer


def test_an_answered_events_status_rides_on_the_next_events_transaction(settings, manual_timer):
    url = settings.database_url
    first, second = new_event_id(), new_event_id()
    writer = StatusWriter(url)
    record_events(url, [question(first)], writer)
    writer.add(first, "done")
    assert status_of(url, first) == "received"  # not a commit of its own

    record_events(url, [question(second)], writer)

    assert status_of(url, first) == "done"
    assert status_of(url, second) == "received"
    assert writer.take() == []


def test_with_no_event_to_ride_on_the_timer_writes_the_status(settings, manual_timer):
    url = settings.database_url
    event_id = new_event_id()
    writer = StatusWriter(url)
    record_events(url, [question(event_id)], writer)
    writer.add(event_id, "failed", "reply not accepted by LINE")
    [timer] = manual_timer.armed

    timer.fire()

    assert status_of(url, event_id) == "failed"


def test_statuses_taken_by_a_transaction_that_failed_are_written_later(
    settings, manual_timer, monkeypatch
):
    url = settings.database_url
    answered, next_event = new_event_id(), new_event_id()
    writer = StatusWriter(url)
    record_events(url, [question(answered)], writer)
    writer.add(answered, "done")

    def database_gone(*args):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(webhook_store, "_insert_new_events", database_gone)
    with pytest.raises(OperationalError):
        record_events(url, [question(next_event)], writer)
    assert status_of(url, answered) == "received"

    monkeypatch.undo()
    writer.flush()
    assert status_of(url, answered) == "done"
    assert status_of(url, next_event) is None  # rolled back with the failed transaction


def test_a_row_the_database_refuses_leaves_nothing_of_the_transaction(settings, manual_timer):
    """The driver's own error (here a NOT NULL) rolls back the event before it and the statuses
    riding along, and comes out as SQLAlchemy's error, which the webhook answers with 503."""
    url = settings.database_url
    answered, fine, refused = new_event_id(), new_event_id(), new_event_id()
    writer = StatusWriter(url)
    record_events(url, [question(answered)], writer)
    writer.add(answered, "done")

    with pytest.raises(IntegrityError):
        record_events(url, [question(fine), replace(question(refused), event_type=None)], writer)

    assert (status_of(url, fine), status_of(url, refused)) == (None, None)
    assert status_of(url, answered) == "received"
    writer.flush()
    assert status_of(url, answered) == "done"
    assert record_events(url, [question(fine)], writer)  # the pooled connection still works


def test_a_missing_events_table_is_a_503_and_nothing_is_sent(app, fake_line):
    with db.engine_for(app.extensions[EXTENSION].database_url).begin() as conn:
        conn.execute(text("DROP TABLE webhook_event"))

    response = app.test_client().post(
        "/callback",
        data=(body := callback_body(text_event("OIT ปิดวันไหน"))),
        headers={"X-Line-Signature": sign(body, SECRET)},
    )

    assert response.status_code == 503
    assert b"Traceback" not in response.data
    assert fake_line.requests == []


def test_a_question_is_recorded_with_its_chats_binding(settings):
    from itabot.router import Services, handle_message

    services = Services.from_settings(settings)
    for command in ("/agency add สุรินทร์ อบต.คลองพา", "/bind อบต.คลองพา"):
        handle_message(
            command,
            services=services,
            now=bkk(2026, 6, 20, 9),
            user_id=ADMIN,
            chat_id=GROUP,
            chat_type="group",
        )
    [bound, unknown] = record_events(
        settings.database_url,
        [question(new_event_id()), question(new_event_id(), chat_id="C" + "9" * 32)],
    )
    assert (bound.binding.province, bound.binding.agency) == (
        "สุรินทร์",
        "องค์การบริหารส่วนตำบลคลองพา",
    )
    assert unknown.binding is None  # a new chat: the router records it when answering


@pytest.fixture
def app(settings: Settings, fake_line):
    from itabot.app import create_app

    app = create_app(
        replace(
            settings,
            line_channel_secret=SECRET,
            line_channel_access_token="test-token",
            line_api_base_url=fake_line.base_url,
            scheduler=False,
        )
    )
    app.extensions[EXTENSION].clock = lambda: bkk(2026, 6, 20, 9, 0)
    yield app
    app.extensions[EXTENSION].wait_idle(10)


def say_in_group(client, text: str, user: str = STAFF) -> None:
    body = callback_body(text_event(text, src=source("group", user_id=user, chat_id=GROUP)))
    assert post_signed(client, body, SECRET)


def test_a_bound_group_is_answered_with_its_provinces_deadlines_and_every_event_is_done(
    app, fake_line
):
    client = app.test_client()
    say_in_group(client, "/agency add สุรินทร์ อบต.คลองพา", user=ADMIN)
    say_in_group(client, "/bind อบต.คลองพา", user=ADMIN)
    say_in_group(client, "OIT ปิดวันไหน")
    assert app.extensions[EXTENSION].wait_idle(10)

    answer = fake_line.replies[-1].messages[0]["altText"]
    assert "จังหวัดสุรินทร์" in answer and "10 มิถุนายน 2569" in answer
    with db.session_scope(app.extensions[EXTENSION].database_url) as session:
        statuses = session.scalars(select(WebhookEvent.status)).all()
    assert statuses == ["done", "done", "done"]
