"""Whatever arrives at /callback — random bytes, random signatures, random JSON signed with the
right secret, LINE-shaped events with random fields — the webhook never answers 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itabot.app import create_app
from itabot.config import Settings
from itabot.webhook.routes import EXTENSION
from tests.fakeline import post_signed

pytest_plugins = ["tests.fakeline"]

SECRET = "fuzz-secret"
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=6)
    ),
    max_leaves=30,
)
event_types = st.sampled_from(
    ["message", "follow", "unfollow", "join", "leave", "postback", "memberJoined", "unsend", "x"]
)
ids = st.text(max_size=80) | st.sampled_from(["U" + "a" * 32, "C" + "b" * 32, "R" + "c" * 32])


@st.composite
def line_shaped_events(draw) -> dict:
    """Events that look like LINE's, with any field missing, mistyped or odd."""
    ev = {
        "type": draw(event_types),
        "mode": draw(st.sampled_from(["active", "standby", "other"])),
        "timestamp": draw(st.integers(min_value=-1, max_value=2**63)),
        "webhookEventId": draw(ids),
        "deliveryContext": {"isRedelivery": draw(st.booleans())},
        "replyToken": draw(st.text(max_size=40)),
        "source": draw(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["user", "group", "room", "?"])},
                optional={"userId": ids, "groupId": ids, "roomId": ids},
            )
        ),
        "message": draw(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["text", "image", "sticker", "?"]),
                    "id": st.text(max_size=5),
                },
                optional={"text": st.text(max_size=300), "quoteToken": st.text(max_size=5)},
            )
        ),
        "follow": {"isUnblocked": draw(st.booleans())},
    }
    for key in draw(st.lists(st.sampled_from(sorted(ev)), max_size=3)):
        ev.pop(key, None)
    for key, value in draw(
        st.dictionaries(st.sampled_from(sorted(ev) or ["x"]), json_values, max_size=2)
    ).items():
        ev[key] = value
    return ev


@pytest.fixture
def app(sqlite_url, fake_line):
    """SQLite only: this is about parsing, not the database (test_webhook.py covers both)."""
    app = create_app(
        Settings(
            database_url=sqlite_url,
            line_channel_secret=SECRET,
            line_channel_access_token="fuzz-token",
            line_api_base_url=fake_line.base_url,
        )
    )
    yield app
    app.extensions[EXTENSION].wait_idle(30)


@FUZZ
@given(
    body=st.binary(max_size=2000),
    signature=st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
)
def test_random_bytes_and_signatures_never_give_5xx(app, body, signature):
    response = app.test_client().post(
        "/callback", data=body, headers={"X-Line-Signature": signature}
    )
    assert response.status_code == 400


@FUZZ
@given(value=json_values)
def test_validly_signed_random_json_never_gives_5xx(app, value):
    body = json.dumps(value).encode()
    response = post_signed(app.test_client(), body, SECRET)
    assert response.status_code in (200, 400)


@FUZZ
@given(events=st.lists(line_shaped_events(), min_size=0, max_size=4), destination=json_values)
def test_validly_signed_line_shaped_events_never_give_5xx(app, events, destination):
    body = json.dumps({"destination": destination, "events": events}).encode()
    response = post_signed(app.test_client(), body, SECRET)
    assert response.status_code in (200, 400)
