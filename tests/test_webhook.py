"""POST /callback through Flask's test client, against a real (temporary) database and the fake
LINE server: each test says what the staff member did and asserts what LINE received."""

from __future__ import annotations

import json
import logging
import sys
import types
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from itabot.app import create_app, run_local
from itabot.config import Settings
from itabot.line.answer_messages import APOLOGY_TEXT, MAX_ALT_TEXT, MAX_LABEL, MAX_QUICK_REPLIES
from itabot.storage import db
from itabot.storage.models import Chat, WebhookEvent
from itabot.webhook.events import sweep_stale_events
from itabot.webhook.routes import EXTENSION
from tests.conftest import bkk
from tests.fakeline import (
    SECRET,
    TOKEN,
    callback_body,
    event,
    new_event_id,
    sign,
    source,
    text_event,
    webhook_app,
)

pytest_plugins = ["tests.fakeline"]

REPLY = "/v2/bot/message/reply"
GROUP = "C" + "a" * 32
ROOM = "R" + "b" * 32
USER = "U" + "c" * 32


@pytest.fixture
def app(line_settings):
    with webhook_app(line_settings, bkk(2026, 6, 20, 9, 0)) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, body: bytes | dict, *, signature: str | None = None, **kwargs):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["X-Line-Signature"] = sign(raw, SECRET) if signature is None else signature
    return client.post("/callback", data=raw, headers=headers, **kwargs)


def drain(app) -> None:
    assert app.extensions[EXTENSION].wait_idle(10), "background handling did not finish"


def rows(settings: Settings) -> list[WebhookEvent]:
    with db.session_scope(settings.database_url) as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.received_at)))


def chat(settings: Settings, chat_id: str) -> Chat | None:
    with db.session_scope(settings.database_url) as session:
        return session.get(Chat, chat_id)


def reply_messages(fake_line) -> list[list[dict]]:
    return [r.json["messages"] for r in fake_line.replies]


# --- refused before anything is read ------------------------------------------------------------


def test_a_forged_signature_is_refused_and_nothing_is_stored_or_sent(
    client, fake_line, line_settings
):
    body = callback_body(text_event("OIT ปิดวันไหน"))
    forged = sign(body, "not-our-secret")
    response = post(client, body, signature=forged)
    assert response.status_code == 400
    assert rows(line_settings) == []
    assert fake_line.requests == []


def test_a_missing_signature_is_refused(client, fake_line, line_settings):
    response = post(client, callback_body(text_event("OIT ปิดวันไหน")), signature=False)
    assert response.status_code == 400
    assert rows(line_settings) == []
    assert fake_line.requests == []


def test_a_signature_of_a_different_body_is_refused(client, fake_line):
    signed = callback_body(text_event("กำหนดการถัดไป"))
    tampered = signed.replace("กำหนดการถัดไป".encode(), "OIT ปิดวันไหน".encode())
    assert post(client, tampered, signature=sign(signed, SECRET)).status_code == 400
    assert fake_line.requests == []


def test_without_a_channel_secret_every_request_is_refused_with_one_warning(
    line_settings, fake_line, caplog
):
    app = create_app(replace(line_settings, line_channel_secret=""))
    client = app.test_client()
    body = callback_body(text_event("OIT ปิดวันไหน"))
    with caplog.at_level(logging.WARNING, logger="itabot.webhook.routes"):
        for _ in range(3):
            assert post(client, body).status_code == 400
    assert caplog.text.count("LINE_CHANNEL_SECRET is not set") == 1
    assert rows(line_settings) == []
    assert fake_line.requests == []


def test_a_body_over_one_mib_is_refused_with_413_unread(client, fake_line, line_settings):
    body = b'{"events": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = post(client, body)
    assert response.status_code == 413
    assert rows(line_settings) == [] and fake_line.requests == []


def test_an_oversized_body_is_413_even_without_a_signature(client, fake_line, line_settings):
    response = client.post("/callback", data=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert rows(line_settings) == [] and fake_line.requests == []


def test_a_chunked_body_over_one_mib_is_refused_after_reading_one_mib(app, fake_line):
    """No Content-Length (a chunked upload, which gunicorn passes on): read at most ~1 MiB."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    class Upload:  # a socket-like stream: no length, no seek
        def __init__(self, size: int) -> None:
            self.left, self.total = size, 0

        def read(self, size: int = -1) -> bytes:
            n = self.left if size < 0 else min(size, self.left)
            self.left -= n
            self.total += n
            return b"x" * n

    upload = Upload(2 * 1024 * 1024)
    environ = EnvironBuilder(
        path="/callback", method="POST", headers={"X-Line-Signature": "c2ln"}
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": upload, "wsgi.input_terminated": True})
    _, status, _ = run_wsgi_app(app, environ)
    assert status.startswith("413")
    assert upload.total <= 1024 * 1024 + 1
    assert fake_line.requests == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"destination": "U1"}',
        b'{"events": "nope"}',
        "\u0e01".encode("utf-16"),
    ],
    ids=[
        "broken",
        "empty",
        "list",
        "no-events",
        "events-not-list",
        "not-utf8",
    ],
)
def test_a_signed_body_that_is_not_a_line_payload_is_a_400_not_a_traceback(
    client, fake_line, line_settings, body
):
    response = post(client, body)
    assert response.status_code == 400
    assert b"Traceback" not in response.data
    assert rows(line_settings) == [] and fake_line.requests == []


# --- Verify, unknown events ----------------------------------------------------------------------


def test_the_consoles_verify_request_gets_200(client, fake_line):
    response = post(client, {"destination": "U" + "f" * 32, "events": []})
    assert response.status_code == 200
    assert fake_line.requests == []


def test_a_dummy_reply_token_is_never_replied_to_and_still_gets_200(client, app, fake_line):
    body = callback_body(text_event("OIT ปิดวันไหน", reply_token="0" * 32))
    assert post(client, body).status_code == 200
    drain(app)
    assert fake_line.calls(REPLY) == []


def test_a_reply_line_refuses_still_answers_the_webhook_200(client, app, fake_line, line_settings):
    fake_line.used_reply_tokens.add("already-used-token")
    body = callback_body(text_event("OIT ปิดวันไหน", reply_token="already-used-token"))
    assert post(client, body).status_code == 200
    drain(app)
    [call] = fake_line.calls(REPLY)
    assert call.status == 400
    [row] = rows(line_settings)
    assert (row.status, row.error) == ("failed", "reply not accepted by LINE")


def test_unknown_event_types_are_ignored_with_200(client, app, fake_line, line_settings):
    future = event("somethingNew", reply_token="r" * 32, payload={"x": 1})
    assert post(client, callback_body(future)).status_code == 200
    drain(app)
    assert fake_line.requests == []
    assert rows(line_settings) == []


# --- answering ---------------------------------------------------------------------------------


def test_a_question_gets_exactly_one_flex_reply_within_limits(
    client, app, fake_line, line_settings
):
    ev = text_event("OIT ปิดวันไหน", src=source("user", USER))
    response = post(client, callback_body(ev))
    assert response.status_code == 200
    drain(app)
    [call] = fake_line.replies
    assert call.json["replyToken"] == ev["replyToken"]
    [message] = call.json["messages"]
    assert message["type"] == "flex"
    assert "ระบบ ITAS ปิด วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น. (อีก 10 วัน)" in message["altText"]
    assert len(message["altText"]) <= MAX_ALT_TEXT
    items = message["quickReply"]["items"]
    assert 0 < len(items) <= MAX_QUICK_REPLIES
    assert all(len(i["action"]["label"]) <= MAX_LABEL for i in items)
    [row] = rows(line_settings)
    assert (row.id, row.event_type, row.chat_id, row.status) == (
        ev["webhookEventId"],
        "message",
        USER,
        "done",
    )
    assert chat(line_settings, USER).active


def test_a_redelivered_event_is_answered_once(client, app, fake_line, line_settings):
    ev = text_event("OIT ปิดวันไหน")
    assert post(client, callback_body(ev)).status_code == 200
    again = {**ev, "deliveryContext": {"isRedelivery": True}}
    for _ in range(3):
        assert post(client, callback_body(again)).status_code == 200
    drain(app)
    assert len(fake_line.replies) == 1
    assert len(rows(line_settings)) == 1


def test_copies_arriving_at_the_same_moment_are_answered_once(app, fake_line, line_settings):
    """Eight copies racing each other through the insert (threads here, workers in
    test_gunicorn.py): the database's unique key lets exactly one through."""
    from concurrent.futures import ThreadPoolExecutor

    body = callback_body(text_event("OIT ปิดวันไหน", redelivery=True))
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _i: post(app.test_client(), body).status_code, range(8)))
    drain(app)
    assert statuses == [200] * 8
    assert len(fake_line.replies) == 1
    assert len(rows(line_settings)) == 1


def test_a_question_the_sdk_model_refuses_is_still_answered_from_its_json(
    client, app, fake_line, line_settings
):
    """No `quoteToken` (the SDK requires it; LINE added it in 2023): answered all the same."""
    ev = text_event("OIT ปิดวันไหน", src=source("group", USER, GROUP))
    del ev["message"]["quoteToken"]
    assert post(client, callback_body(ev)).status_code == 200
    drain(app)
    [call] = fake_line.replies
    assert call.json["replyToken"] == ev["replyToken"]
    assert [r.status for r in rows(line_settings)] == ["done"]


def test_an_event_without_an_id_cannot_be_deduped_and_is_not_answered(client, app, fake_line):
    ev = text_event("OIT ปิดวันไหน")
    del ev["webhookEventId"], ev["message"]["quoteToken"]
    assert post(client, callback_body(ev)).status_code in (200, 400)
    drain(app)
    assert fake_line.requests == []


def test_two_events_in_one_body_get_a_reply_each(client, app, fake_line):
    first, second = text_event("OIT ปิดวันไหน"), text_event("กำหนดการถัดไป")
    assert post(client, callback_body(first, second)).status_code == 200
    drain(app)
    tokens = sorted(r.json["replyToken"] for r in fake_line.replies)
    assert tokens == sorted([first["replyToken"], second["replyToken"]])


def test_a_question_in_a_group_is_answered_in_the_group(client, app, fake_line, line_settings):
    ev = text_event("กำหนดการถัดไป", src=source("group", USER, GROUP))
    assert post(client, callback_body(ev)).status_code == 200
    drain(app)
    assert len(fake_line.replies) == 1
    assert chat(line_settings, GROUP).type == "group"


def test_chatter_in_a_group_gets_no_i_dont_understand(client, app, fake_line):
    chatter = text_event("เย็นนี้กินข้าวที่ไหนดีครับ", src=source("group", USER, GROUP))
    assert post(client, callback_body(chatter)).status_code == 200
    drain(app)
    assert fake_line.requests == []


def test_the_bot_answers_chatter_when_mentioned(client, app, fake_line):
    mention = {"mentionees": [{"index": 0, "length": 4, "type": "user", "isSelf": True}]}
    ev = text_event("@บอท เย็นนี้กินอะไรดี", src=source("group", USER, GROUP))
    ev["message"]["mention"] = mention
    assert post(client, callback_body(ev)).status_code == 200
    drain(app)
    [messages] = reply_messages(fake_line)
    assert messages[0]["type"] == "text"


def test_standby_events_are_recorded_but_never_replied_to(client, app, fake_line, line_settings):
    ev = text_event("OIT ปิดวันไหน", mode="standby")
    assert post(client, callback_body(ev)).status_code == 200
    drain(app)
    assert fake_line.requests == []
    assert [r.status for r in rows(line_settings)] == ["done"]


# --- follow / join / unfollow / leave ---------------------------------------------------------


def test_adding_the_bot_as_a_friend_greets_with_examples_and_how_to_get_a_code(
    client, app, fake_line, line_settings
):
    ev = event(
        "follow", src=source("user", USER), reply_token="f1" * 16, follow={"isUnblocked": False}
    )
    assert post(client, callback_body(ev)).status_code == 200
    drain(app)
    [messages] = reply_messages(fake_line)
    text = messages[0]["text"]
    assert "OIT ปิดวันไหน" in text and "/agency code <หน่วยงาน>" in text and "/whoami" in text
    assert chat(line_settings, USER).active


@pytest.mark.parametrize(("kind", "chat_id"), [("group", GROUP), ("room", ROOM)])
def test_inviting_the_bot_into_a_group_greets_the_group(
    client, app, fake_line, line_settings, kind, chat_id
):
    src = source(kind, USER, chat_id)
    del src["userId"]  # join events carry no user
    assert (
        post(client, callback_body(event("join", src=src, reply_token="j" * 32))).status_code == 200
    )
    drain(app)
    [messages] = reply_messages(fake_line)
    assert "ขอบคุณที่เชิญเข้ากลุ่ม" in messages[0]["text"]
    saved = chat(line_settings, chat_id)
    assert (saved.type, saved.active) == (kind, True)


def test_a_group_reinvited_while_bound_is_greeted_with_what_it_is_bound_to(
    client, app, fake_line, line_settings
):
    from itabot.router import handle_message

    [admin] = line_settings.admin_ids
    for text in ("/agency add สุรินทร์ อบต.คลองพา", "/bind อบต.คลองพา"):
        handle_message(
            text,
            services=app.extensions[EXTENSION].services,
            now=bkk(2026, 6, 1, 9, 0),
            user_id=admin,
            chat_id=GROUP,
            chat_type="group",
        )
    post(client, callback_body(event("leave", src={"type": "group", "groupId": GROUP})))
    drain(app)
    join = event("join", src={"type": "group", "groupId": GROUP}, reply_token="r" * 32)
    assert post(client, callback_body(join)).status_code == 200
    drain(app)
    [messages] = reply_messages(fake_line)
    text = messages[0]["text"]
    assert 'กลุ่มนี้ผูกกับ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ อยู่แล้ว' in text
    assert "/bind" not in text


def test_unfollow_and_leave_mark_the_chat_inactive(client, app, fake_line, line_settings):
    follow = event(
        "follow", src=source("user", USER), reply_token="a" * 32, follow={"isUnblocked": False}
    )
    join = event("join", src={"type": "group", "groupId": GROUP}, reply_token="b" * 32)
    assert post(client, callback_body(follow, join)).status_code == 200
    drain(app)
    assert chat(line_settings, USER).active and chat(line_settings, GROUP).active
    fake_line.reset()
    unfollow = event("unfollow", src=source("user", USER))
    leave = event("leave", src={"type": "group", "groupId": GROUP})
    assert post(client, callback_body(unfollow, leave)).status_code == 200
    drain(app)
    assert not chat(line_settings, USER).active
    assert not chat(line_settings, GROUP).active
    assert fake_line.requests == []  # nothing to say to someone who left


def test_re_inviting_the_bot_reactivates_the_group(client, app, line_settings):
    leave = event("leave", src={"type": "group", "groupId": GROUP})
    join = event("join", src={"type": "group", "groupId": GROUP}, reply_token="c" * 32)
    post(
        client,
        callback_body(event("join", src={"type": "group", "groupId": GROUP}, reply_token="e" * 32)),
    )
    drain(app)
    post(client, callback_body(leave))
    drain(app)
    assert not chat(line_settings, GROUP).active
    post(client, callback_body(join))
    drain(app)
    assert chat(line_settings, GROUP).active


# --- failures -----------------------------------------------------------------------------------


def test_a_failure_while_answering_gets_an_apology_and_still_200(
    client, app, fake_line, line_settings, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("calendar exploded")

    monkeypatch.setattr("itabot.router.handle_message", broken)
    ev = text_event("OIT ปิดวันไหน")
    with caplog.at_level(logging.ERROR, logger="itabot.webhook.routes"):
        response = post(client, callback_body(ev))
        drain(app)
    assert response.status_code == 200
    assert b"Traceback" not in response.data
    [messages] = reply_messages(fake_line)
    assert messages == [{"type": "text", "text": APOLOGY_TEXT}]
    assert ev["webhookEventId"] in caplog.text
    [row] = rows(line_settings)
    assert row.status == "failed" and "RuntimeError" in row.error


def test_secrets_never_reach_the_logs(client, app, fake_line, monkeypatch, caplog):
    monkeypatch.setattr("itabot.router.handle_message", lambda *a, **k: 1 / 0)
    with caplog.at_level(logging.DEBUG):
        body = callback_body(text_event("OIT ปิดวันไหน"))
        post(client, body, signature="forged==")
        post(client, b"{broken")
        post(client, body)
        fake_line.fail_next(5, 500)
        post(
            client,
            callback_body(event("follow", reply_token="d" * 32, follow={"isUnblocked": True})),
        )
        drain(app)
    assert caplog.records
    for secret in (SECRET, TOKEN, sign(body, SECRET)):
        assert secret not in caplog.text


def test_a_database_that_is_down_gets_503_so_line_redelivers(client, app, fake_line, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr("itabot.webhook.routes.record_events", down)
    assert post(client, callback_body(text_event("OIT ปิดวันไหน"))).status_code == 503
    assert fake_line.requests == []


# --- LINE is slow -------------------------------------------------------------------------------


def test_the_webhook_answers_200_while_the_reply_still_waits_on_line(
    client, app, fake_line, line_settings
):
    """The 200 goes as soon as the event is recorded: LINE (50–150 ms away, or stuck) is held
    here until after the webhook has answered, and the reply and its status follow."""
    fake_line.hold(REPLY)
    ev = text_event("OIT ปิดวันไหน")
    assert post(client, callback_body(ev)).status_code == 200
    assert fake_line.replies == []
    # not answered yet: recorded, or claimed by its worker for the reply LINE is holding
    assert [r.status for r in rows(line_settings)] in (["received"], ["replying"])
    fake_line.release()
    drain(app)
    [reply] = fake_line.replies
    assert reply.json["replyToken"] == ev["replyToken"]
    assert [r.status for r in rows(line_settings)] == ["done"]


def test_a_full_backlog_sheds_events_but_never_delays_the_webhook(
    client, app, fake_line, line_settings
):
    rt = app.extensions[EXTENSION]
    rt.workers, rt.backlog = 1, 0
    fake_line.hold(REPLY)
    first, second = text_event("OIT ปิดวันไหน"), text_event("กำหนดการถัดไป")
    assert post(client, callback_body(first)).status_code == 200
    assert post(client, callback_body(second)).status_code == 200
    fake_line.release()
    drain(app)
    status = {r.id: (r.status, r.error) for r in rows(line_settings)}
    assert status[first["webhookEventId"]] == ("done", None)
    assert status[second["webhookEventId"]] == ("expired", "shed: webhook backlog full")


def test_events_a_dead_worker_left_unanswered_past_their_token_are_marked_expired(line_settings):
    old, fresh = new_event_id(), new_event_id()
    now = datetime.now(UTC)
    with db.session_scope(line_settings.database_url) as session:
        session.add(
            WebhookEvent(
                id=old,
                event_type="message",
                status="received",
                received_at=now - timedelta(minutes=30),
            )
        )
        session.add(
            WebhookEvent(id=fresh, event_type="message", status="received", received_at=now)
        )
    swept = sweep_stale_events(line_settings.database_url)
    assert (swept.expired, swept.taken) == ([old], [])  # the master sweeps without answering
    status = {r.id: r.status for r in rows(line_settings)}
    assert status == {old: "expired", fresh: "received"}


# --- health --------------------------------------------------------------------------------------


def test_healthz_is_ok_with_the_database_reachable(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_healthz_is_503_without_the_database(line_settings, tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'no-such-dir' / 'itabot.db'}"
    app = create_app(replace(line_settings, database_url=unreachable))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"


# --- the app factory never starts the scheduler ----------------------------------------------


@pytest.fixture
def fake_scheduler(monkeypatch):
    started: list[Settings] = []
    module = types.ModuleType("itabot.reminders.clock")
    module.start_background_scheduler = started.append
    monkeypatch.setitem(sys.modules, "itabot.reminders.clock", module)
    return started


def test_create_app_starts_no_scheduler_but_python_bot_py_does(
    line_settings, fake_scheduler, monkeypatch
):
    app = create_app(replace(line_settings, scheduler=True))
    assert fake_scheduler == []  # what gunicorn workers run
    served = []
    monkeypatch.setattr(app, "run", lambda **kw: served.append(kw))
    monkeypatch.setenv("PORT", "8123")
    run_local(app)
    assert len(fake_scheduler) == 1
    assert served == [{"host": "127.0.0.1", "port": 8123, "threaded": True, "use_reloader": False}]


def test_itabot_scheduler_off_runs_the_webhook_alone(line_settings, fake_scheduler, monkeypatch):
    app = create_app(replace(line_settings, scheduler=False))
    monkeypatch.setattr(app, "run", lambda **kw: None)
    run_local(app)
    assert fake_scheduler == []


def test_run_local_without_the_scheduler_module_still_serves(line_settings, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "itabot.reminders.clock", None)  # import fails
    app = create_app(replace(line_settings, scheduler=True))
    served = []
    monkeypatch.setattr(app, "run", lambda **kw: served.append(kw))
    with caplog.at_level(logging.WARNING, logger="itabot.app"):
        run_local(app)
    assert served and "scheduler not available" in caplog.text
