"""Destructive admin buttons never act on one tap: `/agency remove`'s suggestions have distinct
labels and only ask; the signed "ยืนยันลบ" on the question's card removes; a forged, expired,
stale or non-admin press removes nothing and is answered in Thai. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from linebot.v3.messaging import FlexMessage

from itabot.admin import confirm
from itabot.line.answer_messages import MAX_LABEL, answer_to_messages, distinct_labels
from itabot.router import Services, handle_message, handle_postback
from tests.conftest import bkk
from tests.test_admin import ADMIN, GROUP, STAFF, agencies, audit_rows, chat

pytest_plugins = ["tests.fakeline"]

NOW = bkk(2026, 6, 20, 9, 0)
SURIN = ("อบต.สุรินทร์ใต้", "อบต.สุรินทร์เหนือ", "อบต.สุรินทร์กลาง")


@pytest.fixture
def services(line_settings, calendars) -> Services:
    return Services(settings=line_settings, calendars=calendars)


def say(services, text, *, user=ADMIN, chat_id=None, now=NOW):
    chat_id = chat_id or user
    kind = "group" if chat_id.startswith("C") else "user"
    return handle_message(
        text, services=services, now=now, user_id=user, chat_id=chat_id, chat_type=kind
    )


def press(services, data, *, user=ADMIN, now=NOW):
    return handle_postback(
        data, services=services, now=now, user_id=user, chat_id=user, chat_type="user"
    )


@pytest.fixture
def surin(services):
    say(services, "/agency add สุรินทร์ " + "\n".join(SURIN))
    say(services, "/bind อบต.สุรินทร์ใต้", chat_id=GROUP)
    assert len(agencies(services)) == 3


def suggestions(services):
    reply = say(services, "/agency remove อบต.สุรินทร์")
    assert "หมายถึงหน่วยงานเหล่านี้หรือไม่" in reply.text
    return reply


def test_suggested_removals_have_distinct_labels_and_only_ask(services, surin):
    reply = suggestions(services)
    assert reply.quick_replies == ()  # no button sends "/agency remove …" itself
    [message] = answer_to_messages(reply)
    labels = [item.action.label for item in message.quick_reply.items]
    assert len(labels) == 3 == len(set(labels))
    assert all(len(label) <= MAX_LABEL and label.startswith("ลบ") for label in labels)
    assert all(item.action.type == "postback" for item in message.quick_reply.items)
    assert len(agencies(services)) == 3  # suggesting removed nothing


def test_one_tap_asks_and_only_the_confirmation_removes(services, surin):
    label, data = suggestions(services).postbacks[0]
    assert label == "ลบ อบต.สุรินทร์ใต้"
    asked = press(services, data)
    assert asked.text.startswith('ลบหน่วยงาน "องค์การบริหารส่วนตำบลสุรินทร์ใต้" จังหวัดสุรินทร์ หรือไม่')
    assert "แชทที่ผูกไว้ 1 แชทจะถูกยกเลิกการผูก" in asked.text
    assert len(agencies(services)) == 3
    [card] = answer_to_messages(asked)
    assert isinstance(card, FlexMessage)
    buttons = card.contents.footer.contents
    assert [b.action.label for b in buttons] == ["ยืนยันลบ", "ยกเลิก"]
    assert [b.action.type for b in buttons] == ["postback", "postback"]

    done = press(services, buttons[0].action.data, now=NOW + timedelta(minutes=9))
    assert 'ลบหน่วยงาน "องค์การบริหารส่วนตำบลสุรินทร์ใต้" จังหวัดสุรินทร์ แล้ว' in done.text
    assert len(agencies(services)) == 2
    assert chat(services, GROUP).agency_id is None
    row = audit_rows(services)[-1]
    assert (row.command, row.outcome) == ("/agency remove สุรินทร์ องค์การบริหารส่วนตำบลสุรินทร์ใต้", "ok")


def test_cancel_changes_nothing(services, surin):
    asked = press(services, suggestions(services).postbacks[1][1])
    cancel = asked.confirm[1][1]
    assert press(services, cancel).text == "ยกเลิกแล้ว ไม่มีการเปลี่ยนแปลง"
    assert len(agencies(services)) == 3


def _yes(services):
    return press(services, suggestions(services).postbacks[0][1]).confirm[0][1]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d[:-2] + ("AA" if not d.endswith("AA") else "BB"),  # a forged MAC
        lambda d: d.replace(":v1:agency-remove:", ":v1:agency-remove:9", 1),  # another agency
        lambda d: "yes" + d[3:].replace(d.split(":")[4], "9999999999"),  # a later expiry
        lambda d: d + "x" * 300,  # too long
    ],
)
def test_a_forged_confirmation_removes_nothing(services, surin, spoil):
    answer = press(services, spoil(_yes(services)))
    assert answer.text == confirm.FORGED
    assert len(agencies(services)) == 3
    assert audit_rows(services)[-1].outcome == "invalid"


def test_an_expired_confirmation_removes_nothing(services, surin):
    answer = press(services, _yes(services), now=NOW + timedelta(minutes=11))
    assert answer.text == confirm.FORGED
    assert len(agencies(services)) == 3


def test_a_button_of_a_removed_agency_does_not_remove_the_one_that_took_its_id(services, surin):
    stale = _yes(services)
    press(services, stale)
    say(services, "/agency add สุรินทร์ อบต.ใหม่")  # SQLite may hand it the freed id
    assert press(services, stale).text == confirm.FORGED
    assert "องค์การบริหารส่วนตำบลใหม่" in [name for _, name, _ in agencies(services)]


def test_staff_cannot_ask_or_confirm(services, surin):
    ask = suggestions(services).postbacks[0][1]
    assert "ใช้ได้เฉพาะผู้ดูแลระบบ" in press(services, ask, user=STAFF).text
    assert "ใช้ได้เฉพาะผู้ดูแลระบบ" in press(services, _yes(services), user=STAFF).text
    assert len(agencies(services)) == 3


def test_a_typed_remove_of_one_agency_still_acts_at_once(services, surin):
    reply = say(services, "/agency remove สุรินทร์ อบต.สุรินทร์กลาง")
    assert "แล้ว" in reply.text and len(agencies(services)) == 2


def test_labels_cut_to_twenty_characters_are_never_identical():
    texts = [f"/agency remove สุรินทร์ {name}" for name in SURIN]
    labels = distinct_labels(texts)
    assert len(set(labels)) == 3 and all(len(label) <= MAX_LABEL for label in labels)
    same_ends = ["ก" * 30 + "x" + "ข" * 30, "ก" * 30 + "y" + "ข" * 30]
    assert len(set(distinct_labels(same_ends))) == 2
    assert distinct_labels(["OIT ปิดวันไหน", "กำหนดการถัดไป"]) == ["OIT ปิดวันไหน", "กำหนดการถัดไป"]


def test_through_the_webhook_the_buttons_ask_then_remove(line_settings, surin, fake_line):
    """The buttons as LINE receives them (the reply's JSON), pressed as signed postback events."""
    from itabot.app import create_app
    from itabot.webhook.routes import EXTENSION
    from tests.fakeline import (
        SECRET,
        callback_body,
        event,
        new_event_id,
        sign,
        source,
        text_event,
    )

    app = create_app(line_settings)
    app.extensions[EXTENSION].clock = lambda: NOW
    client = app.test_client()

    def send(ev) -> list[dict]:
        fake_line.reset()
        body = callback_body(ev)
        headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body, SECRET)}
        assert client.post("/callback", data=body, headers=headers).status_code == 200
        assert app.extensions[EXTENSION].wait_idle(10)
        [reply] = fake_line.replies
        return reply.json["messages"]

    def token() -> str:
        return new_event_id().lower().ljust(32, "0")

    def tap(data: str) -> list[dict]:
        src = source("user", user_id=ADMIN)
        return send(event("postback", src=src, reply_token=token(), postback={"data": data}))

    text = text_event("/agency remove อบต.สุรินทร์", src=source("user", user_id=ADMIN))
    try:
        [listing] = send(text)
        chips = [item["action"] for item in listing["quickReply"]["items"]]
        assert {c["type"] for c in chips} == {"postback"} and len({c["label"] for c in chips}) == 3
        [card] = tap(chips[0]["data"])
        assert card["type"] == "flex" and len(agencies(services_of(app))) == 3
        yes, no = card["contents"]["footer"]["contents"]
        assert (yes["action"]["label"], no["action"]["label"]) == ("ยืนยันลบ", "ยกเลิก")
        [done] = tap(yes["action"]["data"])
        assert done["text"].startswith('ลบหน่วยงาน "องค์การบริหารส่วนตำบลสุรินทร์ใต้"')
        assert len(agencies(services_of(app))) == 2
    finally:
        app.extensions[EXTENSION].wait_idle(10)


def services_of(app):
    from itabot.webhook.routes import EXTENSION

    return app.extensions[EXTENSION].services
