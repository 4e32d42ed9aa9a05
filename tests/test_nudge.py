"""`/nudge OIT` (issue 13, item 4): the coordinator sees what an extra reminder to the agencies
that have not confirmed would cost, confirms with a signed button, and each of their chats gets
one push — at most once per phase and chat a day, through the reminder ledger, so the morning's
scheduled reminder at the same offset is not sent again. LINE is the local fake (HTTP), its
quota 300 − 42 and 3 members a group unless set; SQLite, and PostgreSQL when TEST_DATABASE_URL
is set; every clock injected."""

from __future__ import annotations

import json

import pytest

from itabot.admin import nudge
from itabot.router import Services, handle_message, handle_postback
from tests.conftest import bkk
from tests.test_done import ADMIN, ALICE, GROUP, GROUP_2, OTHER
from tests.test_reminder_support import bind_chat, confirm_done, ledger

pytest_plugins = ["tests.fakeline"]

NOON = bkk(2026, 6, 23, 12, 0)
OIT = "national-2569/oit-answer"  # closes 30 June 2569 17.00: 7 days after NOON


@pytest.fixture
def services(line_settings, calendars) -> Services:
    return Services(settings=line_settings, calendars=calendars)


@pytest.fixture
def groups(line_settings) -> None:
    """อบต.ตาเมียง in two groups, อบต.เฉนียง in one."""
    url = line_settings.database_url
    bind_chat(url, GROUP)
    bind_chat(url, GROUP_2)
    bind_chat(url, OTHER, agency="องค์การบริหารส่วนตำบลเฉนียง")


def say(services, text, user=ADMIN, now=NOON, chat_id=None):
    return handle_message(
        text, services=services, now=now, user_id=user, chat_id=chat_id or user, chat_type="user"
    )


def press(services, data, user=ADMIN, now=NOON):
    return handle_postback(
        data, services=services, now=now, user_id=user, chat_id=user, chat_type="user"
    )


def pushed_to(fake_line) -> list[str]:
    return [p.json["to"] for p in fake_line.pushes]


def test_preview_shows_the_cost_and_pushes_nothing_then_the_button_pushes_once(
    services, groups, fake_line, line_settings
):
    fake_line.member_counts[OTHER] = 8
    confirm_done(line_settings.database_url, GROUP, OIT)
    preview = say(services, "/nudge OIT สุรินทร์")
    assert "ยังไม่ยืนยัน 1 หน่วยงาน" in preview.text
    assert "จะส่งถึง 1 แชท ใช้ 8 ข้อความ" in preview.text
    assert "เหลือ 258 ข้อความ" in preview.text
    assert fake_line.pushes == []
    [(label, data)] = preview.postbacks
    assert label == nudge.SEND_LABEL and len(data) <= 300

    sent = press(services, data)
    assert "ส่งแล้ว 1 แชท" in sent.text
    assert pushed_to(fake_line) == [OTHER]  # not the agency that confirmed, in either group
    card = json.dumps(fake_line.pushes[0].json["messages"], ensure_ascii=False)
    assert "✓ ทำแล้ว" in card  # the reminder card: the nudged agency answers in one tap

    again = press(services, data)
    assert "ไม่ส่งซ้ำ" in again.text
    assert pushed_to(fake_line) == [OTHER]
    assert "ไม่มีแชทที่จะส่งเพิ่มวันนี้" in say(services, "/nudge OIT สุรินทร์").text


def test_each_chat_of_every_waiting_agency_hears_it_and_the_ledger_says_so(
    services, groups, fake_line, line_settings
):
    preview = say(services, "/nudge OIT สุรินทร์")
    assert "ยังไม่ยืนยัน 2 หน่วยงาน" in preview.text and "จะส่งถึง 3 แชท ใช้ 9 ข้อความ" in preview.text
    press(services, preview.postbacks[0][1])
    assert sorted(pushed_to(fake_line)) == sorted([GROUP, GROUP_2, OTHER])
    rows = [r for r in ledger(line_settings.database_url) if r.phase == OIT]
    assert {(r.chat_id, r.offset_days, r.status) for r in rows} == {
        (GROUP, 7, "sent"),
        (GROUP_2, 7, "sent"),
        (OTHER, 7, "sent"),
    }


def test_the_mornings_scheduled_reminder_at_the_same_offset_is_not_sent_again(
    services, groups, fake_line, line_settings
):
    from itabot.line.client import make_line_gateway
    from itabot.reminders.dispatch import dispatch

    early = bkk(2026, 6, 23, 7, 0)  # 7 days before 30 June: a scheduled offset at 08.30
    press(services, say(services, "/nudge OIT สุรินทร์", now=early).postbacks[0][1], now=early)
    first = len(fake_line.pushes)
    report = dispatch(
        line_settings.database_url,
        make_line_gateway(line_settings),
        services.calendars,
        line_settings,
        bkk(2026, 6, 23, 8, 31),
        "t",
    )
    later_oit = [
        p
        for p in fake_line.pushes[first:]
        if "oit-answer" in json.dumps(p.json["messages"], ensure_ascii=False)
    ]
    assert later_oit == [] and report.already_claimed >= 3


def test_only_admins_a_genuine_button_of_today_and_an_open_phase(services, groups, fake_line):
    refused = say(services, "/nudge OIT สุรินทร์", user=ALICE)
    assert refused.extra["outcome"] == "refused" and not refused.postbacks
    data = say(services, "/nudge OIT สุรินทร์").postbacks[0][1]
    assert press(services, data, user=ALICE).extra["outcome"] == "refused"
    forged = data[:-4] + ("AAAA" if not data.endswith("AAAA") else "BBBB")
    assert press(services, forged).text == nudge.FORGED
    assert press(services, data, now=bkk(2026, 6, 24, 9)).text == nudge.FORGED  # yesterday's
    assert press(services, "nudge:v1:x").text == nudge.FORGED
    assert fake_line.pushes == []


def test_words_that_name_nothing_or_no_province_answer_in_thai(services, groups, fake_line):
    assert "ระบุขั้นตอน" in say(services, "/nudge").text
    assert "ไม่ทราบจังหวัด" in say(services, "/nudge OIT").text
    unknown = say(services, "/nudge ประชุมใหญ่ สุรินทร์")
    assert unknown.extra["outcome"] == "invalid" and "ไม่พบกำหนดปิด" in unknown.text
    assert fake_line.pushes == []


def test_a_muted_chat_is_not_nudged_and_over_quota_offers_no_button(
    services, line_settings, fake_line
):
    url = line_settings.database_url
    bind_chat(url, GROUP, remind_enabled=False)
    bind_chat(url, OTHER, agency="องค์การบริหารส่วนตำบลเฉนียง")
    fake_line.member_counts[OTHER] = 300
    preview = say(services, "/nudge OIT สุรินทร์")
    assert "ปิดการเตือนไว้ 1 แชท" in preview.text
    assert "โควตาไม่พอ" in preview.text and not preview.postbacks
