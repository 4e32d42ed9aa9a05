"""A group's stored member count follows LINE's memberJoined / memberLeft events, so the month
plan prices its pushes right without asking LINE again; the bot says nothing. SQLite, and
PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import pytest

from itabot.storage import db
from itabot.storage.models import Chat
from itabot.webhook.routes import EXTENSION
from tests.fakeline import SECRET, callback_body, event, post_signed, source, webhook_app
from tests.test_reminder_support import bind_chat

pytest_plugins = ["tests.fakeline"]

GROUP = "C" + "5" * 32
NEWCOMERS = [{"type": "user", "userId": "U" + c * 32} for c in "123"]


@pytest.fixture
def app(line_settings):
    with webhook_app(line_settings) as app:
        yield app


def members(url: str, chat_id: str = GROUP) -> int | None:
    with db.session_scope(url) as session:
        return session.get(Chat, chat_id).member_count


def deliver(app, *events) -> None:
    response = post_signed(app.test_client(), callback_body(*events), SECRET)
    assert response.status_code == 200
    app.extensions[EXTENSION].wait_idle(10)


def test_joins_and_leaves_move_the_stored_count_silently(app, line_settings, fake_line):
    url = line_settings.database_url
    bind_chat(url, GROUP, member_count=8)
    group = source("group", chat_id=GROUP)
    deliver(
        app,
        event("memberJoined", src=group, reply_token="a" * 32, joined={"members": NEWCOMERS}),
    )
    assert members(url) == 11
    deliver(app, event("memberLeft", src=group, left={"members": NEWCOMERS[:1]}))
    assert members(url) == 10
    assert fake_line.replies == [] and fake_line.pushes == []


def test_a_count_never_asked_stays_unknown_and_never_goes_below_one(app, line_settings):
    url = line_settings.database_url
    bind_chat(url, GROUP)
    other = "C" + "6" * 32
    bind_chat(url, other, member_count=2)
    deliver(
        app,
        event("memberJoined", src=source("group", chat_id=GROUP), joined={"members": NEWCOMERS}),
        event("memberLeft", src=source("group", chat_id=other), left={"members": NEWCOMERS}),
    )
    assert members(url) is None  # LINE is asked at the next dispatch
    assert members(url, other) == 1
