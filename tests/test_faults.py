"""When things fail (issue 16), on SQLite and PostgreSQL, with the faults injected for real: a
database server that is not there, a pooled connection made read-only, a SQLite file made
read-only, a worker that recorded an event and died, malformed events beside good ones, a
reply token that is too old, and the clock's purge. Killed gunicorn workers: test_gunicorn.py."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text, update

from itabot.app import create_app
from itabot.calendars.names import agency_key
from itabot.config import Settings
from itabot.reminders.clock import PURGE_JOB_ID, build_scheduler, purge_webhook_events
from itabot.storage import db
from itabot.storage.models import Chat, WebhookEvent
from itabot.webhook.events import (
    REPLY_WITHIN,
    REPLYING_STALE,
    claim_reply,
    purge_events,
    record_events,
    sweep_stale_events,
)
from itabot.webhook.jobs import jobs_from
from itabot.webhook.routes import EXTENSION, handle_job
from tests.conftest import PG_URL, _database, bkk
from tests.fakeline import (
    SECRET,
    callback_body,
    event,
    post_signed,
    source,
    text_event,
    webhook_app,
)
from tests.processes import free_port

pytest_plugins = ["tests.fakeline"]

REPLY = "/v2/bot/message/reply"
USER = "U" + "c" * 32
GROUP = "C" + "a" * 32


@pytest.fixture
def app(line_settings):
    with webhook_app(line_settings, bkk(2026, 6, 20, 9, 0)) as app:
        yield app


def drain(app) -> None:
    assert app.extensions[EXTENSION].wait_idle(10)


def status(url: str, event_id: str) -> str | None:
    with db.session_scope(url) as session:
        return session.scalar(select(WebhookEvent.status).where(WebhookEvent.id == event_id))


def replies_to(fake_line, ev: dict) -> int:
    """Reply calls LINE received for this event's token, accepted or not: twice is a bug."""
    return sum(1 for r in fake_line.calls(REPLY) if r.json["replyToken"] == ev["replyToken"])


def database_log_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "database unavailable" in r.getMessage()]


# --- 1. every database failure on /callback is a 503, one log line per kind ------------------


def _unreachable(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-dir' / 'itabot.db'}"
    return f"postgresql://postgres@127.0.0.1:{free_port()}/itabot"  # a stopped server


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_database_that_is_not_there_is_a_503_and_one_log_line_not_a_traceback(
    line_settings, fake_line, tmp_path, caplog, kind
):
    app = create_app(replace(line_settings, database_url=_unreachable(kind, tmp_path)))
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        answers = [
            post_signed(client, callback_body(text_event("OIT ปิดวันไหน")), SECRET) for _ in range(5)
        ]
    assert [(r.status_code, r.data) for r in answers] == [(503, b"database unavailable")] * 5
    [line] = database_log_lines(caplog)  # five failures of one kind: one line
    assert line.levelno == logging.ERROR and "POST /callback" in line.getMessage()
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text
    assert fake_line.requests == []
    assert client.get("/healthz").status_code == 503


@pytest.mark.parametrize("driver", ["sqlite3", "psycopg"])
def test_the_drivers_own_error_raised_past_sqlalchemy_is_a_503(
    line_settings, fake_line, monkeypatch, caplog, driver
):
    """Whatever layer raises: here the driver's OperationalError itself, unwrapped."""
    import psycopg

    error = sqlite3.OperationalError if driver == "sqlite3" else psycopg.OperationalError

    def down(*args, **kwargs):
        raise error("connection refused")

    monkeypatch.setattr("itabot.webhook.routes.record_events", down)
    app = create_app(line_settings)
    with caplog.at_level(logging.ERROR):
        response = post_signed(app.test_client(), callback_body(text_event("ปิดไหน")), SECRET)
    if driver == "psycopg" and db.normalise_url(line_settings.database_url).startswith("sqlite"):
        assert response.status_code == 500  # SQLite deployments never load psycopg
        return
    assert (response.status_code, response.data) == (503, b"database unavailable")
    assert not any(r.exc_info for r in caplog.records)


@pytest.fixture
def postgres_url(request, tmp_path):
    """A migrated PostgreSQL database of the test's own (skipped without TEST_DATABASE_URL)."""
    with _database(request, "postgres", tmp_path, migrated=True) as url:
        yield url


@pytest.mark.postgres
def test_postgres_restarted_under_the_pool_is_used_again_without_a_restart(
    postgres_url, line_settings, fake_line, caplog
):
    """The server drops every connection (a restart, a failover): the pool's pre-ping opens new
    ones, and nothing of it reaches LINE's answer or the log as a traceback."""
    app = create_app(replace(line_settings, database_url=postgres_url))
    client = app.test_client()
    first = text_event("OIT ปิดวันไหน")
    assert post_signed(client, callback_body(first), SECRET).status_code == 200
    drain(app)
    admin = create_engine(db.normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": postgres_url.rpartition("/")[2]},
        ).scalar()
    admin.dispose()
    assert killed >= 1
    with caplog.at_level(logging.INFO):
        again = text_event("กำหนดการถัดไป")
        assert post_signed(client, callback_body(again), SECRET).status_code == 200
        drain(app)
        assert client.get("/healthz").status_code == 200
    assert replies_to(fake_line, first) == replies_to(fake_line, again) == 1
    assert "Traceback" not in caplog.text


# --- 2. /healthz writes; a connection that failed a write is discarded -----------------------


def _make_read_only(path: Path) -> None:
    """Read-only for real: root ignores file modes, so as root the file is made immutable."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o644)


def test_healthz_is_503_while_the_sqlite_file_is_read_only_and_200_once_restored(
    sqlite_url, line_settings, fake_line
):
    app = create_app(replace(line_settings, database_url=sqlite_url))
    client = app.test_client()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    assert client.get("/healthz").status_code == 200
    _make_read_only(path)
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "cannot write"}
    finally:
        _make_writable(path)
    assert client.get("/healthz").status_code == 200  # no restart
    ev = text_event("OIT ปิดวันไหน")
    assert post_signed(client, callback_body(ev), SECRET).status_code == 200
    drain(app)
    assert replies_to(fake_line, ev) == 1


def test_a_pooled_connection_that_failed_a_write_is_discarded(database_url, caplog):
    """The connection a request got while the database was read-only (SQLite's file, or a
    PostgreSQL session on a read-only standby) stays read-only; at its first failed write the
    pool drops it and the write is done again on a new one: the request does not fail."""
    engine = db.engine_for(database_url)
    with engine.connect() as conn:  # the pool's one connection, now read-only for good
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")
        else:
            conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            conn.commit()
    [job] = jobs_from([text_event("OIT ปิดวันไหน")])
    with caplog.at_level(logging.INFO, logger="itabot.storage.db"):
        assert record_events(database_url, [job], "worker") == [job]
    assert "stale database connection dropped" in caplog.text
    assert status(database_url, job.event_id) == "received"


# --- 3. an event recorded but never answered is answered once, or recorded expired ----------


def _recorded_by_a_dead_worker(url: str, ev: dict, *, silent_for: timedelta) -> None:
    [job] = jobs_from([ev])
    assert record_events(url, [job], "dead-worker:1:0") == [job]
    with db.engine_for(url).begin() as conn:
        conn.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == ev["webhookEventId"])
            .values(claimed_at=datetime.now(UTC) - silent_for)
        )


def test_lines_redelivery_answers_an_event_whose_worker_died_before_the_200(
    app, fake_line, line_settings
):
    url = line_settings.database_url
    ev = text_event("OIT ปิดวันไหน")
    _recorded_by_a_dead_worker(url, ev, silent_for=timedelta(0))
    redelivered = {**ev, "deliveryContext": {"isRedelivery": True}}
    for _ in range(3):  # LINE may redeliver more than once; only the first takes it over
        assert post_signed(app.test_client(), callback_body(redelivered), SECRET).status_code == 200
        drain(app)
    assert replies_to(fake_line, ev) == 1
    assert status(url, ev["webhookEventId"]) == "done"


def test_the_sweep_answers_an_unanswered_event_while_its_token_lasts(app, fake_line, line_settings):
    url = line_settings.database_url
    ev = text_event("OIT ปิดวันไหน")
    ev["timestamp"] -= 20_000  # 20 s ago: the token has 30 s left
    _recorded_by_a_dead_worker(url, ev, silent_for=timedelta(seconds=20))
    assert app.test_client().get("/healthz").status_code == 200  # a worker's first request
    drain(app)
    assert replies_to(fake_line, ev) == 1
    assert status(url, ev["webhookEventId"]) == "done"
    again = {**ev, "deliveryContext": {"isRedelivery": True}}
    assert post_signed(app.test_client(), callback_body(again), SECRET).status_code == 200
    drain(app)
    assert replies_to(fake_line, ev) == 1


def test_an_unanswered_event_past_its_token_is_recorded_expired_and_nobody_is_pushed(
    app, fake_line, line_settings
):
    url = line_settings.database_url
    ev = text_event("OIT ปิดวันไหน")
    ev["timestamp"] -= 90_000
    _recorded_by_a_dead_worker(url, ev, silent_for=timedelta(seconds=90))
    assert app.test_client().get("/healthz").status_code == 200
    drain(app)
    assert status(url, ev["webhookEventId"]) == "expired"
    assert fake_line.requests == []


def test_an_event_whose_worker_died_during_the_reply_is_retried_with_the_same_token(
    app, fake_line, line_settings
):
    """Not before the claim is older than any live reply call; then with the same reply token,
    which LINE accepts once: a call that did reach LINE makes the retry a refused no-op."""
    url = line_settings.database_url
    ev = text_event("OIT ปิดวันไหน")
    _recorded_by_a_dead_worker(url, ev, silent_for=timedelta(0))
    assert claim_reply(url, ev["webhookEventId"], "dead-worker:1:0")
    again = {**ev, "deliveryContext": {"isRedelivery": True}}
    assert post_signed(app.test_client(), callback_body(again), SECRET).status_code == 200
    drain(app)
    assert fake_line.requests == []  # the dying worker's call may still be on its way
    later = datetime.now(UTC) + REPLYING_STALE + timedelta(seconds=1)
    [taken] = sweep_stale_events(url, now=later, owner=app.extensions[EXTENSION].owner).taken
    app.extensions[EXTENSION].submit(handle_job, app.extensions[EXTENSION], taken)
    drain(app)
    assert replies_to(fake_line, ev) == 1
    assert status(url, ev["webhookEventId"]) == "done"


def test_a_reply_cut_short_past_the_tokens_life_is_failed_not_retried(line_settings):
    url = line_settings.database_url
    ev = text_event("OIT ปิดวันไหน")
    _recorded_by_a_dead_worker(url, ev, silent_for=timedelta(0))
    assert claim_reply(url, ev["webhookEventId"], "dead-worker:1:0")
    swept = sweep_stale_events(url, now=datetime.now(UTC) + timedelta(minutes=3), owner="me")
    assert (swept.abandoned, swept.taken) == ([ev["webhookEventId"]], [])
    assert status(url, ev["webhookEventId"]) == "failed"


def test_a_late_owner_drops_its_answer_when_the_event_was_taken_over(line_settings):
    """Two processes handling one event (a redelivery while the first owner was only slow):
    the claim before the reply lets one through."""
    url = line_settings.database_url
    ev = text_event("OIT ปิดวันไหน")
    [job] = jobs_from([ev])
    record_events(url, [job], "first")
    [taken] = record_events(url, [replace(job, redelivery=True)], "second")
    assert taken.event_id == job.event_id
    assert not claim_reply(url, job.event_id, "first")
    assert claim_reply(url, job.event_id, "second")
    assert not claim_reply(url, job.event_id, "second")


# --- 4. each event of a body stands alone; ids in LINE's formats -----------------------------


def test_a_malformed_event_is_skipped_and_its_siblings_are_answered(app, fake_line, line_settings):
    good = [text_event("OIT ปิดวันไหน", src=source("user", USER)) for _ in range(2)]
    unknown_mode = text_event("OIT ปิดวันไหน", mode="sleeping")
    bad_time = text_event("OIT ปิดวันไหน")
    bad_time["timestamp"] = "yesterday"
    no_type = text_event("OIT ปิดวันไหน")
    del no_type["type"]
    nul_id = text_event("OIT ปิดวันไหน", event_id="01ABCDEFGHJKMNPQRSTVWX\x00YZ")
    bidi_group = text_event("OIT ปิดวันไหน", src=source("group", USER, "C3590\u202e/../etc/passwd"))
    short_user = text_event("OIT ปิดวันไหน", src=source("user", "U1234"))
    body = callback_body(
        good[0], unknown_mode, bad_time, no_type, nul_id, bidi_group, short_user, "x", good[1]
    )
    response = post_signed(app.test_client(), body, SECRET)
    drain(app)
    assert response.status_code == 200
    assert [replies_to(fake_line, ev) for ev in good] == [1, 1]
    with db.session_scope(line_settings.database_url) as session:
        stored = set(session.scalars(select(WebhookEvent.id)))
        chats = set(session.scalars(select(Chat.id)))
    assert stored <= {ev["webhookEventId"] for ev in (*good, unknown_mode, bad_time)}
    assert {ev["webhookEventId"] for ev in good} <= stored
    assert chats == {USER, "U" + "1" * 32}  # the good ones' and the odd-but-signed ones' user


@pytest.mark.parametrize(
    "field, value",
    [
        ("webhookEventId", "01HZX3W8Q9V7N6M5K4J3H2G1F"),  # 25 characters
        ("webhookEventId", "01hzx3w8q9v7n6m5k4j3h2g1f0"),  # lower case
        ("userId", "U" + "A" * 32),  # upper-case hex
        ("userId", "C" + "a" * 32),  # a group's prefix for a user
        ("groupId", "C" + "a" * 31 + "\x00"),
        ("roomId", "R" + "b" * 33),
    ],
)
def test_ids_outside_lines_formats_are_refused_for_their_event_only(field, value):
    ev = event("follow", src=source("room", USER, "R" + "b" * 32), reply_token="t" * 32)
    if field == "webhookEventId":
        ev[field] = value
    else:
        ev["source"][field] = value
    assert jobs_from([ev, event("follow", reply_token="u" * 32)])[0].event_type == "follow"
    assert len(jobs_from([ev])) == 0


# --- 5. a reply only while its token can be used ----------------------------------------------


def test_an_event_that_waited_past_its_tokens_life_is_expired_not_replied(
    app, fake_line, line_settings
):
    """A slow LINE holds the chat's first reply; the second waits behind it, and by its turn the
    token is older than REPLY_WITHIN: no reply is tried with it."""
    rt = app.extensions[EXTENSION]
    first, second = (text_event(t, src=source("user", USER)) for t in ("OIT ปิดวันไหน", "IIT"))
    fake_line.hold(REPLY)
    for ev in (first, second):
        assert post_signed(app.test_client(), callback_body(ev), SECRET).status_code == 200
    while status(line_settings.database_url, first["webhookEventId"]) != "replying":
        time.sleep(0.01)  # until the first reply is on its way to the held LINE
    rt.utcnow = lambda: datetime.now(UTC) + REPLY_WITHIN + timedelta(seconds=1)
    fake_line.release()
    drain(app)
    assert (replies_to(fake_line, first), replies_to(fake_line, second)) == (1, 0)
    assert status(line_settings.database_url, second["webhookEventId"]) == "expired"


def test_an_event_already_too_old_on_arrival_is_expired_at_once(app, fake_line, line_settings):
    ev = text_event("OIT ปิดวันไหน")
    ev["timestamp"] -= 70_000  # a redelivery long after the message
    ev["deliveryContext"] = {"isRedelivery": True}
    assert post_signed(app.test_client(), callback_body(ev), SECRET).status_code == 200
    drain(app)
    assert fake_line.requests == []
    assert status(line_settings.database_url, ev["webhookEventId"]) == "expired"


# --- 6. look-alike agency names; the purge of old events --------------------------------------


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("อบต.ส่่่่ซ้อน", "องค์การบริหารส่วนตำบลส่ซ้อน"),  # a tone mark typed four times
        ("ทต.เเก่นเหนือ", "เทศบาลตำบลแก่นเหนือ"),  # เ + เ for แ
        ("อบต.นํ้าใส", "อบต.น้ำใส"),  # ํ + ้ + า for ้ + ำ
        ("อบต.ก้ีด", "อบต.กี้ด"),  # the tone mark typed before its vowel
    ],
)
def test_agency_names_that_look_the_same_are_one_agency(typed, meant):
    assert agency_key(typed) == agency_key(meant)


def test_old_webhook_events_are_purged_in_batches_and_recent_ones_kept(database_url, monkeypatch):
    monkeypatch.setattr("itabot.webhook.events.PURGE_BATCH", 3)
    now = datetime.now(UTC)
    with db.session_scope(database_url) as session:
        for i, age in enumerate([40, 35, 31, 31, 31, 29, 1]):
            session.add(
                WebhookEvent(
                    id=f"01PURGE{i:019d}",
                    event_type="message",
                    status="done",
                    received_at=now - timedelta(days=age),
                )
            )
    assert purge_events(database_url, timedelta(days=30), now=now) == 5
    with db.session_scope(database_url) as session:
        assert sorted(session.scalars(select(WebhookEvent.id))) == [
            "01PURGE0000000000000000005",
            "01PURGE0000000000000000006",
        ]


def test_the_clock_purges_after_the_retention_the_environment_sets(database_url):
    from apscheduler.schedulers.background import BackgroundScheduler

    settings = replace(
        Settings.from_env({"ITABOT_EVENT_RETENTION_DAYS": "7"}), database_url=database_url
    )
    assert Settings.from_env({}).event_retention_days == 30
    assert build_scheduler(BackgroundScheduler, settings, job=lambda: None).get_job(PURGE_JOB_ID)
    with db.session_scope(database_url) as session:
        session.add(
            WebhookEvent(
                id="01OLD0000000000000000000000"[:26],
                event_type="follow",
                status="done",
                received_at=datetime.now(UTC) - timedelta(days=8),
            )
        )
    assert purge_webhook_events(settings) == 1


def test_a_bodys_events_are_read_one_by_one_from_raw_json():
    """Not the SDK's parser, which refuses a whole body for one event it cannot read."""
    events = json.loads(callback_body(text_event("ก"), {"type": "message"}, text_event("ข")))
    assert [job.text for job in jobs_from(events["events"])] == ["ก", "ข"]
