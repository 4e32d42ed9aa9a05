"""What the webhook writes and when: one short transaction records a message's event (with
its chat's binding read alongside) before the 200, and another writes the event's status once
the reply is out (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from itabot.config import Settings
from itabot.storage import db
from itabot.storage.models import WebhookEvent
from itabot.webhook.events import record_events
from itabot.webhook.jobs import Job
from itabot.webhook.routes import EXTENSION
from tests.conftest import bkk
from tests.fakeline import (
    SECRET,
    callback_body,
    new_event_id,
    post_signed,
    sign,
    source,
    text_event,
)

pytest_plugins = ["tests.fakeline"]

ADMIN = "Uad000000000000000000000000000001"
STAFF = "U" + "1" * 32
GROUP = "C" + "a" * 32
REPLY = "/v2/bot/message/reply"


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


def test_a_row_the_database_refuses_leaves_nothing_of_the_transaction(settings):
    """The database's own error (here a NOT NULL) rolls back the event before it too, and comes
    out as SQLAlchemy's error, which the webhook answers with 503."""
    url = settings.database_url
    fine, refused = new_event_id(), new_event_id()

    with pytest.raises(IntegrityError):
        record_events(url, [question(fine), replace(question(refused), event_type=None)])

    assert (status_of(url, fine), status_of(url, refused)) == (None, None)
    assert record_events(url, [question(fine)])  # the pooled connection still works
    assert record_events(url, [question(fine)]) == []  # and the dedupe holds


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


def say_in_group(app, text: str, user: str = STAFF) -> None:
    """Say something and, as staff do, wait for the bot's answer before saying the next thing:
    the 200 comes before the answer, so messages sent faster are answered in any order."""
    body = callback_body(text_event(text, src=source("group", user_id=user, chat_id=GROUP)))
    assert post_signed(app.test_client(), body, SECRET).status_code == 200
    assert app.extensions[EXTENSION].wait_idle(10)


def test_a_bound_group_is_answered_with_its_provinces_deadlines_and_every_event_is_done(
    app, fake_line
):
    say_in_group(app, "/agency add สุรินทร์ อบต.คลองพา", user=ADMIN)
    say_in_group(app, "/bind อบต.คลองพา", user=ADMIN)
    say_in_group(app, "OIT ปิดวันไหน")

    answer = fake_line.replies[-1].messages[0]["altText"]
    assert "จังหวัดสุรินทร์" in answer and "10 มิถุนายน 2569" in answer
    with db.session_scope(app.extensions[EXTENSION].database_url) as session:
        statuses = session.scalars(select(WebhookEvent.status)).all()
    assert statuses == ["done", "done", "done"]


def test_a_status_the_database_refuses_after_the_reply_leaves_the_event_replying(
    app, fake_line, monkeypatch, caplog
):
    """The reply is out; only its status is lost, logged with the event id, and the row stays
    `replying`: never answered again, reported by the sweep."""

    def database_gone(*args):
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr("itabot.webhook.routes.mark_event", database_gone)
    ev = text_event("OIT ปิดวันไหน", src=source("group", user_id=STAFF, chat_id=GROUP))
    with caplog.at_level(logging.ERROR, logger="itabot.webhook.routes"):
        assert post_signed(app.test_client(), callback_body(ev), SECRET).status_code == 200
        assert app.extensions[EXTENSION].wait_idle(10)

    assert len(fake_line.replies) == 1
    assert status_of(app.extensions[EXTENSION].database_url, ev["webhookEventId"]) == "replying"
    assert ev["webhookEventId"] in caplog.text


def test_a_chats_messages_sent_faster_than_answered_are_answered_in_order(app, fake_line):
    """Staff type `/bind` and the question straight after: the 200 comes before the answers,
    yet the question is answered after the bind, with the province's deadlines, and the
    replies reach LINE in the order the messages were sent (LINE is held meanwhile, so the
    three events wait in the pool together)."""
    client = app.test_client()
    said = [
        ("/agency add สุรินทร์ อบต.คลองพา", ADMIN),
        ("/bind อบต.คลองพา", ADMIN),
        ("OIT ปิดวันไหน", STAFF),
    ]
    events = [
        text_event(text, src=source("group", user_id=user, chat_id=GROUP)) for text, user in said
    ]
    fake_line.hold(REPLY)
    for ev in events:
        assert post_signed(client, callback_body(ev), SECRET).status_code == 200
    fake_line.release()
    assert app.extensions[EXTENSION].wait_idle(10)

    tokens = [r.json["replyToken"] for r in fake_line.replies]
    assert tokens == [ev["replyToken"] for ev in events]
    answer = fake_line.replies[-1].messages[0]["altText"]
    assert "จังหวัดสุรินทร์" in answer
