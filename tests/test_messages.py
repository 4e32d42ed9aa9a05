"""Answers become LINE messages within LINE's limits: Flex cards with a Thai countdown, quick
replies that send the whole question, text split sanely. The SDK models validate the shape;
these tests check the limits the SDK and Prism do not (5 messages, 5,000 / 1,500 characters,
13 quick replies, 20-character labels)."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from linebot.v3.messaging import FlexMessage, Message, TextMessage

from itabot.calendars.wording import countdown
from itabot.conversation.answer import Answer, Context
from itabot.conversation.replies import answer as answer_question
from itabot.line.answer_messages import (
    MAX_ALT_TEXT,
    MAX_LABEL,
    MAX_MESSAGES,
    MAX_QUICK_REPLIES,
    MAX_TEXT,
    answer_to_messages,
    clip,
    greeting_text,
    split_text,
)
from itabot.line.client import messages_from_json, messages_to_json
from tests.conftest import bkk


def _all_texts(node) -> list[str]:
    """Every `text` inside a Flex JSON tree, in order."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "text" and "text" in node else []
        return own + [t for v in node.values() for t in _all_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _all_texts(v)]
    return []


def assert_within_line_limits(messages: list[Message]) -> None:
    assert 1 <= len(messages) <= MAX_MESSAGES
    for m in messages:
        if isinstance(m, TextMessage):
            assert 0 < len(m.text) <= MAX_TEXT
        if isinstance(m, FlexMessage):
            assert 0 < len(m.alt_text) <= MAX_ALT_TEXT
            assert len(json.dumps(m.contents.to_dict(), ensure_ascii=False).encode()) < 30_000
        if m.quick_reply is not None:
            items = m.quick_reply.items
            assert 1 <= len(items) <= MAX_QUICK_REPLIES
            for item in items:
                assert 0 < len(item.action.label) <= MAX_LABEL
                assert 0 < len(item.action.text) <= 300
    # the SDK accepts what we built, and it survives a JSON round trip unchanged
    assert messages_from_json(messages_to_json(messages)) == messages


def test_oit_question_becomes_a_flex_card_with_thai_date_and_countdown(calendars):
    now = bkk(2026, 6, 20, 9, 0)
    answer = answer_question("OIT ปิดวันไหน", Context(now=now), calendars)
    messages = answer_to_messages(answer)

    assert_within_line_limits(messages)
    [flex] = messages
    assert isinstance(flex, FlexMessage)
    assert flex.alt_text == answer.text
    card = flex.contents.to_dict()
    assert card["type"] == "bubble"
    texts = _all_texts(card)
    assert "ตอบและอนุมัติข้อมูลตามแบบวัด OIT" in texts
    assert "สำนักงาน ป.ป.ช. (ระบบ ITAS)" in texts
    assert "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น." in flex.alt_text
    assert "30 มิถุนายน 2569" in texts  # the date big, its weekday and time under it
    assert "วันอังคาร เวลา 17.00 น." in texts
    assert "อีก 10 วัน" in texts
    assert any("ผู้ดูแลระบบ (Admin) ของหน่วยงาน" in t for t in texts)
    labels = [i.action.label for i in flex.quick_reply.items]
    assert "กำหนดการถัดไป" in labels


def test_several_phases_become_a_carousel_one_card_each(calendars):
    now = bkk(2026, 3, 10, 9, 0)
    answer = answer_question("กำหนดการถัดไป", Context(now=now, province="สุรินทร์"), calendars)
    assert len(answer.phases) > 1
    [flex] = answer_to_messages(answer)
    card = flex.contents.to_dict()
    assert card["type"] == "carousel"
    assert len(card["contents"]) == len(answer.phases)
    for bubble, phase in zip(card["contents"], answer.phases, strict=True):
        texts = _all_texts(bubble)
        assert phase.title in texts
        assert any("2569" in t for t in texts)  # Buddhist-era year


def test_closing_today_says_today_and_closed_says_so(calendars):
    phase = calendars.get("national-2569").phase("oit-answer")
    closes = phase.closes_at
    assert countdown(bkk(2026, 6, 30, 9, 0), closes) == "วันนี้"
    assert countdown(bkk(2026, 6, 29, 9, 0), closes) == "อีก 1 วัน (พรุ่งนี้)"
    assert countdown(bkk(2026, 6, 20, 18, 0), closes) == "อีก 10 วัน"
    assert countdown(bkk(2026, 6, 30, 17, 1), closes) == "ปิดไปแล้ว"
    assert countdown(bkk(2026, 7, 2, 9, 0), closes) == "ปิดไปแล้วเมื่อ 2 วันก่อน"


def test_alt_text_is_cut_to_1500_characters(calendars):
    phase = calendars.get("national-2569").phase("oit-answer")
    answer = Answer(intent="closing", text="ก" * 4000, phases=(phase,), now=bkk(2026, 6, 1))
    [flex] = answer_to_messages(answer)
    assert len(flex.alt_text) == MAX_ALT_TEXT
    assert flex.alt_text.endswith("…")


def test_quick_replies_are_at_most_13_with_short_labels_and_the_full_question():
    long_question = "ตัวชี้วัดที่ 9 การเปิดเผยข้อมูล ใครรับผิดชอบ และต้องส่งภายในวันไหน"
    questions = (*(f"คำถามที่ {i}" for i in range(20)), long_question)
    answer = Answer(intent="help", text="ลองถามได้เลย", quick_replies=(long_question, *questions))
    [message] = answer_to_messages(answer)
    items = message.quick_reply.items
    assert len(items) == MAX_QUICK_REPLIES
    assert items[0].action.text == long_question
    assert items[0].action.label == clip(long_question, MAX_LABEL)
    assert len(items[0].action.label) == MAX_LABEL


def test_answer_without_phases_is_plain_text():
    answer = Answer(intent="unknown", text="ขออภัย ไม่เข้าใจคำถาม", quick_replies=("กำหนดการถัดไป",))
    [message] = answer_to_messages(answer)
    assert isinstance(message, TextMessage)
    assert message.text == "ขออภัย ไม่เข้าใจคำถาม"


def test_long_text_is_split_at_line_breaks_into_at_most_five_messages():
    lines = [f"บรรทัดที่ {i} " + "ข" * 90 for i in range(400)]  # ≈ 40,000 characters
    answer = Answer(intent="help", text="\n".join(lines), quick_replies=("กำหนดการถัดไป",))
    messages = answer_to_messages(answer)
    assert_within_line_limits(messages)
    assert len(messages) == MAX_MESSAGES
    assert messages[0].text.startswith("บรรทัดที่ 0 ")
    assert all(m.quick_reply is None for m in messages[:-1])
    assert messages[-1].quick_reply is not None
    # nothing cut mid-line except the clipped tail
    assert all(line in lines for m in messages[:-1] for line in m.text.split("\n"))


def test_a_line_longer_than_a_message_is_cut_not_lost():
    parts = split_text("ก" * 12_000)
    assert [len(p) for p in parts] == [5000, 5000, 2000]


def test_greetings_are_a_few_lines_and_a_group_learns_how_to_get_bound():
    examples = ("OIT ปิดวันไหน", "กำหนดการถัดไป")
    joined = greeting_text("group", examples)
    assert '"OIT ปิดวันไหน"' in joined
    assert "/agency code <หน่วยงาน>" in joined and "แชทส่วนตัว" in joined  # the coordinator's step
    assert "/bind <รหัส>" in joined and "ใครในกลุ่มนี้ก็ได้" in joined  # anyone's step
    assert "เตือนก่อนกำหนดปิด" in joined  # what binding gives
    followed = greeting_text("user", examples)
    assert "/help" in followed and "/whoami" in followed
    for text in (joined, followed, greeting_text("room", examples)):
        assert len(text) <= 400 and text.count("\n") <= 5, text


def test_a_group_reinvited_while_bound_hears_what_it_is_bound_to():
    text = greeting_text("group", ("OIT ปิดวันไหน",), ("องค์การบริหารส่วนตำบลคลองพา", "สุรินทร์"))
    assert 'กลุ่มนี้ผูกกับ "องค์การบริหารส่วนตำบลคลองพา" จังหวัดสุรินทร์ อยู่แล้ว' in text
    assert "/bind" not in text and "/agency code" not in text


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=0, max_size=30_000),
    quick=st.lists(st.text(min_size=0, max_size=400), max_size=30),
    with_phase=st.booleans(),
)
def test_any_answer_stays_within_line_limits(calendars, text, quick, with_phase):
    phase = calendars.get("national-2569").phase("oit-answer")
    answer = Answer(
        intent="x",
        text=text,
        phases=(phase,) if with_phase else (),
        quick_replies=tuple(quick),
        heading=text[:50] or None,
        now=bkk(2026, 6, 1),
    )
    assert_within_line_limits(answer_to_messages(answer))


def test_every_phase_of_every_calendar_renders(calendars):
    now = bkk(2026, 6, 1, 9, 0)
    phases = list(calendars.all_phases())
    for start in range(0, len(phases), 5):
        chunk = tuple(phases[start : start + 5])
        answer = Answer(intent="next", text="กำหนดการ", phases=chunk, heading="หัวข้อ", now=now)
        assert_within_line_limits(answer_to_messages(answer))
    untimed = replace(phases[0], closes_at=None, ends_on=None, starts_on=None)
    assert_within_line_limits(answer_to_messages(Answer(intent="x", text="t", phases=(untimed,))))
