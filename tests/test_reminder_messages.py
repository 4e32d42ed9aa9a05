"""The reminder push as LINE sees it: SDK models within LINE's limits, and an altText that says
everything (tool, date with BE year, time, countdown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from linebot.v3.messaging import (
    FlexBubble,
    FlexCarousel,
    FlexMessage,
    PushMessageRequest,
    TextMessage,
)

from itabot.calendars.model import Phase
from itabot.line.client import messages_from_json, messages_to_json
from itabot.reminders.messages import (
    MAX_ALT_TEXT,
    alt_text,
    countdown_text,
    plain_text,
    reminder_messages,
)
from tests.test_reminder_support import OIT_CLOSING, make_phase

OIT = make_phase("oit-answer", closes_at=OIT_CLOSING, title="ตอบและอนุมัติข้อมูลตามแบบวัด OIT")
LINKS = make_phase(
    "oit-links-2",
    ends_on=date(2026, 6, 5),
    title="ส่ง LINK แบบตรวจ OIT ให้จังหวัด ครั้งที่ ๒",
    calendar="province-surin-2569",
    scope="province",
    owner="สุรินทร์",
    province="สุรินทร์",
)


@dataclass(frozen=True)
class Item:
    phase: Phase
    offset_days: int


def many(n: int) -> list[Item]:
    return [
        Item(
            make_phase(
                f"p{i}", closes_at=OIT_CLOSING + timedelta(days=i), title=f"ขั้นตอนที่ {i} " + "ก" * 60
            ),
            7,
        )
        for i in range(n)
    ]


def test_seven_days_before_the_alt_text_names_tool_date_be_year_time_and_countdown():
    [message] = reminder_messages([Item(OIT, 7)])
    assert isinstance(message, FlexMessage)
    assert isinstance(message.contents, FlexBubble)
    assert message.alt_text == (
        "🔔 แจ้งเตือนกำหนดปิด ITA\n"
        "• OIT: ตอบและอนุมัติข้อมูลตามแบบวัด OIT — ปิด 30 มิ.ย. 2569 เวลา 17.00 น. (อีก 7 วัน)"
    )


def test_on_the_day_it_says_today_and_the_closing_time():
    [message] = reminder_messages([Item(OIT, 0)])
    assert "วันนี้ ปิดเวลา 17.00 น. (30 มิ.ย. 2569)" in message.alt_text


def test_tomorrow_and_a_day_without_a_stated_time():
    assert countdown_text(OIT, 1) == "อีก 1 วัน (พรุ่งนี้)"
    assert countdown_text(LINKS, 0) == "วันนี้ วันสุดท้าย"
    text = alt_text([Item(LINKS, 3)])
    assert (
        "OIT: ส่ง LINK แบบตรวจ OIT ให้จังหวัด ครั้งที่ ๒ [จ.สุรินทร์] — ปิด 5 มิ.ย. 2569 (วันสุดท้าย) (อีก 3 วัน)"
        in text
    )


def test_the_bubble_shows_the_tool_the_closing_and_the_countdown():
    [message] = reminder_messages([Item(OIT, 3)])
    texts = [
        c.text for box in (message.contents.header, message.contents.body) for c in box.contents
    ]
    assert texts[0] == "OIT"
    assert "ปิด 30 มิ.ย. 2569 เวลา 17.00 น." in texts
    assert "อีก 3 วัน" in texts


def test_everything_due_for_a_chat_is_one_carousel():
    [message] = reminder_messages([Item(OIT, 7), Item(LINKS, 0)])
    assert isinstance(message.contents, FlexCarousel)
    assert len(message.contents.contents) == 2
    assert message.alt_text.count("\n•") == 2


@pytest.mark.parametrize(
    ("n", "carousels", "text"), [(12, 1, 0), (13, 2, 0), (60, 5, 0), (61, 4, 1), (200, 4, 1)]
)
def test_limits_five_messages_twelve_bubbles_alt_text_1500(n, carousels, text):
    messages = reminder_messages(many(n))
    assert len(messages) <= 5
    flex = [m for m in messages if isinstance(m, FlexMessage)]
    assert len(flex) == carousels
    assert sum(isinstance(m, TextMessage) for m in messages) == text
    for m in flex:
        bubbles = m.contents.contents if isinstance(m.contents, FlexCarousel) else [m.contents]
        assert len(bubbles) <= 12
        assert len(m.alt_text) <= MAX_ALT_TEXT
    for m in messages:
        if isinstance(m, TextMessage):
            assert len(m.text) <= 5000
            assert m.text.startswith(f"และอีก {n - 48} รายการ")
    shown = sum(
        len(m.contents.contents) if isinstance(m.contents, FlexCarousel) else 1 for m in flex
    )
    assert shown == min(n, 60 if n <= 60 else 48)


def test_a_long_alt_text_is_cut_by_whole_lines_and_says_how_many_more():
    text = alt_text(many(40))
    assert len(text) <= MAX_ALT_TEXT
    assert text.splitlines()[-1].startswith("… และอีก ")
    assert all(line.endswith("(อีก 7 วัน)") for line in text.splitlines()[1:-1])


def test_messages_survive_the_outbox_and_the_sdk_accepts_them():
    messages = reminder_messages([Item(OIT, 7), Item(LINKS, 0)])
    stored = messages_to_json(messages)
    again = messages_from_json(stored)
    assert messages_to_json(again) == stored
    PushMessageRequest(to="C" + "0" * 32, messages=again)  # the SDK's own validation


def test_plain_text_is_what_the_cli_prints():
    messages = reminder_messages([Item(OIT, 7)])
    assert plain_text(messages) == messages[0].alt_text


def test_a_phase_without_a_closing_cannot_be_reminded_of():
    open_ended = make_phase("follow-up", ends_on=None)
    with pytest.raises(ValueError):
        reminder_messages([Item(open_ended, 0)])
