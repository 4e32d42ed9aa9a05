""" "✓ ทำแล้ว" (issue 13, items 1 and 2): the button from the reminder's own Flex JSON pressed in a
group through the webhook, recorded once for the agency, stopping that agency's reminders of
that phase and no other's; forged, malformed, unbound and closed presses store nothing; the same
by text (`/done`, "ส่ง OIT แล้ว", `/undone`). SQLite, and PostgreSQL when TEST_DATABASE_URL is set;
every clock injected."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from itabot.admin import done
from itabot.line.answer_messages import MAX_LABEL, MAX_QUICK_REPLIES, answer_to_messages
from itabot.line.client import messages_to_json
from itabot.reminders.dispatch import dispatch
from itabot.reminders.messages import reminder_messages
from itabot.router import Services, handle_message, handle_postback
from itabot.storage import db
from itabot.storage.models import Confirmation
from itabot.webhook.routes import EXTENSION
from tests.conftest import bkk
from tests.fakeline import SECRET, callback_body, event, new_event_id, sign, source, webhook_app
from tests.test_reminder_support import FakeGateway, bind_chat, ledger

pytest_plugins = ["tests.fakeline"]

ADMIN = "Uad000000000000000000000000000001"  # conftest's settings.admin_ids
GROUP = "C" + "1" * 32  # อบต.ตาเมียง
GROUP_2 = "C" + "2" * 32  # อบต.ตาเมียง, a second group
OTHER = "C" + "3" * 32  # another agency
UNBOUND = "C" + "4" * 32
ALICE = "U" + "a" * 32
BOB = "U" + "b" * 32
SEVEN_DAYS_BEFORE = bkk(2026, 6, 23, 8, 30)
THREE_DAYS_BEFORE = bkk(2026, 6, 27, 8, 30)
NOON_ISH = bkk(2026, 6, 23, 9, 0)
OIT = "national-2569/oit-answer"
IIT = "national-2569/iit"


@pytest.fixture
def services(line_settings, calendars) -> Services:
    return Services(settings=line_settings, calendars=calendars)


@pytest.fixture
def groups(line_settings) -> None:
    url = line_settings.database_url
    bind_chat(url, GROUP)
    bind_chat(url, GROUP_2)
    bind_chat(url, OTHER, agency="องค์การบริหารส่วนตำบลเฉนียง")
    bind_chat(url, UNBOUND, agency=None)


@pytest.fixture
def app(line_settings):
    with webhook_app(line_settings, bkk(2026, 6, 23, 9, 0)) as app:
        yield app


def remind(settings, gateway, at):
    return dispatch(settings.database_url, gateway, settings_calendars(settings), settings, at, "t")


def settings_calendars(settings):
    from itabot.calendars.model import Calendars

    return Calendars.load(settings.schedules_dir)


def postbacks_in(messages_json: str) -> dict[str, str]:
    """Every postback button of a push, by phase key: read from the Flex JSON LINE receives."""
    found: dict[str, str] = {}

    def walk(node) -> None:
        if isinstance(node, dict):
            action = node.get("action")
            if isinstance(action, dict) and action.get("type") == "postback":
                data = action["data"]
                found[data.split(":")[2]] = data
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(messages_json))
    return found


def press_in_group(client, data: str, chat_id: str = GROUP, user: str = ALICE, **kw):
    ev = event(
        "postback",
        src=source("group", user_id=user, chat_id=chat_id),
        reply_token=new_event_id().lower().ljust(32, "0"),
        postback={"data": data},
        **kw,
    )
    body = callback_body(ev)
    response = client.post(
        "/callback",
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": sign(body, SECRET)},
    )
    assert response.status_code == 200
    return ev


def confirmations(url) -> list[Confirmation]:
    with db.session_scope(url) as session:
        rows = session.scalars(select(Confirmation)).all()
        session.expunge_all()
        return list(rows)


def reply_texts(fake_line) -> list[str]:
    out = []
    for r in fake_line.replies:
        out.extend(m.get("text") or m.get("altText") for m in r.json["messages"])
    return out


# --- the button from the reminder, through the webhook ---------------------------------------


def test_the_reminders_button_pressed_in_a_group_is_recorded_once_and_stops_that_agency_only(
    app, line_settings, groups, fake_line
):
    url = line_settings.database_url
    line = FakeGateway()
    remind(line_settings, line, SEVEN_DAYS_BEFORE)
    pushed = {to: messages_to_json(m) for to, _key, m in line.calls}
    assert set(pushed) == {GROUP, GROUP_2, OTHER}
    buttons = postbacks_in(pushed[GROUP])
    assert set(buttons) == {OIT, IIT}

    client = app.test_client()
    first = press_in_group(client, buttons[OIT])
    app.extensions[EXTENSION].wait_idle(10)
    # LINE redelivers the same event, and a member taps again in the agency's other group
    press_in_group(client, buttons[OIT], event_id=first["webhookEventId"], redelivery=True)
    press_in_group(client, buttons[OIT], chat_id=GROUP_2, user=BOB)
    app.extensions[EXTENSION].wait_idle(10)

    [row] = confirmations(url)
    assert (row.calendar + "/" + row.phase_id, row.fiscal_year, row.confirmed_by) == (
        OIT,
        2569,
        ALICE,
    )
    texts = reply_texts(fake_line)
    assert len(texts) == 2  # the redelivery is deduped: no second answer
    assert texts[0].startswith("บันทึกแล้ว ✓ OIT")
    assert "ยืนยันไว้แล้ว" in texts[1] and "ผู้ใช้ Uaaaa" in texts[1]
    assert fake_line.pushes == []  # every answer is a reply (free), never a push
    undo_buttons = [
        item["action"]
        for r in fake_line.replies
        for m in r.json["messages"]
        for item in (m.get("quickReply") or {}).get("items", [])
    ]
    assert [a["label"] for a in undo_buttons] == ["ยกเลิก", "ยกเลิก"]
    assert all(a["type"] == "postback" and a["data"].startswith("undo:v1:") for a in undo_buttons)

    line = FakeGateway()
    report = remind(line_settings, line, THREE_DAYS_BEFORE)
    assert report.suppressed == 2
    sent = {to: set(postbacks_in(messages_to_json(m))) for to, _key, m in line.calls}
    assert sent == {GROUP: {IIT}, GROUP_2: {IIT}, OTHER: {IIT, OIT}}
    three = {(r.chat_id, r.phase): r.status for r in ledger(url) if r.offset_days == 3}
    assert three[(GROUP, OIT)] == three[(GROUP_2, OIT)] == "suppressed"
    assert three[(OTHER, OIT)] == "sent"
    again = remind(line_settings, FakeGateway(), THREE_DAYS_BEFORE.replace(minute=45))
    assert (again.suppressed, again.pushes_created) == (0, 0)


def test_who_confirmed_is_shown_by_the_line_name_lines_gives(app, line_settings, groups, fake_line):
    """LINE's name of the member who pressed (its group member profile), cleaned and kept with
    the confirmation; the other group and a later answer show it too."""
    fake_line.display_names[ALICE] = "สมหญิง ใจดี\u202e\n" + "ก" * 80
    line = FakeGateway()
    remind(line_settings, line, SEVEN_DAYS_BEFORE)
    buttons = postbacks_in(messages_to_json(next(m for to, _k, m in line.calls if to == GROUP)))
    client = app.test_client()
    press_in_group(client, buttons[OIT])
    app.extensions[EXTENSION].wait_idle(10)
    press_in_group(client, buttons[OIT], chat_id=GROUP_2, user=BOB)
    app.extensions[EXTENSION].wait_idle(10)
    first, second = reply_texts(fake_line)
    assert "โดย คุณสมหญิง ใจดี" in first and "โดย คุณสมหญิง ใจดี" in second
    assert "\u202e" not in first and "ก" * 41 not in first
    asked = [r.path for r in fake_line.calls() if "/member/" in r.path]
    assert asked == [f"/v2/bot/group/{GROUP}/member/{ALICE}"]  # only the press that recorded


def test_a_forged_postback_through_the_webhook_stores_nothing_and_answers_in_thai(
    app, line_settings, groups, fake_line
):
    forged = f"done:v1:{OIT}:2569:" + "A" * 16
    press_in_group(app.test_client(), forged)
    app.extensions[EXTENSION].wait_idle(10)
    assert confirmations(line_settings.database_url) == []
    [text] = reply_texts(fake_line)
    assert text.startswith("ปุ่มนี้ไม่ถูกต้อง")


# --- refusals, straight through the router ---------------------------------------------------


def _press(services, data, chat_id=GROUP, user=ALICE, now=NOON_ISH):
    return handle_postback(
        data, services=services, now=now, user_id=user, chat_id=chat_id, chat_type="group"
    )


def _phase(calendars, key):
    cal, pid = key.split("/")
    return calendars.get(cal).phase(pid)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "hello",
        "done:v1:national-2569/oit-answer:2569",
        "done:v1:national-2569/oit-answer:2570:AAAAAAAAAAAAAAAA",
        "x" * 1000,
        "done:v1:../../etc:2569:AAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_or_forged_data_stores_nothing(services, groups, data):
    answer = _press(services, data)
    assert answer.text.startswith("ปุ่มนี้ไม่ถูกต้อง")
    assert confirmations(services.settings.database_url) == []


def test_data_signed_with_another_secret_or_moved_to_another_phase_is_refused(
    services, calendars, groups
):
    other = done.postback_data("another-secret", "done", _phase(calendars, OIT))
    moved = done.postback_data(SECRET, "done", _phase(calendars, OIT)).replace("oit-answer", "iit")
    for data in (other, moved):
        assert _press(services, data).text.startswith("ปุ่มนี้ไม่ถูกต้อง")
    assert confirmations(services.settings.database_url) == []


def test_unbound_chat_closed_phase_and_a_phase_not_the_agencys_store_nothing(
    services, calendars, groups
):
    oit = done.postback_data(SECRET, "done", _phase(calendars, OIT))
    assert _press(services, oit, chat_id=UNBOUND).text.startswith("แชทนี้ยังไม่ได้ผูกกับหน่วยงาน")
    closed = _press(services, oit, now=bkk(2026, 7, 1, 9, 0))
    assert closed.text.startswith("ขั้นตอนนี้ปิดไปแล้ว")
    nacc_own = next(p for p in calendars.all_phases() if p.tool == "OIT-check" and p.closing)
    foreign = _press(services, done.postback_data(SECRET, "done", nacc_own))
    assert foreign.text.startswith("ไม่พบขั้นตอนนี้")
    assert confirmations(services.settings.database_url) == []


def test_undo_by_the_confirmer_or_an_admin_only(services, calendars, groups):
    phase = _phase(calendars, OIT)
    _press(services, done.postback_data(SECRET, "done", phase))
    undo = done.postback_data(SECRET, "undo", phase)
    assert _press(services, undo, user=BOB).text.startswith("ยกเลิกได้เฉพาะผู้ที่ยืนยัน")
    assert len(confirmations(services.settings.database_url)) == 1
    assert _press(services, undo, user=ADMIN).text.startswith("ยกเลิกการยืนยันแล้ว")
    assert confirmations(services.settings.database_url) == []
    _press(services, done.postback_data(SECRET, "done", phase), user=BOB)
    assert _press(services, undo, user=BOB).text.startswith("ยกเลิกการยืนยันแล้ว")


# --- by text ----------------------------------------------------------------------------------


def _say(services, text, chat_id=GROUP, user=ALICE, now=NOON_ISH):
    return handle_message(
        text, services=services, now=now, user_id=user, chat_id=chat_id, chat_type="group"
    )


def test_done_alone_lists_what_can_be_confirmed_as_postback_buttons(services, groups):
    answer = _say(services, "/done")
    assert "ตาเมียง" in answer.text and "OIT" in answer.text
    assert "ปิด 30 มิ.ย. 2569 เวลา 17.00 น." in answer.text and "ปิด ปิด" not in answer.text
    assert answer.postbacks and len(answer.postbacks) <= MAX_QUICK_REPLIES
    labels = [label for label, _data in answer.postbacks]
    assert all(len(label) <= MAX_LABEL for label in labels)
    data = dict((d.split(":")[2], d) for _l, d in answer.postbacks)
    assert OIT in data
    assert _press(services, data[OIT]).text.startswith("บันทึกแล้ว")
    assert OIT not in {d.split(":")[2] for _l, d in _say(services, "/done").postbacks}


def test_done_oit_and_the_thai_sentence_confirm_the_nearest_open_oit_phase(services, groups):
    first = _say(services, "/done OIT")
    assert first.text.startswith("บันทึกแล้ว ✓ OIT")
    [row] = confirmations(services.settings.database_url)
    assert f"{row.calendar}/{row.phase_id}" == OIT
    again = _say(services, "ส่ง OIT แล้วครับ", chat_id=GROUP_2, user=BOB)
    assert again.text.startswith("ขั้นตอนนี้ยืนยันไว้แล้ว")
    assert len(confirmations(services.settings.database_url)) == 1
    assert _say(services, "/undone OIT", user=BOB).text.startswith("ยกเลิกได้เฉพาะ")
    assert _say(services, "/undone OIT").text.startswith("ยกเลิกการยืนยันแล้ว")
    assert confirmations(services.settings.database_url) == []


@pytest.mark.parametrize("chatter", ["ส่งเอกสารแล้ว", "ทำงานแล้วครับ", "ส่งแล้ว", "ทำแล้ว"])
def test_a_sentence_not_naming_a_tool_or_title_is_chatter_not_done(services, groups, chatter):
    assert done.done_text(chatter, services.calendars) is None
    assert _say(services, chatter).intent != "command"
    assert confirmations(services.settings.database_url) == []


def test_done_refusals_by_text(services, groups):
    assert _say(services, "/done OIT", chat_id=UNBOUND).text.startswith("แชทนี้ยังไม่ได้ผูก")
    assert _say(services, "/done ไม่มีขั้นตอนนี้").text.startswith("ไม่พบขั้นตอน")
    assert _say(services, "/undone").text.endswith("ไม่มีขั้นตอนที่ยืนยันไว้และยังไม่ปิด")
    assert confirmations(services.settings.database_url) == []


# --- answers show it -----------------------------------------------------------------------


def test_answers_carry_the_button_then_who_confirmed_and_when(services, groups):
    answer = _say(services, "OIT ปิดวันไหน")
    [msg] = answer_to_messages(answer)
    buttons = postbacks_in(messages_to_json([msg]))
    assert OIT in buttons
    _press(services, buttons[OIT], now=bkk(2026, 6, 23, 10, 5))
    after = _say(services, "OIT ปิดวันไหน")
    assert "✓ ยืนยันแล้ว โดย ผู้ใช้ Uaaaa" in after.text and "10.05 น." in after.text
    body = messages_to_json(answer_to_messages(after))
    assert OIT not in postbacks_in(body) and "✓ ยืนยันแล้ว" in body

    # another agency's group still gets the button; an unbound chat none
    def buttons_in(chat_id):
        answer = _say(services, "OIT ปิดวันไหน", chat_id=chat_id)
        return postbacks_in(messages_to_json(answer_to_messages(answer)))

    assert OIT in buttons_in(OTHER)
    assert buttons_in(UNBOUND) == {}


# --- LINE's limits --------------------------------------------------------------------------


def test_the_buttons_fit_lines_limits(calendars):
    phases = [p for p in calendars.all_phases() if p.closing]
    longest = max(phases, key=lambda p: len(p.key))
    for action in ("done", "undo"):
        data = done.postback_data(SECRET, action, longest)
        assert data is not None and len(data) <= 300
        assert done.parse_postback(SECRET, data) is not None

    class Item:
        def __init__(self, phase):
            self.phase, self.offset_days = phase, 3

    messages = reminder_messages([Item(p) for p in phases[:12]], SECRET)
    found = postbacks_in(messages_to_json(messages))
    assert len(found) == len({p.key for p in phases[:12]})
    for node in json.loads(messages_to_json(messages)):
        assert len(json.dumps(node["contents"], ensure_ascii=False).encode()) < 50_000
    assert postbacks_in(messages_to_json(reminder_messages([Item(phases[0])]))) == {}


def test_a_postback_the_sdk_refused_is_still_read_from_its_json():
    from itabot.webhook.jobs import job_from_raw, needs_handling

    raw = event(
        "postback",
        src=source("group", user_id=ALICE, chat_id=GROUP),
        reply_token="r" * 32,
        postback={"data": "done:v1:x/y:2569:AAAAAAAAAAAAAAAA"},
    )
    job = job_from_raw(raw)
    assert job is not None and needs_handling(job)
    assert (job.chat_id, job.user_id, job.postback_data) == (GROUP, ALICE, raw["postback"]["data"])
