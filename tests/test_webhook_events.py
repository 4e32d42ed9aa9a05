"""Every event and message type in LINE's webhook spec (tests/spec/line-openapi/webhook.yml), from a
user, a group and a room, is accepted with 200. The bodies are generated from the spec's own
schemas — every property filled in — so a type LINE adds to the spec is tested as soon as the
spec file is updated."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import yaml
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhook import WebhookParser
from sqlalchemy import select

from itabot.app import create_app
from itabot.config import Settings
from itabot.storage import db
from itabot.storage.models import WebhookEvent
from itabot.webhook.routes import EXTENSION
from tests.conftest import LINE_OPENAPI, bkk
from tests.fakeline import callback_body, new_event_id, post_signed, sign

pytest_plugins = ["tests.fakeline"]

SPEC_PATH = LINE_OPENAPI / "webhook.yml"
SECRET = "events-test-secret"
TOKEN = "events-test-token"
USER_ID = "U" + "1" * 32
IDS = {"user": USER_ID, "group": "C" + "2" * 32, "room": "R" + "3" * 32}


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


class Instances:
    """Example instances of the spec's schemas: all properties, first enum value, sane formats."""

    def __init__(self, spec: dict) -> None:
        self.schemas = spec["components"]["schemas"]

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def of(self, schema: dict, name: str = "", choose: dict[str, str] | None = None) -> Any:
        schema = self.resolve(schema)
        choose = choose or {}
        if "discriminator" in schema:  # an abstract type: instantiate one concrete subtype
            mapping = schema["discriminator"]["mapping"]
            key = choose.get(schema["discriminator"]["propertyName"] + ":" + name) or next(
                iter(mapping)
            )
            return self.of({"$ref": mapping[key]}, name, choose) | {
                schema["discriminator"]["propertyName"]: key
            }
        if "allOf" in schema:
            out: dict = {}
            for part in schema["allOf"]:
                part = self.resolve(part)
                if "discriminator" in part:  # the abstract parent: its own properties only
                    part = {k: v for k, v in part.items() if k != "discriminator"}
                out |= self.of(part, name, choose)
            return out
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "object")
        if kind == "object" or "properties" in schema:
            return {
                prop: self.of(sub, prop, choose)
                for prop, sub in (schema.get("properties") or {}).items()
            }
        if kind == "array":
            return [self.of(schema.get("items", {}), name, choose)]
        if kind == "integer":
            return 1_700_000_000_000 if name == "timestamp" else 1
        if kind == "number":
            return 13.75
        if kind == "boolean":
            return False
        if schema.get("format") == "uri":
            return "https://example.com/content.jpg"
        return {"userId": USER_ID, "groupId": IDS["group"], "roomId": IDS["room"]}.get(
            name, f"{name or 'value'}-{uuid.uuid4().hex[:8]}"
        )


def source(kind: str) -> dict:
    if kind == "user":
        return {"type": "user", "userId": USER_ID}
    return {"type": kind, f"{kind}Id": IDS[kind], "userId": USER_ID}


def spec_events(spec: dict, kind: str) -> list[tuple[str, dict]]:
    """(label, event) for every event type and every message type, from `kind` of chat."""
    make = Instances(spec)
    event_types = spec["components"]["schemas"]["Event"]["discriminator"]["mapping"]
    message_types = spec["components"]["schemas"]["MessageContent"]["discriminator"]["mapping"]
    out = []
    for event_type in event_types:
        variants = message_types if event_type == "message" else [None]
        for message_type in variants:
            choose = {"type:": event_type}
            if message_type:
                choose["type:message"] = message_type
            ev = make.of({"$ref": "#/components/schemas/Event"}, "", choose)
            ev.update(
                source=source(kind),
                mode="active",
                webhookEventId=new_event_id(),
                deliveryContext={"isRedelivery": False},
            )
            if "replyToken" in ev:
                ev["replyToken"] = uuid.uuid4().hex
            out.append((f"{event_type}/{message_type}" if message_type else event_type, ev))
    return out


def test_the_generated_bodies_are_what_the_sdk_expects(spec):
    """Guard for the generator: the SDK recognises every generated event as its own type."""
    events = spec_events(spec, "group")
    assert len(events) >= 25
    body = json.dumps({"destination": USER_ID, "events": [e for _, e in events]})
    parsed = WebhookParser(SECRET).parse(body, sign(body.encode(), SECRET))
    unknown = [
        label for (label, _), ev in zip(events, parsed, strict=True) if isinstance(ev, UnknownEvent)
    ]
    assert unknown == []


@pytest.fixture
def app(sqlite_url, fake_line):
    """SQLite only: this is about parsing, not the database (test_webhook.py covers both)."""
    app = create_app(
        Settings(
            database_url=sqlite_url,
            line_channel_secret=SECRET,
            line_channel_access_token=TOKEN,
            line_api_base_url=fake_line.base_url,
        )
    )
    app.extensions[EXTENSION].clock = lambda: bkk(2026, 6, 20, 9, 0)
    return app


@pytest.mark.parametrize("kind", ["user", "group", "room"])
def test_every_event_and_message_type_in_the_spec_gets_200(app, spec, fake_line, kind):
    client = app.test_client()
    events = spec_events(spec, kind)
    for label, ev in events:
        body = callback_body(ev)
        response = post_signed(client, body, SECRET)
        assert response.status_code == 200, label
    assert app.extensions[EXTENSION].wait_idle(10)
    with db.session_scope(app.extensions[EXTENSION].database_url) as session:
        stored = {e.id: e.status for e in session.scalars(select(WebhookEvent))}
    assert stored == {ev["webhookEventId"]: "done" for _, ev in events}
    replied_to = {r.json["replyToken"] for r in fake_line.replies}
    greeted = {ev["replyToken"] for _, ev in events if ev["type"] in ("follow", "join")}
    assert greeted <= replied_to  # follow/join greet in every kind of chat
    for reply in fake_line.replies:
        assert 1 <= len(reply.json["messages"]) <= 5


@pytest.mark.parametrize("kind", ["user", "group", "room"])
def test_all_spec_events_in_one_body_get_200(app, spec, kind):
    body = callback_body(*(ev for _, ev in spec_events(spec, kind)))
    client = app.test_client()
    assert post_signed(client, body, SECRET).status_code == 200
    assert app.extensions[EXTENSION].wait_idle(10)


@pytest.mark.parametrize("event_type", ["things", "messageEdited", "somethingLineAddsNextYear"])
def test_event_types_outside_the_spec_get_200(app, fake_line, event_type):
    ev = {
        "type": event_type,
        "mode": "active",
        "timestamp": 1_700_000_000_000,
        "source": source("user"),
        "webhookEventId": new_event_id(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "things": {"deviceId": "t1", "type": "link"},
    }
    body = callback_body(ev)
    client = app.test_client()
    assert post_signed(client, body, SECRET).status_code == 200
    assert app.extensions[EXTENSION].wait_idle(10)
    assert fake_line.calls("/v2/bot/message/reply") == []
